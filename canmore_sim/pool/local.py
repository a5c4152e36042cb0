"""One pass of a local process pool: which task's worker died, and a quiet Ctrl-C.

Every task tells the pool, as it starts, which worker process runs it (its pid, through a
queue the workers get at start-up). When a worker dies, ``concurrent.futures`` breaks the
whole pool: every task in flight fails with ``BrokenProcessPool``, and the pool ends its
other workers (SIGTERM). The pass then waits for the pool to wind down and reads each
worker's exit code: the task whose worker ended by itself (killed, crashed, ``os._exit``)
is reported lost (:class:`~canmore_sim.pool.executor.WorkerLost`); the tasks the broken pool
took down with it, or never started, go back to the queue for a fresh pool. So what a
killed task reports does not depend on when the pool noticed the death.

Ctrl-C: a terminal sends SIGINT to the whole process group, workers included. Workers never
see it: they (and a fork server) are started while this thread blocks SIGINT, inherit the
block, and ignore SIGINT from their initializer on; this process, on its
``KeyboardInterrupt``, ends them with SIGTERM at once instead of waiting for their tasks. So
only the parent prints its one line.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from canmore_sim.pool.outcome import Outcome

__all__ = ["interrupts_blocked", "pool_pass", "run_reporting_pid", "set_started_queue"]

#: The queue a worker reports ``(task index, pid)`` on; set by the worker's initializer.
_started: Any = None


def set_started_queue(queue: Any) -> None:
    """Initializer part: where this worker reports the tasks it starts."""
    global _started
    _started = queue


def run_reporting_pid(function: Callable[[Any], Any], index: int, task: Any) -> Any:
    """Run ``function(task)`` in a worker, having told the pool this pid runs ``index``."""
    if _started is not None:
        _started.put((index, os.getpid()))
    return function(task)


@contextlib.contextmanager
def interrupts_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread meanwhile: processes started now inherit the block (a
    Ctrl-C arriving meanwhile is delivered to this process right after)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def pool_pass(function: Callable[[Any], Any], tasks: Sequence[Any], queue: list[int],
              workers: int, context: Any, initializer: Callable[..., None],
              lost: Callable[[int, int], Any],
              shared: dict[str, Any] | None = None) -> Iterator[Any]:
    """Run tasks popped from ``queue`` on one pool until they are done or the pool breaks.

    Yields what ``lost(index, running)`` builds for a task whose worker died, and
    :class:`~canmore_sim.pool.outcome.Outcome` objects otherwise; tasks lost only with the
    broken pool are put back on ``queue``.
    """
    started = context.SimpleQueue()
    with interrupts_blocked():
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                   initializer=initializer,
                                   initargs=(os.getpid(), started, shared))
    processes: dict[int, Any] = {}
    pending: dict[Future[Any], int] = {}
    failed: list[int] = []
    try:
        while queue and len(pending) < workers and not failed:
            _submit(pool, function, tasks, queue, pending, processes, failed)
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                i = pending.pop(future)
                error = future.exception()
                if error is not None and type(error).__name__ == "BrokenProcessPool":
                    failed.append(i)
                    continue
                yield Outcome(i, future.result() if error is None else None, error=error,
                              running=len(pending))
                if queue and not failed:
                    _submit(pool, function, tasks, queue, pending, processes, failed)
    except BaseException:  # Ctrl-C or the caller gave up: end the workers now, quietly
        for process in processes.values():
            with contextlib.suppress(OSError, ValueError, AttributeError):
                process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)  # a broken pool has ended (and reaped) its workers by now
    yield from _sort_failed([i for i in failed if i >= 0], _runners(started), processes,
                            queue, lost)


def _submit(pool: ProcessPoolExecutor, function: Callable[[Any], Any], tasks: Sequence[Any],
            queue: list[int], pending: dict[Future[Any], int], processes: dict[int, Any],
            failed: list[int]) -> None:
    """Submit the next task of ``queue``; a pool already broken (a worker died before the
    pool noticed) leaves it on the queue for the next pool."""
    from concurrent.futures.process import BrokenProcessPool

    i = queue.pop()
    try:
        with interrupts_blocked():  # a worker started by this submit inherits the block
            pending[pool.submit(run_reporting_pid, function, i, tasks[i])] = i
    except BrokenProcessPool:
        queue.append(i)
        failed.append(-1)  # no more submits to this pool (-1: no task of its own)
    processes.update(getattr(pool, "_processes", None) or {})


def _runners(started: Any) -> dict[int, int]:
    """Task index -> the pid of the worker that started it last."""
    runners: dict[int, int] = {}
    while not started.empty():
        index, pid = started.get()
        runners[index] = pid
    return runners


def _sort_failed(failed: list[int], runners: dict[int, int], processes: dict[int, Any],
                 queue: list[int], lost: Callable[[int, int], Any]) -> Iterator[Any]:
    """Report the tasks whose own worker died; put the others back on ``queue``."""
    if not failed:
        return
    died = {pid for pid, process in processes.items()
            if process.exitcode is not None and process.exitcode != -signal.SIGTERM}
    own = [i for i in failed if runners.get(i) in died]
    if not own:  # no task's worker is known to have died by itself: report them all
        own = failed[:]  # (so that a pool that keeps breaking cannot loop for ever)
    again = [i for i in failed if i not in own]
    for n, i in enumerate(own):
        yield lost(i, len(own) - n - 1)
    queue.extend(sorted(again, reverse=True))  # popped from the end: in their order
