"""Routing algorithms for the 2-D mesh, a registry chosen by name.

Ports are numbered ``0 local, 1 north (y - 1), 2 east (x + 1), 3 south (y + 1),
4 west (x - 1)``; router ``r`` sits at ``x = r % width``, ``y = r // width``.
A routing function maps (current router, destination router, mesh width) to
the output port; ``xy`` and ``yx`` are deterministic and minimal, so a packet's hop
count equals the Manhattan distance.

Adaptive routings (``west-first``, ``odd-even``) are minimal turn models: at each router
they admit one or more productive output ports (:class:`Adaptive`, ``candidates``), and
the engine's **selection function** takes the admissible port whose downstream input
buffer is least occupied (copies held under store-and-forward, flit credits taken under
the cut-through modes, all VCs), the first in candidate order on a tie; the choice is
made when the packet reaches the head of its FIFO and is kept while it waits. Both
forbid the turns that could close a cycle of channel dependencies, so they are
deadlock-free without virtual channels (Glass and Ni, "The turn model for adaptive
routing", ISCA 1992; Chiu, "The odd-even turn model for adaptive routing", IEEE TPDS
11(7), 2000). Called as a plain routing function they return their first candidate (the
choice on an empty network).
"""

from __future__ import annotations

from collections.abc import Callable

from canmore_sim.utils.registry import choose

__all__ = ["LOCAL", "NORTH", "EAST", "SOUTH", "WEST", "OPPOSITE", "ROUTINGS", "Adaptive",
           "get_routing", "PORTS_OUT", "is_deterministic", "neighbour", "odd_even_candidates",
           "west_first_candidates", "xy_port", "yx_port"]

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


def west_first_candidates(here: int, src: int, dst: int, width: int) -> tuple[int, ...]:
    """West-first turn model: a packet bound west goes west first (no turn into west later);
    otherwise any productive direction, in the order east, south, north."""
    dx = dst % width - here % width
    dy = dst // width - here // width
    if dx < 0:
        return (WEST,)
    ports = tuple(p for p, ok in ((EAST, dx > 0), (SOUTH, dy > 0), (NORTH, dy < 0)) if ok)
    return ports or (LOCAL,)


def odd_even_candidates(here: int, src: int, dst: int, width: int) -> tuple[int, ...]:
    """Odd-even turn model (Chiu 2000, ROUTE; as Noxim implements it): no east-to-north/south
    turn in an even column, no north/south-to-west turn in an odd column."""
    cx, dx_col, sx = here % width, dst % width, src % width
    e0 = dx_col - cx
    e1 = dst // width - here // width  # > 0: south (y grows southwards)
    vertical = SOUTH if e1 > 0 else NORTH
    if e0 == 0:
        return (LOCAL,) if e1 == 0 else (vertical,)
    if e0 > 0:
        if e1 == 0:
            return (EAST,)
        ports: tuple[int, ...] = ()
        if cx % 2 == 1 or cx == sx:
            ports += (vertical,)
        if dx_col % 2 == 1 or e0 != 1:
            ports += (EAST,)
        return ports
    if cx % 2 == 0 and e1 != 0:
        return (WEST, vertical)
    return (WEST,)


class Adaptive:
    """A minimal adaptive routing: ``candidates(here, src, dst, width)`` lists the admissible
    output ports (see the module); calling it returns the first (empty-network choice)."""

    #: The port depends on the buffers' occupancy: counts without a replay refuse it.
    deterministic = False

    def __init__(self, candidates: Callable[[int, int, int, int], tuple[int, ...]]) -> None:
        self.candidates = candidates

    def __call__(self, here: int, dst: int, width: int, src: int | None = None) -> int:
        return self.candidates(here, here if src is None else src, dst, width)[0]


ROUTINGS: dict[str, RoutingFn] = {"xy": xy_port, "yx": yx_port,
                                  "west-first": Adaptive(west_first_candidates),
                                  "odd-even": Adaptive(odd_even_candidates)}


def get_routing(name: str) -> RoutingFn:
    """The routing function called ``name``.

    Raises
    ------
    ConfigError
        For an unknown name, listing the valid ones.
    """
    return choose(ROUTINGS, name, what="routing", key="router.routing")


def is_deterministic(route: RoutingFn) -> bool:
    """Whether ``route`` always sends a packet for a destination through the same port
    (its links then follow from the traffic alone: :mod:`canmore_sim.noc.counts`).

    A routing function takes only (router, destination, width), so it is deterministic
    unless it says otherwise: an adaptive routing (one that looks at the network's
    state) sets the attribute ``deterministic = False`` on its function.
    """
    return getattr(route, "deterministic", True) is not False


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
