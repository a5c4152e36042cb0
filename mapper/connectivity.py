"""Which cores a spike must reach, and how many postsynaptic neurons it meets there.

For the spikes leaving layer ``l`` (0 = input frame) and feeding weight layer
``l + 1``, :func:`layer_links` builds the small lookup tables from which

* the source core of every spike (``-1`` for input spikes, which enter through
  the I/O port), and
* the number of postsynaptic neurons on every core of layer ``l + 1``
  (:meth:`LayerLinks.postsynaptic`)

follow by array indexing. A core holds at least one postsynaptic neuron of a
spike exactly when that count is positive (docs/explanation/domain-rules.md, "Traffic and
NoC"); the
sum over cores is the spike's fan-out, so SOPs = spikes x fan-out by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from canmore_sim.mapper.partition import CoreGroups
from canmore_sim.models.graph import Layer, LayerGraph

__all__ = ["LayerLinks", "layer_links"]


@dataclass(frozen=True, eq=False)
class LayerLinks:
    """Connectivity from the spikes of layer ``l`` to the cores of layer ``l + 1``.

    Attributes
    ----------
    source_layer
        ``l`` (0 = input).
    src_core
        int64 lookup over the flat spike index of layer ``l``: the core that
        emits it, or -1 for input spikes.
    dst_cores
        int64 core ids of layer ``l + 1``.
    """

    source_layer: int
    src_core: np.ndarray
    dst_cores: np.ndarray
    _spike_shape: tuple[int, ...]
    _dense_counts: np.ndarray | None  # (n_dst,) when layer l+1 is dense
    _chans: np.ndarray | None  # (n_dst,) channels per dst core (conv)
    _row_cover: np.ndarray | None  # (n_dst, H_in) output rows of the core reached by input row
    _col_cover: np.ndarray | None  # (W_in,) output columns reached by input column

    def postsynaptic(self, neuron: np.ndarray) -> np.ndarray:
        """Postsynaptic neurons on each destination core, per spike.

        Parameters
        ----------
        neuron
            Flat spike indices of layer ``l``.

        Returns
        -------
        numpy.ndarray
            int64 ``(len(neuron), len(dst_cores))``.
        """
        neuron = np.asarray(neuron, dtype=np.int64)
        if self._dense_counts is not None:
            return np.broadcast_to(self._dense_counts, (len(neuron), len(self.dst_cores))).copy()
        assert self._chans is not None and self._row_cover is not None
        assert self._col_cover is not None
        _, h, w = self._spike_shape
        y = (neuron // w) % h
        x = neuron % w
        return self._chans[None, :] * self._row_cover[:, y].T * self._col_cover[x][:, None]

    def frame_sums(self, frame: np.ndarray, neuron: np.ndarray,
                   n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`postsynaptic` summed over each frame's spikes, without its
        ``(n_spikes, n_dst)`` matrix.

        A conv layer's count is separable, ``chans[j] * row_cover[j, y] * col_cover[x]``
        for a spike at row ``y`` and column ``x``, so its sum over a frame's spikes is
        ``chans[j] * sum_y row_cover[j, y] * sum_x N[y, x] * col_cover[x]`` with ``N`` the
        frame's spikes per position; a dense layer's is its spike count times the
        per-core counts. Integer arithmetic: equal to summing :meth:`postsynaptic`'s rows.

        Parameters
        ----------
        frame
            int, frame of each spike (``0 <= frame < n_frames``).
        neuron
            Flat spike indices of layer ``l``, one per spike.
        n_frames
            Frames of the batch.

        Returns
        -------
        (postsynaptic, arrivals)
            int64 ``(n_frames, len(dst_cores))``: the postsynaptic neurons the frame's
            spikes meet on each destination core, and how many of its spikes reach the
            core at all (a positive count).
        """
        frame = np.asarray(frame, dtype=np.int64)
        neuron = np.asarray(neuron, dtype=np.int64)
        if self._dense_counts is not None:
            spikes = np.bincount(frame, minlength=n_frames).astype(np.int64)[:, None]
            return (spikes * self._dense_counts[None, :],
                    spikes * (self._dense_counts > 0).astype(np.int64)[None, :])
        assert self._chans is not None and self._row_cover is not None
        assert self._col_cover is not None
        _, h, w = self._spike_shape
        position = (neuron // w) % h * w + neuron % w
        grid = np.bincount(frame * (h * w) + position, minlength=n_frames * h * w)
        grid = grid.astype(np.int64).reshape(n_frames, h, w)
        return (_separable_sums(grid, self._chans, self._row_cover, self._col_cover),
                _separable_sums(grid, self._chans > 0, self._row_cover > 0,
                                self._col_cover > 0))


def layer_links(graph: LayerGraph, groups: CoreGroups, source_layer: int) -> LayerLinks:
    """Build the connectivity of the spikes of ``source_layer`` (0..L-1).

    Parameters
    ----------
    graph
        The network.
    groups
        Its partition into cores (core id = row index).
    source_layer
        ``l``: 0 for the input frame, else a weight layer whose spikes travel.
    """
    if not 0 <= source_layer < graph.depth:
        raise ValueError(f"source_layer must be in 0..{graph.depth - 1}, got {source_layer}")
    spike_shape = (graph.input_shape if source_layer == 0
                   else graph.layers[source_layer - 1].spike_shape)
    src = _source_lookup(graph, groups, source_layer, spike_shape)
    target = graph.layers[source_layer]
    dst = groups.of_layer(source_layer + 1).astype(np.int64)
    if target.kind == "linear":
        counts = (groups.ch_hi[dst] - groups.ch_lo[dst]).astype(np.int64)
        return LayerLinks(source_layer, src, dst, spike_shape, counts, None, None, None)
    chans = (groups.ch_hi[dst] - groups.ch_lo[dst]).astype(np.int64)
    row_cover = np.stack([_cover(target, 1, int(groups.row_lo[g]), int(groups.row_hi[g]))
                          for g in dst])
    col_cover = _cover(target, 2, 0, target.out_shape[2])
    return LayerLinks(source_layer, src, dst, spike_shape, None, chans, row_cover, col_cover)


def _separable_sums(grid: np.ndarray, chans: np.ndarray, rows: np.ndarray,
                    cols: np.ndarray) -> np.ndarray:
    """int64 ``(F, n_dst)``: ``chans[j] * sum_y rows[j, y] * sum_x grid[f, y, x] *
    cols[x]`` (``grid``: spikes per frame, row and column)."""
    by_row = grid @ cols.astype(np.int64)  # (F, H)
    return (by_row @ rows.astype(np.int64).T) * chans.astype(np.int64)[None, :]


def _cover(layer: Layer, axis: int, o_lo: int, o_hi: int) -> np.ndarray:
    """For each input index along ``axis``, output indices in ``[o_lo, o_hi)`` it reaches."""
    n_in = layer.in_shape[axis]
    k, s, p = layer.kernel, layer.stride, layer.padding
    counts = np.zeros(n_in, dtype=np.int64)
    for o in range(o_lo, o_hi):
        lo, hi = max(o * s - p, 0), min(o * s - p + k, n_in)
        if hi > lo:
            counts[lo:hi] += 1
    return counts


def _source_lookup(
    graph: LayerGraph, groups: CoreGroups, source_layer: int, spike_shape: tuple[int, ...]
) -> np.ndarray:
    size = int(np.prod(spike_shape))
    if source_layer == 0:
        return np.full(size, -1, dtype=np.int64)
    layer = graph.layers[source_layer - 1]
    lookup = np.full(spike_shape, -1, dtype=np.int64)
    for core in groups.of_layer(source_layer):
        lo, hi = int(groups.ch_lo[core]), int(groups.ch_hi[core])
        if layer.kind == "linear":
            lookup[lo:hi] = core
        else:
            # pooled rows held by the core: its output rows divided by the pool size
            r_lo = int(groups.row_lo[core]) // layer.pool
            r_hi = int(groups.row_hi[core]) // layer.pool
            lookup[lo:hi, r_lo:r_hi, :] = core
    if (lookup < 0).any():
        raise ValueError(f"layer {layer.name}: some spikes have no source core")
    return lookup.reshape(size)
