"""Train a small LIF CNN on digits with surrogate gradients and export it as a NIR graph.

This is what a user of snnTorch, Norse or sinabs brings to canmore-sim: a spiking network
trained elsewhere and written in the Neuromorphic Intermediate Representation. The network
is ``Conv2d -> LIF -> SumPool2d -> Conv2d -> LIF -> SumPool2d -> Flatten -> Affine -> LIF``,
trained in plain PyTorch (back-propagation through time, fast-sigmoid surrogate gradient,
Adam) on rate-coded frames, and written the way snnTorch exports a ``Leaky`` neuron:
``tau = dt / (1 - beta)``, ``R = tau / dt`` with ``dt = 1e-4``, so that
``v[t+1] = beta v[t] + W s[t] + b``. Then::

    .venv/bin/python examples/train_nir.py --out digits_lif.nir
    .venv/bin/canmore-sim map --model digits_lif.nir

``--predictions FILE.npz`` also writes this script's own predictions and spike counts on
the held-out frames, which the tests compare with canmore-sim's IF/LIF simulation.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import nir
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from canmore_sim.cores.stepped import rate_encode
from canmore_sim.datasets.readers import load_frames

DT = 1e-4  # snnTorch's export time step


class _Spike(torch.autograd.Function):
    """Heaviside forward, fast-sigmoid surrogate gradient backward."""

    @staticmethod
    def forward(ctx, v):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(v)
        return (v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[no-untyped-def]
        (v,) = ctx.saved_tensors
        return grad / (1.0 + 5.0 * v.abs()) ** 2


class LifCnn(nn.Module):
    """Two conv + LIF stages with sum pooling, one dense LIF output layer."""

    def __init__(self, side: int, c1: int, c2: int, beta: float = 0.9) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc = nn.Linear(c2 * (side // 4) ** 2, 10)
        self.beta, self.threshold = beta, 1.0

    def forward(self, spikes: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(N, T, 1, H, W)`` input spikes -> output spike counts ``(N, 10)`` and the
        final output potential, plus the spike count of every hidden layer."""
        v1 = v2 = v3 = torch.zeros((), dtype=spikes.dtype)
        counts = [torch.zeros((), dtype=spikes.dtype)] * 3
        out = torch.zeros((), dtype=spikes.dtype)
        for t in range(spikes.shape[1]):
            v1, z1 = self._lif(v1, self.conv1(spikes[:, t]))
            v2, z2 = self._lif(v2, self.conv2(F.avg_pool2d(z1, 2) * 4))  # sum pooling
            v3, z3 = self._lif(v3, self.fc(F.avg_pool2d(z2, 2).flatten(1) * 4))
            fired = (z1, z2, z3)
            counts = [c + z.sum(dim=tuple(range(1, z.ndim)))
                      for c, z in zip(counts, fired, strict=True)]
            out = out + z3
        return torch.stack([out, v3.expand_as(out)]), counts

    def _lif(self, v: torch.Tensor, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = self.beta * v + current
        z = _Spike.apply(v - self.threshold)
        return v * (1 - z.detach()), z  # NIR reset: v = v_reset = 0 after a spike


def predict(model: LifCnn, frames: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Most output spikes, ties broken by the final potential (canmore-sim's rule)."""
    preds, counts = [], []
    with torch.no_grad():
        for lo in range(0, len(frames), 128):
            x = rate_encode(torch.as_tensor(frames[lo:lo + 128], dtype=torch.float64), 1.0, steps)
            (out, v), layer_counts = model(x)
            top = out == out.max(dim=1, keepdim=True).values
            preds.append(torch.argmax(torch.where(top, v, torch.full_like(v, -np.inf)), 1))
            counts.append(torch.stack(layer_counts, dim=1))
    return torch.cat(preds).numpy(), torch.cat(counts).numpy().astype(np.int64)


def train(model: LifCnn, frames: np.ndarray, labels: np.ndarray, epochs: int, steps: int,
          seed: int) -> None:
    """Adam on the cross-entropy of the output spike counts, BPTT through all steps."""
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(seed)
    x_all = rate_encode(torch.as_tensor(frames, dtype=torch.float64), 1.0, steps)
    y_all = torch.as_tensor(labels)
    for _ in range(epochs):
        for idx in torch.randperm(len(frames), generator=gen).split(64):
            (out, _), _ = model(x_all[idx])
            loss = F.cross_entropy(out, y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def to_nir(model: LifCnn, side: int) -> nir.NIRGraph:
    """The trained network as a NIR graph, LIF neurons in snnTorch's convention."""
    tau = DT / (1.0 - model.beta)

    def lif(shape: tuple[int, ...]) -> nir.LIF:
        return nir.LIF(tau=np.full(shape, tau), r=np.full(shape, tau / DT),
                       v_leak=np.zeros(shape), v_threshold=np.full(shape, model.threshold),
                       v_reset=np.zeros(shape))

    def conv(layer: nn.Conv2d, hw: int) -> nir.Conv2d:
        return nir.Conv2d(input_shape=(hw, hw), weight=layer.weight.detach().numpy(),
                          stride=1, padding=1, dilation=1, groups=1,
                          bias=layer.bias.detach().numpy())

    def pool() -> nir.SumPool2d:
        return nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                             padding=np.array([0, 0]))

    c1, c2 = model.conv1.out_channels, model.conv2.out_channels
    q = side // 4
    nodes = {
        "input": nir.Input(input_type={"input": np.array([1, side, side])}),
        "conv1": conv(model.conv1, side), "lif1": lif((c1, side, side)), "pool1": pool(),
        "conv2": conv(model.conv2, side // 2), "lif2": lif((c2, side // 2, side // 2)),
        "pool2": pool(),
        "flatten": nir.Flatten(input_type={"input": np.array([c2, q, q])}, start_dim=0),
        "fc": nir.Affine(weight=model.fc.weight.detach().numpy(),
                         bias=model.fc.bias.detach().numpy()),
        "lif3": lif((10,)),
        "output": nir.Output(output_type={"output": np.array([10])}),
    }
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:], strict=False)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="frame side (digits upsampled)")
    parser.add_argument("--channels", type=int, nargs=2, default=(8, 16))
    parser.add_argument("--steps", type=int, default=16, help="time steps T (neuron.steps)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=int, default=10_000, help="held-out frames evaluated")
    parser.add_argument("--out", type=Path, default=Path("digits_lif.nir"))
    parser.add_argument("--predictions", type=Path, default=None)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_default_dtype(torch.float64)  # the tests compare spike for spike
    shape = (1, args.size, args.size)
    x_train, y_train, _ = load_frames("digits", shape, None, args.seed, split="train")
    x_test, y_test, ids = load_frames("digits", shape, args.frames, args.seed, split="test")
    model = LifCnn(args.size, *args.channels)
    start = time.perf_counter()
    train(model, x_train, y_train, args.epochs, args.steps, args.seed)
    preds, counts = predict(model, x_test, args.steps)
    print(f"trained on {len(x_train)} digits frames ({args.epochs} epochs, T={args.steps}) in "
          f"{time.perf_counter() - start:.0f} s; held-out accuracy "
          f"{np.mean(preds == y_test):.4f} on {len(y_test)} frames")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    nir.write(str(args.out), to_nir(model, args.size))
    print(f"saved {args.out}")
    if args.predictions is not None:
        np.savez(args.predictions, predictions=preds, counts=counts, frame_ids=ids,
                 labels=y_test)


if __name__ == "__main__":
    main()
