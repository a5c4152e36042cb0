"""Sweep points that carry what they need, for workers without the client's files
(``--executor dask``: a cluster with no shared file system).

The client (the CLI's process) loads each distinct network once, as a local worker would
(:func:`~canmore_sim.run.source.load_cached`), and the pool sends it to every worker once
(the ``shared`` values of :func:`canmore_sim.pool.executor.run_tasks`: the loaded graph,
never a path). Each point's task carries its resolved configuration, frames, labels and
frame ids, selected and adapted here exactly as :func:`canmore_sim.sweep.point.run_point`
does on a local worker, its energy and area presets and its energy reference (read here:
they may be the user's files), and the parts of its provenance that come from files (the
model file's path and SHA-256, the data's record with its SHA-256). A task is built when
the pool sends it (:class:`ShippedPoints` is a lazy sequence), so only the points in flight
hold their frames. The worker runs the point from its task alone
(:func:`run_shipped_point`) and returns the result record; the client writes the point
file (:func:`canmore_sim.sweep.point.write_point`), the same bytes a local worker writes.

A point the client cannot prepare (its model does not load, its frames cannot be read or
fed) is sent with the error it would have failed with on a worker, and fails the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from canmore_sim.config import ArchConfig
from canmore_sim.pool.lazy import TasksWhenSent
from canmore_sim.run.pricing import RunPresets
from canmore_sim.run.source import ModelSource, load_cached
from canmore_sim.sweep.point import failure_text, point_result

if TYPE_CHECKING:
    from canmore_sim.models.graph import LayerGraph

__all__ = ["ShippedPoints", "run_shipped_point"]

#: The source a worker names when it describes a shipped network's rule: the network was
#: given to it in memory; the model's path and SHA-256 come from the client.
_IN_MEMORY = ModelSource(given=True)


class ShippedPoints(TasksWhenSent):
    """The tasks of ``todo`` (:func:`canmore_sim.sweep.run.run_sweep`'s), each built when it
    is sent: the point's inputs instead of the names of the files they come from.

    Every distinct network of ``todo`` (its source and model identity) is loaded once,
    when this is made; :meth:`shared` is what every worker gets once.
    """

    def __init__(self, todo: Sequence[dict[str, Any]]) -> None:
        super().__init__(todo)
        self.keys: list[tuple[ModelSource, str]] = []  # network n of shared()["networks"]
        self.networks: dict[int, LayerGraph] = {}
        self.models: dict[int, dict[str, Any]] = {}  # the model file's path and SHA-256
        self.failed: dict[int, str] = {}  # networks that do not load: the points' error
        self.splits: dict[tuple[str | None, tuple[int, ...]], Any] = {}  # data read once
        for task in todo:
            key = _network_key(task)
            if key not in self.keys:
                self.keys.append(key)
                self._load(len(self.keys) - 1, *key)

    def shared(self) -> dict[str, Any]:
        """What every worker gets once: the loaded networks, by number."""
        return {"networks": self.networks}

    def _load(self, number: int, source: ModelSource, identity: str) -> None:
        from canmore_sim.models.provenance import describe_model_source

        try:
            graph = load_cached(source, identity)
            described = describe_model_source(graph, source.model, "")
        except Exception as exc:  # noqa: BLE001 (each point of this network fails with it)
            self.failed[number] = failure_text(exc)
            return
        self.networks[number] = graph
        self.models[number] = {"path": described["path"], "sha256": described["sha256"]}

    def build(self, task: dict[str, Any]) -> dict[str, Any]:
        """The task a worker gets for ``task``: its inputs, or the error preparing them."""
        started = time.perf_counter()
        number = self.keys.index(_network_key(task))
        shipped: dict[str, Any] = {"index": task["index"], "values": task["values"],
                                   "network": number}
        if number in self.failed:
            shipped["failed"] = self.failed[number]
        else:
            try:
                shipped.update(self._inputs(task, self.networks[number]),
                               model_record=self.models[number])
            except Exception as exc:  # noqa: BLE001 (the point fails, as on a worker)
                shipped["failed"] = failure_text(exc)
        shipped["prepared_s"] = time.perf_counter() - started
        return shipped

    def _inputs(self, task: dict[str, Any], graph: LayerGraph) -> dict[str, Any]:
        """The point's resolved configuration, frames, labels, frame ids and data record,
        made as :func:`canmore_sim.sweep.point.run_point` makes them."""
        from canmore_sim.datasets.inputs import frame_options
        from canmore_sim.datasets.readers import load_selected, read_split, select_frames_adapted
        from canmore_sim.report.report_json import named_reference
        from canmore_sim.run.provenance import data_record, input_values, resolve_run_inputs

        data = task["data"]
        config, plan = resolve_run_inputs(graph, ArchConfig.model_validate(task["config"]),
                                          data)
        options = frame_options(config)
        _, ids, adaptation = select_frames_adapted(
            data, graph.input_shape, config.run.frames, config.run.seed,
            max_values=config.limits.max_frame_values, **options)
        where = (data, tuple(graph.input_shape))
        if where not in self.splits:
            self.splits[where] = read_split(data, graph.input_shape)
        frames, labels = load_selected(data, graph.input_shape, ids, images=self.splits[where],
                                       **options)
        counts = input_values(frames)  # as the run counts them (RunResult.extra["inputs"])
        record = data_record(data, ids, adaptation, plan, counts["positive"],
                             counts["negative"])
        return {"config": config, "frames": frames, "labels": labels, "ids": ids,
                "data_record": record, "presets": RunPresets.of(config),
                "reference": named_reference(config.run.energy_reference)}


def _network_key(task: dict[str, Any]) -> tuple[ModelSource, str]:
    return task["source"], task["identity"].get("model", "")


def run_shipped_point(task: dict[str, Any]) -> dict[str, Any]:
    """Run one shipped point on a worker from what its task carries (the network among the
    shared ``networks``); returns its result record for the client to write
    (:func:`canmore_sim.sweep.point.point_result`)."""
    return point_result(task, _shipped_summary)


def _shipped_summary(task: dict[str, Any]) -> dict[str, Any]:
    """The point's run summary, with the provenance a local worker records."""
    from canmore_sim.report.summary import summarize
    from canmore_sim.run.pipeline import run
    from canmore_sim.run.provenance import provenance

    graph = task["networks"][task["network"]]
    result = run(graph, task["frames"], task["labels"], task["config"], frame_ids=task["ids"],
                 presets=task["presets"], **task["reference"])
    record = provenance(graph, _IN_MEMORY, result.config, task["data_record"])
    record["model"].update(task["model_record"])  # the client's file: its path and SHA-256
    result.extra["provenance"] = record
    return summarize(result)
