"""Warm-up of the fork server that local map workers fork from (a speed-up only).

Imported once by the fork server (:data:`canmore_sim.chunked.run.PRELOAD`), it runs one tiny
frame through the pipeline so that what every worker's first chunk would otherwise load
(the compiled NoC kernels from their cache, torch's kernels, the lazily imported stages)
is loaded once, before the workers fork. torch runs on one thread here, so no thread
pool exists when the workers fork. Any failure only means slower workers.
"""

from __future__ import annotations

import contextlib

__all__ = ["warm"]


def warm() -> None:
    """Simulate one frame of a small network on a 4x4 mesh (nothing is written)."""
    import numpy as np
    import torch

    from canmore_sim.config import default_config, with_overrides
    from canmore_sim.models.spec import graph_from_spec, weight_shapes
    from canmore_sim.run.pipeline import run

    torch.set_num_threads(1)
    spec = "16x16x1:4C3-P2-8C3-P2-10F"
    rng = np.random.default_rng(0)
    weights = [rng.normal(0.05, 0.3, size=s).astype(np.float32) for s in weight_shapes(spec)]
    graph = graph_from_spec(spec, weights)
    frames = rng.random((1, *graph.input_shape)).astype(np.float32)
    run(graph, frames, None, with_overrides(default_config(), {"mesh": "4x4"}))


with contextlib.suppress(Exception):  # a speed-up only: a worker then loads what it needs
    warm()
