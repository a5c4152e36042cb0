"""Architecture sweeps: one base configuration, axes over dotted config keys, many points.

A sweep file (YAML)::

    base: default                 # a bundled architecture (configs/arch/NAME.yaml) or a file
    model: null                   # null = bundled default network; a checkpoint or zoo name
    weights: null                 # "synthetic" for zoo networks
    frames: 4                     # frames per point
    grid:                         # cartesian product
      mesh: [4x4, 8x8]
      router.buffer_depth: [1, 4]
    zip:                          # lists of equal length, advanced together
      core.max_neurons: [512, 1024]
      core.weight_bits: [2, 4]

Points are the product of the grid with the zipped rows. Every point's configuration
is built and validated before anything runs, so a bad key or value fails at once,
naming it. One task is one point with all its frames; it writes its own result file
atomically (``points/NNNN.json``), so ``--resume`` skips points already done and an
interrupted sweep loses nothing. Results do not depend on the executor or on the
number of workers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canmore_sim.config import ArchConfig
from canmore_sim.errors import CanmoreError
from canmore_sim.run.source import ModelSource, load_cached
from canmore_sim.sweep.points import MEAN_METRICS, point_identity, seal, verify_point
from canmore_sim.sweep.spec import SweepPoint, SweepSpec
from canmore_sim.utils.atomic import atomic_write_text
from canmore_sim.utils.workfiles import check_items

__all__ = ["SweepProgress", "run_point", "run_sweep"]


# ----------------------------------------------------------------------------- one point


def run_point(task: dict[str, Any]) -> dict[str, Any]:
    """Run one sweep point and write its result file atomically; returns the result.

    ``task`` holds plain data only (so it can travel to any worker process or Dask
    worker): ``config`` (a dumped ArchConfig), ``values``, ``index``, ``source`` (the
    :class:`~canmore_sim.run.source.ModelSource`), ``data``, ``identity`` (see
    :mod:`canmore_sim.sweep.points`) and ``out`` (the result file path).
    Any failure of the point (a :class:`CanmoreError` or any other exception) becomes
    ``{"status": "failed", "error": ...}`` in the result; the sweep goes on.
    """
    started = time.perf_counter()
    result: dict[str, Any] = {"index": task["index"], "values": task["values"]}
    try:
        summary = _summary(task)
        result.update(status="done", metrics=_metrics(summary),
                      energy_unit=summary["energy_model"]["unit"],
                      provenance=summary.get("provenance"), window=summary.get("window"),
                      trust=_trust(summary))
    except CanmoreError as exc:
        result.update(status="failed", error=_short(str(exc)))
    except Exception as exc:  # noqa: BLE001 (one point's bug must not end the sweep)
        result.update(status="failed", error=_short(f"unexpected {type(exc).__name__}: {exc}"))
    result["wall_s"] = round(time.perf_counter() - started, 3)
    return _write_point(task, result)


def _summary(task: dict[str, Any]) -> dict[str, Any]:
    """One point run: its network on its frames, fed as trained; the summary."""
    from canmore_sim.datasets.inputs import frame_options
    from canmore_sim.datasets.readers import load_selected, select_frames_adapted
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
    result = run(graph, frames, labels, config, frame_ids=ids)
    inputs = result.extra["inputs"]
    assert isinstance(inputs, dict)
    record = data_record(data, ids, adaptation, plan, inputs["positive"], inputs["negative"])
    result.extra["provenance"] = provenance(graph, source, result.config, record)
    return summarize(result)


def _short(text: str, limit: int = 500) -> str:
    """One line of at most ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _write_point(task: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    from canmore_sim.report.summary import finite

    sealed = seal(finite(result), task["identity"])
    atomic_write_text(task["out"], json.dumps(sealed, indent=1, allow_nan=False) + "\n")
    return sealed


def _failed_outside(task: dict[str, Any], error: str) -> dict[str, Any]:
    """Record a point whose worker could not return a result (it died, or the result
    could not travel back)."""
    result = {"index": task["index"], "values": task["values"], "status": "failed",
              "error": _short(error), "wall_s": None}
    return _write_point(task, result)


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


# ----------------------------------------------------------------------------- many points


@dataclass
class SweepProgress:
    """What the runner reports after every finished point."""

    total: int
    done: int = 0
    failed: int = 0
    skipped: int = 0
    running: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def eta_s(self) -> float | None:
        finished = self.done + self.failed
        if not finished:
            return None
        rate = (time.perf_counter() - self.started) / finished
        return rate * (self.total - self.skipped - finished)


def run_sweep(
    spec: SweepSpec,
    points: list[SweepPoint],
    out: str | Path,
    *,
    workers: int = 2,
    executor: str = "local",
    scheduler: str | None = None,
    resume: bool = False,
    progress: Callable[[SweepProgress], None] | None = None,
    note: Callable[[str], None] | None = None,
    keep: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Run every point and return all results in order.

    Point files go to ``out/points/NNNN.json``. Without ``resume`` every point runs and
    point files already there are removed first, so a new sweep never mixes with an old
    one. With ``resume`` a point file is reused only when it verifies
    (:func:`canmore_sim.sweep.points.verify_point`: same configuration, model, data and
    tool version, untouched, finished, with its metrics); any other is run again, and
    ``note`` receives one line saying which point and why. ``keep`` names further point
    files of the same sweep that a resumed run leaves in place (a search runs a few points
    of the grid at a time).

    Raises
    ------
    ConfigError
        For an unknown executor, a Dask executor without scheduler, or fewer than one worker.
    """
    from canmore_sim.pool.executor import check_executor

    check_executor(executor, workers, scheduler)
    folder = Path(out) / "points"
    folder.mkdir(parents=True, exist_ok=True)
    _clear_points(folder, {p.name for p in points} | (keep or set()) if resume else set(),
                  note)
    common = model_source(spec).identity(spec.data)
    results: dict[int, dict[str, Any]] = {}
    state = SweepProgress(total=len(points))
    todo = []
    for point in points:
        identity = point_identity(common, point.config.model_dump(mode="json"))
        reused, why = (verify_point(folder / f"{point.name}.json", point.index, point.values,
                                    identity) if resume else (None, None))
        if reused is not None:
            results[point.index] = reused
            state.skipped += 1
            continue
        if why is not None and note is not None:
            note(f"point {point.index} {point.values}: running it again: {why}")
        todo.append(_task(spec, point, folder, identity))
    for result in _run_all(todo, state, executor, workers, scheduler, progress):
        results[result["index"]] = result
    return [results[p.index] for p in points]


def _clear_points(folder: Path, keep: set[str], note: Callable[[str], None] | None) -> None:
    """Remove unfinished writes, and point files not named in ``keep``."""
    removed = 0
    for path in check_items(folder, "points"):  # the tool's own regular files only
        if path.suffix == ".tmp":
            path.unlink()
        elif path.suffix == ".json" and path.stem not in keep:
            path.unlink()
            removed += 1
    if removed and keep and note is not None:
        note(f"removed {removed} point files that are not points of this sweep")


def _task(spec: SweepSpec, point: SweepPoint, folder: Path,
          identity: dict[str, str]) -> dict[str, Any]:
    return {"index": point.index, "values": point.values,
            "config": point.config.model_dump(mode="json"), "source": model_source(spec),
            "data": spec.data, "identity": identity,
            "out": str(folder / f"{point.name}.json")}


def model_source(spec: SweepSpec) -> ModelSource:
    """Where the sweep's network comes from (its model keys)."""
    from canmore_sim.models.spec import parse_spec

    shape = None if spec.input_shape is None else parse_spec(f"{spec.input_shape}:1F")[0]
    return ModelSource(spec.model, spec.arch, spec.weights, spec.sparsity, spec.seed,
                       spec.trust_model, shape)


def _run_all(todo: list[dict[str, Any]], state: SweepProgress, executor: str, workers: int,
             scheduler: str | None,
             progress: Callable[[SweepProgress], None] | None) -> Iterator[dict[str, Any]]:
    """Run the points on the pool (:func:`canmore_sim.pool.executor.run_tasks`), recording a
    point whose worker could not return a result as failed."""
    from canmore_sim.pool.executor import WorkerLost, run_tasks

    state.running = min(len(todo), 1 if executor == "local" and workers == 1 else len(todo))
    for outcome in run_tasks(run_point, todo, executor=executor, workers=workers,
                             scheduler=scheduler):
        task = todo[outcome.index]
        if isinstance(outcome.error, WorkerLost):
            result = _failed_outside(task, str(outcome.error))
        elif outcome.error is not None:
            result = _failed_outside(task, f"unexpected {type(outcome.error).__name__}: "
                                           f"{outcome.error}")
        else:
            result = outcome.value
        state.running = outcome.running
        if result["status"] == "done":
            state.done += 1
        else:
            state.failed += 1
        if progress is not None:
            progress(state)
        yield result
