"""One sweep point: run it, its result record, its point file.

A point runs where the executor puts it. :func:`run_point` (local workers) loads the
network and the frames itself and writes its point file; a point shipped to a worker
without the client's files (:mod:`canmore_sim.sweep.shipped`) runs from what its task
carries, and the client writes its file (:func:`write_point`). Either way the record is
made by :func:`point_result` and sealed by :func:`write_point`, so the file is the same.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from canmore_sim.config import ArchConfig
from canmore_sim.errors import CanmoreError
from canmore_sim.run.source import load_cached
from canmore_sim.sweep.points import MEAN_METRICS, seal
from canmore_sim.utils.atomic import atomic_write_text

__all__ = ["CI_METRICS", "failed_outside", "failure_text", "point_result", "run_point",
           "write_point"]


def run_point(task: dict[str, Any]) -> dict[str, Any]:
    """Run one sweep point and write its result file atomically; returns the result
    (a local worker's task: it loads the network and the frames itself).

    ``task`` holds plain data only (so it can travel to any worker process): ``config``
    (a dumped ArchConfig), ``values``, ``index``, ``source`` (the
    :class:`~canmore_sim.run.source.ModelSource`), ``data``, ``identity`` (see
    :mod:`canmore_sim.sweep.points`) and ``out`` (the result file path).
    Any failure of the point (a :class:`CanmoreError` or any other exception) becomes
    ``{"status": "failed", "error": ...}`` in the result; the sweep goes on.
    """
    return write_point(task, point_result(task, _summary))


def point_result(task: dict[str, Any],
                 summary_of: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """The result record of one point (not yet sealed nor written): ``summary_of(task)``'s
    metrics, or ``status: failed`` with the error of any exception it raised (or the error
    the client recorded as ``task["failed"]`` while preparing the point); ``wall_s`` counts
    the seconds ``task["prepared_s"]`` the client spent preparing it too."""
    started = time.perf_counter()
    result: dict[str, Any] = {"index": task["index"], "values": task["values"]}
    try:
        if task.get("failed") is not None:
            result.update(status="failed", error=task["failed"])
        else:
            summary = summary_of(task)
            result.update(status="done", metrics=_metrics(summary),
                          energy_unit=summary["energy_model"]["unit"],
                          provenance=summary.get("provenance"), window=summary.get("window"),
                          trust=_trust(summary))
    except Exception as exc:  # noqa: BLE001 (one point's bug must not end the sweep)
        result.update(status="failed", error=failure_text(exc))
    result["wall_s"] = round(time.perf_counter() - started + task.get("prepared_s", 0.0), 3)
    return result


def failure_text(exc: Exception) -> str:
    """How a point file records the exception that failed the point (one line): a
    :class:`CanmoreError`'s message, or any other exception's type and message."""
    if isinstance(exc, CanmoreError):
        return _short(str(exc))
    return _short(f"unexpected {type(exc).__name__}: {exc}")


def _summary(task: dict[str, Any]) -> dict[str, Any]:
    """One point run: its network on its frames, fed as trained; the summary."""
    from canmore_sim.datasets.inputs import frame_options
    from canmore_sim.datasets.readers import load_selected, select_frames_adapted
    from canmore_sim.report.report_json import named_reference
    from canmore_sim.report.summary import summarize
    from canmore_sim.run.pipeline import run
    from canmore_sim.run.provenance import data_record, provenance, resolve_run_inputs

    source, data = task["source"], task.get("data")
    graph = load_cached(source, task["identity"].get("model", ""))
    config, plan = resolve_run_inputs(graph, ArchConfig.model_validate(task["config"]), data)
    options = frame_options(config)
    labels, ids, adaptation = select_frames_adapted(
        data, graph.input_shape, config.run.frames, config.run.seed,
        max_values=config.limits.max_frame_values, **options)
    frames, labels = load_selected(data, graph.input_shape, ids, **options)
    result = run(graph, frames, labels, config, frame_ids=ids,
                 **named_reference(config.run.energy_reference))
    inputs = result.extra["inputs"]
    assert isinstance(inputs, dict)
    record = data_record(data, ids, adaptation, plan, inputs["positive"], inputs["negative"])
    result.extra["provenance"] = provenance(graph, source, result.config, record)
    return summarize(result)


def _short(text: str, limit: int = 500) -> str:
    """One line of at most ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def write_point(task: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Seal ``result`` with the point's identity (:func:`~canmore_sim.sweep.points.seal`)
    and write it atomically to ``task["out"]``; returns the sealed record."""
    from canmore_sim.report.summary import finite

    sealed = seal(finite(result), task["identity"])
    atomic_write_text(task["out"], json.dumps(sealed, indent=1, allow_nan=False) + "\n")
    return sealed


def failed_outside(task: dict[str, Any], error: str) -> dict[str, Any]:
    """Record a point whose worker could not return a result (it died, or the result
    could not travel back)."""
    result = {"index": task["index"], "values": task["values"], "status": "failed",
              "error": _short(error), "wall_s": None}
    return write_point(task, result)


def _metrics(summary: dict[str, Any]) -> dict[str, float | None]:
    mean = summary["mean"]
    keep = [MEAN_METRICS[0], *(f"energy_{t}_uj" for t in summary["energy_model"]["terms"]),
            *MEAN_METRICS[1:]]
    metrics: dict[str, float | None] = {k: float(mean[k]) for k in keep}
    metrics.update(cores=summary["mapping"]["cores"], chips=summary["mapping"]["chips"],
                   late_share=float(summary["late_share"]),
                   interchip_hops=float(summary["noc"]["interchip_hops"]),
                   accuracy=summary["accuracy"]["quantized"],
                   accuracy_on_chip=(summary.get("timing") or {}).get("accuracy_on_chip"),
                   area_mm2=(summary.get("area") or {}).get("grid_mm2"),
                   effective_sops=mean.get("effective_sops"))
    spread = summary.get("aggregates", {}).get("metrics", {})
    for key in CI_METRICS:  # half-width of the confidence interval of the per-frame mean
        metrics[f"{key}_ci"] = (spread.get(key) or {}).get("ci_half_width")
    return metrics


#: Per-frame means whose confidence half-width (report aggregates) a point records.
CI_METRICS = ("energy_total_uj", "frame_latency_ns", "latency_mean_ns", "late_share")
#: Report warnings that make a point's figures untrustworthy (``report.trust``).
_DISTRUST = {"late": "late {value:.1%} > {threshold:.1%}",
             "accuracy_collapse": "accuracy drop {value:.3f} > {threshold:.3f}"}


def _trust(summary: dict[str, Any]) -> dict[str, Any]:
    """Whether the point's figures can be used to choose: no late share over
    ``report.late_warn_share``, no accuracy drop over ``report.accuracy_drop_warn``."""
    reasons = [_DISTRUST[w["kind"]].format(**w) for w in summary.get("warnings", [])
               if w["kind"] in _DISTRUST]
    return {"trusted": not reasons, "reasons": reasons}
