"""Routing algorithms for the 2-D mesh, a registry chosen by name.

Ports are numbered ``0 local, 1 north (y - 1), 2 east (x + 1), 3 south (y + 1),
4 west (x - 1)``; router ``r`` sits at ``x = r % width``, ``y = r // width``.
A routing function maps (current router, destination router, mesh width) to
the output port; both algorithms here are deterministic and minimal, so a
packet's hop count equals the Manhattan distance.
"""

from __future__ import annotations

from collections.abc import Callable

from canmore_sim.utils.registry import choose

__all__ = ["LOCAL", "NORTH", "EAST", "SOUTH", "WEST", "OPPOSITE", "ROUTINGS", "get_routing",
           "PORTS_OUT", "neighbour", "xy_port", "yx_port"]

LOCAL, NORTH, EAST, SOUTH, WEST = range(5)
#: Input port at the neighbour for a packet that leaves through output port ``p``.
OPPOSITE = (LOCAL, SOUTH, WEST, NORTH, EAST)

#: (dx, dy) of the neighbour through each non-local output port.
PORTS_OUT = {NORTH: (0, -1), EAST: (1, 0), SOUTH: (0, 1), WEST: (-1, 0)}

RoutingFn = Callable[[int, int, int], int]


def xy_port(here: int, dst: int, width: int) -> int:
    """Dimension-order routing: first along x, then along y."""
    dx = dst % width - here % width
    if dx > 0:
        return EAST
    if dx < 0:
        return WEST
    dy = dst // width - here // width
    if dy > 0:
        return SOUTH
    if dy < 0:
        return NORTH
    return LOCAL


def yx_port(here: int, dst: int, width: int) -> int:
    """Dimension-order routing: first along y, then along x."""
    dy = dst // width - here // width
    if dy > 0:
        return SOUTH
    if dy < 0:
        return NORTH
    dx = dst % width - here % width
    if dx > 0:
        return EAST
    if dx < 0:
        return WEST
    return LOCAL


ROUTINGS: dict[str, RoutingFn] = {"xy": xy_port, "yx": yx_port}


def get_routing(name: str) -> RoutingFn:
    """The routing function called ``name``.

    Raises
    ------
    ConfigError
        For an unknown name, listing the valid ones.
    """
    return choose(ROUTINGS, name, what="routing", key="router.routing")


def neighbour(here: int, port: int, width: int) -> int:
    """Router reached from ``here`` through output port ``port`` (not LOCAL)."""
    if port == NORTH:
        return here - width
    if port == EAST:
        return here + 1
    if port == SOUTH:
        return here + width
    if port == WEST:
        return here - 1
    raise ValueError(f"port {port} has no neighbour")
