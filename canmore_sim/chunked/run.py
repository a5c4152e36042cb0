"""A map run over many frames: chunks of frames on a pool of workers, streamed to disk,
resumable, merged into one :class:`~canmore_sim.run.pipeline.RunResult`.

:func:`run_map` is what ``canmore-sim map`` runs:

1. the frames are selected (data-set indices; the frames themselves are loaded by the
   workers, chunk by chunk) and cut into chunks of ``run.chunk_frames`` frames: the
   boundaries depend on the frame count and the chunk size only, never on the workers;
2. the network is quantized and mapped ONCE, here. With ``run.placement_traffic:
   measured`` the mapping is weighted by the spikes of ALL frames: a neuron-only pass
   over the chunks adds up every neuron's spikes (exact integer sums, so the same
   mapping whatever the workers, and the same as one process simulating every frame);
3. the chunks run on the executor (:mod:`canmore_sim.pool.executor`: this process, local
   worker processes or a Dask cluster); each finished chunk's counts are written
   atomically to ``work/chunks/NNNNN.npz`` and dropped from memory. With ``resume`` a
   chunk file already there is kept only when its identity (configuration, model, data,
   frame selection, mapping, chunk index and size, tool version) and checksum match;
4. the chunks are merged in chunk order as they arrive (one finished early waits, in
   memory or, beyond a few, in its file; a reused one is read from its file): per-frame
   rows are concatenated, per-router sums are added and maxima taken chunk after chunk
   (so a float sum is the same whatever the workers), the delivery latencies' exact
   1-ns bins are added;
5. energy is priced once, over all frames (count first, price later; a normalized
   model's computed rate-IF reference is a second chunked pass, ideal-timed, whose means
   are taken over all frames). Under closed-loop timing the chunks' loops are merged and
   the ideal energy is priced here too (:mod:`canmore_sim.chunked.timing`).

What stays in memory is one chunk's working set per worker plus the per-frame rows
(frames.csv and the per-frame, per-layer and per-core counts: a few kB per frame).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from canmore_sim.chunked.merge import result_parts
from canmore_sim.chunked.runner import CHUNK_STAGE, PRELOAD, ChunkRunner, MapProgress
from canmore_sim.chunked.task import forget_contexts
from canmore_sim.chunked.timing import merged_timing
from canmore_sim.config import ArchConfig, with_overrides
from canmore_sim.energy import EnergyPreset
from canmore_sim.mapper.placement import Mapping
from canmore_sim.models.graph import LayerGraph
from canmore_sim.run.checks import check_labels, check_run
from canmore_sim.run.pricing import (
    EnergyReference,
    computed_rate_reference,
    energy_reference,
    frame_counts,
    needs_rate_reference,
    price_run,
)
from canmore_sim.run.source import ModelSource
from canmore_sim.utils.memory import return_free_memory
from canmore_sim.utils.progress import ProgressCallback, stage

if TYPE_CHECKING:
    from canmore_sim.run.pipeline import RunResult
    from canmore_sim.run.replay import ReplayPlan

__all__ = ["CHUNK_STAGE", "PRELOAD", "MapProgress", "run_map"]


def run_map(graph: LayerGraph, source: ModelSource, config: ArchConfig, work: str | Path, *,
            data: str | None = None, frames: int | str | None = None,
            mapping: Mapping | None = None, reference: dict[str, float] | None = None,
            reference_label: str = "reference run", workers: int = 1,
            executor: str = "local", scheduler: str | None = None, resume: bool = False,
            progress: ProgressCallback | None = None,
            note: Callable[[str], None] | None = None, release_weights: bool = False,
            trace: Any = None) -> RunResult:
    """Map ``graph`` and simulate the selected frames in chunks; the merged RunResult.

    Parameters
    ----------
    graph
        The network, loaded here from ``source`` (the workers load their own copy).
    source
        Where the network comes from (plain data for the workers).
    config
        Architecture and run settings (``run.chunk_frames``: frames per chunk).
    work
        The run's work folder; chunk files go to ``work/chunks`` (and, for a computed
        rate-IF energy reference, ``work/reference``).
    data
        ``--data`` source (None: digits).
    frames
        Frames to select: a count, ``"all"`` (the whole test split; ``run.frames`` is set
        to the count), or None (``run.frames``).
    mapping, reference, reference_label
        As for :func:`canmore_sim.run.pipeline.run`.
    workers, executor, scheduler
        Where the chunks run (:func:`canmore_sim.pool.executor.run_tasks`).
    resume
        Keep verified chunk files already in ``work`` (else they are removed first).
    progress
        Stage events; the chunks send ``chunks`` events (``done``/``total`` frames), a
        single local worker also the per-frame ``traffic``/``noc`` events of every frame.
    note
        Receives one line per chunk file that is run again, saying why, and the notes on
        the inputs (what ``auto`` chose for an official state_dict, an adaptation).
    release_weights
        Give ``graph`` up to save memory (the CLI's ``map`` does): when the run's only
        chunk runs in this process and no rate-IF reference pass follows, it releases
        the network's weights (``pipeline.run(..., release_weights=True)``; VGG16: the
        headline's peak 575 MB instead of about 930 MB); every figure is the same.
    trace
        A :class:`~canmore_sim.noc.trace.TraceWriter` (``map --trace``): every frame's
        traffic is written to it, in frame order (chunks computed without it run again).

    Raises
    ------
    CanmoreError
        Bad input (as for :func:`canmore_sim.run.pipeline.run`), a bad executor setting, or a
        chunk that failed (its error).
    """
    from canmore_sim.chunked.window import settle_window, window_pass
    from canmore_sim.datasets.inputs import frame_options
    from canmore_sim.datasets.readers import select_frames_adapted
    from canmore_sim.pool.executor import check_executor
    from canmore_sim.run.provenance import (
        data_record,
        input_notes,
        provenance,
        resolve_run_inputs,
    )
    from canmore_sim.run.replay import replay_plan

    check_executor(executor, workers, scheduler)
    config, plan = resolve_run_inputs(graph, config, data)  # before auto neuron settings
    with stage(progress, "frames", 0):
        labels, ids, adaptation = select_frames_adapted(
            data, graph.input_shape,
            None if frames == "all" else (config.run.frames if frames is None else int(frames)),
            config.run.seed, max_values=config.limits.max_frame_values, **frame_options(config))
    config, preset = check_run(graph, config)
    for line in input_notes(plan, adaptation, data):
        if note is not None:
            note(line)
    if frames == "all":
        config = with_overrides(config, {"run.frames": len(ids)})
    check_labels(labels, len(ids), graph.n_classes)
    runner = ChunkRunner(source, data, config, Path(work), ids, workers, executor, scheduler,
                     progress, note)
    runner.plan = replay_plan(config, len(ids), preset)
    runner.clear(resume)
    runner.reference_pass = needs_rate_reference(preset, config.neuron.model, reference)
    runner.release_weights = release_weights
    runner.trace = trace
    try:
        quantized, mapping = runner.mapped(graph, mapping)
        if release_weights and runner.float_weights_done():
            graph.release_weights()  # the workers get the quantized network, not these
        config, window, early = window_pass(runner, config, mapping)
        merged = runner.pass_("run", config, mapping, early)
        gc.collect()  # what the chunks run here freed goes back to the system before the
        return_free_memory()  # reports are made (their peak otherwise)
        config, window = settle_window(config, window, merged)
        record = data_record(data, ids, adaptation, plan, merged["input_positive"],
                             merged["input_negative"])
        extra = {"window": window, "provenance": provenance(graph, source, config, record)}
        ref = energy_reference(preset, config, reference, reference_label,
                               lambda ref_config: _rate_reference(runner, ref_config, mapping))
        result = _priced(graph, quantized, mapping, config, preset, merged, ref,
                         runner.progress, runner.plan, extra)
        quantized.release_weights()  # only its structure fills the reports
        return result
    finally:
        forget_contexts()  # what chunks run in this process kept of the network


def _priced(graph: LayerGraph, quantized: LayerGraph, mapping: Mapping, config: ArchConfig,
            preset: EnergyPreset, merged: dict[str, Any], ref: EnergyReference,
            progress: ProgressCallback | None, replay: ReplayPlan | None,
            extra: dict[str, Any]) -> RunResult:
    """Price the merged counts (after all chunks) against ``ref`` and assemble the
    RunResult (:func:`canmore_sim.run.pricing.price_run`, as the pipeline prices);
    ``replay``: which frames the NoC replayed; ``extra``: the run's records for reports
    (``window``, ``provenance``)."""
    # the pipeline loads torch: imported once the run starts, so that importing this
    # module (for PRELOAD) before the workers' fork server starts stays light
    from canmore_sim.energy.area import area_of_config
    from canmore_sim.energy.area_preset import load_area_preset
    from canmore_sim.run.pipeline import RunResult

    trace, cores, noc = result_parts(merged, mapping)
    frame_latency = merged["frame_latency_ns"]
    area = area_of_config(config, load_area_preset(config.run.area), mapping)
    with stage(progress, "energy", trace.n_frames):
        energy, described = price_run(preset, frame_counts(
            quantized, trace, cores, noc, frame_latency, mapping,
            skip_zero_weights=config.core.skip_zero_weights, area=area), ref,
            config.neuron.model)
    timing = merged_timing(merged, preset, ref.means, area)  # ideal energy priced here
    return RunResult(
        config=config, graph=graph, quantized=quantized, mapping=mapping, trace=trace,
        float_predictions=(merged["float_predictions"] if bool(merged.get("has_float", True))
                           else None), cores=cores, noc=noc, energy=energy,
        energy_preset=preset, frame_latency_ns=frame_latency, frame_ids=merged["ids"],
        native_model=str(merged["native_model"]),
        native_predictions=merged["native_predictions"] if bool(merged["has_native"]) else None,
        energy_reference=described, timing=timing, area=area, replay=replay, extra=extra)


def _rate_reference(runner: ChunkRunner, ref_config: ArchConfig, mapping: Mapping
                    ) -> dict[str, Any]:
    """The rate-IF reference of a normalized energy model: the same frames, chip and
    mapping under ``ref_config`` (:func:`canmore_sim.run.pricing.rate_reference_config`),
    chunked like the run; means over all frames."""
    merged = runner.pass_("reference", ref_config, mapping)
    deliveries = int(merged["deliveries"].sum())
    return computed_rate_reference(
        float(np.mean(merged["frame_latency_ns"])),
        float(np.mean(merged["neuron_spikes"].sum(axis=1))),
        float(merged["late"].sum()) / deliveries if deliveries else 0.0)
