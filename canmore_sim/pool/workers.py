"""Worker processes that end when their parent dies.

:func:`watch_parent` is the initializer of the sweep's worker processes. On Linux it
asks the kernel to SIGKILL the worker when its parent ends (``prctl(PR_SET_PDEATHSIG)``);
everywhere it also starts a daemon thread that ends the worker once its parent process
id changes (the worker was re-parented: its parent died). So a sweep whose parent is
killed, even with SIGKILL, leaves no worker running and writing point files.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, TextIO

from canmore_sim.errors import CanmoreWarning, cut
from canmore_sim.pool.local import set_started_queue

__all__ = ["process_alive", "start_worker", "watch_parent"]

_PR_SET_PDEATHSIG = 1
#: Seconds between two checks of the watchdog thread.
POLL_S = 0.2


def watch_parent(parent_pid: int) -> None:
    """End this process as soon as ``parent_pid`` is no longer its parent.

    Parameters
    ----------
    parent_pid
        The process id of the parent, taken by the parent (``os.getpid()``) before it
        started this worker.
    """
    _kernel_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watchdog, args=(parent_pid,), name="canmore-parent-watch",
                     daemon=True).start()


#: Values every task of this worker's pool shares (sent once per worker, not per task):
#: :func:`with_shared` adds them to each task.
SHARED: dict[str, Any] = {}


def with_shared(function: Callable[[Any], Any], task: dict[str, Any],
                shared: dict[str, Any] | None = None) -> Any:
    """``function`` of ``task`` with the pool's shared values (or ``shared``) added to it."""
    return function({**(SHARED if shared is None else shared), **task})


def start_worker(main_pid: int, started: Any = None,
                 shared: dict[str, Any] | None = None) -> None:
    """Initializer of a pool worker: end with ``main_pid``, and run torch on one thread.

    The worker's parent is ``main_pid`` (spawned) or a fork server that ``main_pid``
    started (the fork server ends when ``main_pid`` does, and the kernel then ends the
    worker); either way a daemon thread also ends the worker once its parent changes or
    ``main_pid`` is gone. One torch thread per worker: the pool is the parallelism.
    Ctrl-C is the parent's to handle: the worker (started with SIGINT blocked) ignores it
    from here on, and the parent ends it. Warnings are one line each on stderr, as the
    CLI prints its own.

    Parameters
    ----------
    main_pid
        The process id of the process that runs the pool.
    started
        The queue on which the worker reports the tasks it starts
        (:func:`canmore_sim.pool.local.run_reporting_pid`).
    shared
        Values every task shares (:data:`SHARED`), sent once with the worker's start.
    """
    SHARED.clear()
    SHARED.update(shared or {})
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # a Ctrl-C pending while blocked is dropped
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    set_started_queue(started)
    warnings.showwarning = _one_line_warning
    if os.getppid() == main_pid:
        watch_parent(main_pid)
    else:
        _kernel_death_signal()
        parent = os.getppid()
        if not process_alive(main_pid):
            os._exit(1)
        threading.Thread(target=_watch_both, args=(parent, main_pid),
                         name="canmore-parent-watch", daemon=True).start()
    os.environ["OMP_NUM_THREADS"] = "1"  # read by torch when it is imported later
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str,
                      lineno: int, file: TextIO | None = None, line: str | None = None) -> None:
    """A warning raised in a worker, as one ``canmore-sim: warning: ...`` line on stderr
    (Python's own format takes two lines and names the source file)."""
    kind = "" if issubclass(category, CanmoreWarning) else f"{category.__name__}: "
    print(f"canmore-sim: warning: {kind}{cut(message)}", file=file or sys.stderr, flush=True)


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch_both(parent_pid: int, main_pid: int) -> None:
    while True:
        time.sleep(POLL_S)
        if os.getppid() != parent_pid or not process_alive(main_pid):
            os._exit(1)


def _kernel_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _watchdog(parent_pid: int) -> None:
    while True:
        time.sleep(POLL_S)
        if os.getppid() != parent_pid:
            os._exit(1)
