"""Tasks on a pool (canmore_sim.pool.executor): in this process, on worker processes, and the
errors a task or a dying worker gives."""

from __future__ import annotations

import os

import pytest

from canmore_sim.errors import ConfigError
from canmore_sim.pool.executor import (
    EXECUTORS,
    WorkerLost,
    check_executor,
    default_workers,
    run_tasks,
)


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
    # the task that ran beside it may be lost with the broken pool; the rest run on a new one
    assert outcomes[1].value == 1 or isinstance(outcomes[1].error, WorkerLost)
    assert [outcomes[i].value for i in (2, 3, 4)] == [4, 16, 36]


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
