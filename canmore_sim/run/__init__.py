"""One run in one process: the pipeline, its checks, pricing and references, the model
source, the run's identity, the per-frame NoC and the closed loop."""
