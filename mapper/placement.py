"""Placement: which router (of which chip) each core group sits on.

A strategy is a small function ``(problem) -> router per core`` registered by name
in :data:`PLACEMENTS` (``run.placement`` in YAML, ``--placement`` on the command
line). Router indices are *global*: when the network needs more cores than one
chip has, chips of ``chip_width x chip_height`` routers are tiled in a
``chips_x x chips_y`` grid that forms one large mesh of
``(chips_x*chip_width) x (chips_y*chip_height)`` routers, router ``r`` at
``x = r % width``, ``y = r // width``; links between routers of different chips
are inter-chip links.

Strategies: ``row-major`` and ``snake`` (boustrophedon) fill chip by chip,
``hilbert`` follows a Hilbert space-filling curve, and ``anneal`` minimizes the
traffic-weighted hop distance by simulated annealing (:mod:`.anneal`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from canmore_sim.errors import MappingError
from canmore_sim.mapper import anneal as _anneal  # noqa: F401 - registers "anneal"
from canmore_sim.mapper.partition import CoreGroups
from canmore_sim.mapper.problem import (
    PLACEMENTS,
    PlacementProblem,
    TiledMesh,
    register_placement,
    weighted_hops,
)
from canmore_sim.utils.registry import choose

__all__ = ["Mapping", "PLACEMENTS", "PlacementProblem", "check_chip_grid", "chip_grid",
           "interchip_hops", "place",
           "register_placement", "weighted_hops"]


def interchip_hops(src: np.ndarray, dst: np.ndarray, width: int, chip_width: int,
                   chip_height: int) -> np.ndarray:
    """Inter-chip links crossed by every XY (or any minimal) unicast route, analytically.

    A minimal route moves monotonically along x and along y, so it crosses every
    chip boundary between source and destination exactly once in each axis: the
    count is ``|cx_s - cx_d| + |cy_s - cy_d|`` with ``cx = x // chip_width`` and
    ``cy = y // chip_height``. The NoC engine counts the same links one by one
    (``NocStats.interchip_hops``); this is the cross-check.

    Parameters
    ----------
    src, dst
        Global router indices (``x = r % width``, ``y = r // width``).
    width
        Routers along x of the whole (tiled) mesh.
    chip_width, chip_height
        One chip's size in routers; 0 means one chip (no inter-chip links).

    Returns
    -------
    numpy.ndarray
        int64 inter-chip hops per row.
    """
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    if not chip_width or not chip_height:
        return np.zeros(len(src), dtype=np.int64)
    return (np.abs(src % width // chip_width - dst % width // chip_width)
            + np.abs(src // width // chip_height - dst // width // chip_height))


@dataclass(frozen=True, eq=False)
class Mapping(TiledMesh):
    """Core groups and where they sit (columnar, one row per core).

    Attributes
    ----------
    groups
        The partition.
    router
        int32 global router index of every core.
    chip_width, chip_height
        One chip's mesh, routers.
    chips_x, chips_y
        The chip grid (1 x 1 for a single chip).
    strategy
        Name of the placement strategy used.
    """

    groups: CoreGroups
    router: np.ndarray
    chip_width: int
    chip_height: int
    strategy: str
    chips_x: int = 1
    chips_y: int = 1

    @property
    def n_cores(self) -> int:
        return len(self.groups)

    @property
    def n_chips(self) -> int:
        return self.chips_x * self.chips_y

    @property
    def x(self) -> np.ndarray:
        return self.router % self.width

    @property
    def y(self) -> np.ndarray:
        return self.router // self.width

    @property
    def chip(self) -> np.ndarray:
        """Chip index of every core (row-major over the chip grid)."""
        return (self.y // self.chip_height) * self.chips_x + self.x // self.chip_width

    @property
    def chips_used(self) -> int:
        return int(len(np.unique(self.chip)))


def chip_grid(n_cores: int, width: int, height: int, overflow: str = "tile") -> tuple[int, int]:
    """The fewest chips, in a near-square grid, that hold ``n_cores`` cores.

    Raises
    ------
    MappingError
        With ``overflow="error"`` when one chip is not enough, naming the cores
        needed and available.
    """
    per_chip = width * height
    chips = max(1, math.ceil(n_cores / per_chip))
    if chips > 1 and overflow == "error":
        raise MappingError(
            f"the network needs {n_cores} cores but a {width}x{height} chip has {per_chip} "
            "(multichip.overflow is 'error')", needed=n_cores, available=per_chip)
    chips_x = math.ceil(math.sqrt(chips))
    return chips_x, math.ceil(chips / chips_x)


def place(problem: PlacementProblem, strategy: str = "row-major") -> Mapping:
    """Place every core of ``problem`` with the strategy called ``strategy``.

    Raises
    ------
    ConfigError
        For an unknown strategy (the message lists the valid ones).
    MappingError
        If the cores do not fit the routers, or the strategy returns an invalid placement.
    """
    chosen = choose(PLACEMENTS, strategy, what="placement", key="run.placement")
    available = problem.width * problem.height
    if len(problem.groups) > available:
        raise MappingError(
            f"the network needs {len(problem.groups)} cores but the "
            f"{problem.width}x{problem.height} mesh has {available}",
            needed=len(problem.groups), available=available)
    router = np.asarray(chosen(problem), dtype=np.int32)
    _check_routers(router, len(problem.groups), available, strategy)
    if not np.isin(router, problem.usable_routers()).all():
        raise MappingError(f"placement {strategy!r} used a spare chip (only the first "
                           f"{problem.chips_needed} chips of the grid may hold cores)")
    return Mapping(problem.groups, router, problem.chip_width, problem.chip_height, strategy,
                   problem.chips_x, problem.chips_y)


def _check_routers(router: np.ndarray, n_cores: int, available: int, strategy: str) -> None:
    if (len(router) != n_cores or len(np.unique(router)) != n_cores
            or router.min(initial=0) < 0 or router.max(initial=0) >= available):
        raise MappingError(f"placement {strategy!r} produced an invalid placement "
                           "(every core needs its own router inside the mesh)")


def check_chip_grid(chips_x: int, chips_y: int, width: int, height: int, max_routers: int,
                    n_cores: int | None = None) -> None:
    """Refuse a chip grid with more routers than ``limits.max_routers``.

    Raises
    ------
    MappingError
        Naming the grid, the routers it has, the limit and how to raise it.
    """
    routers = chips_x * chips_y * width * height
    if routers > max_routers:
        need = f"the network's {n_cores:,} cores need " if n_cores is not None else ""
        raise MappingError(
            f"{need}a {chips_x}x{chips_y} grid of {width}x{height} chips: {routers:,} routers, "
            f"more than limits.max_routers = {max_routers:,} (use a larger mesh or fewer "
            "cores, or raise limits.max_routers)", needed=routers, available=max_routers)
