"""The placement problem and the strategies' registry, with the strategies that fill
the mesh in a fixed order (``row-major``, ``snake``, ``hilbert``).

:mod:`canmore_sim.mapper.placement` places a network with them (and with ``anneal``,
:mod:`canmore_sim.mapper.anneal`, which registers here too) and describes the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from canmore_sim.mapper.partition import CoreGroups
from canmore_sim.mapper.traffic_graph import CoreTraffic

__all__ = ["PLACEMENTS", "PlacementProblem", "Strategy", "TiledMesh", "register_placement",
           "weighted_hops"]


class TiledMesh:
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
class PlacementProblem(TiledMesh):
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
