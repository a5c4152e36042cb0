"""Bring a sinabs network to canmore-sim: train a ReLU network, convert, export, map.

The exporter-side steps (sinabs 2.0, checked with torch 2.13):

* convert (``sinabs.from_model(..., batch_size=1)``) or build the spiking network with
  ``sinabs.layers.IAFSqueeze``: it takes the ``(batch x time, C, H, W)`` tensors that
  ``nn.Conv2d`` accepts, where plain ``IAF`` wants ``(batch, time, ...)`` and fails;
* pool with ``sinabs.layers.SumPool2d`` (``to_nir`` refuses ``nn.AvgPool2d``);
* run one forward pass of a sample before ``sinabs.to_nir(model, sample)``, so that every
  layer's state has its shape, then call ``graph.infer_types()`` before ``nir.write``
  (without it ``nir.write`` fails: "One of data, shape or dtype must be specified");
* ``min_v_mem=None``: NIR's IF neuron has no lower bound on the membrane.

Run: ``.venv/bin/python examples/sinabs_to_nir.py --out digits_sinabs.nir`` (needs
``pip install sinabs``), then ``canmore-sim map --model digits_sinabs.nir``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import nir
import numpy as np
import sinabs
import sinabs.layers as sl
import torch
import torch.nn.functional as F
from torch import nn

from canmore_sim.config import default_config, with_overrides
from canmore_sim.datasets.readers import load_frames
from canmore_sim.models.loaders import load_model
from canmore_sim.report.summary import summarize
from canmore_sim.run.pipeline import run

SIDE, CHANNELS = 16, 8


def build_ann() -> nn.Sequential:
    """The ReLU network that is trained and then converted (no biases, sum pooling)."""
    return nn.Sequential(
        nn.Conv2d(1, CHANNELS, 3, padding=1, bias=False), nn.ReLU(), sl.SumPool2d(2),
        nn.Flatten(), nn.Linear(CHANNELS * (SIDE // 2) ** 2, 10, bias=False), nn.ReLU())


def train(ann: nn.Sequential, frames: np.ndarray, labels: np.ndarray, epochs: int) -> None:
    """Adam on the cross-entropy of the ReLU outputs."""
    opt = torch.optim.Adam(ann.parameters(), lr=2e-3)
    x, y = torch.as_tensor(frames, dtype=torch.float32), torch.as_tensor(labels)
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            loss = F.cross_entropy(ann(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=8, help="held-out frames mapped")
    parser.add_argument("--out", type=Path, default=Path("digits_sinabs.nir"))
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    shape = (1, SIDE, SIDE)
    x_train, y_train, _ = load_frames("digits", shape, 100_000, 0, split="train")
    ann = build_ann()
    start = time.perf_counter()
    train(ann, x_train, y_train, args.epochs)
    print(f"sinabs: trained the ReLU network {args.epochs} epochs in "
          f"{time.perf_counter() - start:.0f} s")
    snn = sinabs.from_model(ann, input_shape=shape, batch_size=1, min_v_mem=None,
                            add_spiking_output=False).spiking_model  # ReLU -> IAFSqueeze
    sample = torch.zeros(1, *shape)
    with torch.no_grad():
        snn(sample)  # the forward pass: every layer's state gets its shape
        graph = sinabs.to_nir(snn, sample)
    graph.infer_types()
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
