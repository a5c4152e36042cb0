"""Partition every layer into core groups (CanMore, papers/004 section 4.4.2).

Rules (docs/explanation/domain-rules.md, "Hardware mapping"):

* a layer is split along the feature (channel) dimension into equally sized
  groups (sizes differ by at most one channel), each on one core of at most
  ``core.max_neurons`` neurons; a conv layer of C x H x W holds
  ``floor(max_neurons / (H*W))`` channels per core;
* a channel larger than a core is split spatially into equal bands of rows
  (a multiple of the pooling size, so pooling stays core-local);
* every group must also fit the core's weight memory: conv groups store the
  kernels of their channels (``channels x C_in x k x k x bits``), dense groups
  ``fan_in x neurons x bits``; a group that does not fit is split further.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from canmore_sim.config import CoreConfig
from canmore_sim.errors import MappingError
from canmore_sim.models.graph import Layer, LayerGraph

__all__ = ["COLUMNS", "CoreGroups", "partition"]

_BITS_PER_KIB = 8192


@dataclass(frozen=True, eq=False)
class CoreGroups:
    """The cores a network needs, one row per core (columnar).

    Attributes
    ----------
    layer
        int32, weight-layer index ``l`` (1..L) the core belongs to.
    ch_lo, ch_hi
        int32, channel (conv) or neuron (dense) range ``[lo, hi)`` held.
    row_lo, row_hi
        int32, output rows ``[lo, hi)`` held (the whole height unless a channel
        is larger than a core; 0..1 for dense layers).
    neurons, fan_in, synapses
        int64, neurons on the core, synapses per neuron, and synapses in all.
    weight_bits
        int64, bits of weight memory the core uses.
    neuron_lo, neuron_hi
        int64, the core's neurons as a range ``[lo, hi)`` of the layer's flat
        (C, H, W) neuron index; contiguous because a core holds whole channels
        or one band of rows of a single channel. ``hi - lo == neurons``.
    """

    layer: np.ndarray
    ch_lo: np.ndarray
    ch_hi: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    neurons: np.ndarray
    fan_in: np.ndarray
    synapses: np.ndarray
    weight_bits: np.ndarray
    neuron_lo: np.ndarray
    neuron_hi: np.ndarray

    def __len__(self) -> int:
        return len(self.layer)

    def of_layer(self, layer: int) -> np.ndarray:
        """Indices (core ids) of the groups of weight layer ``layer``."""
        return np.flatnonzero(self.layer == layer)


def partition(graph: LayerGraph, core: CoreConfig) -> CoreGroups:
    """Split every weight layer of ``graph`` into core groups.

    Parameters
    ----------
    graph
        The network.
    core
        Core limits: ``max_neurons``, ``weight_bits``, ``sram_kib``.

    Raises
    ------
    MappingError
        If a single channel row band (conv) or a single neuron (dense) does not
        fit the weight memory, naming the layer, bits needed and the budget.
    """
    rows: list[tuple[int, ...]] = []
    budget = int(core.sram_kib * _BITS_PER_KIB)
    for index, layer in enumerate(graph.layers, start=1):
        rows.extend(_partition_layer(index, layer, core.max_neurons, core.weight_bits, budget))
    cols = list(zip(*rows, strict=True))
    as32 = [np.asarray(c, dtype=np.int32) for c in cols[:5]]
    as64 = [np.asarray(c, dtype=np.int64) for c in cols[5:]]
    return CoreGroups(*as32, *as64)


#: Column names of :class:`CoreGroups` in constructor order; the first five are int32.
COLUMNS = ("layer", "ch_lo", "ch_hi", "row_lo", "row_hi", "neurons", "fan_in", "synapses",
           "weight_bits", "neuron_lo", "neuron_hi")


def _partition_layer(
    index: int, layer: Layer, max_neurons: int, bits: int, budget: int
) -> list[tuple[int, ...]]:
    channels = layer.channels
    kernel_bits = layer.fan_in * bits  # weight memory of one channel (conv) or neuron (dense)
    if kernel_bits > budget:
        raise MappingError(
            f"layer {layer.name}: one {'channel' if layer.kind == 'conv' else 'neuron'} needs "
            f"{kernel_bits} bits of weight memory, core.sram_kib allows {budget}",
            layer=layer.name, needed=kernel_bits, available=budget,
        )
    per_channel = 1 if layer.kind == "linear" else layer.out_shape[1] * layer.out_shape[2]
    by_memory = budget // kernel_bits
    if per_channel <= max_neurons:
        per_core = min(max_neurons // per_channel, by_memory)
        n_groups = math.ceil(channels / per_core)
        bands = [(0, layer.out_shape[1] if layer.kind == "conv" else 1)]
    else:
        n_groups = channels
        bands = _row_bands(layer, max_neurons)
    out: list[tuple[int, ...]] = []
    for chunk in np.array_split(np.arange(channels), n_groups):
        lo, hi = int(chunk[0]), int(chunk[-1]) + 1
        for r_lo, r_hi in bands:
            width = layer.out_shape[2] if layer.kind == "conv" else 1
            neurons = (hi - lo) * (r_hi - r_lo) * width
            synapses = _group_synapses(layer, lo, hi, r_lo, r_hi)
            plane = (layer.out_shape[1] * width) if layer.kind == "conv" else 1
            first = lo * plane + r_lo * width
            out.append((index, lo, hi, r_lo, r_hi, neurons, layer.fan_in, synapses,
                        (hi - lo) * kernel_bits, first, first + neurons))
    return out


def _row_bands(layer: Layer, max_neurons: int) -> list[tuple[int, int]]:
    """Equal bands of output rows, each a multiple of the pool size, within a core."""
    _, height, width = layer.out_shape
    pool = layer.pool
    pools_fit = (max_neurons // width) // pool  # whole pools of rows a core holds
    if pools_fit < 1:
        raise MappingError(
            f"layer {layer.name}: {pool} output row(s) of width {width} need "
            f"{pool * width} neurons, core.max_neurons is {max_neurons}",
            layer=layer.name, needed=pool * width, available=max_neurons,
        )
    # Whole pools are the units of a band; the last unit holds the rows a floor pooling drops
    # (height % pool of them), so it is never larger than a pool. Each band holds floor or ceil
    # of units / n_bands units, at most pools_fit of them, so no band outgrows the core.
    units = math.ceil(height / pool)
    n_bands = math.ceil(units / pools_fit)
    edges = [min(height, pool * round(units * i / n_bands)) for i in range(n_bands + 1)]
    return [(edges[i], edges[i + 1]) for i in range(n_bands) if edges[i + 1] > edges[i]]


def _group_synapses(layer: Layer, lo: int, hi: int, r_lo: int, r_hi: int) -> int:
    if layer.kind == "linear":
        return (hi - lo) * layer.fan_in
    # synapses of the output positions in rows [r_lo, r_hi): count valid (non-padding) taps
    _, h_in, w_in = layer.in_shape
    k, s, p = layer.kernel, layer.stride, layer.padding
    _, _, w_out = layer.out_shape
    rows = np.array([_taps(o, k, s, p, h_in) for o in range(r_lo, r_hi)])
    cols = np.array([_taps(o, k, s, p, w_in) for o in range(w_out)])
    return int((hi - lo) * layer.in_shape[0] * rows.sum() * cols.sum())


def _taps(o: int, k: int, s: int, p: int, n_in: int) -> int:
    return max(0, min(o * s - p + k, n_in) - max(o * s - p, 0))
