"""NIR graphs (HDF5 files of the ``nir`` package) -> :class:`LayerGraph`.

Networks exported from snnTorch, Norse, sinabs, SpikingJelly or Lava through the
Neuromorphic Intermediate Representation are read with ``nir.read`` (HDF5 arrays only:
nothing in the file is executed). Supported nodes, in a feed-forward chain from the
``Input`` node to the ``Output`` node:

* ``Conv2d`` (square kernel, equal strides and paddings or 'same'/'valid', no dilation,
  one group; bias), ``Affine`` (bias) and ``Linear`` start a weight layer;
* ``IF`` and ``LIF`` give that layer's spiking neurons; ``LI`` (non-spiking) is allowed
  on the output layer only, which may also have no neurons at all;
* ``SumPool2d`` / ``AvgPool2d`` (kernel = stride, no padding) *after* the neurons become
  core-local sum pooling: every spike leaves the core addressed to its pool, as
  event-driven chips remap addresses, and the average's ``1 / k^2`` moves into the next
  layer's weights. *Before* the neurons (pooling the currents) they are folded into the
  convolution, exactly: kernel ``k + (p - 1) s``, stride ``p s``;
* ``Flatten``, ``Identity``, ``Input`` and ``Output`` carry no computation.

Anything else (recurrence, subgraphs, ``CubaLIF``, ``Delay``, branches) is named in a
:class:`ModelError`. The graph records ``neuron_model: if-lif``, so ``neuron.model: auto``
runs the IF/LIF simulation of :mod:`canmore_sim.cores.spiking`, not a TTFS model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from canmore_sim.errors import ModelError
from canmore_sim.models.graph import Layer, LayerGraph, SpikingNeurons
from canmore_sim.models.nir_file import read_nir_file

__all__ = ["NIR_SUFFIXES", "is_nir_file", "load_nir", "graph_from_nir"]

#: File suffixes taken for NIR graphs.
NIR_SUFFIXES = (".nir", ".h5", ".hdf5")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_WEIGHTS = ("Conv2d", "Affine", "Linear")
_NEURONS = ("IF", "LIF", "LI")
_POOLS = ("SumPool2d", "AvgPool2d")
_PASS = ("Flatten", "Identity", "Input", "Output")
SUPPORTED = (*_WEIGHTS, *_NEURONS, *_POOLS, *_PASS)
_KINDS: dict[str, Literal["if", "lif", "li"]] = {"IF": "if", "LIF": "lif", "LI": "li"}


def is_nir_file(path: str | Path) -> bool:
    """Whether ``path`` is an HDF5 file (the NIR container), by its first bytes."""
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == _HDF5_MAGIC
    except OSError:
        return False


def load_nir(path: str | Path) -> LayerGraph:
    """Read a NIR HDF5 file into a layer graph.

    Raises
    ------
    ModelError
        For a missing or unreadable file, or a graph with unsupported nodes or shapes
        (naming the node).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}", path=str(path))
    graph = read_nir_file(path)
    return graph_from_nir(graph, source=str(path))


def graph_from_nir(graph: Any, source: str = "nir") -> LayerGraph:
    """Convert an in-memory ``nir.NIRGraph`` (see the module docstring)."""
    chain = _chain(graph, source)
    builder = _Builder(source, _input_shape(chain[0][1], chain[0][0], source))
    for name, node in chain[1:]:
        builder.add(name, node)
    return builder.finish()


def _chain(graph: Any, source: str) -> list[tuple[str, Any]]:
    """The nodes from the Input node to the Output node, checking it is a simple chain."""
    import nir

    nodes: dict[str, Any] = dict(graph.nodes)
    for name, node in nodes.items():
        if isinstance(node, nir.NIRGraph):
            raise ModelError(f"{source}: node {name!r} is a subgraph (recurrent layers); only "
                             "feed-forward chains can be mapped", path=source, layer=name)
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for src, dst in graph.edges:
        for end in (src, dst):
            if end not in nodes:
                raise ModelError(f"{source}: edge names unknown node {end!r}", path=source)
        succ[src].append(dst)
    inputs = [n for n, node in nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise ModelError(f"{source}: the graph has {len(inputs)} Input nodes; one is needed",
                         path=source)
    order, name = [inputs[0]], inputs[0]
    while succ[name]:
        if len(succ[name]) > 1:
            raise ModelError(f"{source}: node {name!r} feeds {len(succ[name])} nodes; only "
                             "feed-forward chains can be mapped", path=source, layer=name)
        name = succ[name][0]
        if name in order:
            raise ModelError(f"{source}: node {name!r} closes a loop (recurrence); only "
                             "feed-forward chains can be mapped", path=source, layer=name)
        order.append(name)
    missed = sorted(set(nodes) - set(order))
    if missed:
        raise ModelError(f"{source}: node {missed[0]!r} is not on the chain from the Input node; "
                         "only feed-forward chains can be mapped", path=source, layer=missed[0])
    return [(n, nodes[n]) for n in order]


def _input_shape(node: Any, name: str, source: str) -> tuple[int, ...]:
    shape = tuple(int(d) for d in np.ravel(node.input_type["input"]))
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise ModelError(f"{source}: Input node {name!r} has shape {shape}; expected (C, H, W), "
                         "(H, W) or (N,)", path=source, layer=name)
    return shape


@dataclass
class _Pending:
    """A weight layer being assembled from consecutive nodes."""

    name: str
    kind: str
    weight: np.ndarray
    bias: np.ndarray | None
    in_shape: tuple[int, ...]
    stride: int = 1
    padding: int = 0
    neurons: SpikingNeurons | None = None
    pool: int = 1
    nodes: list[str] = field(default_factory=list)

    def layer(self) -> Layer:
        return Layer(self.name, "conv" if self.kind == "conv" else "linear", self.weight,
                     self.in_shape, stride=self.stride, padding=self.padding, pool=self.pool,
                     pool_mode="sum" if self.pool > 1 else "max", bias=self.bias,
                     neurons=self.neurons)


class _Builder:
    """Walks the chain node by node and collects :class:`Layer` objects."""

    def __init__(self, source: str, input_shape: tuple[int, ...]) -> None:
        self.source, self.input_shape = source, input_shape
        self.shape = input_shape  # shape of the spikes the next weight layer receives
        self.layers: list[Layer] = []
        self.pending: _Pending | None = None
        self.in_scale = 1.0  # AvgPool's 1/k^2, moved into the next layer's weights
        self.tokens: list[str] = []

    def fail(self, name: str, why: str) -> ModelError:
        return ModelError(f"{self.source}: node {name!r}: {why}", path=self.source, layer=name)

    def add(self, name: str, node: Any) -> None:
        kind = type(node).__name__
        if kind not in SUPPORTED:
            raise self.fail(name, f"{kind} nodes are not supported (supported: "
                            f"{', '.join(SUPPORTED)})")
        if kind in _WEIGHTS:
            self._close()
            self.pending = self._weight(name, kind, node)
        elif kind in _NEURONS:
            self._neurons(name, kind, node)
        elif kind in _POOLS:
            self._pool(name, kind, node)
        elif kind == "Flatten" and self.pending is None:
            self.shape = (int(np.prod(self.shape)),)

    # -- weight layers -----------------------------------------------------------------
    def _weight(self, name: str, kind: str, node: Any) -> _Pending:
        weight = np.asarray(node.weight, dtype=np.float32) * self.in_scale
        self.in_scale = 1.0
        bias = _bias(node, weight.shape[0]) if kind != "Linear" else None
        if kind == "Conv2d":
            stride, padding = self._conv_geometry(name, node, weight)
            in_shape = self.shape
            if len(in_shape) != 3:
                raise self.fail(name, f"Conv2d after a flat {in_shape} input")
            stated = getattr(node, "input_shape", None)
            stated = None if stated is None else tuple(int(d) for d in np.ravel(stated))
            if stated is not None and stated != in_shape[1:]:
                raise self.fail(name, f"states input (H, W) = {stated}, but the previous layer "
                                f"gives {in_shape[1:]}")
            self.tokens.append(f"{weight.shape[0]}C{weight.shape[-1]}s{stride}p{padding}")
            return _Pending(name, "conv", weight, bias, in_shape, stride, padding)
        if weight.ndim != 2:
            raise self.fail(name, f"{kind} weight must be 2-D (out, in), got {weight.shape}")
        self.tokens.append(f"{weight.shape[0]}F")
        return _Pending(name, "linear", weight, bias, (int(np.prod(self.shape)),))

    def _conv_geometry(self, name: str, node: Any, weight: np.ndarray) -> tuple[int, int]:
        if weight.ndim != 4 or weight.shape[2] != weight.shape[3]:
            raise self.fail(name, f"only square 2-D kernels are supported, weight {weight.shape}")
        if int(node.groups) != 1 or set(np.ravel(node.dilation).tolist()) != {1}:
            raise self.fail(name, "grouped or dilated convolutions are not supported")
        strides = set(np.ravel(node.stride).tolist())
        if len(strides) != 1:
            raise self.fail(name, f"unequal strides {tuple(np.ravel(node.stride))}")
        stride, k = int(strides.pop()), int(weight.shape[-1])
        padding = node.padding
        if isinstance(padding, (str, bytes)):
            padding = padding.decode() if isinstance(padding, bytes) else padding
            if padding == "same" and (stride != 1 or k % 2 == 0):
                raise self.fail(name, "'same' padding needs stride 1 and an odd kernel")
            return stride, (k // 2 if padding == "same" else 0)
        pads = set(np.ravel(padding).tolist())
        if len(pads) != 1:
            raise self.fail(name, f"unequal paddings {tuple(np.ravel(padding))}")
        return stride, int(pads.pop())

    def _close(self) -> None:
        """Finish the pending weight layer (its neurons and pooling are known)."""
        if self.pending is None:
            return
        p = self.pending
        if p.neurons is None:
            raise self.fail(p.name, "a weight layer is followed by another weight layer with no "
                            "IF/LIF neurons between them")
        if not p.neurons.spiking:
            raise self.fail(p.name, "LI neurons do not spike; only the output layer may be LI")
        layer = p.layer()
        self.layers.append(layer)
        self.shape = layer.spike_shape
        self.pending = None

    # -- neurons and pooling -----------------------------------------------------------
    def _neurons(self, name: str, kind: str, node: Any) -> None:
        p = self.pending
        if p is None or p.neurons is not None:
            raise self.fail(name, f"{kind} neurons must follow a Conv2d, Affine or Linear node")
        out_shape = p.layer().out_shape
        get = {k: _param(getattr(node, k, None), out_shape, name, k, self.source)
               for k in ("r", "v_threshold", "v_reset", "tau", "v_leak")}
        if kind == "IF":
            get["tau"], get["v_leak"] = np.array(np.inf), np.array(0.0)
        if kind == "LI":
            get["v_threshold"], get["v_reset"] = np.array(np.inf), np.array(0.0)
        if kind != "IF" and not np.all(get["tau"] > 0):
            raise self.fail(name, "tau must be > 0")
        p.neurons = SpikingNeurons(_KINDS[kind], get["r"], get["v_threshold"], get["v_reset"],
                                   get["tau"], get["v_leak"], source=name)
        p.nodes.append(name)

    def _pool(self, name: str, kind: str, node: Any) -> None:
        k = _pool_size(name, node, self)
        scale = 1.0 / (k * k) if kind == "AvgPool2d" else 1.0
        p = self.pending
        if p is None:
            raise self.fail(name, f"{kind} must follow a Conv2d node or its neurons")
        if p.kind != "conv":
            raise self.fail(name, f"{kind} after a dense layer")
        if p.neurons is None:  # pooling the currents: fold into the convolution
            p.weight, p.bias = _fold_pool(p.weight, p.bias, p.stride, k, scale)
            p.stride *= k
            self.tokens[-1] += f"+{'A' if scale != 1 else 'S'}{k}"
            return
        if p.pool != 1:
            raise self.fail(name, "two pooling nodes after one layer")
        p.pool, self.in_scale = k, scale
        self.tokens.append(f"S{k}" if scale == 1 else f"A{k}")

    def finish(self) -> LayerGraph:
        p = self.pending
        if p is None:
            raise ModelError(f"{self.source}: the graph ends without a weight layer",
                             path=self.source)
        if p.pool != 1 or self.in_scale != 1.0:
            raise self.fail(p.name, "the output layer cannot be followed by pooling")
        self.layers.append(p.layer())
        head = ("x".join(str(d) for d in (*self.input_shape[1:], self.input_shape[0]))
                if len(self.input_shape) == 3 else str(self.input_shape[0]))
        return LayerGraph(self.input_shape, tuple(self.layers),
                          spec=f"nir:{head}:{'-'.join(self.tokens)}",
                          meta={"source": self.source, "format": "nir",
                                "neuron_model": "if-lif"})


def _bias(node: Any, channels: int) -> np.ndarray | None:
    bias = np.asarray(getattr(node, "bias", 0.0), dtype=np.float32)
    bias = np.broadcast_to(bias.reshape(-1) if bias.size > 1 else bias, (channels,)).copy()
    return None if not bias.any() else bias


def _param(value: Any, out_shape: tuple[int, ...], node: str, key: str,
           source: str) -> np.ndarray:
    """A neuron parameter as float64, reshaped to ``out_shape`` when it holds one per neuron."""
    if value is None:
        return np.array(0.0)
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == int(np.prod(out_shape)):
        return arr.reshape(out_shape)
    if arr.size == 1:
        return arr.reshape(())
    if len(out_shape) == 3 and arr.size == out_shape[0]:
        return arr.reshape(out_shape[0], 1, 1)
    raise ModelError(f"{source}: node {node!r}: {key} has {arr.size} values for "
                     f"{int(np.prod(out_shape))} neurons of shape {out_shape}", path=source,
                     layer=node, expected=out_shape, got=tuple(arr.shape))


def _pool_size(name: str, node: Any, builder: _Builder) -> int:
    kernel = set(np.ravel(node.kernel_size).tolist())
    stride = set(np.ravel(node.stride).tolist())
    padding = set(np.ravel(node.padding).tolist())
    if len(kernel) != 1 or kernel != stride or padding - {0}:
        shown = ", ".join(f"{key} {tuple(np.ravel(getattr(node, key)))}"
                          for key in ("kernel_size", "stride", "padding"))
        raise builder.fail(name, f"pooling must be square with stride = kernel and no padding "
                           f"({shown})")
    return int(kernel.pop())


def _fold_pool(weight: np.ndarray, bias: np.ndarray | None, stride: int, k: int,
               scale: float) -> tuple[np.ndarray, np.ndarray | None]:
    """A convolution followed by a k x k sum pool as one convolution.

    Pooled output ``P`` sums conv outputs ``P k + u`` (``u < k``), which read input rows
    ``(P k + u) s - pad + a`` (``a < K``): one kernel of side ``K + (k - 1) s`` at stride
    ``k s`` whose tap ``u s + a`` sums ``W[a]`` over all such ``(u, a)``.
    """
    c_out, c_in, kk, _ = weight.shape
    side = kk + (k - 1) * stride
    folded = np.zeros((c_out, c_in, side, side), dtype=np.float64)
    for u in range(k):
        for v in range(k):
            folded[:, :, u * stride:u * stride + kk, v * stride:v * stride + kk] += weight
    new_bias = None if bias is None else (bias * k * k * scale).astype(np.float32)
    return (folded * scale).astype(np.float32), new_bias
