"""Tasks built when the pool sends them (:class:`TasksWhenSent`), so that what each task
carries (a chunk's or a sweep point's frames) is held only while the task is in flight."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

__all__ = ["TasksWhenSent"]


class TasksWhenSent(Sequence[dict[str, Any]]):
    """A sequence of tasks whose ``i``-th is made by :meth:`build` each time it is read
    (the executors read each task once, when they send it)."""

    def __init__(self, base: Sequence[dict[str, Any]]) -> None:
        self.base = base  # the plain tasks the built ones are made from

    def build(self, task: dict[str, Any]) -> dict[str, Any]:
        """The task to send for the plain task ``task``."""
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.base)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.build(self.base[index])
