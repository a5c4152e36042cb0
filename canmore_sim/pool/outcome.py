"""What a pool reports for each task: an :class:`Outcome`, or a :class:`WorkerLost` error
(shared by :mod:`canmore_sim.pool.executor` and the local pool, :mod:`canmore_sim.pool.local`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Outcome", "WorkerLost"]


class WorkerLost(RuntimeError):
    """A task's worker process ended (or its result could not travel back) before it
    returned a result."""


@dataclass(frozen=True)
class Outcome:
    """One finished task.

    Attributes
    ----------
    index
        Position of the task in the list given to
        :func:`~canmore_sim.pool.executor.run_tasks`.
    value
        What the task's function returned (None when it raised).
    error
        The exception the task raised, or a :class:`WorkerLost`; None on success.
    running
        Tasks still in flight when this one was reported.
    """

    index: int
    value: Any = None
    error: BaseException | None = None
    running: int = 0
