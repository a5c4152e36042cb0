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
naming it. One task is one point with all its frames (:mod:`canmore_sim.sweep.point`);
its result file is written atomically (``points/NNNN.json``: by a local worker, or by
this process for a point that ran on a Dask worker, which needs none of this machine's
files: :mod:`canmore_sim.sweep.shipped`), so ``--resume`` skips points already done and
an interrupted sweep loses nothing. Results do not depend on the executor or on the
number of workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canmore_sim.run.source import ModelSource
from canmore_sim.sweep.point import failed_outside, run_point, write_point
from canmore_sim.sweep.points import point_identity, verify_point
from canmore_sim.sweep.spec import SweepPoint, SweepSpec
from canmore_sim.utils.workfiles import check_items

__all__ = ["SweepProgress", "run_point", "run_sweep"]


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
    point whose worker could not return a result as failed.

    Local workers load the network and the frames themselves and write their point files;
    on any other executor the points are shipped (:class:`~canmore_sim.sweep.shipped.
    ShippedPoints`: the network once per worker, each point with its frames) and this
    process writes each point file from the result that comes back.
    """
    from canmore_sim.pool.executor import WorkerLost, run_tasks

    function: Callable[[dict[str, Any]], dict[str, Any]] = run_point
    tasks: Sequence[dict[str, Any]] = todo
    shared: dict[str, Any] | None = None
    shipped = executor != "local"
    if shipped:
        from canmore_sim.sweep.shipped import ShippedPoints, run_shipped_point

        points = ShippedPoints(todo)
        function, tasks, shared = run_shipped_point, points, points.shared()
    state.running = min(len(todo), 1 if executor == "local" and workers == 1 else len(todo))
    for outcome in run_tasks(function, tasks, executor=executor, workers=workers,
                             scheduler=scheduler, shared=shared):
        task = todo[outcome.index]
        if isinstance(outcome.error, WorkerLost):
            result = failed_outside(task, str(outcome.error))
        elif outcome.error is not None:
            result = failed_outside(task, f"unexpected {type(outcome.error).__name__}: "
                                          f"{outcome.error}")
        else:
            result = write_point(task, outcome.value) if shipped else outcome.value
        state.running = outcome.running
        if result["status"] == "done":
            state.done += 1
        else:
            state.failed += 1
        if progress is not None:
            progress(state)
        yield result
