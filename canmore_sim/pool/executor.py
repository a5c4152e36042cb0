"""Tasks on a pool: one code path for "run these independent tasks somewhere".

Sweeps (one task per point) and chunked map runs (one task per chunk of frames) both
hand a picklable function and a list of plain-data tasks to :func:`run_tasks`, which
yields an :class:`Outcome` as each task finishes (in completion order; callers that
need a fixed order put the results in place by ``Outcome.index``). Executors are a
registry chosen by name (:data:`EXECUTORS`):

* ``local``: worker processes on this machine. One worker runs the tasks in this
  process, one after another. More workers are spawned processes, or, given
  ``preload`` modules, processes forked from a fork server (a clean process that
  imports those modules once, so every worker starts in milliseconds with torch and
  the pipeline already imported, not in seconds); either way they end when this
  process dies, even by SIGKILL (:mod:`canmore_sim.pool.workers`). A pool broken by a dying
  worker is replaced for the tasks left; the task whose worker died reports
  :class:`WorkerLost`.
* ``dask``: an existing Dask cluster (``distributed.Client(scheduler)``).

Workers of a pool run torch with one thread each (the pool supplies the parallelism).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from canmore_sim.errors import ConfigError
from canmore_sim.pool.outcome import Outcome, WorkerLost
from canmore_sim.pool.scheduler import CONNECT_DEADLINE_S, parse_scheduler, probe_scheduler
from canmore_sim.utils.registry import choose

__all__ = ["EXECUTORS", "Outcome", "WorkerLost", "check_executor", "default_workers",
           "prestart", "run_tasks"]


Task = Any
Function = Callable[[Task], Any]
Runner = Callable[[Function, Sequence[Task], int, str | None, tuple[str, ...],
                   dict[str, Any]], Iterator[Outcome]]


def default_workers() -> int:
    """The cores this process may run on (``os.sched_getaffinity`` where it exists)."""
    affinity = getattr(os, "sched_getaffinity", None)
    count = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return max(1, count)


def check_executor(executor: str, workers: int, scheduler: str | None) -> None:
    """Refuse an unknown executor, a Dask executor without scheduler, or fewer than one
    worker (a :class:`~canmore_sim.errors.ConfigError` naming the option)."""
    choose(EXECUTORS, executor, what="executor", key="executor")
    if executor == "dask" and not scheduler:
        raise ConfigError("--executor dask needs --scheduler ADDRESS", key="scheduler")
    if executor == "dask" and scheduler:
        parse_scheduler(scheduler)  # scheme, host and port: one line before anything loads
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}", key="workers")


def run_tasks(function: Function, tasks: Sequence[Task], *, executor: str = "local",
              workers: int = 1, scheduler: str | None = None,
              preload: tuple[str, ...] = (),
              shared: dict[str, Any] | None = None) -> Iterator[Outcome]:
    """Run ``function(task)`` for every task; yield an :class:`Outcome` as each finishes.

    Parameters
    ----------
    function
        A module-level function (it travels to the workers by reference).
    tasks
        Plain data (picklable) per task.
    executor
        A key of :data:`EXECUTORS`.
    workers
        Local worker processes (1: run in this process); ignored by ``dask``.
    scheduler
        Address of the Dask scheduler (``tcp://host:port``) for ``dask``.
    preload
        Modules a local fork server imports once before forking the workers (none: the
        workers are spawned and import what they need themselves).
    shared
        Values every task gets (added to each task dict, which must be a dict then),
        sent to each local worker once when it starts and scattered to a Dask cluster
        once (a run's network and frames: no worker needs the client's files).

    Raises
    ------
    ConfigError
        See :func:`check_executor`; for ``dask`` also a missing ``distributed`` package or
        a scheduler that cannot be reached.
    """
    check_executor(executor, workers, scheduler)
    return EXECUTORS[executor](function, tasks, workers, scheduler, preload, shared or {})


def _local(function: Function, tasks: Sequence[Task], workers: int, _scheduler: str | None,
           preload: tuple[str, ...], shared: dict[str, Any]) -> Iterator[Outcome]:
    if workers == 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            try:
                value = function({**shared, **task} if shared else task)
            except Exception as exc:  # noqa: BLE001 (reported to the caller as the outcome)
                yield Outcome(i, error=exc, running=0)
                continue
            yield Outcome(i, value, running=0)
        return
    queue = list(reversed(range(len(tasks))))
    while queue:  # a pool broken by a dying worker is replaced for the tasks left
        yield from _pool_pass(function, tasks, queue, min(workers, len(queue)), preload,
                              shared)


def _context(preload: tuple[str, ...]) -> Any:
    """A fork server context preloading ``preload`` (where there are fork servers), else
    spawn.

    Never a plain fork of this process: forking a process that runs threads (torch, a
    test runner) can deadlock the children.
    """
    if not preload or "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["canmore_sim.pool.workers", *preload])
    return context


def prestart(preload: tuple[str, ...]) -> None:
    """Start the local fork server now (it imports ``preload`` while this process does
    other work); :func:`run_tasks` with the same ``preload`` then forks from it."""
    context = _context(preload)
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        from canmore_sim.pool.local import interrupts_blocked

        with interrupts_blocked():  # the server and the workers it forks inherit the block
            forkserver.ensure_running()


def _pool_pass(function: Function, tasks: Sequence[Task], queue: list[int], workers: int,
               preload: tuple[str, ...], shared: dict[str, Any]) -> Iterator[Outcome]:
    """Run tasks popped from ``queue`` on one process pool until done or the pool breaks
    (:func:`canmore_sim.pool.local.pool_pass`: only the task whose worker died is lost);
    ``shared`` values go to each worker once (its initializer) and are added to each task."""
    from canmore_sim.pool.local import pool_pass
    from canmore_sim.pool.workers import start_worker, with_shared

    def lost(i: int, running: int) -> Outcome:
        return Outcome(i, error=WorkerLost("its worker process ended unexpectedly"),
                       running=running)

    if shared:
        function = partial(with_shared, function)
    yield from pool_pass(function, tasks, queue, workers, _context(preload), start_worker,
                         lost, shared=shared or None)


def _dask(function: Function, tasks: Sequence[Task], _workers: int, scheduler: str | None,
          _preload: tuple[str, ...], shared: dict[str, Any]) -> Iterator[Outcome]:
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--executor dask needs the 'distributed' package "
                          "(pip install 'dask[distributed]')", key="executor") from None
    address = parse_scheduler(str(scheduler))
    probe_scheduler(address)  # connect and handshake within a deadline, whatever answers
    try:
        client = Client(address.url, timeout=f"{CONNECT_DEADLINE_S:g}s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {address.url}: "
                          f"{_first_line(exc)}", key="scheduler") from None
    try:
        yield from _dask_outcomes(client, function, tasks, shared)
    finally:
        client.close()


def _dask_outcomes(client: Any, function: Function, tasks: Sequence[Task],
                   shared: dict[str, Any]) -> Iterator[Outcome]:
    """Submit the tasks a few at a time (:func:`_dask_window` in flight: a task built when
    it is sent, such as a chunk or sweep point that carries its frames, is held by the
    client only while in flight) and yield each outcome as it finishes."""
    from distributed import as_completed

    submit: Callable[[Task], Any] = partial(client.submit, function, pure=False)
    if shared:  # once to every worker; each task names it (the client's files stay here)
        from canmore_sim.pool.workers import with_shared

        scattered = client.scatter(shared, broadcast=True)
        submit = partial(client.submit, with_shared, function, shared=scattered, pure=False)
    index: dict[str, int] = {}
    finished = as_completed()
    sent = 0
    left = len(tasks)
    while left:
        while sent < len(tasks) and sent - (len(tasks) - left) < _dask_window(client):
            future = submit(tasks[sent])
            index[future.key] = sent
            finished.add(future)
            sent += 1
        future = next(finished)
        left -= 1
        i = index.pop(future.key)
        try:
            value = future.result()
        except Exception as exc:  # noqa: BLE001 (a worker lost, a result unpicklable)
            yield Outcome(i, error=exc, running=left)
            continue
        yield Outcome(i, value, running=left)


def _dask_window(client: Any) -> int:
    """Tasks in flight on a Dask cluster: two per worker thread (one running, one queued
    behind it), at least two."""
    return max(2, 2 * sum(client.nthreads().values()))


#: Executors by name (``--executor``).
EXECUTORS: dict[str, Runner] = {"local": _local, "dask": _dask}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
