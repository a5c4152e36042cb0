"""Simulate every frame's traffic and collect the NoC figures, per frame, layer and core.

Accounting (docs/explanation/noc.md; docs/explanation/domain-rules.md, "Traffic and NoC"):
a *packet* is what a source injects (one per (spike, destination core) under unicast, one
per spike under multicast); a *delivery* is one packet copy ejected into one destination
core (one per (spike, destination core) in both modes). A *hop* is one packet (copy)
crossing one router-to-router link; under multicast a link shared by a tree is one hop.
Every per-layer and per-core figure here adds up to its frame total:

* per source layer ``l`` (0 = input encoding, ``L`` = the output cores' readouts):
  packets, deliveries, hops and inter-chip hops of the packets that layer's spikes
  travel in;
* per core: packets injected and deliveries ejected; the I/O port injects the input
  packets and ejects the readouts (``io_injected``, ``io_ejected``), so cores + I/O =
  frame totals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.mapper.connectivity import LayerLinks
from canmore_sim.mapper.placement import Mapping
from canmore_sim.noc.bins import BinCounts, bins_histogram, latency_bins
from canmore_sim.noc.build import build_traffic
from canmore_sim.noc.counts import counted_stats
from canmore_sim.noc.stats import NocStats
from canmore_sim.noc.traffic import Traffic
from canmore_sim.run.frame_rows import row_figures
from canmore_sim.utils.progress import ProgressCallback, StageEvent

__all__ = ["REPLAY_FIGURES", "FrameNoc", "frame_figures", "into_weight_layers", "simulate_frames"]


#: Per-frame scalar figures, in :class:`FrameNoc` field order.
_SCALARS = ("packets", "deliveries", "hops", "latency_mean_ns", "latency_max_ns",
            "zero_load_mean_ns", "wait_sum_ns", "late", "late_max_ns", "end_ns",
            "unicast_hops", "interchip_hops", "io_injected", "io_ejected")
_INTS = {"packets", "deliveries", "hops", "late", "unicast_hops", "interchip_hops",
         "io_injected", "io_ejected"}


@dataclass(frozen=True, eq=False)
class FrameNoc:
    """Per-frame NoC figures (columnar: one entry per frame).

    Attributes
    ----------
    packets
        int64: packets injected (unicast: one per (spike, destination core); multicast:
        one per spike), readouts included.
    deliveries
        int64: packet copies ejected into a destination core or the I/O port (one per
        (spike, destination core) in both modes).
    hops
        int64: router-to-router link traversals (multicast: tree edges), the figure
        priced by the energy model.
    hops_per_layer, interchip_per_layer, packets_per_layer, deliveries_per_layer
        int64 ``(n_frames, L + 1)``: hops, inter-chip hops, packets and deliveries of the
        spikes of source layer ``l`` in column ``l`` (0 = input); column ``L`` holds the
        readout packets to the I/O port. Rows add up to ``hops``, ``interchip_hops``,
        ``packets`` and ``deliveries``.
    latency_mean_ns, latency_max_ns, zero_load_mean_ns
        float64: per-delivery latency mean and maximum and the mean zero-load part, ns.
    wait_sum_ns
        float64: waiting beyond zero-load summed over all deliveries of the frame, ns.
    wait_mean_ns
        float64: ``wait_sum_ns / deliveries``, ns per delivery.
    late
        int64: deliveries after their consumer's integration window closed.
    late_max_ns
        float64: how long after its deadline the latest late delivery arrived, ns (0: none).
    end_ns
        float64: last delivery of the frame, ns.
    unicast_hops
        int64: hops the same spikes would take as unicast packets (sum of Manhattan
        distances); equal to ``hops`` under unicast, larger under multicast.
    interchip_hops
        int64: the part of ``hops`` that crossed between chips.
    core_injected, core_ejected
        int64 ``(n_frames, n_cores)``: packets injected by, and deliveries ejected into,
        every core.
    io_injected, io_ejected
        int64: packets injected at the I/O port (input spikes) and deliveries ejected
        there (readouts).
    link_flits, router_wait_ns
        ``(n_routers, 5)`` summed over frames: flits out of each port, waiting per input port.
    occupancy_mean, occupancy_max
        ``(n_routers, 5)``: time-averaged flits per input buffer (mean over frames) and
        the most flits ever held (max over frames).
    latency_hist_ns
        ``(bin_edges, counts)`` of per-delivery latency over all frames: 40 equal bins of
        whole 1-ns bins (:func:`~canmore_sim.noc.bins.bins_histogram` of ``latency_bins``).
    latency_bins
        ``(2, k)`` int64 (bin, count): every delivery's latency in exact 1-ns bins
        (:func:`~canmore_sim.noc.bins.latency_bins`) summed over the frames, or None
        (figures merged from chunks, which carry their own).
    replayed
        bool per frame: the frame went through the NoC replay (None: every frame). A
        frame that did not has exact counts (packets, deliveries, hops, inter-chip hops,
        link flits, zero-load latency) but no timing: its latency, waiting, late-max and
        end figures are NaN, its ``late`` 0, and it adds nothing to the waiting,
        occupancy and latency histogram, which are those of the replayed frames
        (``occupancy_mean`` is their mean).
    """

    packets: np.ndarray
    deliveries: np.ndarray
    hops: np.ndarray
    hops_per_layer: np.ndarray
    interchip_per_layer: np.ndarray
    packets_per_layer: np.ndarray
    deliveries_per_layer: np.ndarray
    latency_mean_ns: np.ndarray
    latency_max_ns: np.ndarray
    zero_load_mean_ns: np.ndarray
    wait_sum_ns: np.ndarray
    late: np.ndarray
    late_max_ns: np.ndarray
    end_ns: np.ndarray
    unicast_hops: np.ndarray
    interchip_hops: np.ndarray
    io_injected: np.ndarray
    io_ejected: np.ndarray
    core_injected: np.ndarray
    core_ejected: np.ndarray
    link_flits: np.ndarray
    router_wait_ns: np.ndarray
    occupancy_mean: np.ndarray
    occupancy_max: np.ndarray
    latency_hist_ns: tuple[np.ndarray, np.ndarray]
    replayed: np.ndarray | None = None
    latency_bins: np.ndarray | None = None

    @property
    def sampled(self) -> bool:
        """Whether some frames were not replayed (their timing figures are unknown)."""
        return self.replayed is not None and not bool(np.all(self.replayed))

    @property
    def wait_mean_ns(self) -> np.ndarray:
        """Waiting beyond zero-load per delivery, ns (0 for a frame without traffic)."""
        return np.divide(self.wait_sum_ns, self.deliveries,
                         out=np.zeros(len(self.wait_sum_ns)), where=self.deliveries > 0)

    @property
    def late_share(self) -> float:
        """Late deliveries over all deliveries of the replayed frames (0 without traffic,
        NaN when no frame was replayed)."""
        if self.sampled:  # NaN: no frame replayed
            if not np.any(self.replayed):
                return float("nan")
            total = int(self.deliveries[self.replayed].sum())
            return float(self.late[self.replayed].sum()) / total if total else 0.0
        total = int(self.deliveries.sum())
        return float(self.late.sum()) / total if total else 0.0


def into_weight_layers(per_source: np.ndarray) -> np.ndarray:
    """Per-source-layer columns ``(n, L + 1)`` as per-weight-layer columns ``(n, L)``.

    Weight layer ``l`` (column ``l - 1``) gets the packets that carry spikes *into* it
    (those of source layer ``l - 1``); the output layer also gets its readout packets
    (column ``L``), so every row still adds up to the frame total.
    """
    per_source = np.asarray(per_source)
    if per_source.ndim != 2 or per_source.shape[1] < 2:
        raise ValueError(f"expected (n_frames, L + 1) columns, got shape {per_source.shape}")
    out = per_source[:, :-1].copy()
    out[:, -1] += per_source[:, -1]
    return out


def simulate_frames(
    trace: SpikeTrace,
    mapping: Mapping,
    links: list[LayerLinks],
    config: ArchConfig,
    engine: Callable[..., NocStats],
    progress: ProgressCallback | None = None,
    on_frame: Callable[[int, Traffic, NocStats], None] | None = None,
    replayed: np.ndarray | None = None,
) -> FrameNoc:
    """Build and simulate every frame's traffic and collect :class:`FrameNoc`.

    Parameters
    ----------
    trace
        Spikes of every frame.
    mapping
        Cores and their routers (one core per router).
    links
        ``links[l]``: connectivity of the spikes of layer ``l`` (0..L-1).
    config
        Architecture and run settings.
    engine
        ``simulate(traffic, config) -> NocStats``.
    progress
        Called with :class:`~canmore_sim.utils.progress.StageEvent` s: ``traffic`` around each
        frame's traffic building, ``noc`` with packets delivered during its replay.
    on_frame
        Called with ``(frame, traffic, stats)`` after each frame's replay (the per-row
        delivery times and late flags that closed-loop timing needs).
    replayed
        bool per frame: replay it through ``engine`` (None: every frame); the others
        are counted from their routes alone (:func:`canmore_sim.noc.counts.counted_stats`:
        deterministic routing only) and carry no timing (see :class:`FrameNoc`).
    """
    if len(links) != len(trace.layers):
        raise ValueError(f"need links for {len(trace.layers)} source layers, got {len(links)}")
    n = trace.n_frames
    if replayed is not None and len(replayed) != n:
        raise ValueError(f"replayed has {len(replayed)} entries for {n} frames")
    acc = _Accumulator(n, len(links), mapping, replayed)
    for f in range(n):
        if progress is not None:
            progress(StageEvent("traffic", 0, 1, f, n))
        traffic = build_traffic(trace, f, mapping, links, config)
        if progress is not None:
            progress(StageEvent("traffic", 1, 1, f, n))
        if replayed is None or replayed[f]:
            stats = _replay(engine, traffic, config, progress, f, n)
        else:
            stats = counted_stats(traffic, config)
        acc.add(f, traffic, stats)
        if on_frame is not None:
            on_frame(f, traffic, stats)
        del traffic, stats  # before the next frame's traffic is built (VGG16: 120 MB)
    return acc.result()


def _replay(engine: Callable[..., NocStats], traffic: Traffic, config: ArchConfig,
            progress: ProgressCallback | None, frame: int, n_frames: int) -> NocStats:
    """One frame through the NoC engine, relaying its delivery counts as ``noc`` events."""
    if progress is None:
        return engine(traffic, config)
    rows = len(traffic)
    report = progress
    report(StageEvent("noc", 0, rows, frame, n_frames))

    def delivered(done: int, total: int) -> None:
        if done < total:  # the end event is sent once, below
            report(StageEvent("noc", done, total, frame, n_frames))

    stats = engine(traffic, config, progress=delivered)
    report(StageEvent("noc", rows, rows, frame, n_frames))
    return stats


class _Accumulator:
    """Collects the figures of frame after frame."""

    def __init__(self, n: int, depth: int, mapping: Mapping,
                 replayed: np.ndarray | None) -> None:
        n_routers, self.depth = mapping.width * mapping.height, depth
        self.core_of_router = np.full(n_routers, -1, dtype=np.int64)
        self.core_of_router[mapping.router] = np.arange(mapping.n_cores)
        self.scalars = {k: np.zeros(n, dtype=np.int64 if k in _INTS else np.float64)
                        for k in _SCALARS}
        self.layer = {k: np.zeros((n, depth + 1), dtype=np.int64)
                      for k in ("hops", "interchip", "packets", "deliveries")}
        self.core = {k: np.zeros((n, mapping.n_cores), dtype=np.int64)
                     for k in ("injected", "ejected")}
        self.link_flits = np.zeros((n_routers, 5), dtype=np.int64)
        self.router_wait = np.zeros((n_routers, 5), dtype=np.float64)
        self.occ_mean = np.zeros((n_routers, 5), dtype=np.float64)
        self.occ_max = np.zeros((n_routers, 5), dtype=np.int64)
        self.bins = BinCounts()  # every delivery's latency, in exact 1-ns bins
        self.n = n
        self.replayed = None if replayed is None else np.asarray(replayed, dtype=bool)
        # occupancy is averaged over the replayed frames (all: n, the same float steps)
        self.n_replayed = n if replayed is None else int(np.sum(replayed))

    def add(self, f: int, traffic: Traffic, stats: NocStats) -> None:
        # the per-row figures without full-size temporaries beside the frame's traffic
        # and statistics (VGG16: 1.5 M rows); integer counts and maxima, exact
        starts = traffic.packet_starts()
        rows = self._row_figures(f, traffic, stats, starts)
        latency = stats.latency_ns
        mean_max = (float(latency.mean()), float(latency.max())) if len(latency) else (0.0, 0.0)
        wait_sum = _wait_sum(latency, stats.zero_load_ns)  # ``latency`` is its scratch
        del latency
        s = self.scalars
        values = {
            "packets": int(starts.sum()), "deliveries": len(traffic), "hops": stats.link_hops,
            "latency_mean_ns": mean_max[0], "latency_max_ns": mean_max[1],
            "zero_load_mean_ns": float(stats.zero_load_ns.mean()) if len(traffic) else 0.0,
            "wait_sum_ns": wait_sum, "late": int(stats.late.sum()),
            "late_max_ns": rows["late_max_ns"], "end_ns": stats.end_ns,
            "unicast_hops": rows["unicast_hops"], "interchip_hops": stats.interchip_hops,
            "io_injected": int(np.sum(starts & (traffic.layer == 0))),
            "io_ejected": int(np.sum(traffic.layer == self.depth)),
        }
        for key, value in values.items():
            s[key][f] = value
        self.link_flits += stats.link_flits
        self.router_wait += stats.wait_ns  # 0 for a frame not replayed
        if self.replayed is not None and not self.replayed[f]:
            s["late_max_ns"][f] = np.nan  # not replayed: no timing (late stays 0)
            return  # and no waiting, occupancy or latencies
        if stats.mean_occupancy is not None:
            self.occ_mean += stats.mean_occupancy / self.n_replayed
        self.occ_max = np.maximum(self.occ_max, stats.max_occupancy)
        self.bins.add(latency_bins(stats.deliver_ns, stats.inject_ns))

    def _row_figures(self, f: int, traffic: Traffic, stats: NocStats,
                     starts: np.ndarray) -> dict[str, float | int]:
        """Per-layer and per-core counts of frame ``f`` (stored), the latest lateness and
        the Manhattan hop total (:func:`~canmore_sim.run.frame_rows.row_figures`)."""
        rows = row_figures(traffic, stats, starts, self.depth, self.core_of_router,
                           self.core["injected"].shape[1])
        for key in ("hops", "interchip", "packets", "deliveries"):
            self.layer[key][f] = getattr(rows, key)
        for key in ("injected", "ejected"):
            self.core[key][f] = getattr(rows, key)
        return {"late_max_ns": rows.late_max_ns, "unicast_hops": rows.unicast_hops}

    def result(self) -> FrameNoc:
        pairs = self.bins.pairs()
        return FrameNoc(
            **self.scalars,
            hops_per_layer=self.layer["hops"], interchip_per_layer=self.layer["interchip"],
            packets_per_layer=self.layer["packets"],
            deliveries_per_layer=self.layer["deliveries"],
            core_injected=self.core["injected"], core_ejected=self.core["ejected"],
            link_flits=self.link_flits, router_wait_ns=self.router_wait,
            occupancy_mean=self.occ_mean, occupancy_max=self.occ_max,
            latency_hist_ns=bins_histogram(pairs), replayed=self.replayed,
            latency_bins=pairs,
        )


def _wait_sum(latency: np.ndarray, zero_load: np.ndarray) -> float:
    """Waiting beyond zero-load summed over the rows, ns: :attr:`NocStats.total_wait_ns
    <canmore_sim.noc.stats.NocStats.total_wait_ns>` from the latencies already computed
    (the same subtraction and sum, so the same bits), in place: ``latency`` is
    overwritten by the waiting of each row."""
    np.subtract(latency, zero_load, out=latency)
    return float(np.sum(latency))


#: The per-frame NoC figures of a replayed trace (``canmore-sim replay``), named as in
#: ``frames.csv`` (plus ``end_ns``, the last delivery).
REPLAY_FIGURES = ("packets", "deliveries", "hops", "interchip_hops", "latency_mean_ns",
                  "latency_max_ns", "zero_load_mean_ns", "wait_sum_ns", "late", "late_max_ns",
                  "end_ns")


def frame_figures(traffic: Traffic, stats: NocStats) -> dict[str, float | int]:
    """The :data:`REPLAY_FIGURES` of one frame, computed as a map run computes them
    (:class:`FrameNoc`), so a trace written by ``map --trace`` and replayed gives the same
    numbers."""
    latency = stats.latency_ns
    late = stats.late
    late_max = (float((stats.deliver_ns[late] - traffic.deadline_ns[late]).max())
                if late.any() else 0.0)
    return {
        "packets": int(traffic.packet_starts().sum()), "deliveries": len(traffic),
        "hops": stats.link_hops, "interchip_hops": stats.interchip_hops,
        "latency_mean_ns": float(latency.mean()) if len(latency) else 0.0,
        "latency_max_ns": float(latency.max()) if len(latency) else 0.0,
        "zero_load_mean_ns": float(stats.zero_load_ns.mean()) if len(latency) else 0.0,
        "wait_sum_ns": stats.total_wait_ns, "late": int(late.sum()),
        "late_max_ns": late_max, "end_ns": stats.end_ns}
