"""Effective synaptic operations: the synapses a spike reaches whose weight is not zero.

An SOP (papers/004 Eq. 12) is one incoming spike at one postsynaptic neuron, whatever
the weight. NeuroBench counts *effective* operations instead, leaving out the synapses
whose weight is zero; with 4-bit weights many are (a quantization level of 0). A core
that skips zero weights (``core.skip_zero_weights``) makes only the effective ones.

For the spikes of layer ``l`` and each destination core of weight layer ``l + 1``,
:func:`effective_table` counts, per source neuron, the postsynaptic neurons on that
core joined to it by a non-zero weight; the effective SOPs of a spike are a lookup in
that table, as :meth:`~canmore_sim.mapper.connectivity.LayerLinks.postsynaptic` is for
all SOPs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from canmore_sim.models.graph import Layer, LayerGraph

if TYPE_CHECKING:  # annotations only: the mapper is a later stage
    from canmore_sim.mapper.partition import CoreGroups

__all__ = ["effective_table", "effective_tables", "nonzero_weights"]


def nonzero_weights(layer: Layer) -> np.ndarray:
    """Bool array of the layer's weight shape: True where the weight is not zero.

    Compact codes are read without decoding: a code of 0, and the integer type's
    minimum (which stands for ``-0.0``), are zero weights.
    """
    if layer.codes is not None:
        codes = layer.codes.codes
        return (codes != 0) & (codes != np.iinfo(codes.dtype).min)
    return np.asarray(layer.weight) != 0


def effective_table(graph: LayerGraph, groups: CoreGroups, source_layer: int) -> np.ndarray:
    """Effective postsynaptic neurons per destination core and source neuron.

    Parameters
    ----------
    graph
        The network (its weights must not be released).
    groups
        Its partition into cores.
    source_layer
        ``l`` (0 = input): the spikes of layer ``l`` feed weight layer ``l + 1``.

    Returns
    -------
    numpy.ndarray
        int32 ``(n_dst, n_src)``: row ``j`` for the ``j``-th core of layer ``l + 1``
        (in the order of ``groups.of_layer(l + 1)``), column ``i`` for the flat index of
        a spike of layer ``l``; the entry counts the core's neurons that the spike reaches
        through a non-zero weight.
    """
    target = graph.layers[source_layer]
    dst = groups.of_layer(source_layer + 1)
    nonzero = nonzero_weights(target)
    if target.kind == "linear":
        return _core_sums(nonzero, groups, dst).reshape(len(dst), -1)
    c_in, h_in, w_in = target.in_shape
    # kernel taps with a non-zero weight, summed over each core's channels: (n_dst, C_in, k, k)
    kernels = _core_sums(nonzero, groups, dst).astype(np.float64)
    cols = _reach(w_in, target, 0, target.out_shape[2]).astype(np.float64)  # (W, k)
    by_col = kernels @ cols.T  # (n_dst, C_in, k, W): taps a, input column x
    out = np.empty((len(dst), c_in, h_in, w_in), dtype=np.int32)
    bands = np.stack([groups.row_lo[dst], groups.row_hi[dst]], axis=1)
    for band in np.unique(bands, axis=0):  # cores holding the same output rows together
        same = np.flatnonzero(np.all(bands == band, axis=1))
        rows = _reach(h_in, target, int(band[0]), int(band[1])).astype(np.float64)  # (H, k)
        out[same] = np.rint(rows @ by_col[same]).astype(np.int32)  # exact: small integers
    return out.reshape(len(dst), c_in * h_in * w_in)


def effective_tables(graph: LayerGraph, groups: CoreGroups) -> list[np.ndarray]:
    """:func:`effective_table` for every source layer ``0..L-1``."""
    return [effective_table(graph, groups, l) for l in range(graph.depth)]


def _core_sums(nonzero: np.ndarray, groups: CoreGroups, dst: np.ndarray) -> np.ndarray:
    """int32 ``(n_dst, *nonzero.shape[1:])``: ``nonzero`` summed over each core's channels
    (neurons); cores of one channel range (a channel split by rows) share the sum."""
    out = np.empty((len(dst), *nonzero.shape[1:]), dtype=np.int32)
    ranges = np.stack([groups.ch_lo[dst], groups.ch_hi[dst]], axis=1)
    for lo, hi in np.unique(ranges, axis=0):
        out[np.all(ranges == (lo, hi), axis=1)] = nonzero[lo:hi].sum(axis=0, dtype=np.int32)
    return out


def _reach(n_in: int, layer: Layer, o_lo: int, o_hi: int) -> np.ndarray:
    """int64 ``(n_in, k)``: 1 where input index ``y`` meets kernel tap ``a`` for an output
    index in ``[o_lo, o_hi)`` (``o * stride - padding + a == y``)."""
    k, s, p = layer.kernel, layer.stride, layer.padding
    out = np.zeros((n_in, k), dtype=np.int64)
    for o in range(o_lo, o_hi):
        for a in range(k):
            y = o * s - p + a
            if 0 <= y < n_in:
                out[y, a] = 1
    return out
