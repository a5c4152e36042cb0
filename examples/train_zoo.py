"""Train a DTA-TTFS network of the zoo (or any spec) on any data reader, end to end.

Closed-form spike times (papers/004 Eq. 6, gradients Eq. 9/10 through autograd), Adam,
milestone learning-rate decay, 4-bit quantization-aware last epochs; a CUDA GPU is used
when present. The window-edge rule is the official code's (no spike at the window end,
readout at the output window start) unless --window-end-spike / --readout say otherwise;
the checkpoint records it, so `map` runs the network the way it was trained. Prints
held-out accuracy (float and 4-bit) and saves a canmore-sim checkpoint that
`canmore-sim map --model OUT` takes with no other flag::

    .venv/bin/python examples/train_zoo.py --model mnist-cnn --data digits --epochs 20
    .venv/bin/python examples/train_zoo.py --model mnist-cnn --data mnist:/data/mnist
    .venv/bin/python examples/train_zoo.py --model vgg16 --data cifar10:/data/cifar-10-batches-py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from canmore_sim.cores.training import TrainSettings, evaluate, train_dta
from canmore_sim.datasets.readers import load_frames
from canmore_sim.models.checkpoint import save_checkpoint
from canmore_sim.models.graph import READOUTS, DtaRule
from canmore_sim.models.loaders import resolve_arch
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.models.spec import parse_spec

#: Training reads whole data sets (60,000 MNIST or 50,000 CIFAR frames), beyond a
#: simulation's limits.max_frame_values.
_TRAINING_VALUES = 1 << 31


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist-cnn", help="zoo name or spec string")
    parser.add_argument("--data", default="digits", help="as canmore-sim map --data")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-frames", type=int, default=None,
                        help="training frames used (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--window-end-spike", action="store_true",
                        help="neurons meeting the threshold only at the window end fire there "
                             "(the official code: they do not)")
    parser.add_argument("--readout", default="window-start", choices=READOUTS,
                        help="output potential read at the window start (official) or end")
    parser.add_argument("--out", type=Path, default=Path("trained.pt"))
    args = parser.parse_args()
    spec = resolve_arch(args.model)
    input_shape, _ = parse_spec(spec)
    x_train, y_train, _ = load_frames(args.data, input_shape, args.max_frames, args.seed,
                                      split="train", max_values=_TRAINING_VALUES)
    x_test, y_test, _ = load_frames(args.data, input_shape, None, args.seed, split="test",
                                    max_values=_TRAINING_VALUES)
    settings = TrainSettings(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                             seed=args.seed, device=args.device,
                             milestones=(int(args.epochs * 0.6), int(args.epochs * 0.85)),
                             rule=DtaRule(args.window_end_spike, args.readout))
    start = time.perf_counter()
    graph = train_dta(spec, x_train, y_train, settings)
    seconds = time.perf_counter() - start
    acc, acc4 = evaluate(graph, x_test, y_test), evaluate(quantize_graph(graph, 4), x_test, y_test)
    print(f"trained {spec} on {args.data} ({len(x_train)} frames, {args.epochs} epochs) "
          f"in {seconds:.0f} s")
    print(f"held-out accuracy ({len(y_test)} frames): float {acc:.4f}, 4-bit {acc4:.4f}")
    print(f"DTA-TTFS rule: {settings.rule.describe()}")
    path = save_checkpoint(graph, args.out, dataset=args.data, accuracy=round(acc, 4),
                           accuracy_4bit=round(acc4, 4), seed=args.seed, epochs=args.epochs,
                           trained_by="examples/train_zoo.py")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
