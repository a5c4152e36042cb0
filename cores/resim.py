"""DTA-TTFS re-simulated with what each core really received (closed-loop timing).

The ideal network (:func:`canmore_sim.cores.neuron.run_network`) lets every spike reach
every postsynaptic neuron at its TTFS time. On the chip a spike of layer ``l - 1`` travels
to each core of layer ``l`` in its own packet, so what the neurons of one core see can
differ from what the neurons of another core see:

* a **lost** pair (spike, destination core) does not reach that core's neurons at all
  (its packet was delivered after the core's window closed);
* a **shifted** pair takes effect at its arrival time ``t_i + d`` (model time units; ``d``
  the packet's network latency converted by ``Tw / window_ns``) instead of ``t_i``: the
  packet carries no timestamp.

Each core's neurons are re-simulated from their own input (one dense sub-batch per
core, frames with changed input only, the core's channel slice of the weights); every
other neuron keeps the ideal result, so a run in which nothing is lost or shifted gives
the ideal trace bit for bit.

Shifted inputs under ReL-PSP (papers/004 Eq. 2-5): ``V_j(t) = sum_{a_i <= t} w_ij (t - a_i)``
is continuous and piecewise linear. Inputs arriving before the window start ``l Tw`` keep
their exact time, and Eq. 6/7 hold with ``t_i -> a_i``. An input arriving inside the window
takes effect at the next of ``K`` equal sub-steps of the window (``run.timing_substeps``,
a core taking its input queue in K batches); on each sub-step ``[g_k, g_{k+1}]`` the
potential is linear with the sums ``W_k``, ``S_k`` of the inputs arrived by ``g_k``, so the
first crossing of the falling threshold (Eq. 5) is Eq. 6 on that segment,
``t = (Tw (l+1) + S_k) / (1 + W_k)``, accepted where it lies in the segment. A neuron none
of whose inputs arrived inside the window gets Eq. 6/7 in closed form. The output layer
takes its readout (Eq. 2 at the readout point) over the inputs that arrived in time,
each at its arrival time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from canmore_sim.cores.neuron import (
    assemble_trace,
    dta_spike_times,
    encode,
    layer_forward,
    readout,
    spike_columns,
)
from canmore_sim.cores.synapses import apply_weights
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.errors import DataError
from canmore_sim.models.graph import DtaRule, Layer, LayerGraph

if TYPE_CHECKING:  # the partition comes from the mapper, a later stage
    from canmore_sim.mapper.partition import CoreGroups

__all__ = ["CoreInputs", "arrival_spike_times", "by_frame", "resimulate_dta"]


@dataclass(frozen=True, eq=False)
class CoreInputs:
    """The (spike, destination core) pairs whose input differs from the ideal network.

    One entry per source layer ``l = 0..L-1`` (its spikes feed weight layer ``l + 1``); each
    is a tuple of equal-length arrays ``(frame, neuron, core, lost, delay, slot)``: int64
    frame, int64 flat spike index (after pooling), int64 destination core id, bool lost,
    float64 arrival delay (model time units for DTA-TTFS, 0: the spike takes effect at its
    TTFS time; whole time steps for the time-stepped models) and int64 time step of the
    spike (0 for DTA-TTFS, whose neurons spike once).
    """

    layers: tuple[tuple[np.ndarray, ...], ...]

    @classmethod
    def none(cls, depth: int) -> CoreInputs:
        """No pair differs: the ideal network."""
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                 np.zeros(0, bool), np.zeros(0), np.zeros(0, np.int64))
        return cls(tuple(empty for _ in range(depth)))


def resimulate_dta(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
                   rule: DtaRule, groups: CoreGroups, inputs: CoreInputs, *,
                   substeps: int = 16, batch_size: int = 256) -> SpikeTrace:
    """Every spike of ``graph`` when each core receives what ``inputs`` says.

    Parameters
    ----------
    graph, frames, labels
        As for :func:`~canmore_sim.cores.neuron.run_network` (the same batches of
        ``batch_size`` frames, so an unchanged core gives the ideal numbers bit for bit).
    rule
        The DTA-TTFS window-edge rule that runs.
    groups
        The partition: core ``c`` holds neurons ``[neuron_lo, neuron_hi)`` of its layer.
    inputs
        Lost and shifted pairs per source layer.
    substeps
        ``K``: sub-steps of a window at which inputs arriving inside it take effect.

    Raises
    ------
    DataError
        If ``inputs`` does not have one entry per source layer or the frames do not fit.
    """
    frames = np.asarray(frames)
    if len(inputs.layers) != graph.depth:
        raise DataError(f"core inputs for {len(inputs.layers)} source layers, the network "
                        f"has {graph.depth}")
    if tuple(frames.shape[1:]) != graph.input_shape:
        raise DataError(f"frames have shape {tuple(frames.shape[1:])} per frame, the network "
                        f"expects {graph.input_shape}")
    if substeps < 1 or batch_size < 1:
        raise ValueError("substeps and batch_size must be >= 1")
    return _Resim(graph, rule, groups, inputs, substeps).run(frames, labels, batch_size)


class _Resim:
    """One re-simulation: the network batch by batch, core by core where inputs differ."""

    def __init__(self, graph: LayerGraph, rule: DtaRule, groups: CoreGroups,
                 inputs: CoreInputs, substeps: int) -> None:
        self.graph, self.rule, self.groups, self.substeps = graph, rule, groups, substeps
        self.pairs = [by_frame(p) for p in inputs.layers]
        self.shifted = any(bool(np.any(p[4] != 0)) for p in self.pairs)

    def run(self, frames: np.ndarray, labels: np.ndarray | None,
            batch_size: int) -> SpikeTrace:
        graph, n, depth = self.graph, len(frames), self.graph.depth
        parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(depth)]
        counts = np.zeros((n, depth + 1), dtype=np.int64)
        potentials = []
        with torch.no_grad():
            for lo in range(0, n, batch_size):
                batch = torch.as_tensor(frames[lo:lo + batch_size], dtype=torch.float64)
                times = encode(batch, graph.input_scale, graph.tw)
                counts[lo:lo + len(batch), 0] = torch.isfinite(times).flatten(1).sum(1).numpy()
                parts[0].append(spike_columns(times.flatten(1).numpy(), lo))
                for l, layer in enumerate(graph.layers, start=1):
                    if l == depth:
                        potentials.append(self._readout(layer, times, lo).numpy())
                        break
                    fired = self._hidden(layer, l, times, lo)
                    counts[lo:lo + len(batch), l] = torch.isfinite(fired).flatten(1).sum(1).numpy()
                    if layer.kind == "conv" and layer.pool > 1:
                        times = -F.max_pool2d(-fired, layer.pool)
                    else:
                        times = fired
                    parts[l].append(spike_columns(times.flatten(1).numpy(), lo))
        return assemble_trace(graph.tw, parts, counts, potentials, labels)

    def _hidden(self, layer: Layer, l: int, times: torch.Tensor, lo: int) -> torch.Tensor:
        fired, _ = layer_forward(layer, times, l, self.graph.tw,
                                 window_end_spike=self.rule.window_end_spike)
        for core, rows, x in self._core_inputs(l, times, lo):
            w = self._core_weight(layer, core)
            if self.shifted:
                sub = arrival_spike_times(layer, x, w, l, self.graph.tw, self.substeps,
                                          window_end_spike=self.rule.window_end_spike)
            else:
                sub = dta_spike_times(*_sums(layer, x, w), l, self.graph.tw,
                                      window_end_spike=self.rule.window_end_spike)
            _write(fired, sub, rows, self.groups, core, layer)
        return fired

    def _readout(self, layer: Layer, times: torch.Tensor, lo: int) -> torch.Tensor:
        depth, tw = self.graph.depth, self.graph.tw
        out = readout(layer, times, depth, tw, point=self.rule.readout)
        for core, rows, x in self._core_inputs(depth, times, lo):
            w = self._core_weight(layer, core)
            sub = readout(layer, x, depth, tw, w, point=self.rule.readout)
            _write(out, sub, rows, self.groups, core, layer)
        return out

    def _core_weight(self, layer: Layer, core: int) -> torch.Tensor:
        lo, hi = int(self.groups.ch_lo[core]), int(self.groups.ch_hi[core])
        return torch.as_tensor(layer.weight[lo:hi], dtype=torch.float64)

    def _core_inputs(self, l: int, times: torch.Tensor,
                     lo: int) -> Iterator[tuple[int, np.ndarray, torch.Tensor]]:
        """``(core, batch rows, input as the core saw it)`` for every core of layer ``l``
        whose input differs in this batch."""
        frame, neuron, core, lost, delay, _ = self.pairs[l - 1]
        hi = lo + times.shape[0]
        a, b = np.searchsorted(frame, [lo, hi])
        if a == b:
            return
        sel = slice(a, b)
        f_b, n_b, c_b, lost_b, d_b = frame[sel], neuron[sel], core[sel], lost[sel], delay[sel]
        flat = times.flatten(1)
        for c in np.unique(c_b):
            mine = c_b == c
            rows, inverse = np.unique(f_b[mine] - lo, return_inverse=True)
            x = flat[torch.as_tensor(rows)].clone()
            idx_r, idx_n = torch.as_tensor(inverse), torch.as_tensor(n_b[mine])
            shifted = x[idx_r, idx_n] + torch.as_tensor(d_b[mine])
            gone = torch.as_tensor(lost_b[mine])
            x[idx_r, idx_n] = torch.where(gone, torch.full_like(shifted, float("inf")), shifted)
            yield int(c), rows, x.reshape(len(rows), *times.shape[1:])


def by_frame(pairs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """The pair arrays sorted by frame, then core, then neuron (then step)."""
    order = np.lexsort((pairs[5], pairs[1], pairs[2], pairs[0]))
    return tuple(np.asarray(p)[order] for p in pairs)


def _write(out: torch.Tensor, sub: torch.Tensor, rows: np.ndarray, groups: CoreGroups,
           core: int, layer: Layer) -> None:
    """Put the core's neurons of ``sub`` (its channel slice) into ``out`` at ``rows``."""
    lo, hi = int(groups.ch_lo[core]), int(groups.ch_hi[core])
    index = torch.as_tensor(rows)
    if layer.kind == "conv":
        r_lo, r_hi = int(groups.row_lo[core]), int(groups.row_hi[core])
        block = out[index]
        block[:, lo:hi, r_lo:r_hi] = sub[:, :, r_lo:r_hi]
        out[index] = block
    else:
        block = out[index]
        block[:, lo:hi] = sub
        out[index] = block


def _sums(layer: Layer, times: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``W_j`` and ``S_j`` (Eq. 6) over the inputs with a finite time."""
    spiked = torch.isfinite(times)
    mask = spiked.to(weight.dtype)
    t0 = torch.where(spiked, times, torch.zeros_like(times))
    return _apply(layer, mask, weight), _apply(layer, t0, weight)


def _apply(layer: Layer, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return apply_weights(layer, x, weight)


def arrival_spike_times(layer: Layer, arrivals: torch.Tensor, weight: torch.Tensor, l: int,
                        tw: float, substeps: int, *,
                        window_end_spike: bool = False) -> torch.Tensor:
    """Spike times of layer ``l`` whose inputs take effect at their arrival times.

    Parameters
    ----------
    layer
        The weight layer (kind, stride, padding).
    arrivals
        ``(N, *layer.in_shape)`` arrival times, model time units (``+inf``: never arrives
        in time). Inputs arriving before ``l Tw`` keep their time; later ones are rounded
        up to the next sub-step ``l Tw + k Tw / substeps``.
    weight
        The weights of the neurons to simulate (all of the layer's, or a core's slice).
    substeps
        ``K``, sub-steps of the window.
    window_end_spike
        See :func:`~canmore_sim.cores.neuron.dta_spike_times`.

    Returns
    -------
    torch.Tensor
        Spike times in ``[l Tw, (l+1) Tw]``, ``+inf`` for no spike (see the module
        docstring). With every arrival before the window start this is Eq. 6/7 exactly.
    """
    start, end, step = l * tw, (l + 1) * tw, tw / substeps
    finite = torch.isfinite(arrivals)
    inside = finite & (arrivals > start)
    k_of = torch.clamp(torch.ceil((arrivals - start) / step), 1, substeps)
    k_of = torch.where(inside, k_of, torch.zeros_like(k_of))
    base = torch.where(inside, torch.full_like(arrivals, float("inf")), arrivals)
    w_sum, s_sum = _sums(layer, base, weight)
    closed = dta_spike_times(w_sum, s_sum, l, tw, window_end_spike=window_end_spike)
    reached = _apply(layer, inside.to(weight.dtype), (weight != 0).to(weight.dtype)) > 0
    if not bool(reached.any()):
        return closed
    result = torch.where(start * w_sum - s_sum >= tw, torch.full_like(closed, start),
                         torch.full_like(closed, float("inf")))
    done = torch.isfinite(result)
    for k in range(substeps):
        if k > 0:  # inputs taking effect at g_k = start + k step
            g_k = start + k * step
            now = (k_of == k).to(weight.dtype)
            w_sum = w_sum + _apply(layer, now, weight)
            s_sum = s_sum + _apply(layer, now * g_k, weight)
        seg_lo, seg_hi = start + k * step, (end if k == substeps - 1 else start + (k + 1) * step)
        denom = 1.0 + w_sum
        gap = seg_hi * denom - end - s_sum  # V - theta at the segment end
        last_strict = k == substeps - 1 and not window_end_spike
        ok = (denom > 0) & ((gap > 0) if last_strict else (gap >= 0)) & ~done
        safe = torch.where(denom > 0, denom, torch.ones_like(denom))
        t = torch.clamp((end + s_sum) / safe, min=seg_lo, max=seg_hi)
        result = torch.where(ok, t, result)
        done = done | ok
    return torch.where(reached, result, closed)

