"""Compose the stages: network + frames + architecture -> per-frame results.

This module only wires the stages together (DESIGN.md, "Data flow"); each
stage lives in its own package and is a plain function over plain data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from canmore_sim.config import ArchConfig, with_overrides
from canmore_sim.cores.models import resolve_model, simulate_neurons
from canmore_sim.cores.stats import CoreStats, count_sops
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.energy import (
    EnergyBreakdown,
    EnergyPreset,
    FrameCounts,
    load_preset,
    price_frames,
)
from canmore_sim.errors import DataError
from canmore_sim.limits import check_chip_grid, check_labels, check_run_size
from canmore_sim.mapper.connectivity import LayerLinks, layer_links
from canmore_sim.mapper.graph import LayerGraph
from canmore_sim.mapper.partition import partition
from canmore_sim.mapper.placement import PLACEMENTS, Mapping, PlacementProblem, chip_grid, place
from canmore_sim.mapper.quantize import quantize_graph
from canmore_sim.mapper.traffic_graph import core_traffic
from canmore_sim.noc import get_engine, get_routing
from canmore_sim.noc.build import build_traffic, io_router_index
from canmore_sim.noc.stats import NocStats
from canmore_sim.registry import choose

__all__ = ["FrameNoc", "RunResult", "map_network", "run"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class FrameNoc:
    """Per-frame NoC figures (columnar: one entry per frame).

    Attributes
    ----------
    packets, hops
        int64: packets (rows) and router-to-router hops (energy-relevant link traversals).
    hops_per_layer
        int64 ``(n_frames, L + 1)``: path hops of the packets of source layer ``l`` in
        column ``l``; column ``L`` holds the readout packets to the I/O port.
    latency_mean_ns, latency_max_ns, zero_load_mean_ns
        float64: per-packet latency statistics and the mean zero-load part, ns.
    wait_ns
        float64: total waiting beyond zero-load, ns.
    late
        int64: packets delivered after their consumer's integration window closed.
    end_ns
        float64: last delivery of the frame, ns.
    unicast_hops
        int64: hops the same spikes would take as unicast packets (sum of Manhattan
        distances); equal to ``hops`` under unicast, larger under multicast.
    interchip_hops
        int64: the part of ``hops`` that crossed between chips.
    link_flits, router_wait_ns
        ``(n_routers, 5)`` summed over frames: flits out of each port, waiting per input port.
    occupancy_mean, occupancy_max
        ``(n_routers, 5)``: time-averaged flits per input buffer (mean over frames) and
        the most flits ever held (max over frames).
    latency_hist_ns
        ``(bin_edges, counts)`` of per-packet latency over all frames.
    """

    packets: np.ndarray
    hops: np.ndarray
    hops_per_layer: np.ndarray
    latency_mean_ns: np.ndarray
    latency_max_ns: np.ndarray
    zero_load_mean_ns: np.ndarray
    wait_ns: np.ndarray
    late: np.ndarray
    end_ns: np.ndarray
    link_flits: np.ndarray
    router_wait_ns: np.ndarray
    unicast_hops: np.ndarray
    interchip_hops: np.ndarray
    occupancy_mean: np.ndarray
    occupancy_max: np.ndarray
    latency_hist_ns: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything one run produced, ready to report."""

    config: ArchConfig
    graph: LayerGraph
    quantized: LayerGraph
    mapping: Mapping
    trace: SpikeTrace
    float_predictions: np.ndarray
    cores: CoreStats
    noc: FrameNoc
    energy: EnergyBreakdown
    energy_preset: EnergyPreset
    frame_latency_ns: np.ndarray
    frame_ids: np.ndarray
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return self.trace.n_frames

    @property
    def spikes(self) -> np.ndarray:
        """Spikes that travel (input spikes + pooled hidden spikes) per frame."""
        return np.sum([s.counts(self.n_frames) for s in self.trace.layers], axis=0)


def run(
    graph: LayerGraph,
    frames: np.ndarray,
    labels: np.ndarray | None,
    config: ArchConfig,
    *,
    frame_ids: np.ndarray | None = None,
    progress: Progress | None = None,
    mapping: Mapping | None = None,
    reference: dict[str, float] | None = None,
) -> RunResult:
    """Map ``graph`` onto the chip of ``config`` and simulate ``frames``.

    Parameters
    ----------
    graph
        The trained network (float weights).
    frames
        float ``(N, *graph.input_shape)`` input intensities.
    labels
        int ``(N,)`` true classes, or None.
    config
        Architecture and run settings.
    frame_ids
        Identity of each frame in its data set (for reports); defaults to 0..N-1.
    progress
        Called as ``progress(done, total)`` after each simulated frame.
    mapping
        A mapping to reuse (e.g. loaded with ``--mapping``); default: map anew.
    reference
        Reference run of normalized energy models (``frame_latency_ns``, ``spikes``).
    """
    if frames.ndim < 2 or len(frames) == 0:
        raise DataError(f"frames must be a non-empty (N, ...) array, got shape {frames.shape}")
    engine = get_engine(config.run.engine)  # every plug-in name is checked before any work
    get_routing(config.router.routing)
    check_labels(labels, len(frames), graph.n_classes)
    model = resolve_model(graph, config.neuron.model)
    check_run_size(graph, config, model)
    if model != config.neuron.model:  # "auto": the report names the model that ran
        config = with_overrides(config, {"neuron.model": model})
    choose(PLACEMENTS, config.run.placement, what="placement", key="run.placement")
    preset = load_preset(config.run.energy)
    quantized = quantize_graph(graph, config.core.weight_bits,
                               config.core.quant_scale == "channel")
    measured = config.run.placement_traffic == "measured"
    if mapping is None and not measured:
        mapping = map_network(quantized, config)  # fails fast, before the heavy work
    float_trace = simulate_neurons(graph, frames, labels, config.neuron)
    trace = simulate_neurons(quantized, frames, labels, config.neuron)
    if mapping is None:
        mapping = map_network(quantized, config, trace)
    links = [layer_links(quantized, mapping.groups, l) for l in range(quantized.depth)]
    cores = count_sops(trace, mapping, links)
    noc = _simulate_frames(trace, mapping, links, config, engine, progress)
    window_end = trace.end(quantized.depth) * config.neuron.window_ns / trace.tw
    frame_latency = np.maximum(noc.end_ns, window_end)
    energy = price_frames(preset, _counts(quantized, trace, cores, noc, frame_latency,
                                          mapping), reference)
    return RunResult(
        config=config, graph=graph, quantized=quantized, mapping=mapping, trace=trace,
        float_predictions=float_trace.predictions, cores=cores, noc=noc, energy=energy,
        energy_preset=preset, frame_latency_ns=frame_latency,
        frame_ids=np.arange(len(frames)) if frame_ids is None else np.asarray(frame_ids),
    )


def _counts(graph: LayerGraph, trace: SpikeTrace, cores: CoreStats, noc: FrameNoc,
            frame_latency: np.ndarray, mapping: Mapping) -> FrameCounts:
    depth = graph.depth
    layer_hops = noc.hops_per_layer[:, :depth].copy()
    layer_hops[:, depth - 1] += noc.hops_per_layer[:, depth]  # readouts: the output layer's
    return FrameCounts(
        sops=cores.sops_per_frame, hops=noc.hops, frame_latency_ns=frame_latency,
        spikes=trace.neuron_spikes.sum(axis=1), interchip_hops=noc.interchip_hops,
        layer_spikes=trace.neuron_spikes[:, 1:],
        layer_neurons=np.array([layer.n_neurons for layer in graph.layers]),
        layer_flops=np.array([layer.flops for layer in graph.layers]),
        layer_sops=cores.sops_per_layer, layer_hops=layer_hops,
        layer_cores=np.bincount(mapping.groups.layer, minlength=depth + 1)[1:depth + 1])


def map_network(graph: LayerGraph, config: ArchConfig,
                trace: SpikeTrace | None = None) -> Mapping:
    """Partition ``graph`` into cores and place them (tiling chips when needed).

    Traffic-aware strategies weight the core traffic graph by ``trace`` when given
    (measured spikes), else by 25 % expected activity.

    Raises
    ------
    MappingError
        If the network does not fit and ``multichip.overflow`` is ``error``.
    ConfigError
        For an unknown placement strategy.
    """
    groups = partition(graph, config.core)
    width, height = config.mesh.width, config.mesh.height
    chips_x, chips_y = chip_grid(len(groups), width, height, config.multichip.overflow)
    check_chip_grid(chips_x, chips_y, width, height, config.limits.max_routers, len(groups))
    strategy = PLACEMENTS.get(config.run.placement)  # an unknown name is refused by place()
    traffic = (core_traffic(graph, groups, trace=trace)
               if getattr(strategy, "needs_traffic", False) else None)
    problem = PlacementProblem(
        groups, width, height, chips_x, chips_y, traffic,
        io_router=io_router_index(config, chips_x * width, chips_y * height),
        seed=config.run.seed, iterations=config.run.placement_iterations,
        budget_s=config.run.placement_budget_s)
    return place(problem, config.run.placement)


def _simulate_frames(
    trace: SpikeTrace,
    mapping: Mapping,
    links: list[LayerLinks],
    config: ArchConfig,
    engine: Callable[..., NocStats],
    progress: Progress | None,
) -> FrameNoc:
    n, depth = trace.n_frames, len(links)
    n_routers = mapping.width * mapping.height
    names = ("packets", "hops", "lat_mean", "lat_max", "zero", "wait", "late", "end", "unicast",
             "inter")
    cols: dict[str, list[float]] = {k: [] for k in names}
    hops_per_layer = np.zeros((n, depth + 1), dtype=np.int64)
    link_flits = np.zeros((n_routers, 5), dtype=np.int64)
    router_wait = np.zeros((n_routers, 5), dtype=np.float64)
    occ_mean = np.zeros((n_routers, 5), dtype=np.float64)
    occ_max = np.zeros((n_routers, 5), dtype=np.int64)
    latencies = []
    for f in range(n):
        traffic = build_traffic(trace, f, mapping, links, config)
        stats = engine(traffic, config)
        latency = stats.latency_ns
        cols["packets"].append(len(traffic))
        cols["hops"].append(stats.link_hops)
        cols["lat_mean"].append(float(latency.mean()) if len(latency) else 0.0)
        cols["lat_max"].append(float(latency.max()) if len(latency) else 0.0)
        cols["zero"].append(float(stats.zero_load_ns.mean()) if len(latency) else 0.0)
        cols["wait"].append(stats.total_wait_ns)
        cols["late"].append(int(stats.late.sum()))
        cols["end"].append(stats.end_ns)
        cols["unicast"].append(int(traffic.manhattan().sum()))
        cols["inter"].append(stats.interchip_hops)
        if stats.mean_occupancy is not None:
            occ_mean += stats.mean_occupancy / n
        occ_max = np.maximum(occ_max, stats.max_occupancy)
        latencies.append(latency)
        hops_per_layer[f] = np.bincount(traffic.layer, weights=stats.hops, minlength=depth + 1)
        link_flits += stats.link_flits
        router_wait += stats.wait_ns
        if progress is not None:
            progress(f + 1, n)
    return FrameNoc(
        packets=np.asarray(cols["packets"], dtype=np.int64),
        hops=np.asarray(cols["hops"], dtype=np.int64),
        hops_per_layer=hops_per_layer,
        latency_mean_ns=np.asarray(cols["lat_mean"]),
        latency_max_ns=np.asarray(cols["lat_max"]),
        zero_load_mean_ns=np.asarray(cols["zero"]),
        wait_ns=np.asarray(cols["wait"]),
        late=np.asarray(cols["late"], dtype=np.int64),
        end_ns=np.asarray(cols["end"]),
        link_flits=link_flits,
        router_wait_ns=router_wait,
        unicast_hops=np.asarray(cols["unicast"], dtype=np.int64),
        interchip_hops=np.asarray(cols["inter"], dtype=np.int64),
        occupancy_mean=occ_mean,
        occupancy_max=occ_max,
        latency_hist_ns=_histogram(np.concatenate(latencies)),
    )


def _histogram(values: np.ndarray, bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return np.zeros(bins + 1), np.zeros(bins, dtype=np.int64)
    counts, edges = np.histogram(finite, bins=bins)
    return edges, counts.astype(np.int64)
