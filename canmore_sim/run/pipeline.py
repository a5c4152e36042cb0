"""Compose the stages: network + frames + architecture -> per-frame results.

This module only wires the stages together (docs/explanation/design.md, "Data flow"); each
stage lives in its own package and is a plain function over plain data.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from canmore_sim.config import ArchConfig, with_overrides
from canmore_sim.cores.effective import effective_tables
from canmore_sim.cores.models import resolve_model, simulate_neurons
from canmore_sim.cores.stats import CoreStats, count_sops
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.energy import EnergyBreakdown, EnergyPreset, load_preset, price_frames
from canmore_sim.energy.area import AreaBreakdown, area_of_config
from canmore_sim.energy.area_preset import load_area_preset
from canmore_sim.errors import ConfigError, DataError
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.mapper.partition import partition
from canmore_sim.mapper.placement import (
    PLACEMENTS,
    Mapping,
    PlacementProblem,
    check_chip_grid,
    chip_grid,
    place,
)
from canmore_sim.mapper.traffic_graph import NeuronCounts, core_traffic
from canmore_sim.models.graph import LayerGraph
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.noc import get_engine, get_routing
from canmore_sim.noc.build import io_router_index
from canmore_sim.noc.stats import NocStats
from canmore_sim.noc.traffic import Traffic
from canmore_sim.noc.window import derive_window
from canmore_sim.run.checks import (
    _check_quantized,
    _resolve_neuron,
    check_labels,
    check_run_size,
    float_pass_meaningful,
    needs_weight_arrays,
)
from canmore_sim.run.closed_loop import TimingResult, check_timing, close_loop
from canmore_sim.run.frame_noc import FrameNoc, simulate_frames
from canmore_sim.run.pricing import _counts, _describe_reference, needs_rate_reference
from canmore_sim.run.replay import ReplayPlan, replay_plan
from canmore_sim.utils.memory import return_free_memory
from canmore_sim.utils.progress import ProgressCallback, _stage
from canmore_sim.utils.registry import choose

__all__ = ["FrameNoc", "RunResult", "map_network", "run"]


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything one run produced, ready to report.

    ``native_model`` is the neuron model the network was built for (``neuron.model:
    auto``) and ``native_predictions`` the predictions of its float weights under that
    model on the same frames (None: the run's model is the native one, see
    ``float_predictions``; both None for synthetic weights, whose float pass is skipped:
    :func:`~canmore_sim.run.checks.float_pass_meaningful`). ``energy_reference`` says
    which run priced a normalized energy model (``origin``, ``frame_latency_ns``,
    ``neurons_fired`` and, for a reference the tool ran itself, its ``neuron_model`` and
    ``late_share``). ``replay`` says which frames went through the NoC replay
    (``run.replay``; None: every frame).
    """

    config: ArchConfig
    graph: LayerGraph
    quantized: LayerGraph
    mapping: Mapping
    trace: SpikeTrace
    float_predictions: np.ndarray | None
    cores: CoreStats
    noc: FrameNoc
    energy: EnergyBreakdown
    energy_preset: EnergyPreset
    frame_latency_ns: np.ndarray
    frame_ids: np.ndarray
    native_model: str = ""
    native_predictions: np.ndarray | None = None
    energy_reference: dict[str, Any] | None = None
    extra: dict[str, object] = field(default_factory=dict)
    timing: TimingResult | None = None
    area: AreaBreakdown | None = None
    replay: ReplayPlan | None = None

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
    progress: ProgressCallback | None = None,
    mapping: Mapping | None = None,
    reference: dict[str, float] | None = None,
    reference_label: str = "reference run",
    noc_observer: Callable[[NocStats], None] | None = None,
    release_weights: bool = False,
    quantized: LayerGraph | None = None,
    traffic_observer: Callable[[int, Traffic], None] | None = None,
    replay: ReplayPlan | None = None,
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
        Called with a :class:`~canmore_sim.utils.progress.StageEvent` at the start and end of
        every stage, and during each frame's NoC replay with packets delivered (a
        computed rate-IF energy reference sends its own run's events after these).
    mapping
        A mapping to reuse (e.g. loaded with ``--mapping``); default: map anew.
    reference
        Reference run of normalized energy models (``frame_latency_ns``, ``spikes``:
        means per frame). Without one, and without reference keys in the preset, a
        normalized model is priced against the same network on the same frames and chip
        under ``neuron.model: rate-if`` (papers/004 Table 2 and papers/002 Table II
        normalize to rate coding), which this function runs itself; a run that is
        rate-coded already (``rate-if``, ``if-lif``) is its own reference.
    reference_label
        How reports name ``reference`` (e.g. the report.json it came from).
    noc_observer
        Called with every frame's :class:`~canmore_sim.noc.stats.NocStats` as the NoC
        engine returns it (e.g. to keep figures a chunked run merges exactly).
    release_weights
        Give ``graph`` up to save memory (the CLI's ``map`` does; VGG16: 2 x 134 MB).
        Unless a rate-IF reference run needs the weights, the quantized network holds
        its weights as integer codes (``quantize_graph(..., compact=True)``), the weight
        values of ``graph`` are released (:meth:`LayerGraph.release_weights`) once its
        predictions are made, and those of the quantized network once it has run, so
        ``RunResult.graph`` and ``quantized`` keep only their structure. Every figure of
        the result is the same.
    traffic_observer
        Called with each frame's index (in ``frames``) and the traffic replayed for it
        (``map --trace``); ideal timing only (a closed loop replays several traffics).
    quantized
        ``graph`` already quantized as ``config`` says (``quantize_graph(graph,
        core.weight_bits, core.quant_scale == "channel")``, compact or not), by a caller
        that has it (a chunked run quantizes once per process, not once per chunk);
        default: quantized here. Its weights are released with ``graph``'s.
    replay
        Which of ``frames`` go through the NoC replay (a chunk's part of its run's plan);
        default: :func:`canmore_sim.run.replay.replay_plan` over ``frames`` (``run.replay``).
        The others are counted without one (exact counts and energy, no timing).

    Raises
    ------
    ModelError
        If ``quantized`` is not ``graph`` quantized with the configured weight bits and
        scale, or its weights were released.
    """
    if frames.ndim < 2 or len(frames) == 0:
        raise DataError(f"frames must be a non-empty (N, ...) array, got shape {frames.shape}")
    engine = get_engine(config.run.engine)  # every plug-in name is checked before any work
    if traffic_observer is not None and config.run.timing != "ideal":
        raise ConfigError("a traffic trace (map --trace) is written under run.timing: ideal "
                          f"only, not {config.run.timing} (whose replays differ)",
                          key="run.timing")
    get_routing(config.router.routing)
    check_labels(labels, len(frames), graph.n_classes)
    config = _resolve_neuron(graph, config)
    model = config.neuron.model
    check_run_size(graph, config, model)
    check_timing(config, model)
    choose(PLACEMENTS, config.run.placement, what="placement", key="run.placement")
    preset = load_preset(config.run.energy)
    area_preset = load_area_preset(config.run.area)
    if replay is None:
        replay = replay_plan(config, len(frames), preset)
    rate_run = needs_rate_reference(preset, model, reference)
    # a rate-IF reference run needs the weights, and so does a closed loop's re-simulation
    release = release_weights and not rate_run and not needs_weight_arrays(config)
    n = len(frames)
    with _stage(progress, "quantize", n):
        if quantized is None:
            quantized = quantize_graph(graph, config.core.weight_bits,  # compact: 1/4 memory
                                       config.core.quant_scale == "channel", compact=release)
        else:
            _check_quantized(graph, quantized, config)
    measured = config.run.placement_traffic == "measured"
    if mapping is None and not measured:
        with _stage(progress, "mapping", n):
            mapping = map_network(quantized, config)  # fails fast, before the heavy work
    return_free_memory()  # the model build's and quantization's temporaries
    with _stage(progress, "neurons", n):
        # only the float network's predictions are kept (its trace is freed here)
        meaningful = float_pass_meaningful(graph)
        float_predictions = (simulate_neurons(graph, frames, labels, config.neuron).predictions
                             if meaningful else None)
        native = resolve_model(graph, "auto")
        native_predictions = (None if native == model or not meaningful else simulate_neurons(
            graph, frames, labels, with_overrides(config, {"neuron.model": native}).neuron
        ).predictions)
        if release:
            graph.release_weights()  # only the quantized network runs from here on
            return_free_memory()
        trace = simulate_neurons(quantized, frames, labels, config.neuron)
    if mapping is None:
        with _stage(progress, "mapping", n):
            mapping = map_network(quantized, config, trace)
    with _stage(progress, "sops", n):
        links = [layer_links(quantized, mapping.groups, l) for l in range(quantized.depth)]
        tables = effective_tables(quantized, mapping.groups)  # non-zero weights (NeuroBench)
        cores = count_sops(trace, mapping, links, effective=tables)
        config, window = derive_window(trace, mapping, links, config)  # "auto": from traffic
    if release:
        quantized.release_weights()  # what follows needs only the structure
        return_free_memory()
    timing = None
    if config.run.timing == "ideal":
        noc = simulate_frames(trace, mapping, links, config, _observed(engine, noc_observer),
                              progress, on_frame=None if traffic_observer is None else (
                                  lambda f, traffic, _stats: traffic_observer(f, traffic)),
                              replayed=replay.replayed if replay.sampled else None)
    else:  # closed loop: the spikes the chip computes, their traffic and SOPs
        ideal_cores = cores
        last = _LastReplay(engine, n)
        trace, noc, timing = close_loop(quantized, frames, labels, config, trace, mapping,
                                        links, last, progress)
        last.hand_to(noc_observer)
        cores = count_sops(trace, mapping, links, dropped=timing.dropped,  # lost: no SOPs
                           effective=tables)
    window_end = trace.end(quantized.depth) * config.neuron.window / trace.tw
    frame_latency = np.maximum(noc.end_ns, window_end)
    described: dict[str, Any] | None = None
    if reference is not None:
        described = {"origin": reference_label,
                      "frame_latency_ns": float(reference["frame_latency_ns"]),
                      "neurons_fired": float(reference["spikes"])}
    elif rate_run:
        described = _rate_reference(graph, frames, labels, config, mapping, progress)
        reference = {"frame_latency_ns": described["frame_latency_ns"],
                     "spikes": described["neurons_fired"]}
    area = area_of_config(config, area_preset, mapping)
    skip = config.core.skip_zero_weights
    with _stage(progress, "energy", n):
        energy = price_frames(preset, _counts(quantized, trace, cores, noc, frame_latency,
                                              mapping, skip_zero_weights=skip, area=area),
                              reference)
    if timing is not None and timing.ideal_noc is not None:  # the same run, ideal spikes
        ideal_latency = np.maximum(timing.ideal_noc.end_ns, timing.ideal.end(quantized.depth)
                                   * config.neuron.window / timing.ideal.tw)
        ideal_counts = _counts(quantized, timing.ideal, ideal_cores, timing.ideal_noc,
                               ideal_latency, mapping, skip_zero_weights=skip, area=area)
        ideal_energy = price_frames(preset, ideal_counts, reference)
        timing = replace(timing, ideal_energy_uj=ideal_energy.total_uj,
                         ideal_counts=ideal_counts)
    if preset.model == "normalized":
        described = _describe_reference(energy, described, model)
        energy = replace(energy, params={**energy.params, "reference": described["origin"]})
    return RunResult(
        config=config, graph=graph, quantized=quantized, mapping=mapping, trace=trace,
        float_predictions=float_predictions, cores=cores, noc=noc, energy=energy,
        energy_preset=preset, frame_latency_ns=frame_latency,
        frame_ids=np.arange(len(frames)) if frame_ids is None else np.asarray(frame_ids),
        native_model=native, native_predictions=native_predictions,
        energy_reference=described, timing=timing, area=area, replay=replay,
        extra={"window": window or fixed_window(config), "inputs": input_values(frames)},
    )


def fixed_window(config: ArchConfig) -> dict[str, Any]:
    """The record of a window set as a number (``neuron.window_ns``)."""
    return {"mode": "fixed", "window_ns": config.neuron.window,
            "rule": "neuron.window_ns set in the configuration"}


def input_values(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Per frame, the positive and negative input values (under ``direct`` encoding the
    positive ones are the input spikes, the negative ones enter the potential only)."""
    flat = np.asarray(frames).reshape(len(frames), -1)
    return {"positive": np.count_nonzero(flat > 0, axis=1).astype(np.int64),
            "negative": np.count_nonzero(flat < 0, axis=1).astype(np.int64)}


def _observed(engine: Callable[..., NocStats],
              observer: Callable[[NocStats], None] | None) -> Callable[..., NocStats]:
    """``engine``, handing each frame's statistics to ``observer`` too (when given)."""
    if observer is None:
        return engine

    def simulate(*args: Any, **kwargs: Any) -> NocStats:
        stats = engine(*args, **kwargs)
        observer(stats)
        return stats
    return simulate


class _LastReplay:
    """``engine``, keeping the statistics of the latest replay of all ``n_frames`` frames.

    The closed loop replays every frame once per iteration (in frame order); only the last
    replay is the run the chip made, so only its statistics go to a ``noc_observer``.
    """

    def __init__(self, engine: Callable[..., NocStats], n_frames: int) -> None:
        self._engine = engine
        self._last: deque[NocStats] = deque(maxlen=n_frames)

    def __call__(self, *args: Any, **kwargs: Any) -> NocStats:
        stats = self._engine(*args, **kwargs)
        self._last.append(stats)
        return stats

    def hand_to(self, observer: Callable[[NocStats], None] | None) -> None:
        """Give the last replay's statistics, frame by frame, to ``observer``."""
        if observer is not None:
            for stats in self._last:
                observer(stats)
        self._last.clear()


def _rate_reference(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
                    config: ArchConfig, mapping: Mapping,
                    progress: ProgressCallback | None) -> dict[str, Any]:
    """Run the same network, frames and chip (same mapping) under ``rate-if``."""
    ref_config = with_overrides(config, {"neuron.model": "rate-if", "run.timing": "ideal",
                                         "run.energy": "canmore-22nm",
                                         "run.energy_reference": None})
    ref = run(graph, frames, labels, ref_config, progress=progress, mapping=mapping)
    return {"origin": "rate-if run of the same network on the same frames and chip "
                      "(run by this tool)",
            "neuron_model": "rate-if",
            "frame_latency_ns": float(np.mean(ref.frame_latency_ns)),
            "neurons_fired": float(np.mean(ref.trace.neuron_spikes.sum(axis=1))),
            "late_share": ref.noc.late_share}


def map_network(graph: LayerGraph, config: ArchConfig,
                trace: SpikeTrace | NeuronCounts | None = None) -> Mapping:
    """Partition ``graph`` into cores and place them (tiling chips when needed).

    Traffic-aware strategies weight the core traffic graph by ``trace`` when given
    (measured spikes, or their per-neuron counts), else by 25 % expected activity.

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
