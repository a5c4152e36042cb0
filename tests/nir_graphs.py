"""Small NIR graphs, built with the ``nir`` package and written to real HDF5 files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nir
import numpy as np

DT = 1e-4  # snnTorch's export step: tau = DT / (1 - beta), r = tau / DT


def lif(shape: tuple[int, ...], beta: float = 0.9, threshold: float = 1.0) -> nir.LIF:
    """A LIF population in snnTorch's export convention (unit input gain)."""
    tau = DT / (1 - beta)
    return nir.LIF(tau=np.full(shape, tau), r=np.full(shape, tau / DT), v_leak=np.zeros(shape),
                   v_threshold=np.full(shape, threshold), v_reset=np.zeros(shape))


def if_(shape: tuple[int, ...], threshold: float = 1.0) -> nir.IF:
    """An IF population as sinabs exports it (R = 1)."""
    return nir.IF(r=np.ones(shape), v_threshold=np.full(shape, threshold),
                  v_reset=np.zeros(shape))


def conv(c_out: int, c_in: int, hw: int, k: int = 3, padding: Any = 1, stride: Any = 1,
         seed: int = 0, bias: float = 0.0, mean: float = 0.1) -> nir.Conv2d:
    rng = np.random.default_rng(seed)
    return nir.Conv2d(input_shape=(hw, hw), weight=rng.normal(mean, 0.4, (c_out, c_in, k, k)),
                      stride=stride, padding=padding, dilation=1, groups=1,
                      bias=np.full(c_out, bias))


def pool(kind: str = "sum", k: int = 2, stride: int | None = None) -> nir.NIRNode:
    cls = nir.SumPool2d if kind == "sum" else nir.AvgPool2d
    s = k if stride is None else stride
    return cls(kernel_size=np.array([k, k]), stride=np.array([s, s]), padding=np.array([0, 0]))


def affine(n_out: int, n_in: int, seed: int = 1, bias: float = 0.0) -> nir.Affine:
    rng = np.random.default_rng(seed)
    return nir.Affine(weight=rng.normal(0.05, 0.3, (n_out, n_in)), bias=np.full(n_out, bias))


def chain(*named: tuple[str, nir.NIRNode], shape: tuple[int, ...] = (1, 8, 8)) -> nir.NIRGraph:
    """Input -> the given nodes in order -> Output (without NIR's own type inference, so
    that canmore-sim's checks are the ones tested)."""
    nodes = {"input": nir.Input(input_type={"input": np.array(shape)}), **dict(named),
             "output": nir.Output(output_type={"output": np.array([10])})}
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:], strict=False)),
                        type_check=False)


def small_cnn(neuron: str = "lif", pool_kind: str = "sum") -> nir.NIRGraph:
    """8x8x1: conv 4 -> neurons -> pool 2 -> flatten -> affine 10 -> neurons."""
    make = lif if neuron == "lif" else if_
    return chain(("conv1", conv(4, 1, 8, bias=0.05)), ("n1", make((4, 8, 8))),
                 ("pool1", pool(pool_kind)),
                 ("flat", nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0)),
                 ("fc", affine(10, 64)), ("n2", make((10,))))


def write(graph: nir.NIRGraph, path: Path) -> Path:
    nir.write(str(path), graph)
    return path
