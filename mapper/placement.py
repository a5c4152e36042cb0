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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from canmore_sim.errors import MappingError
from canmore_sim.mapper.partition import CoreGroups
from canmore_sim.mapper.traffic_graph import CoreTraffic
from canmore_sim.utils.registry import choose

__all__ = ["Mapping", "PLACEMENTS", "PlacementProblem", "check_chip_grid", "chip_grid",
           "interchip_hops", "place",
           "register_placement", "weighted_hops"]


class _TiledMesh:
    """The whole mesh: ``chips_x x chips_y`` chips of ``chip_width x chip_height`` routers."""

    chip_width: int
    chip_height: int
    chips_x: int
    chips_y: int

    @property
    def width(self) -> int:
        """Routers along x of the whole (tiled) mesh."""
        return self.chips_x * self.chip_width

    @property
    def height(self) -> int:
        """Routers along y of the whole (tiled) mesh."""
        return self.chips_y * self.chip_height


@dataclass(frozen=True, eq=False)
class PlacementProblem(_TiledMesh):
    """Everything a placement strategy may use.

    Attributes
    ----------
    groups
        The cores to place (core id = row).
    chip_width, chip_height, chips_x, chips_y
        One chip's mesh and the chip grid, routers / chips.
    traffic
        Expected packets per frame between cores (for traffic-aware strategies).
    io_router
        Global router index of the I/O port.
    seed, iterations, budget_s
        Seed, move budget and wall-clock safety stop (s) of optimizing strategies.
    """

    groups: CoreGroups
    chip_width: int
    chip_height: int
    chips_x: int = 1
    chips_y: int = 1
    traffic: CoreTraffic | None = None
    io_router: int = 0
    seed: int = 0
    iterations: int = 50_000
    budget_s: float = 60.0

    @property
    def chips_needed(self) -> int:
        """The fewest chips that hold every core (at most the whole grid)."""
        per_chip = self.chip_width * self.chip_height
        return min(self.chips_x * self.chips_y, max(1, math.ceil(len(self.groups) / per_chip)))

    def chip_order(self) -> list[tuple[int, int]]:
        """Chips ``(cx, cy)`` in fill order: chip rows in snake order, so consecutive
        chips are neighbours."""
        order = []
        for cy in range(self.chips_y):
            xs = range(self.chips_x) if cy % 2 == 0 else reversed(range(self.chips_x))
            order += [(cx, cy) for cx in xs]
        return order

    def usable_routers(self) -> np.ndarray:
        """Sorted global routers of the first :attr:`chips_needed` chips of
        :meth:`chip_order`: every strategy places cores only there, so a mapping
        never uses more chips than it needs (a near-square grid may hold a spare)."""
        cells = [self._chip_routers(cx, cy, snake=False)
                 for cx, cy in self.chip_order()[: self.chips_needed]]
        return np.sort(np.concatenate(cells)).astype(np.int32)

    def _chip_routers(self, cx: int, cy: int, snake: bool) -> np.ndarray:
        """Global routers of chip ``(cx, cy)``, row by row (boustrophedon if ``snake``)."""
        local = np.arange(self.chip_width * self.chip_height).reshape(self.chip_height, -1)
        if snake:
            local[1::2] = local[1::2, ::-1]
        x = cx * self.chip_width + local % self.chip_width
        y = cy * self.chip_height + local // self.chip_width
        return (y * self.width + x).ravel()


Strategy = Callable[[PlacementProblem], np.ndarray]
PLACEMENTS: dict[str, Strategy] = {}


def register_placement(name: str) -> Callable[[Strategy], Strategy]:
    """Decorator adding a placement strategy to :data:`PLACEMENTS` under ``name``."""

    def wrap(fn: Strategy) -> Strategy:
        PLACEMENTS[name] = fn
        return fn

    return wrap


def _chip_fill(problem: PlacementProblem, snake: bool) -> np.ndarray:
    """Routers in fill order: chip by chip (:meth:`PlacementProblem.chip_order`), rows
    within a chip."""
    order = [problem._chip_routers(cx, cy, snake) for cx, cy in problem.chip_order()]
    return np.concatenate(order)[: len(problem.groups)].astype(np.int32)


@register_placement("row-major")
def _row_major(problem: PlacementProblem) -> np.ndarray:
    """Layer order, row by row within each chip."""
    return _chip_fill(problem, snake=False)


@register_placement("snake")
def _snake(problem: PlacementProblem) -> np.ndarray:
    """Layer order, boustrophedon rows within each chip (consecutive cores stay adjacent)."""
    return _chip_fill(problem, snake=True)


def _hilbert_d2xy(order: int, d: int) -> tuple[int, int]:
    """Point ``d`` of a Hilbert curve over a ``2**order`` square (classic iterative form)."""
    x = y = 0
    t = d
    s = 1
    while s < (1 << order):
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        if ry == 0:
            if rx == 1:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
        x += s * rx
        y += s * ry
        t //= 4
        s *= 2
    return x, y


@register_placement("hilbert")
def _hilbert(problem: PlacementProblem) -> np.ndarray:
    """Layer order along a Hilbert curve over the whole mesh (cells outside the mesh or
    on spare chips are skipped)."""
    side = max(problem.width, problem.height)
    order = max(1, math.ceil(math.log2(side)))
    usable = set(problem.usable_routers().tolist())
    routers: list[int] = []
    for d in range(1 << (2 * order)):
        x, y = _hilbert_d2xy(order, d)
        if x < problem.width and y < problem.height and y * problem.width + x in usable:
            routers.append(y * problem.width + x)
            if len(routers) == len(problem.groups):
                break
    return np.asarray(routers, dtype=np.int32)


def weighted_hops(router: np.ndarray, traffic: CoreTraffic, width: int, io_router: int) -> float:
    """Traffic-weighted hop distance: sum of packets/frame x Manhattan distance."""
    pos = np.append(np.asarray(router, dtype=np.int64), io_router)  # index -1 = I/O port
    a, b = pos[traffic.src], pos[traffic.dst]
    dist = np.abs(a % width - b % width) + np.abs(a // width - b // width)
    return float(np.sum(traffic.packets * dist))


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
class Mapping(_TiledMesh):
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


# register the optimizing strategy (kept in its own module)
from canmore_sim.mapper import anneal as _anneal  # noqa: E402,F401
