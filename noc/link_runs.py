"""Where dimension-order routes run, and what a link costs: the geometry the layer window's
needs count (:mod:`canmore_sim.noc.window` over a frame's traffic,
:mod:`canmore_sim.noc.needs` straight from the spikes).

A route under XY (YX) routing runs along its first axis on the source's line, then along
the second axis on the destination's line. Runs are added with difference arrays
``diff[layer, direction, line, position]`` (a +1 at the run's start, a -1 past its end),
directions :data:`EAST`, :data:`WEST` along the first axis and :data:`SOUTH`,
:data:`NORTH` along the second, and turned into per-link counts by :func:`to_grid`.
"""

from __future__ import annotations

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.noc.traffic import Traffic

__all__ = ["EAST", "NORTH", "SOUTH", "WEST", "add_runs", "coords", "link_cost", "side_runs",
           "to_grid"]

#: Directions of the runs and ports of the links ``(4, height, width)``: E, W, S, N.
EAST, WEST, SOUTH, NORTH = range(4)


def coords(routers: np.ndarray, width: int, yx: bool) -> tuple[np.ndarray, np.ndarray]:
    """(first-axis, second-axis) coordinates: (x, y) for XY routing, (y, x) for YX."""
    x, y = routers % width, routers // width
    return (y, x) if yx else (x, y)


def side_runs(diff: np.ndarray, layer: np.ndarray, line: np.ndarray, at: np.ndarray,
               lowest: np.ndarray, highest: np.ndarray, directions: tuple[int, int],
               weight: np.ndarray) -> None:
    """From ``at`` on ``line``: the run up to ``highest`` (links ``at..highest-1`` in the
    positive direction) and down to ``lowest`` (links ``lowest+1..at``, indexed by their
    source router, in the negative direction), each counted ``weight`` times."""
    add_runs(diff, layer, directions[0], line, at, highest, weight)
    add_runs(diff, layer, directions[1], line, lowest + 1, at + 1, weight)


def add_runs(diff: np.ndarray, layer: np.ndarray, direction: int, line: np.ndarray,
              start: np.ndarray, stop: np.ndarray, weight: np.ndarray) -> None:
    """+``weight`` on positions ``start..stop-1`` of each run (none where ``stop <= start``)."""
    ok = stop > start
    flat = diff.reshape(-1)  # a view: diff is C-contiguous
    _, n_dir, n_line, n_pos = diff.shape
    base = ((layer[ok] * n_dir + direction) * n_line + line[ok]) * n_pos
    size = flat.size
    flat += np.bincount(base + start[ok], weights=weight[ok], minlength=size)
    flat -= np.bincount(base + stop[ok], weights=weight[ok], minlength=size)


def to_grid(runs: np.ndarray, yx: bool, width: int, height: int) -> np.ndarray:
    """Run counts ``[layer, first-axis E/W then second-axis S/N, line, position]`` as
    ``[layer, port E/W/S/N, y, x]`` of the link's source router."""
    along = runs.transpose(0, 1, 3, 2)  # [.., line, position] -> [.., position, line]
    out = np.zeros((runs.shape[0], 4, height, width))
    if yx:  # first axis is y (south/north along a column x = line), second is x
        out[:, SOUTH] = along[:, EAST, :height, :width]
        out[:, NORTH] = along[:, WEST, :height, :width]
        out[:, EAST] = runs[:, SOUTH, :height, :width]
        out[:, WEST] = runs[:, NORTH, :height, :width]
    else:  # first axis is x (east/west along a row y = line), second is y
        out[:, EAST] = runs[:, EAST, :height, :width]
        out[:, WEST] = runs[:, WEST, :height, :width]
        out[:, SOUTH] = along[:, SOUTH, :height, :width]
        out[:, NORTH] = along[:, NORTH, :height, :width]
    return out


def link_cost(traffic: Traffic, config: ArchConfig) -> np.ndarray:
    """Time a packet holds each link ``(4, height, width)``, ns."""
    w, h = traffic.width, traffic.height
    rd, flits = config.router.router_delay_ns, config.router.flits_per_packet
    cost = np.full((4, h, w), rd + flits * config.router.link_delay_ns)
    cw, ch = traffic.chip_width, traffic.chip_height
    if cw:
        inter = rd + flits * config.multichip.interchip_link_delay_ns
        x, y = np.meshgrid(np.arange(w), np.arange(h))
        for port, (dx, dy) in enumerate(((1, 0), (-1, 0), (0, 1), (0, -1))):
            crosses = ((x // cw) != ((x + dx) // cw)) | ((y // ch) != ((y + dy) // ch))
            cost[port][crosses] = inter
    return cost
