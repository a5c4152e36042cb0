"""Reproduce the bundled default network from a seed.

Trains the DTA-TTFS network 32x32x1:16C3-P2-32C3-P2-64C3-P2-10F on
scikit-learn's 8x8 digits upsampled to 32x32 (80 % train split) under the official
code's window-edge rule (no spike at the window end, readout at the output window
start), prints the held-out accuracy with float and with 4-bit weights, the neurons
fired per layer and the sparsity as the official code counts it, and saves a
canmore-sim checkpoint that records the rule (by default over the bundled one)::

    .venv/bin/python examples/train_default.py --out canmore_sim/models/dta_digits.pt
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from canmore_sim.cores.neuron import run_network
from canmore_sim.cores.stats import official_sparsity
from canmore_sim.cores.training import TrainSettings, evaluate, train_dta
from canmore_sim.datasets.digits import load_digits_frames
from canmore_sim.models.checkpoint import save_checkpoint
from canmore_sim.models.quantize import quantize_graph

SPEC = "32x32x1:16C3-P2-32C3-P2-64C3-P2-10F"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "models" / "dta_digits.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--epochs", type=int, default=TrainSettings.epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: the bundled file is reproduced bit "
                             "for bit with one thread; other counts may round differently)")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)
    settings = TrainSettings(epochs=args.epochs, seed=args.seed,
                             milestones=(int(args.epochs * 0.6), int(args.epochs * 0.85)))
    x_train, y_train = load_digits_frames("train", size=32)
    x_test, y_test = load_digits_frames("test", size=32)
    start = time.perf_counter()
    graph = train_dta(SPEC, x_train, y_train, settings)
    seconds = time.perf_counter() - start
    acc = evaluate(graph, x_test, y_test)
    q = quantize_graph(graph, 4)
    acc4 = evaluate(q, x_test, y_test)
    trace = run_network(q, x_test, y_test)
    per_layer = trace.neuron_spikes.mean(axis=0)
    print(f"trained {SPEC} for {args.epochs} epochs (seed {args.seed}) in {seconds:.0f} s")
    print(f"held-out accuracy ({len(y_test)} frames): float {acc:.4f}, 4-bit {acc4:.4f}")
    print(f"DTA-TTFS rule: {settings.rule.describe()}")
    names = ["input"] + [layer.name for layer in graph.layers]
    print("neurons fired per frame (4-bit): " + ", ".join(
        f"{n} {c:.0f}/{size}" for n, c, size in zip(
            names, per_layer, [int(np.prod(graph.input_shape))]
            + [layer.n_neurons for layer in graph.layers], strict=True)))
    sparsity = official_sparsity(trace, np.array([layer.n_neurons for layer in q.layers]))
    print(f"sparsity (official definition, 4-bit): {sparsity.mean():.4f}")
    path = save_checkpoint(graph, args.out, dataset="digits-32x32 (sklearn 8x8, bilinear)",
                           accuracy=round(acc, 4), accuracy_4bit=round(acc4, 4),
                           seed=args.seed, epochs=args.epochs,
                           trained_by="examples/train_default.py")
    print(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
