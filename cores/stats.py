"""CoreStats: synaptic operations counted per core, frame and layer.

An SOP is one synaptic accumulate: one incoming spike at one postsynaptic
neuron (papers/004 Eq. 12: the paper's "Spikes 71M" for VGG16 is this count).
An *effective* SOP leaves out the synapses whose weight is zero, as NeuroBench
counts them (:mod:`canmore_sim.cores.effective`); a core with
``core.skip_zero_weights`` makes, and is priced for, only those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from canmore_sim.cores.trace import SpikeTrace

if TYPE_CHECKING:  # annotations only: the mapper is a later stage
    from canmore_sim.mapper.connectivity import LayerLinks
    from canmore_sim.mapper.placement import Mapping

__all__ = ["CoreStats", "count_sops", "official_sparsity"]


@dataclass(frozen=True, eq=False)
class CoreStats:
    """Event counts of the cores (count first, price later).

    Attributes
    ----------
    sops
        int64 ``(n_frames, n_cores)``: synaptic operations on each core.
    spikes_in
        int64 ``(n_frames, n_cores)``: spikes that arrived at each core (one per spike
        with at least one postsynaptic neuron there).
    spikes_out
        int64 ``(n_frames, n_cores)``: spikes each core sent (after pooling; 0 for the
        output cores, which read out their membrane potentials). Input spikes come
        from the I/O port, not from a core.
    sops_per_layer
        int64 ``(n_frames, L)``: SOPs of weight layer ``l`` in column ``l - 1``.
    weight_bits
        int64 ``(n_cores,)``: weight memory used by each core, bits.
    effective_sops, effective_sops_per_layer
        int64, shaped as ``sops`` and ``sops_per_layer``: the SOPs whose synapse has a
        non-zero weight (None when not counted).
    """

    sops: np.ndarray
    spikes_in: np.ndarray
    spikes_out: np.ndarray
    sops_per_layer: np.ndarray
    weight_bits: np.ndarray
    effective_sops: np.ndarray | None = None
    effective_sops_per_layer: np.ndarray | None = None

    @property
    def sops_per_frame(self) -> np.ndarray:
        return self.sops.sum(axis=1)

    def priced_sops(self, skip_zero_weights: bool) -> tuple[np.ndarray, np.ndarray]:
        """The SOPs a core makes, per frame ``(n_frames,)`` and per layer ``(n_frames, L)``.

        Parameters
        ----------
        skip_zero_weights
            ``core.skip_zero_weights``: the core skips synapses of weight zero, so only
            the effective SOPs are made (and priced by Eq. 12).

        Raises
        ------
        ValueError
            If zero weights are skipped but the effective SOPs were not counted.
        """
        if not skip_zero_weights:
            return self.sops_per_frame, self.sops_per_layer
        if self.effective_sops is None or self.effective_sops_per_layer is None:
            raise ValueError("core.skip_zero_weights needs the effective SOPs, which were "
                             "not counted (count_sops(effective=...))")
        return self.effective_sops.sum(axis=1), self.effective_sops_per_layer


def count_sops(trace: SpikeTrace, mapping: Mapping, links: list[LayerLinks],
               dropped: Sequence[np.ndarray] | None = None,
               effective: Sequence[np.ndarray] | None = None) -> CoreStats:
    """Count SOPs and arriving spikes per core for every frame of ``trace``.

    Parameters
    ----------
    trace
        Spikes of every frame and layer.
    mapping
        Cores and their placement.
    links
        ``links[l]`` is the connectivity of the spikes of layer ``l``
        (:func:`canmore_sim.mapper.connectivity.layer_links`), for ``l = 0..L-1``.
    dropped
        Closed-loop timing: per source layer, bool ``(n_spikes, len(dst_cores))``, the
        (spike, destination core) pairs that arrived after the core's window closed and so
        never reach its neurons: they count as arriving spikes but make no SOPs.
    effective
        Per source layer, the table of :func:`~canmore_sim.cores.effective.effective_table`
        (``(n_dst, n_src)``); with it the effective SOPs are counted too.
    """
    if len(links) != len(trace.layers):
        raise ValueError(f"need links for {len(trace.layers)} source layers, got {len(links)}")
    n_frames, n_cores = trace.n_frames, mapping.n_cores
    sops = np.zeros((n_frames, n_cores), dtype=np.int64)
    spikes_in = np.zeros((n_frames, n_cores), dtype=np.int64)
    spikes_out = np.zeros((n_frames, n_cores), dtype=np.int64)
    per_layer = np.zeros((n_frames, len(links)), dtype=np.int64)
    if effective is not None and len(effective) != len(links):
        raise ValueError(f"need {len(links)} effective tables, got {len(effective)}")
    eff = None if effective is None else np.zeros((n_frames, n_cores), dtype=np.int64)
    eff_layer = None if effective is None else np.zeros((n_frames, len(links)), dtype=np.int64)
    for l, (spikes, link) in enumerate(zip(trace.layers, links, strict=True)):
        if l > 0:
            _count_sent(spikes_out, spikes.frame, link.src_core[spikes.neuron])
        if dropped is None:  # sums per frame, no (n_spikes, n_dst) matrix
            made, arrived = link.frame_sums(spikes.frame, spikes.neuron, n_frames)
        else:
            counts = link.postsynaptic(spikes.neuron)  # (n_spikes, n_dst)
            made = _frame_sums(np.where(dropped[l], 0, counts), spikes.frame, n_frames)
            arrived = _frame_sums(counts > 0, spikes.frame, n_frames)
        _add_per_core(sops, per_layer, l, made, link.dst_cores)
        _add_columns(spikes_in, arrived, link.dst_cores)
        if effective is not None and eff is not None and eff_layer is not None:
            table = np.asarray(effective[l])
            if dropped is None:
                reached = _table_sums(table, spikes.frame, spikes.neuron, n_frames)
            else:
                reached = _frame_sums(np.where(dropped[l], 0, table[:, spikes.neuron].T),
                                      spikes.frame, n_frames)
            _add_per_core(eff, eff_layer, l, reached, link.dst_cores)
    return CoreStats(sops, spikes_in, spikes_out, per_layer, mapping.groups.weight_bits.copy(),
                     eff, eff_layer)


def _add_per_core(per_core: np.ndarray, per_layer: np.ndarray, layer: int,
                  per_frame: np.ndarray, dst_cores: np.ndarray) -> None:
    """Add ``per_frame`` ``(n_frames, n_dst)`` operations to their cores and to column
    ``layer``."""
    _add_columns(per_core, per_frame, dst_cores)
    per_layer[:, layer] = per_frame.sum(axis=1)


def _table_sums(table: np.ndarray, frame: np.ndarray, neuron: np.ndarray,
                n_frames: int) -> np.ndarray:
    """int64 ``(n_frames, n_dst)``: ``table[j, neuron]`` summed over each frame's spikes.

    Computed as ``spikes per (frame, neuron) @ table.T`` over the neurons that spiked, in
    float64: every product and partial sum is an integer far below 2**53, so the result
    is exact whatever order the BLAS adds in.
    """
    if not len(frame):
        return np.zeros((n_frames, table.shape[0]), dtype=np.int64)
    n_src = table.shape[1]
    key = np.asarray(frame, dtype=np.int64) * n_src + np.asarray(neuron, dtype=np.int64)
    hist = np.bincount(key, minlength=n_frames * n_src).reshape(n_frames, n_src)
    used = np.flatnonzero(hist.any(axis=0))
    spiked, reached = hist[:, used], table[:, used]
    if int(spiked.sum(axis=1).max()) * int(np.abs(reached).max(initial=0)) >= 1 << 53:
        return spiked.astype(np.int64) @ reached.T.astype(np.int64)  # (never for a chip)
    return (spiked.astype(np.float64) @ reached.T.astype(np.float64)).astype(np.int64)


def _frame_sums(values: np.ndarray, frame: np.ndarray, n_frames: int) -> np.ndarray:
    """Column sums of ``values`` ``(n_spikes, n)`` (integers or bools) over each frame's
    spikes, int64 ``(n_frames, n)`` (integer sums: exact in any order)."""
    out = np.zeros((n_frames, values.shape[1]), dtype=np.int64)
    if not len(frame):
        return out
    values = values.astype(np.int64, copy=False)
    if np.any(frame[1:] < frame[:-1]):  # spikes not in frame order: put them in it
        order = np.argsort(frame, kind="stable")
        frame, values = frame[order], values[order]
    starts = np.flatnonzero(np.concatenate(([True], frame[1:] != frame[:-1])))
    out[frame[starts]] = np.add.reduceat(values, starts, axis=0)
    return out


def _add_columns(per_core: np.ndarray, per_frame: np.ndarray, cores: np.ndarray) -> None:
    """``per_core[:, cores[j]] += per_frame[:, j]`` for every ``j`` (cores may repeat)."""
    for j, core in enumerate(cores):
        per_core[:, core] += per_frame[:, j]


def _count_sent(spikes_out: np.ndarray, frame: np.ndarray, core: np.ndarray) -> None:
    """One spike sent per row, at ``(frame, core)``."""
    n_frames, n_cores = spikes_out.shape
    if len(core) and core.min() < 0:  # (no hidden neuron lacks a core; kept as it was)
        np.add.at(spikes_out, (frame, core), 1)
        return
    key = frame.astype(np.int64) * n_cores + core
    spikes_out += np.bincount(key, minlength=n_frames * n_cores).reshape(n_frames, n_cores)


def official_sparsity(trace: SpikeTrace, layer_neurons: np.ndarray) -> np.ndarray:
    """Per-frame sparsity as the official DTA-TTFS code counts it (papers/004, Table 2).

    ``(spikes of all hidden layers + the number of output neurons) / all neurons`` of
    the weight layers: the input layer is not counted, each hidden neuron that fired
    counts once (before pooling), and every output neuron counts as spiking. For VGG16 on
    CIFAR-10 the paper's 0.2561 x 284,682 neurons = 72.9 k, its "0.073 M spikes".

    Parameters
    ----------
    trace
        The run's spikes (``neuron_spikes``: neurons fired per frame and layer; for
        time-stepped models a count of spikes, so the figure is spikes per neuron).
    layer_neurons
        Neurons of weight layers ``1..L`` (``L`` entries; the last is the output layer).

    Returns
    -------
    numpy.ndarray
        float64 ``(n_frames,)``.
    """
    layer_neurons = np.asarray(layer_neurons, dtype=np.int64)
    depth = trace.neuron_spikes.shape[1] - 1
    if layer_neurons.shape != (depth,) or np.any(layer_neurons < 1):
        raise ValueError(f"need {depth} positive neuron counts (one per weight layer), got "
                         f"shape {layer_neurons.shape}")
    hidden = trace.neuron_spikes[:, 1:depth].sum(axis=1)
    return (hidden + layer_neurons[-1]) / float(layer_neurons.sum())
