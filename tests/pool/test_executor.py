"""Tasks on a pool (canmore_sim.pool.executor): in this process, on worker processes, and the
errors a task or a dying worker gives."""

from __future__ import annotations

import os
import warnings

import pytest

from canmore_sim.errors import CanmoreWarning, ConfigError
from canmore_sim.pool.executor import (
    EXECUTORS,
    WorkerLost,
    check_executor,
    default_workers,
    run_tasks,
)


def warn_and_square(task: int) -> int:
    warnings.warn(f"task {task}: clipped\nsecond line", CanmoreWarning, stacklevel=1)
    warnings.warn(f"task {task}: a library's own warning", RuntimeWarning, stacklevel=1)
    return task * task


def test_warnings_in_workers_arrive_as_one_line_each(capfd) -> None:
    # issue 28: they printed in Python's two-line format, naming the source file
    outcomes = {o.index: o.value for o in run_tasks(warn_and_square, [2, 3], workers=2)}
    assert outcomes == {0: 4, 1: 9}
    lines = sorted(line for line in capfd.readouterr().err.splitlines() if line.strip())
    assert lines == ["canmore-sim: warning: RuntimeWarning: task 2: a library's own warning",
                     "canmore-sim: warning: RuntimeWarning: task 3: a library's own warning",
                     "canmore-sim: warning: task 2: clipped second line",
                     "canmore-sim: warning: task 3: clipped second line"]


def square_or_fail(task: int) -> int:
    """A task function the workers import by name: fails on 3, kills its worker on 5."""
    if task == 3:
        raise ValueError("three is refused")
    if task == 5:
        os._exit(7)
    return task * task


def test_default_workers_are_the_cores_this_process_may_use() -> None:
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    assert default_workers() >= 1
    if expected is not None:
        assert default_workers() == expected


@pytest.mark.parametrize("workers", [1, 2])
def test_every_task_reports_once_with_its_index(workers: int) -> None:
    tasks = [0, 1, 2, 4, 6]
    outcomes = list(run_tasks(square_or_fail, tasks, workers=workers))
    assert sorted(o.index for o in outcomes) == list(range(len(tasks)))
    assert {o.index: o.value for o in outcomes} == {i: t * t for i, t in enumerate(tasks)}
    assert all(o.error is None for o in outcomes)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_task_reports_its_error_and_the_others_still_run(workers: int) -> None:
    outcomes = {o.index: o for o in run_tasks(square_or_fail, [1, 3, 2], workers=workers)}
    assert isinstance(outcomes[1].error, ValueError) and "three" in str(outcomes[1].error)
    assert outcomes[0].value == 1 and outcomes[2].value == 4


def test_a_dying_worker_is_reported_and_the_pool_replaced_for_the_rest() -> None:
    outcomes = {o.index: o for o in run_tasks(square_or_fail, [5, 1, 2, 4, 6], workers=2)}
    assert isinstance(outcomes[0].error, WorkerLost)
    # the pool knows which task's worker died (by pid): the task that ran beside it, lost
    # only with the broken pool, runs again on the new one with the rest
    assert [outcomes[i].value for i in (1, 2, 3, 4)] == [1, 4, 16, 36]
    assert all(outcomes[i].error is None for i in (1, 2, 3, 4))


def test_a_dying_worker_is_reported_alone_every_time() -> None:
    # issue 28: it failed 2 of 7 full-suite runs; the same call many times, same answer
    for _ in range(6):
        outcomes = {o.index: o for o in run_tasks(square_or_fail, [1, 5, 2, 5, 6, 3],
                                                  workers=2)}
        assert sorted(outcomes) == list(range(6))
        assert [type(outcomes[i].error) for i in (1, 3)] == [WorkerLost, WorkerLost]
        assert isinstance(outcomes[5].error, ValueError)
        assert [outcomes[i].value for i in (0, 2, 4)] == [1, 4, 36]


@pytest.mark.parametrize(("executor", "workers", "scheduler", "words"), [
    ("local", 0, None, "--workers must be >= 1, got 0"),
    ("dask", 1, None, "--executor dask needs --scheduler"),
    ("slurm", 1, None, "unknown executor 'slurm'; valid: dask, local"),
])
def test_bad_executor_settings_are_one_line_config_errors(executor: str, workers: int,
                                                          scheduler: str | None,
                                                          words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        check_executor(executor, workers, scheduler)
    with pytest.raises(ConfigError):
        list(run_tasks(square_or_fail, [1], executor=executor, workers=workers,
                       scheduler=scheduler))


def test_the_executors_are_a_registry() -> None:
    assert sorted(EXECUTORS) == ["dask", "local"]
