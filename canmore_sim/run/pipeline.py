"""Compose the stages: network + frames + architecture -> per-frame results.

This module only wires the stages together (docs/explanation/design.md, "Data flow"); each
stage lives in its own package and is a plain function over plain data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from canmore_sim.config import ArchConfig, with_overrides
from canmore_sim.cores.models import resolve_model, simulate_neurons
from canmore_sim.cores.stats import CoreStats
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.energy import EnergyBreakdown, EnergyPreset, load_preset, price_frames
from canmore_sim.energy.area import AreaBreakdown, area_of_config
from canmore_sim.energy.area_preset import AreaPreset, load_area_preset
from canmore_sim.errors import ConfigError, DataError
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
from canmore_sim.noc import get_engine
from canmore_sim.noc.build import io_router_index
from canmore_sim.noc.stats import NocStats
from canmore_sim.noc.traffic import Traffic
from canmore_sim.run.checks import (
    check_frames,
    check_labels,
    check_quantized,
    check_run,
    float_pass_meaningful,
    needs_weight_arrays,
)
from canmore_sim.run.chip import ChipReplay, run_on_chip
from canmore_sim.run.frame_noc import FrameNoc
from canmore_sim.run.pricing import (
    EnergyReference,
    RunPresets,
    computed_rate_reference,
    energy_reference,
    frame_counts,
    needs_rate_reference,
    price_run,
)
from canmore_sim.run.provenance import fixed_window, input_values
from canmore_sim.run.replay import ReplayPlan, replay_plan
from canmore_sim.run.timing import TimingResult
from canmore_sim.utils.memory import return_free_memory
from canmore_sim.utils.progress import ProgressCallback, stage

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
    (``run.replay``; None: every frame). ``extra`` holds the records reports read:
    ``window`` (how ``neuron.window_ns`` was set or derived), ``inputs`` (per frame, the
    positive and negative input values) and, where a caller adds it, ``provenance``
    (:mod:`canmore_sim.run.provenance`).
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
    timing: TimingResult | None = None
    area: AreaBreakdown | None = None
    replay: ReplayPlan | None = None
    extra: dict[str, Any] = field(default_factory=dict)

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
    presets: RunPresets | None = None,
    spikes: SpikeTrace | None = None,
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
    presets
        The energy and area presets ``run.energy`` and ``run.area`` name, loaded by the
        caller (a worker without the client's files runs from the client's); default:
        loaded here.
    spikes
        The quantized network's spikes on ``frames``, simulated already (a chunked run's
        window pass, :mod:`canmore_sim.chunked.spikes`): used instead of simulating them
        again (the float network still runs where its predictions mean something).

    Raises
    ------
    ModelError
        If ``quantized`` is not ``graph`` quantized with the configured weight bits and
        scale, or its weights were released.
    """
    check_frames(frames)
    if spikes is not None and spikes.n_frames != len(frames):
        raise DataError(f"the given spikes are of {spikes.n_frames} frames, not the "
                        f"{len(frames)} frames given")
    if traffic_observer is not None and config.run.timing != "ideal":
        raise ConfigError("a traffic trace (map --trace) is written under run.timing: ideal "
                          f"only, not {config.run.timing} (whose replays differ)",
                          key="run.timing")
    check_labels(labels, len(frames), graph.n_classes)
    config, preset = check_run(graph, config, None if presets is None else presets.energy)
    engine = get_engine(config.run.engine)
    area_preset = load_area_preset(config.run.area) if presets is None else presets.area
    model = config.neuron.model
    if replay is None:
        replay = replay_plan(config, len(frames), preset)
    # a rate-IF reference run needs the weights, and so does a closed loop's re-simulation
    release = (release_weights and not needs_rate_reference(preset, model, reference)
               and not needs_weight_arrays(config))
    n = len(frames)
    with stage(progress, "quantize", n):
        if quantized is None:
            quantized = quantize_graph(graph, config.core.weight_bits,  # compact: 1/4 memory
                                       config.core.quant_scale == "channel", compact=release)
        else:
            check_quantized(graph, quantized, config)
    if mapping is None and config.run.placement_traffic != "measured":
        with stage(progress, "mapping", n):
            mapping = map_network(quantized, config)  # fails fast, before the heavy work
    return_free_memory()  # the model build's and quantization's temporaries
    neurons = _simulate_neurons(graph, quantized, frames, labels, config, release, progress,
                                spikes)
    if mapping is None:
        with stage(progress, "mapping", n):
            mapping = map_network(quantized, config, neurons.trace)
    chip = run_on_chip(quantized, frames, labels, config, mapping, neurons.trace,
                       ChipReplay(engine, noc_observer, release, progress, traffic_observer,
                                  replay.replayed if replay.sampled else None))
    config = chip.config  # neuron.window_ns derived (``auto``) from the traffic
    frame_latency = _frame_latency(chip.trace, chip.noc.end_ns, quantized.depth, config)
    ref = energy_reference(preset, config, reference, reference_label,
                           lambda ref_config: _rate_reference(graph, frames, labels, ref_config,
                                                              mapping, progress, area_preset))
    area = area_of_config(config, area_preset, mapping)
    with stage(progress, "energy", n):
        energy, described = price_run(preset, frame_counts(
            quantized, chip.trace, chip.cores, chip.noc, frame_latency, mapping,
            skip_zero_weights=config.core.skip_zero_weights, area=area), ref, model)
    timing = chip.timing
    if timing is not None and timing.ideal_noc is not None:  # the same run, ideal spikes
        timing = _ideal_energy(timing, quantized, config, chip.ideal_cores, mapping, preset,
                               ref, area)
    return RunResult(
        config=config, graph=graph, quantized=quantized, mapping=mapping, trace=chip.trace,
        float_predictions=neurons.float_predictions, cores=chip.cores, noc=chip.noc,
        energy=energy, energy_preset=preset, frame_latency_ns=frame_latency,
        frame_ids=np.arange(len(frames)) if frame_ids is None else np.asarray(frame_ids),
        native_model=neurons.native_model, native_predictions=neurons.native_predictions,
        energy_reference=described, timing=timing, area=area, replay=replay,
        extra={"window": chip.window or fixed_window(config), "inputs": input_values(frames)},
    )


@dataclass(frozen=True)
class _Neurons:
    """The neuron simulation of a run: the float network's predictions (and its native
    model's, where the run's model is another), the quantized network's trace."""

    float_predictions: np.ndarray | None
    native_model: str
    native_predictions: np.ndarray | None
    trace: SpikeTrace


def _simulate_neurons(graph: LayerGraph, quantized: LayerGraph, frames: np.ndarray,
                      labels: np.ndarray | None, config: ArchConfig, release: bool,
                      progress: ProgressCallback | None, spikes: SpikeTrace | None) -> _Neurons:
    """Simulate the float network (predictions only) and the quantized one (its trace, or
    ``spikes``, simulated already); ``release``: give up the float network's weights once
    its predictions are made."""
    model = config.neuron.model
    with stage(progress, "neurons", len(frames)):
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
        trace = (simulate_neurons(quantized, frames, labels, config.neuron) if spikes is None
                 else spikes)
    return _Neurons(float_predictions, native, native_predictions, trace)


def _frame_latency(trace: SpikeTrace, end_ns: np.ndarray, depth: int,
                   config: ArchConfig) -> np.ndarray:
    """Each frame's latency, ns: its last delivery (``end_ns``) or its output window's end,
    the later."""
    window_end = trace.end(depth) * config.neuron.window / trace.tw
    return np.maximum(end_ns, window_end)


def _ideal_energy(timing: TimingResult, quantized: LayerGraph, config: ArchConfig,
                  ideal_cores: CoreStats | None, mapping: Mapping, preset: EnergyPreset,
                  ref: EnergyReference, area: AreaBreakdown | None) -> TimingResult:
    """A closed loop's timing with the energy of its ideal spikes (the same run, ideal
    timing) priced against the same reference (and over the same chip ``area``)."""
    assert timing.ideal_noc is not None and ideal_cores is not None
    ideal_latency = _frame_latency(timing.ideal, timing.ideal_noc.end_ns, quantized.depth,
                                   config)
    ideal_counts = frame_counts(quantized, timing.ideal, ideal_cores, timing.ideal_noc,
                                ideal_latency, mapping,
                                skip_zero_weights=config.core.skip_zero_weights, area=area)
    ideal_energy = price_frames(preset, ideal_counts, ref.means)
    return replace(timing, ideal_energy_uj=ideal_energy.total_uj, ideal_counts=ideal_counts)


def _rate_reference(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
                    ref_config: ArchConfig, mapping: Mapping,
                    progress: ProgressCallback | None, area: AreaPreset) -> dict[str, Any]:
    """Run the same network, frames and chip (same mapping) under ``ref_config``
    (:func:`canmore_sim.run.pricing.rate_reference_config`: a bundled energy preset) and
    describe it (``area``: the run's area preset)."""
    presets = RunPresets(load_preset(ref_config.run.energy), area)
    ref = run(graph, frames, labels, ref_config, progress=progress, mapping=mapping,
              presets=presets)
    return computed_rate_reference(float(np.mean(ref.frame_latency_ns)),
                                   float(np.mean(ref.trace.neuron_spikes.sum(axis=1))),
                                   ref.noc.late_share)


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
