"""Closed-loop timing (``run.timing: drop-late | arrival``) through a chunked map run.

A chunk keeps what the report's ``timing`` section and the ideal energy need, as columnar
arrays (:func:`chunk_arrays`): per frame the ideal answer (predictions, readout, neurons
fired, spikes sent), the pairs lost and late and the arrival delays' sums and counts per
layer (``(n_frames, L)``), and the ideal run's energy counts (every per-frame field of
the :class:`~canmore_sim.energy.FrameCounts` the pipeline priced the ideal energy from);
per chunk its replays, fixed point, cycle and history. :class:`TimingParts` merges the
chunks in chunk order and :func:`merged_timing` rebuilds the
:class:`~canmore_sim.run.timing.TimingResult`, pricing the ideal energy once, after all
chunks, with the run's own preset and reference (count first, price later). How the
whole-run figures merge, and why they do not depend on the chunking under
``accumulate``, is in :mod:`canmore_sim.run.closed_loop`.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from canmore_sim.cores.trace import CountedSpikes, SpikeTrace
from canmore_sim.errors import SimulationError

if TYPE_CHECKING:
    from canmore_sim.energy import EnergyPreset, FrameCounts
    from canmore_sim.run.pipeline import RunResult
    from canmore_sim.run.timing import TimingResult

__all__ = ["HISTORY_COLUMNS", "TimingParts", "chunk_arrays", "merged_timing"]

#: Columns of a chunk's ``timing_history`` (one row per replay, int64).
HISTORY_COLUMNS = ("late", "lost", "changed", "correct", "labelled")
#: Per-frame arrays of the closed loop a chunk keeps (besides the ``ideal_count_*`` ones).
TIMING_PER_FRAME = ("ideal_predictions", "ideal_readout", "ideal_neuron_spikes", "ideal_sent",
                    "timing_lost", "timing_late_pairs", "timing_delay_sum",
                    "timing_delay_count")
#: Per-chunk scalars of the closed loop.
TIMING_PER_CHUNK = ("timing_iterations", "timing_fixed_point", "timing_cycle")
#: FrameCounts fields that hold one value (or row) per frame; the others are per layer.
_COUNTS_PER_FRAME = ("sops", "hops", "frame_latency_ns", "spikes", "interchip_hops",
                     "layer_spikes", "layer_sops", "layer_hops", "layer_interchip_hops")
_PREFIX = "ideal_count_"


def chunk_arrays(result: RunResult) -> dict[str, np.ndarray]:
    """The closed loop's arrays of one chunk's run (none for ``run.timing: ideal``)."""
    t = result.timing
    if t is None:
        return {}
    if t.ideal_counts is None or t.delay_sum is None or t.delay_count is None:
        raise SimulationError("the closed loop of a chunk kept no ideal counts or delays")
    ideal, n = t.ideal, t.ideal.n_frames
    out = {"ideal_predictions": ideal.predictions, "ideal_readout": ideal.readout,
           "ideal_neuron_spikes": ideal.neuron_spikes,
           "ideal_sent": np.stack([s.counts(n) for s in ideal.layers], axis=1),
           "ideal_end_time": np.array(np.nan if ideal.end_time is None else ideal.end_time),
           "timing_lost": t.lost, "timing_late_pairs": t.late_pairs,
           "timing_delay_sum": t.delay_sum, "timing_delay_count": t.delay_count,
           "timing_mode": np.array(t.mode), "timing_update": np.array(t.update),
           "timing_iterations": np.array(t.iterations, dtype=np.int64),
           "timing_fixed_point": np.array(t.fixed_point),
           "timing_cycle": np.array(t.cycle, dtype=np.int64),
           "timing_history": _history_rows(t.history, ideal.labels)}
    for f in fields(t.ideal_counts):
        value = getattr(t.ideal_counts, f.name)
        if value is not None and f.name != "area":  # the area is the run's, priced again
            out[_PREFIX + f.name] = np.asarray(value)
    return out


def _history_rows(history: list[dict[str, Any]], labels: np.ndarray) -> np.ndarray:
    """``(replays, 5)`` int64: :data:`HISTORY_COLUMNS` of every replay of a chunk."""
    labelled = int(np.sum(labels >= 0))
    rows = [[int(h["late"]), int(h["lost"]), int(h["changed"]),
             0 if h["accuracy"] is None else round(float(h["accuracy"]) * labelled), labelled]
            for h in history]
    return np.array(rows, dtype=np.int64).reshape(len(rows), len(HISTORY_COLUMNS))


class TimingParts:
    """The closed-loop arrays of a run's chunks, added one chunk at a time in chunk order."""

    def __init__(self) -> None:
        self.rows: dict[str, list[np.ndarray]] = {}
        self.chunk: dict[str, list[Any]] = {k: [] for k in TIMING_PER_CHUNK}
        self.history: list[np.ndarray] = []
        self.constants: dict[str, np.ndarray] = {}
        self.chunks = 0

    def add(self, arrays: dict[str, np.ndarray]) -> None:
        """Keep the closed-loop arrays of the next chunk (none: an ideal run).

        Raises
        ------
        SimulationError
            When one chunk holds the closed loop's arrays and another does not.
        """
        timed = "timing_history" in arrays
        if self.chunks and timed != bool(self.history):
            raise SimulationError("chunks of one run differ in run.timing")
        self.chunks += 1
        if not timed:
            return
        per_frame = (*TIMING_PER_FRAME,
                     *(_PREFIX + k for k in _COUNTS_PER_FRAME if _PREFIX + k in arrays))
        for key in per_frame:
            self.rows.setdefault(key, []).append(arrays[key])
        for key in TIMING_PER_CHUNK:
            self.chunk[key].append(arrays[key].item())
        self.history.append(arrays["timing_history"])
        constant = [k for k in arrays if k.startswith(_PREFIX) and k not in per_frame]
        for key in (*constant, "timing_mode", "timing_update", "ideal_end_time"):
            self.constants[key] = arrays[key]  # the same in every chunk

    def arrays(self) -> dict[str, Any]:
        """The merged arrays (per-frame rows concatenated, per-chunk figures merged as
        :mod:`canmore_sim.run.closed_loop` says); empty for an ideal run."""
        if not self.history:
            return {}
        out: dict[str, Any] = {k: np.concatenate(v, axis=0) for k, v in self.rows.items()}
        out.update(self.constants)
        out["timing_iterations"] = max(self.chunk["timing_iterations"])
        out["timing_fixed_point"] = all(self.chunk["timing_fixed_point"])
        out["timing_cycle"] = max(self.chunk["timing_cycle"])
        out["timing_history"] = _merged_history(self.history)
        return out


def _merged_history(parts: list[np.ndarray]) -> np.ndarray:
    """Replay ``k`` of the run: every chunk's replay ``k`` added up, a chunk that stopped
    earlier counting with its last replay (unchanged past its fixed point)."""
    replays = max(len(p) for p in parts)
    total = np.zeros((replays, len(HISTORY_COLUMNS)), dtype=np.int64)
    for part in parts:
        total[:len(part)] += part
        total[len(part):] += part[-1]
    return total


def merged_timing(merged: dict[str, Any], preset: EnergyPreset,
                  reference: dict[str, float] | None,
                  area: Any = None) -> TimingResult | None:
    """The run's TimingResult from merged chunk arrays (None for an ideal run), with the
    ideal energy priced now over all frames.

    Parameters
    ----------
    merged
        :meth:`canmore_sim.chunked.merge.Merger.result` (with :meth:`TimingParts.arrays`).
    preset, reference
        The run's energy preset and the reference it priced the run with.
    area
        The run's :class:`~canmore_sim.energy.area.AreaBreakdown` (a leakage model prices
        the ideal counts over it too).
    """
    from canmore_sim.energy import price_frames
    from canmore_sim.run.timing import TimingResult, delay_means

    if "timing_history" not in merged:
        return None
    counts = replace(_ideal_counts(merged), area=area)
    return TimingResult(
        mode=str(merged["timing_mode"]), update=str(merged["timing_update"]),
        iterations=int(merged["timing_iterations"]),
        fixed_point=bool(merged["timing_fixed_point"]), cycle=int(merged["timing_cycle"]),
        ideal=_ideal_trace(merged), lost=merged["timing_lost"],
        late_pairs=merged["timing_late_pairs"],
        delay_mean=delay_means(merged["timing_delay_sum"], merged["timing_delay_count"]),
        delay_sum=merged["timing_delay_sum"], delay_count=merged["timing_delay_count"],
        ideal_counts=counts, ideal_energy_uj=price_frames(preset, counts, reference).total_uj,
        history=_history_records(merged["timing_history"]))


def _ideal_counts(merged: dict[str, Any]) -> FrameCounts:
    from canmore_sim.energy import FrameCounts

    return FrameCounts(**{f.name: merged.get(_PREFIX + f.name) for f in fields(FrameCounts)})


def _ideal_trace(merged: dict[str, Any]) -> Any:
    """The ideal trace reduced to per-frame counts (as the merged run's own trace)."""
    sent, end = merged["ideal_sent"], float(merged["ideal_end_time"])
    return SpikeTrace(n_frames=len(sent), tw=float(merged["tw"]),
                      layers=tuple(CountedSpikes.of(sent[:, l]) for l in range(sent.shape[1])),
                      neuron_spikes=merged["ideal_neuron_spikes"],
                      readout=merged["ideal_readout"], predictions=merged["ideal_predictions"],
                      labels=merged["labels"], end_time=None if np.isnan(end) else end)


def _history_records(rows: np.ndarray) -> list[dict[str, object]]:
    """The loop's history records (``late``, ``lost``, ``accuracy``, ``changed``)."""
    out: list[dict[str, object]] = []
    for late, lost, changed, correct, labelled in rows.tolist():
        out.append({"late": late, "lost": lost,
                    "accuracy": float(np.float64(correct) / labelled) if labelled else None,
                    "changed": changed})
    return out
