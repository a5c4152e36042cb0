"""A model zoo by name, and deterministic synthetic weights for it.

Architectures (spec strings, :mod:`canmore_sim.mapper.spec`):

* ``vgg11``, ``vgg16``: the CIFAR-10 VGGs of the official DTA-TTFS code (3x3 convs,
  padding 1, five max-pools, FC 512 -> 4096 -> 4096 -> 10; vgg11 per Simonyan &
  Zisserman configuration A);
* ``mnist-cnn``: 28x28-16C5-P2-32C5-P2-800-128-10 (papers/001 Table: 12,544 and
  6,272 conv neurons, so 'same' padding; 800 and 128 are dense layers);
* ``mlp``: 784-800-10;
* ``fmnist-scnn``: the Fashion-MNIST SCNN of TQ-TTFS (papers/001), same shape as
  ``mnist-cnn``.

No trained weights for them ship with the tool. :func:`synthetic_graph` builds
deterministic weights whose hidden layers fire at a chosen fraction of their
neurons: per layer, ``w = (z + m) / sqrt(fan_in)`` with ``z`` standard normal from
the seed and the offset ``m`` found by bisection so that the DTA-TTFS neurons of
that layer fire at the target rate on seeded calibration frames. Such a network
computes nothing useful; reports say "synthetic weights".
"""

from __future__ import annotations

import numpy as np
import torch

from canmore_sim.cores.neuron import encode, layer_forward
from canmore_sim.errors import ModelError
from canmore_sim.mapper.graph import Layer, LayerGraph
from canmore_sim.mapper.spec import graph_from_spec, weight_shapes
from canmore_sim.registry import choose

__all__ = ["ZOO", "synthetic_graph", "zoo_spec", "calibration_frames"]

_VGG16 = ("64C3-64C3-P2-128C3-128C3-P2-256C3-256C3-256C3-P2-512C3-512C3-512C3-P2-"
          "512C3-512C3-512C3-P2-4096F-4096F-10F")
_VGG11 = "64C3-P2-128C3-P2-256C3-256C3-P2-512C3-512C3-P2-512C3-512C3-P2-4096F-4096F-10F"
_SCNN = "28x28x1:16C5-P2-32C5-P2-800F-128F-10F"

#: Zoo networks by name: architecture spec strings.
ZOO: dict[str, str] = {
    "vgg11": f"32x32x3:{_VGG11}",
    "vgg16": f"32x32x3:{_VGG16}",
    "mnist-cnn": _SCNN,
    "mlp": "784:800F-10F",
    "fmnist-scnn": _SCNN,
}


def zoo_spec(name: str) -> str:
    """Spec string of a zoo network.

    Raises
    ------
    ModelError
        For an unknown name, listing the zoo.
    """
    return choose(ZOO, name, what="zoo network", key="model", error=ModelError)


def calibration_frames(input_shape: tuple[int, ...], n: int = 4, seed: int = 0) -> np.ndarray:
    """Seeded uniform-random intensities in [0, 1], ``(n, *input_shape)`` float32."""
    rng = np.random.default_rng(seed)
    return rng.random((n, *input_shape)).astype(np.float32)


def synthetic_graph(spec: str, *, firing_rate: float = 0.25, seed: int = 0,
                    frames: np.ndarray | None = None, name: str = "") -> LayerGraph:
    """A network of architecture ``spec`` with calibrated synthetic weights.

    Parameters
    ----------
    spec
        Architecture spec string (or use :func:`zoo_spec`).
    firing_rate
        Target fraction of each hidden layer's neurons that spike per frame, in (0, 1).
    seed
        Seed of the weights and of the calibration frames.
    frames
        Calibration frames; default: :func:`calibration_frames`.
    name
        Zoo name, recorded in ``meta``.
    """
    if not 0.0 < firing_rate < 1.0:
        raise ModelError(f"firing rate must be in (0, 1), got {firing_rate}")
    shapes = weight_shapes(spec)
    rng = np.random.default_rng(seed)
    base = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    graph = graph_from_spec(spec, base)
    x = calibration_frames(graph.input_shape, seed=seed) if frames is None else frames
    times = encode(torch.as_tensor(x, dtype=torch.float64), graph.input_scale, graph.tw)
    weights = []
    for l, (layer, z) in enumerate(zip(graph.layers, base, strict=True), start=1):
        scale = 1.0 / np.sqrt(layer.fan_in)
        if l == graph.depth:
            weights.append((z * scale).astype(np.float32))
            break
        offset = _bisect_offset(layer, z, scale, times, l, graph.tw, firing_rate)
        w = ((z + offset) * scale).astype(np.float32)
        weights.append(w)
        _, times = layer_forward(layer.with_weight(w), times, l, graph.tw)
    return graph_from_spec(spec, weights, meta={"weights": "synthetic", "zoo": name,
                                                "firing_rate": firing_rate, "seed": seed})


def _bisect_offset(layer: Layer, z: np.ndarray, scale: float, times: torch.Tensor, l: int,
                   tw: float, target: float) -> float:
    """Offset ``m`` so that weights ``(z + m) * scale`` make layer ``l`` fire at ``target``."""
    lo, hi = -4.0, 4.0
    for _ in range(24):
        mid = (lo + hi) / 2
        w = torch.as_tensor((z + mid) * scale, dtype=torch.float64)
        fired, _ = layer_forward(layer, times, l, tw, w)
        rate = float(torch.isfinite(fired).double().mean())
        if rate < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
