"""The chunks of one map run: their tasks, chunk files, executor and progress
(:func:`canmore_sim.chunked.run.run_map` drives a :class:`ChunkRunner` through its passes).

A pass (the run's frames, or a rate-IF reference) runs every chunk that has no verified
file yet, writes each finished chunk's counts atomically and merges them in chunk order;
chunks run in this process with its network (one local worker) or on the executor's
workers, each chunk shipped with its frames.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.chunked.files import chunk_identity, mapping_digest, read_chunk, write_chunk
from canmore_sim.chunked.merge import Merger
from canmore_sim.chunked.task import (
    chunk_task,
    neuron_counts_task,
    run_chunk,
    run_neuron_counts,
    run_task,
)
from canmore_sim.config import ArchConfig
from canmore_sim.errors import CanmoreError, SimulationError
from canmore_sim.mapper.placement import Mapping
from canmore_sim.mapper.traffic_graph import NeuronCounts
from canmore_sim.models.graph import LayerGraph
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.pool.lazy import TasksWhenSent
from canmore_sim.run.source import ModelSource
from canmore_sim.utils.progress import ProgressCallback, StageEvent, stage
from canmore_sim.utils.workfiles import MAP_ITEMS, check_items

__all__ = ["CHUNK_STAGE", "PRELOAD", "ChunkRunner", "MapProgress"]

#: Modules the local workers' fork server imports once (so each worker starts in ms).
PRELOAD = ("canmore_sim.chunked.task", "canmore_sim.datasets.readers",
           "canmore_sim.models.loaders", "canmore_sim.report.summary", "canmore_sim.chunked.warm")
#: Stage name of the events that count finished frames of a chunked run.
CHUNK_STAGE = "chunks"


@dataclass
class MapProgress:
    """How far the chunks of a run are (sent as ``chunks`` :class:`StageEvent` s)."""

    total: int
    done: int = 0
    reused: int = 0
    started: float = field(default_factory=time.perf_counter)


class ChunkRunner:
    """The chunks of one run (:func:`canmore_sim.chunked.run.run_map`): their tasks, files
    and executor."""

    def __init__(self, source: ModelSource, data: str | None, config: ArchConfig, work: Path,
                 ids: np.ndarray, workers: int, executor: str, scheduler: str | None,
                 progress: ProgressCallback | None,
                 note: Callable[[str], None] | None) -> None:
        self.source, self.data, self.work, self.ids = source, data, work, ids
        self.config = config
        self.size = config.run.chunk_frames
        self.workers, self.executor, self.scheduler = workers, executor, scheduler
        self.progress, self.note = progress, note
        self.common = source.identity(data)
        self.model_identity = self.common["model"]
        self.chunks = [ids[i:i + self.size] for i in range(0, len(ids), self.size)]
        self.graph: LayerGraph | None = None  # the network, once mapped() has it
        # its quantized form (codes) while chunks here may use it
        self.quantized: LayerGraph | None = None
        self.reference_pass = False  # a rate-IF reference pass follows the run's chunks
        self.release_weights = False  # the caller gives the network up (run_map's option)
        self.trace: Any = None  # a TraceWriter for the run pass's traffic (map --trace)
        self.plan: Any = None  # which frames the NoC replays (run.replay), set by run_map
        self.split: Any = None  # the data split, read once where chunks ship their frames
        # the spike files the window pass kept, by chunk: (path, identity)
        self.spikes: dict[int, tuple[Path, dict[str, str]]] = {}

    def clear(self, resume: bool) -> None:
        """Remove unfinished writes, and (without ``resume``) every chunk file."""
        for kind in MAP_ITEMS:  # the tool's own regular files only
            for path in check_items(self.work / kind, kind):
                if path.suffix == ".tmp" or not resume:
                    path.unlink()

    def mapped(self, graph: LayerGraph, mapping: Mapping | None
               ) -> tuple[LayerGraph, Mapping]:
        """The quantized network and the run's one mapping."""
        from canmore_sim.run.pipeline import map_network  # loads torch (see run._priced)

        config, n = self.config, len(self.ids)
        self.graph = graph
        with stage(self.progress, "quantize", n):
            # compact codes: chunks run in this process use it (quantized once); here only
            # its structure is needed (mapping, pricing, reports)
            quantized = quantize_graph(graph, config.core.weight_bits,
                                       config.core.quant_scale == "channel", compact=True)
        self.quantized = quantized
        if mapping is None:
            counts = None
            if config.run.placement_traffic == "measured":
                with stage(self.progress, "neurons", n):
                    counts = self._neuron_counts()
            with stage(self.progress, "mapping", n):
                mapping = map_network(quantized, config, counts)
        return quantized, mapping

    def _neuron_counts(self) -> NeuronCounts:
        """Spikes per neuron over all frames (the neuron-only pass, in chunk order).

        Each chunk's counts are written to ``work/placement`` like a run's chunks, so a
        resumed run reuses the verified ones instead of simulating its frames again.
        """
        dumped = self.config.model_dump(mode="json")
        identities = [chunk_identity(self.common, kind="counts", index=i, ids=chunk,
                                     chunk_frames=self.size, config=dumped)
                      for i, chunk in enumerate(self.chunks)]
        parts: dict[int, Any] = dict(self.each_chunk(
            "placement", identities, range(len(self.chunks)),
            lambda i: neuron_counts_task(i, self.chunks[i], source=self.source,
                                         model_identity=self.model_identity, data=self.data,
                                         config=dumped)))
        total: NeuronCounts | None = None
        for i in range(len(self.chunks)):  # in chunk order (integer sums: any order is equal)
            part = parts[i]
            layers = sorted((k for k in part if k.startswith("layer_")),
                            key=lambda k: int(k.split("_")[1]))
            one = NeuronCounts(tuple(part[k] for k in layers), int(part["n_frames"]))
            total = one if total is None else total + one
        assert total is not None  # a run has at least one chunk
        return total

    def each_chunk(self, kind: str, identities: list[dict[str, str]], indices: Iterable[int],
                   task_of: Callable[[int], dict[str, Any]], note: bool = False,
                   keep: Callable[[int, dict[str, np.ndarray]], dict[str, np.ndarray]]
                   | None = None) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """``(index, arrays)`` of every chunk of ``indices`` in the items folder ``kind``:
        first those whose file is verified (read back), then the others, each run
        (``task_of(index)``) and its file written before it is yielded; ``note``: say why
        a chunk whose file exists runs again; ``keep(index, outcome)``: the part of a
        chunk's outcome its file holds (default: all)."""
        folder = self.work / kind
        folder.mkdir(parents=True, exist_ok=True)
        todo = []
        for i in indices:
            arrays, why = read_chunk(folder / f"{i:05d}.npz", identities[i])
            if arrays is not None:
                yield i, arrays
                continue
            if note and why is not None and self.note is not None:
                self.note(f"chunk {i} (frames {frames_text(self.chunks[i])}): running it "
                          f"again: {why}")
            todo.append(task_of(i))
        for outcome in self.outcomes(todo):
            index = todo[outcome.index]["index"]
            value = outcome.value if keep is None else keep(index, outcome.value)
            write_chunk(folder / f"{index:05d}.npz", value, identities[index])
            yield index, value

    def outcomes(self, tasks: Sequence[dict[str, Any]],
                  inline_progress: ProgressCallback | None = None,
                  release_last: bool = False) -> Any:
        """Run ``tasks`` (in this process with its network, or on the executor's workers,
        each with its frames) and yield their outcomes; a chunk's error is raised, named
        by its chunk and frames."""
        from canmore_sim.pool.executor import WorkerLost, run_tasks

        workers = (max(1, min(self.workers, len(tasks))) if self.executor == "local"
                   else self.workers)
        shared: dict[str, Any] | None = None
        if self.executor == "local" and workers == 1:  # in this process: reuse its network
            # the weights may go with the last chunk when no later pass needs them
            release = release_last and len(tasks) == 1
            function: Any = _InlineRun(inline_progress, self.chunks, len(self.ids),
                                       self.graph, self.quantized, release)
        else:  # the network goes to each worker once, each chunk with its frames
            function = run_task
            shared = self._shared()
        tasks = _SentTasks(tasks, None if shared is None else self._frames)
        for outcome in run_tasks(function, tasks, executor=self.executor, workers=workers,
                                 scheduler=self.scheduler, preload=PRELOAD,
                                 shared=shared):
            if outcome.error is not None:
                error = outcome.error
                task = tasks[outcome.index]
                where = f"chunk {task['index']} (frames {frames_text(task['ids'])})"
                if isinstance(error, CanmoreError):
                    raise type(error)(f"{where}: {error}") from None
                if isinstance(error, WorkerLost):
                    raise SimulationError(f"{where}: {error} (out of memory?)") from None
                raise error
            yield outcome

    def float_weights_done(self) -> bool:
        """Whether nothing after the mapping needs the float weights: no float pass
        (synthetic weights), no re-quantization by the workers (closed-loop timing) and
        no rate-IF reference pass."""
        from canmore_sim.run.checks import float_pass_meaningful, needs_weight_arrays

        return not (float_pass_meaningful(self.graph) or needs_weight_arrays(self.config)
                    or self.reference_pass)

    def _shared(self) -> dict[str, Any]:
        """What every worker gets once (no worker reads the model's files): the quantized
        network as integer codes, made once for the run, unless the run re-simulates
        cores from weight arrays (closed-loop timing: the workers quantize the float
        network once each); the float network where a float pass means something
        (:func:`~canmore_sim.run.checks.float_pass_meaningful`) or the workers quantize."""
        from canmore_sim.run.checks import float_pass_meaningful, needs_weight_arrays

        shared: dict[str, Any] = {}
        if self.quantized is not None and not needs_weight_arrays(self.config):
            shared["network"] = self.quantized
        if "network" not in shared or float_pass_meaningful(self.graph):
            shared["graph"] = self.graph
        return shared

    def _frames(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The frames and labels at data-set indices ``ids`` (the split read once)."""
        from canmore_sim.datasets.inputs import frame_options
        from canmore_sim.datasets.readers import load_selected, read_split

        assert self.graph is not None  # mapped() has it before any chunk is sent
        if self.split is None:
            self.split = read_split(self.data, self.graph.input_shape)
        return load_selected(self.data, self.graph.input_shape, ids, images=self.split,
                             **frame_options(self.config))

    def pass_(self, kind: str, config: ArchConfig, mapping: Mapping,
              early: tuple[dict[str, Any], list[int]] | None = None) -> dict[str, Any]:
        """Run (or reuse) every chunk of one pass and merge them in chunk order (``early``:
        the configuration and indices of chunks run already,
        :func:`canmore_sim.chunked.window.run_early`)."""
        folder = self.work / ("chunks" if kind == "run" else "reference")
        folder.mkdir(parents=True, exist_ok=True)
        dumped = config.model_dump(mode="json")
        dumps = [dumped] * len(self.chunks)
        if early is not None:
            for i in early[1]:
                dumps[i] = early[0]
        key = mapping_digest(mapping)
        trace = self.trace if kind == "run" else None
        parts, identities = self.identities(kind + ("+trace" if trace else ""), dumps, key)
        state = MapProgress(total=len(self.ids))
        merger = Merger(folder, identities, buffered=2 * self.workers + 2, trace=trace)
        todo = []
        for i, chunk in enumerate(self.chunks):
            path = folder / f"{i:05d}.npz"
            arrays, why = read_chunk(path, identities[i])
            if arrays is not None:
                del arrays  # verified: merged from its file when its turn comes
                merger.add(i)
                state.reused += len(chunk)
                continue
            if why is not None and self.note is not None:
                self.note(f"chunk {i} (frames {frames_text(chunk)}): running it again: {why}")
            task = chunk_task(i, chunk, source=self.source, model_identity=self.model_identity,
                              data=self.data, config=dumps[i], mapping=mapping,
                              mapping_key=key, trace=trace is not None, replay=parts[i])
            if kind == "run" and i in self.spikes:
                task["spikes_file"], task["spikes_identity"] = self.spikes[i]
            todo.append(task)
        self._report(state)
        inline = self.progress if kind == "run" else None
        release = self.release_weights and kind == "run" and not self.reference_pass
        for outcome in self.outcomes(todo, inline, release_last=release):
            task = todo[outcome.index]
            write_chunk(folder / f"{task['index']:05d}.npz", outcome.value,
                        identities[task["index"]])
            if task.get("spikes_file") is not None:  # its spikes are counted now
                Path(task["spikes_file"]).unlink(missing_ok=True)
            merger.add(task["index"], outcome.value)  # merged now if its turn has come
            state.done += len(task["ids"])
            self._report(state)
        for path, _ in self.spikes.values():  # those of chunks reused (resume)
            path.unlink(missing_ok=True)
        return merger.result()

    def identities(self, kind: str, dumps: list[dict[str, Any]],
                   key: str) -> tuple[list[Any], list[dict[str, str]]]:
        """Each chunk's part of the replay plan and its identity (``dumps``: its
        configuration)."""
        parts = [self.plan.part(slice(i * self.size, i * self.size + len(chunk)))
                 for i, chunk in enumerate(self.chunks)]
        identities = [{**chunk_identity(self.common, kind=kind, index=i, ids=chunk,
                                        chunk_frames=self.size, config=dumps[i],
                                        mapping_key=key),
                       "replayed": "".join("1" if r else "0" for r in parts[i].replayed)}
                      for i, chunk in enumerate(self.chunks)]
        return parts, identities

    def _report(self, state: MapProgress) -> None:
        if self.progress is not None:
            self.progress(StageEvent(CHUNK_STAGE, state.done + state.reused, state.total,
                                     None, state.total))


class _InlineRun:
    """Runs chunks in this process with its network ``graph`` (and ``quantized``, its
    quantized form), relaying their per-frame events numbered in the run; ``release`` lets
    the (only) chunk release the network's weights
    (:func:`canmore_sim.chunked.task.run_chunk`)."""

    def __init__(self, progress: ProgressCallback | None, chunks: list[np.ndarray], total: int,
                 graph: LayerGraph | None, quantized: LayerGraph | None,
                 release: bool) -> None:
        self.progress, self.total = progress, total
        self.graph, self.quantized, self.release = graph, quantized, release
        self.start = np.cumsum([0, *[len(c) for c in chunks]])

    def __call__(self, task: dict[str, Any]) -> dict[str, np.ndarray]:
        if task["kind"] != "run":
            return run_neuron_counts(task, graph=self.graph, quantized=self.quantized)
        offset = int(self.start[task["index"]])
        progress = self.progress

        def relay(event: StageEvent) -> None:
            if progress is None:
                return
            if event.frame is not None:
                progress(StageEvent(event.stage, event.done, event.total,
                                    offset + event.frame, self.total))
            elif event.stage in ("neurons", "sops") and not event.finished:
                # the chunk's own stages show on the frame line, at its first frame
                progress(StageEvent(event.stage, 0, 1, offset, self.total))
        return run_chunk(task, relay, graph=self.graph, quantized=self.quantized,
                         release_weights=self.release)


class _SentTasks(TasksWhenSent):
    """Chunk tasks completed when they are sent, so only the chunks in flight hold what
    they carry: their frames (``frames``: loaded here, a worker needs no data files) and
    the spikes the window pass kept for them (``spikes_file``, read back and verified:
    :mod:`canmore_sim.chunked.spikes`; a file that does not verify is not used)."""

    def __init__(self, tasks: Sequence[dict[str, Any]],
                 frames: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None) -> None:
        super().__init__(tasks)
        self.frames = frames

    def build(self, task: dict[str, Any]) -> dict[str, Any]:
        built = {k: v for k, v in task.items() if k not in ("spikes_file", "spikes_identity")}
        if task.get("spikes_file") is not None:
            built["spikes"] = read_chunk(task["spikes_file"], task["spikes_identity"])[0]
        if self.frames is not None:
            built["frames"], built["labels"] = self.frames(task["ids"])
        return built


def frames_text(ids: np.ndarray) -> str:
    return f"{len(ids)} from data index {int(ids[0])}" if len(ids) else "none"
