"""What a run's timing was: the ``run.timing`` modes and the result of a closed loop
(:func:`canmore_sim.run.closed_loop.close_loop`), plain data that the pipeline, the chunked
run's merge and the reports share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.run.frame_noc import FrameNoc

if TYPE_CHECKING:
    from canmore_sim.energy import FrameCounts

__all__ = ["TIMING_MODES", "TimingResult", "delay_means"]

#: ``run.timing`` values and what each means.
TIMING_MODES = {
    "ideal": "the answer ignores the network",
    "drop-late": "late (spike, core) pairs are lost to the neurons of that core",
    "arrival": "no timestamps: an input takes effect when it arrives; late ones are lost",
}


@dataclass(frozen=True, eq=False)
class TimingResult:
    """What the closed loop did.

    Attributes
    ----------
    mode, update
        ``run.timing`` and ``run.timing_update``.
    iterations
        NoC replays made (1: the ideal spikes were already consistent).
    fixed_point
        Whether the last replay gave the pairs its spikes were computed from.
    cycle
        0, or the period of the cycle the iteration fell into (``recompute``: the last
        replay gave the inputs of an earlier iteration again, so it would repeat forever;
        the loop stops there, without a fixed point).
    ideal
        The ideal trace (quantized weights, every spike in time).
    lost
        int64 ``(n_frames, L)``: pairs lost per frame into weight layer ``l`` (column
        ``l - 1``): (spike, destination core) pairs removed from that layer's input in the
        final spikes.
    late_pairs
        int64 ``(n_frames, L)``: late pairs into each layer in the final replay (equal to
        ``lost`` at a fixed point).
    delay_mean
        float64 ``(L,)``: mean arrival delay, model time units, of the pairs into each layer
        that arrived in time (``arrival``; 0 for ``drop-late``):
        :func:`delay_means` of ``delay_sum`` and ``delay_count``.
    delay_sum, delay_count
        float64 and int64 ``(n_frames, L)``: per frame, the sum (model time units) and the
        number of the arrival delays of the in-time pairs into each layer of the final
        replay (``arrival``; zeros for ``drop-late``), what ``delay_mean`` of any set of
        frames is computed from.
    ideal_noc, ideal_energy_uj, ideal_counts
        The first replay (the ideal spikes' traffic) and, filled in by the pipeline, the
        ideal run's energy per frame (uJ, or rel for a normalized model) and the counts
        it was priced from (:class:`~canmore_sim.energy.FrameCounts`; a chunked run
        prices the concatenated counts of its chunks after all of them).
    lost_pairs
        Per source layer ``l``: ``(frame, neuron, core)`` int64 arrays of the pairs lost in
        the final spikes (spike ``neuron`` of layer ``l`` never reached ``core``); empty in
        a chunked map run, which keeps the per-frame counts ``lost`` only.
    history
        One record per replay: ``late`` (pairs late), ``lost`` (pairs the spikes were
        computed without), ``accuracy``, ``changed`` (predictions differing from ideal).
    """

    mode: str
    update: str
    iterations: int
    fixed_point: bool
    ideal: SpikeTrace
    lost: np.ndarray
    late_pairs: np.ndarray
    delay_mean: np.ndarray
    lost_pairs: tuple[tuple[np.ndarray, ...], ...] = ()
    dropped: tuple[np.ndarray, ...] = ()
    cycle: int = 0
    ideal_noc: FrameNoc | None = None
    ideal_energy_uj: np.ndarray | None = None
    history: list[dict[str, object]] = field(default_factory=list)
    delay_sum: np.ndarray | None = None
    delay_count: np.ndarray | None = None
    ideal_counts: FrameCounts | None = None


def delay_means(delay_sum: np.ndarray, delay_count: np.ndarray) -> np.ndarray:
    """Mean arrival delay per layer, model time units, over the frames of ``(n_frames, L)``
    per-frame sums and counts (0 for a layer without in-time pairs).

    The sums are added frame after frame, so the mean of a set of frames does not depend
    on how they were cut into chunks.
    """
    total, count = np.sum(delay_sum, axis=0), np.sum(delay_count, axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)
