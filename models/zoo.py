"""A model zoo by name: architecture spec strings, and seeded calibration frames.

Architectures (spec strings, :mod:`canmore_sim.models.spec`):

* ``vgg11``, ``vgg16``: the CIFAR-10 VGGs of the official DTA-TTFS code (3x3 convs,
  padding 1, five max-pools, FC 512 -> 4096 -> 4096 -> 10; vgg11 per Simonyan &
  Zisserman configuration A);
* ``mnist-cnn``: 28x28-16C5-P2-32C5-P2-800-128-10 (papers/001 Table: 12,544 and
  6,272 conv neurons, so 'same' padding; 800 and 128 are dense layers);
* ``mlp``: 784-800-10;
* ``fmnist-scnn``: the Fashion-MNIST SCNN of TQ-TTFS (papers/001), same shape as
  ``mnist-cnn``.

No trained weights for them ship with the tool; their synthetic weights are calibrated
against the neuron model in :mod:`canmore_sim.cores.calibrate` (a later stage).
"""

from __future__ import annotations

import numpy as np

from canmore_sim.errors import ModelError
from canmore_sim.utils.registry import choose

__all__ = ["ZOO", "zoo_spec", "calibration_frames"]

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
