"""The merge of a chunked map run: chunk results added up in chunk order, as they arrive,
and turned into the parts of one :class:`~canmore_sim.run.pipeline.RunResult`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.chunked.files import read_chunk
from canmore_sim.chunked.task import (
    NOC_PER_FRAME,
    PER_FRAME,
    TRACE_COLUMNS,
)
from canmore_sim.chunked.timing import TimingParts
from canmore_sim.cores.stats import CoreStats
from canmore_sim.cores.trace import CountedSpikes, SpikeTrace
from canmore_sim.errors import SimulationError
from canmore_sim.mapper.placement import Mapping
from canmore_sim.noc.bins import BinCounts, bins_histogram
from canmore_sim.run.frame_noc import FrameNoc

__all__ = ["Merger", "result_parts"]


class Merger:
    """Merges a pass's chunks in chunk order while they arrive (see the module docstring).

    A chunk whose turn has come is folded in at once: per-frame rows appended, per-router
    sums added and maxima taken, latency bins added, always in chunk order, so the result
    is the same whatever order the chunks finish in. A chunk that finishes early waits in
    memory (at most ``buffered`` of them; beyond that it waits in its file, as does a
    chunk reused from an earlier run), so memory stays bounded.
    """

    def __init__(self, folder: Path, identities: list[dict[str, str]], buffered: int,
                 trace: Any = None) -> None:
        self.folder, self.identities, self.buffered = folder, identities, buffered
        self.trace = trace  # a noc.trace.TraceWriter (map --trace): chunks' traffic rows
        self.rows: dict[str, list[np.ndarray]] = {k: [] for k in PER_FRAME}
        self.merged: dict[str, Any] = {}
        self.bins = BinCounts()  # every delivery's latency, dense 1-ns bins
        self.timing = TimingParts()
        self.next = 0
        self.waiting: dict[int, dict[str, np.ndarray] | None] = {}  # None: in its file

    def add(self, index: int, arrays: dict[str, np.ndarray] | None = None) -> None:
        """Chunk ``index`` is done (``arrays``: its counts, or None: read from its file)."""
        kept = sum(1 for v in self.waiting.values() if v is not None)
        self.waiting[index] = arrays if index == self.next or kept < self.buffered else None
        while self.next in self.waiting:
            found = self.waiting.pop(self.next)
            self._fold(self._read(self.next) if found is None else found)
            self.next += 1

    def _read(self, i: int) -> dict[str, np.ndarray]:
        arrays, why = read_chunk(self.folder / f"{i:05d}.npz", self.identities[i])
        if arrays is None:
            raise SimulationError(f"chunk {i}: its file went missing or changed while the "
                                  f"run merged it ({why or 'no file'})")
        return arrays

    def _fold(self, arrays: dict[str, np.ndarray]) -> None:
        if self.trace is not None:
            _write_traffic(self.trace, arrays)
        for key in PER_FRAME:
            self.rows[key].append(arrays[key])
        self.timing.add(arrays)
        merged = self.merged
        for key, combine in (("link_flits", np.add), ("router_wait_ns", np.add),
                             ("occupancy_sum", np.add), ("occupancy_max", np.maximum)):
            value = arrays[key]
            if key == "occupancy_sum" and value.size == 0:
                continue
            merged[key] = value if key not in merged else combine(merged[key], value)
        self.bins.add(arrays["latency_bins"])  # a bincount into the dense bins
        need = arrays["window_need_ns"]  # a window derived in the chunk: the largest needs
        if "window_need_ns" not in merged or merged["window_need_ns"].size == 0:
            merged["window_need_ns"] = need
        elif need.size:  # (a chunk run with the window as a number derived none)
            merged["window_need_ns"] = np.maximum(merged["window_need_ns"], need)
        for key in ("has_float", "has_native", "native_model", "tw", "end_time"):
            merged[key] = arrays[key]

    def result(self) -> dict[str, Any]:
        """The merged pass (every chunk must have been added)."""
        if self.waiting or self.next != len(self.identities):
            raise SimulationError(f"merged {self.next} of {len(self.identities)} chunks")
        out = {k: np.concatenate(v, axis=0) for k, v in self.rows.items()}
        return {**out, **self.merged, "latency_bins": self.bins.pairs(),
                **self.timing.arrays()}


def _write_traffic(writer: Any, arrays: dict[str, np.ndarray]) -> None:
    """Write a chunk's frames' traffic (``trace_*`` arrays of ``traffic_arrays``) as trace
    rows, frame by frame in the chunk's order."""
    from canmore_sim.noc.traffic import Traffic

    frame = arrays["trace_frame"]
    width, height, cw, ch, multicast = (int(v) for v in arrays["trace_mesh"])
    for f in dict.fromkeys(arrays["ids"].tolist()):
        rows = frame == f
        col = {name: arrays[f"trace_{name}"][rows] for name in TRACE_COLUMNS}
        writer.add(int(f), Traffic(width, height, col["time_ns"], col["src"], col["dst"],
                                   col["spike"], col["layer"], col["deadline_ns"],
                                   bool(multicast), cw, ch, sops=col["sops"]))


def result_parts(merged: dict[str, Any], mapping: Mapping
                 ) -> tuple[SpikeTrace, CoreStats, FrameNoc]:
    """The merged trace (per-frame counts only), core statistics and NoC figures of a
    merged pass (:meth:`Merger.result`) on ``mapping``."""
    n = len(merged["ids"])
    end = float(merged["end_time"])
    sent = merged["sent"]
    trace = SpikeTrace(n_frames=n, tw=float(merged["tw"]),
                       layers=tuple(CountedSpikes.of(sent[:, l]) for l in range(sent.shape[1])),
                       neuron_spikes=merged["neuron_spikes"], readout=merged["readout"],
                       predictions=merged["predictions"], labels=merged["labels"],
                       end_time=None if np.isnan(end) else end)
    cores = CoreStats(merged["sops"], merged["spikes_in"], merged["spikes_out"],
                      merged["sops_per_layer"], mapping.groups.weight_bits.copy(),
                      merged["effective_sops"], merged["effective_sops_per_layer"])
    occupancy = merged.get("occupancy_sum")
    noc = FrameNoc(**{k: merged[k] for k in NOC_PER_FRAME},
                   link_flits=merged["link_flits"], router_wait_ns=merged["router_wait_ns"],
                   occupancy_mean=(np.zeros_like(merged["router_wait_ns"]) if occupancy is None
                                   else occupancy / _replayed_count(merged)),
                   occupancy_max=merged["occupancy_max"],
                   latency_hist_ns=bins_histogram(merged["latency_bins"]))
    return trace, cores, noc


def _replayed_count(merged: dict[str, Any]) -> int:
    """Frames the NoC replayed (occupancy is their mean; at least 1 to divide by)."""
    return max(1, int(np.sum(merged["replayed"])))
