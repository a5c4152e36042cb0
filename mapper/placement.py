"""Placement strategies: which router each core group sits on.

A strategy is a small function ``(groups, width, height) -> router index per
group`` registered by name in :data:`PLACEMENTS`. Router ``r`` sits at
``x = r % width``, ``y = r // width``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from canmore_sim.errors import ConfigError, MappingError
from canmore_sim.mapper.partition import CoreGroups

__all__ = ["Mapping", "PLACEMENTS", "place", "register_placement"]

PlacementFn = Callable[[CoreGroups, int, int], np.ndarray]
PLACEMENTS: dict[str, PlacementFn] = {}


def register_placement(name: str) -> Callable[[PlacementFn], PlacementFn]:
    """Decorator adding a placement strategy to :data:`PLACEMENTS` under ``name``."""

    def wrap(fn: PlacementFn) -> PlacementFn:
        PLACEMENTS[name] = fn
        return fn

    return wrap


@register_placement("row-major")
def _row_major(groups: CoreGroups, width: int, height: int) -> np.ndarray:
    """Fill the mesh row by row in layer order: core ``i`` on router ``i``."""
    return np.arange(len(groups), dtype=np.int32)


@dataclass(frozen=True, eq=False)
class Mapping:
    """Core groups and where they sit (columnar, one row per core).

    Attributes
    ----------
    groups
        The partition.
    router
        int32 router index of every core on its chip.
    width, height
        Mesh size of one chip, routers.
    strategy
        Name of the placement strategy used.
    """

    groups: CoreGroups
    router: np.ndarray
    width: int
    height: int
    strategy: str

    @property
    def n_cores(self) -> int:
        return len(self.groups)

    @property
    def x(self) -> np.ndarray:
        return self.router % self.width

    @property
    def y(self) -> np.ndarray:
        return self.router // self.width


def place(groups: CoreGroups, width: int, height: int, strategy: str = "row-major") -> Mapping:
    """Place every core group on a router of a ``width`` x ``height`` mesh.

    Raises
    ------
    ConfigError
        For an unknown strategy (the message lists the valid ones).
    MappingError
        If the network needs more cores than the mesh has routers.
    """
    if strategy not in PLACEMENTS:
        raise ConfigError(
            f"unknown placement {strategy!r}; valid: {', '.join(sorted(PLACEMENTS))}",
            key="run.placement", value=strategy,
        )
    available = width * height
    if len(groups) > available:
        raise MappingError(
            f"the network needs {len(groups)} cores but a {width}x{height} mesh has {available}",
            needed=len(groups), available=available,
        )
    router = np.asarray(PLACEMENTS[strategy](groups, width, height), dtype=np.int32)
    if len(np.unique(router)) != len(router) or router.min(initial=0) < 0 or (
        router.max(initial=0) >= available
    ):
        raise MappingError(f"placement {strategy!r} produced an invalid placement")
    return Mapping(groups, router, width, height, strategy)
