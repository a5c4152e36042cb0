"""Bring an snnTorch network to canmore-sim: train, export to NIR, map and price it.

The exporter-side steps (snnTorch 1.0, checked with torch 2.13):

* ``export_to_nir`` lives in ``snntorch.export_nir`` (not ``snntorch``);
* ``nn.MaxPool2d`` does not export (snnTorch warns "module not implemented"): pool with
  ``nn.AvgPool2d`` (canmore-sim keeps its 1/k^2 in the next layer's weights);
* every ``snn.Leaky`` needs per-neuron parameters, ``beta`` and ``threshold`` tensors of
  its layer's shape (``(C, H, W)`` after a convolution, ``(N,)`` after a linear layer):
  with scalars the exported LIF node has no shape and ``infer_types`` fails with
  "type mismatch: 0.output: [[ 8 16 16]] -> 1.input: []";
* give ``export_to_nir`` a batched sample and ``ignore_dims=[0]`` so that the node types
  leave out the batch dimension (otherwise the convolution's shape inference fails);
* ``reset_mechanism="zero"`` matches NIR's reset to ``v_reset``.

Run: ``.venv/bin/python examples/snntorch_to_nir.py --out digits_snntorch.nir`` (needs
``pip install snntorch``), then ``canmore-sim map --model digits_snntorch.nir``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import nir
import numpy as np
import snntorch as snn
import torch
import torch.nn.functional as F
from snntorch import utils
from snntorch.export_nir import export_to_nir
from torch import nn

from canmore_sim.config import default_config, with_overrides
from canmore_sim.cores.stepped import rate_encode
from canmore_sim.datasets.readers import load_frames
from canmore_sim.models.loaders import load_model
from canmore_sim.report.summary import summarize
from canmore_sim.run.pipeline import run

SIDE, CHANNELS, STEPS, BETA = 16, 8, 16, 0.9


def leaky(shape: tuple[int, ...], output: bool = False) -> snn.Leaky:
    """A Leaky layer with per-neuron beta and threshold (what the exporter needs)."""
    return snn.Leaky(beta=torch.full(shape, BETA), threshold=torch.ones(shape),
                     init_hidden=True, output=output, reset_mechanism="zero")


def build() -> nn.Sequential:
    """Conv2d -> Leaky -> AvgPool2d -> Flatten -> Linear -> Leaky (output)."""
    return nn.Sequential(
        nn.Conv2d(1, CHANNELS, 3, padding=1), leaky((CHANNELS, SIDE, SIDE)),
        nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(CHANNELS * (SIDE // 2) ** 2, 10), leaky((10,), output=True))


def output_counts(net: nn.Sequential, spikes: torch.Tensor) -> torch.Tensor:
    """``(N, T, 1, H, W)`` input spikes -> output spike counts ``(N, 10)``."""
    utils.reset(net)
    counts = torch.zeros(spikes.shape[0], 10)
    for t in range(spikes.shape[1]):
        out, _ = net(spikes[:, t])
        counts = counts + out
    return counts


def train(net: nn.Sequential, frames: np.ndarray, labels: np.ndarray, epochs: int) -> None:
    """Adam on the cross-entropy of the output spike counts (surrogate gradients, BPTT)."""
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    x = rate_encode(torch.as_tensor(frames, dtype=torch.float32), 1.0, STEPS)
    y = torch.as_tensor(labels)
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            loss = F.cross_entropy(output_counts(net, x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--frames", type=int, default=8, help="held-out frames mapped")
    parser.add_argument("--out", type=Path, default=Path("digits_snntorch.nir"))
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    shape = (1, SIDE, SIDE)
    x_train, y_train, _ = load_frames("digits", shape, 100_000, 0, split="train")
    net = build()
    start = time.perf_counter()
    train(net, x_train, y_train, args.epochs)
    print(f"snnTorch: trained {args.epochs} epochs in {time.perf_counter() - start:.0f} s")
    with torch.no_grad():  # the exporter-side steps: a batched sample, batch dim ignored
        graph = export_to_nir(net, torch.zeros(1, *shape), ignore_dims=[0])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    nir.write(str(args.out), graph)
    print(f"exported {args.out}: {', '.join(type(n).__name__ for n in graph.nodes.values())}")
    model = load_model(str(args.out))  # canmore-sim reads the NIR file (nothing executed)
    frames, labels, ids = load_frames("digits", model.input_shape, args.frames, 0)
    config = with_overrides(default_config(), {"run.frames": args.frames})
    summary = summarize(run(model, frames, labels, config, frame_ids=ids))
    figures = {"accuracy": summary["accuracy"]["float"],
               "energy_uj": summary["mean"]["energy_total_uj"],
               "cores": summary["mapping"]["cores"], "packets": summary["mean"]["packets"]}
    print(f"canmore-sim: {model.spec}, {figures['cores']} cores, accuracy "
          f"{figures['accuracy']:.3f} on {args.frames} frames, {figures['packets']:,.0f} "
          f"packets and {figures['energy_uj']:.1f} uJ per frame")
    return figures


if __name__ == "__main__":
    main()
