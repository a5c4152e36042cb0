"""Exact NoC counts of a frame without the event replay (deterministic routing only).

Under a deterministic routing (the output port depends only on the router and the
destination: ``xy``, ``yx`` or any registered table routing) every packet copy takes the
same links whatever else is in the network: the replay decides *when* a copy crosses a
link, never *which* links it crosses. So the hops of every row, the flits out of every
router port, the link hops of the frame and their inter-chip part, and the charged hops
that the per-layer figures and the energy model (Eq. 12 of papers/004:
``E = E_SOP x SOPs + E_hop x Hops + E_static``, SOPs from the spike trace alone) need,
follow from the traffic and the routes alone. :func:`route_counts` computes them column
by column with numpy and gives the replay's figures bit for bit (the differential test
``tests/noc/test_counts.py`` shows it against both engines).

How
---
1. Every (source router, destination router) pair the traffic uses is walked once along
   its route (a few thousand pairs at most per frame of an 8x8 mesh): its routers and
   output ports step by step, its length and its inter-chip links.
2. Under unicast every row is one packet taking its pair's route: per-row hops, per-link
   flits and totals are sums over pairs weighted by how many rows use each pair.
3. Under multicast a packet is copied where its rows' routes part (the reference splits
   a copy by output port at each router). Two rows of a packet share a copy over a link
   exactly while their routes share the prefix leading to it, so the copies of a packet
   are the distinct route prefixes of its rows: the nodes of a trie of the routes from
   its source. Rows are put in the trie's depth-first order (one sort per frame), where
   every prefix is a contiguous run, and the copies crossing a link at step ``k`` are
   counted as run boundaries; a copy's link is charged to its first row (the smallest
   row id in the run, as the reference's stably split copies do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.errors import ConfigError, SimulationError
from canmore_sim.noc.routing import (
    LOCAL,
    PORTS_OUT,
    get_routing,
    is_deterministic,
    xy_port,
    yx_port,
)
from canmore_sim.noc.stats import NocStats
from canmore_sim.noc.traffic import Traffic

__all__ = ["RouteCounts", "counted_stats", "route_counts"]

#: Meshes up to this many (source, destination) router pairs find a row's pair by a
#: dense lookup (8 MB of int64 per million pairs), larger ones by a sort.
_DENSE_PAIRS = 1 << 22


@dataclass(frozen=True, eq=False)
class RouteCounts:
    """The counts of one frame that need no replay (fields as in
    :class:`~canmore_sim.noc.stats.NocStats`, same dtypes and values).

    Attributes
    ----------
    hops
        int64 per row: links crossed by the copies carrying the row.
    link_flits
        int64 ``(n_routers, 5)``: flits sent out of each router port (ejections included).
    link_hops, interchip_hops
        int: links crossed by all copies (multicast: each tree edge once), and those
        between two chips.
    charged_hops, charged_interchip_hops
        int64 per row: the links of the copies whose first row it is (they add up to
        ``link_hops`` and ``interchip_hops``).
    """

    hops: np.ndarray
    link_flits: np.ndarray
    link_hops: int
    interchip_hops: int
    charged_hops: np.ndarray
    charged_interchip_hops: np.ndarray


@dataclass(frozen=True, eq=False)
class _Routes:
    """The route of every (source, destination) pair the traffic uses, pairs in (source,
    destination) order; step arrays are ``(steps, n_pairs)``, -1 past a route's end."""

    source: np.ndarray  # source router of each pair (int64)
    length: np.ndarray  # links of each pair's route (int64)
    inter: np.ndarray  # inter-chip links of each pair's route (int64)
    router: np.ndarray  # router left at each step (int32)
    port: np.ndarray  # output port taken at each step (int8)
    crosses_chip: np.ndarray  # whether the link of each step joins two chips (bool)


def route_counts(traffic: Traffic, config: ArchConfig) -> RouteCounts:
    """Hops, per-link flits and inter-chip hops of one frame, from its routes alone.

    Parameters
    ----------
    traffic
        Packets of one frame.
    config
        Supplies ``router.routing`` and ``router.flits_per_packet``.

    Raises
    ------
    ConfigError
        If the routing is unknown, or is not deterministic (an adaptive routing's links
        depend on the replay: ``run.replay`` must replay every frame).
    SimulationError
        For router indices outside the mesh, a route that leaves the mesh, or one longer
        than any minimal route needs (``4 x (width + height)`` links: a livelock).
    """
    route = get_routing(config.router.routing)
    if not is_deterministic(route):
        raise ConfigError(
            f"router.routing {config.router.routing!r} is adaptive: its links depend on the "
            "replay, so a frame's hops cannot be counted without one (set run.replay: all)",
            key="router.routing", value=config.router.routing)
    _check_routers(traffic)
    n, rows, flits = traffic.n_routers, len(traffic), config.router.flits_per_packet
    if not rows:
        zero = np.zeros(0, dtype=np.int64)
        return RouteCounts(zero, np.zeros((n, 5), dtype=np.int64), 0, 0, zero, zero.copy())
    pair, src, dst = _pairs(traffic)
    routes = _walk(traffic, config, src, dst)
    if traffic.multicast:
        return _multicast(traffic, routes, pair, flits)
    return _unicast(traffic, routes, pair, flits)


def counted_stats(traffic: Traffic, config: ArchConfig) -> NocStats:
    """The :class:`~canmore_sim.noc.stats.NocStats` of a frame that is not replayed.

    Hops, link flits, inter-chip and charged hops and the zero-load latencies are the
    replay's (exact, from :func:`route_counts`); what only a replay knows is unknown:
    delivery times and ``end_ns`` are NaN, no delivery is late, and waiting and
    occupancy are 0 (a caller must not count them as measured).

    Raises
    ------
    ConfigError, SimulationError
        As :func:`route_counts`.
    """
    from canmore_sim.noc.engine import check_inputs, stats_from

    check_inputs(traffic, config)
    counts = route_counts(traffic, config)
    n = traffic.n_routers
    zeros = np.zeros((n, 5), dtype=np.float64)
    return stats_from(traffic, config, hops=counts.hops,
                      deliver=np.full(len(traffic), np.nan), link_flits=counts.link_flits,
                      wait=zeros, occupancy=np.zeros((n, 5), dtype=np.int64),
                      area=zeros.copy(), link_hops=counts.link_hops,
                      inter_hops=counts.interchip_hops, charged=counts.charged_hops,
                      charged_inter=counts.charged_interchip_hops)


def _check_routers(traffic: Traffic) -> None:
    n = traffic.n_routers
    for name in ("src", "dst"):
        col = getattr(traffic, name)
        if len(col) and (col.min() < 0 or col.max() >= n):
            raise SimulationError(f"traffic {name} router index out of range 0..{n - 1} for a "
                                  f"{traffic.width}x{traffic.height} mesh")


def _pairs(traffic: Traffic) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pair of every row, source and destination router of every pair), pairs in
    (source, destination) order (a dense lookup where the mesh allows, else a sort)."""
    n = traffic.n_routers
    key = traffic.src.astype(np.int64) * n + traffic.dst
    if n * n <= _DENSE_PAIRS:
        used = np.flatnonzero(np.bincount(key, minlength=n * n))
        index = np.full(n * n, -1, dtype=np.int64)
        index[used] = np.arange(len(used))
        pair = index[key]
    else:
        used, pair = np.unique(key, return_inverse=True)
    return pair.astype(np.int64).reshape(-1), used // n, used % n


def _router_ports(traffic: Traffic, config: ArchConfig,
                  dsts: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``ports(here, dst)``: the routing's output port at routers ``here`` for
    destinations ``dst`` (arrays); XY and YX computed, any other routing tabulated for
    every router and the destinations ``dsts`` (as the compiled engine does)."""
    route = get_routing(config.router.routing)
    w, n = traffic.width, traffic.n_routers
    if route is xy_port or route is yx_port:
        x_first = route is xy_port

        def dimension_order(here: np.ndarray, dst: np.ndarray) -> np.ndarray:
            dx, dy = dst % w - here % w, dst // w - here // w
            x_port = np.where(dx > 0, 2, np.where(dx < 0, 4, 0))
            y_port = np.where(dy > 0, 3, np.where(dy < 0, 1, 0))
            first, then = (x_port, y_port) if x_first else (y_port, x_port)
            return np.where(first != LOCAL, first, then).astype(np.int64)

        return dimension_order
    column = np.full(n, -1, dtype=np.int64)
    column[dsts] = np.arange(len(dsts))
    table = np.array([[route(r, d, w) for d in dsts.tolist()] for r in range(n)],
                     dtype=np.int64).reshape(n, len(dsts))
    return lambda here, dst: table[here, column[dst]]


def _neighbours(traffic: Traffic) -> tuple[np.ndarray, np.ndarray]:
    """Router reached through each (router, port) (-1: off the mesh or local) and whether
    that link joins two chips, both ``(n_routers, 5)``."""
    w, h = traffic.width, traffic.height
    r = np.arange(traffic.n_routers)
    x, y = r % w, r // w
    nxt = np.full((len(r), 5), -1, dtype=np.int64)
    for out, (dx, dy) in PORTS_OUT.items():
        ok = (x + dx >= 0) & (x + dx < w) & (y + dy >= 0) & (y + dy < h)
        nxt[ok, out] = r[ok] + dx + dy * w
    cw, ch = traffic.chip_width, traffic.chip_height
    inter = np.zeros(nxt.shape, dtype=bool)
    if cw and ch:
        there = np.where(nxt >= 0, nxt, r[:, None])
        inter = (nxt >= 0) & ((x[:, None] // cw != there % w // cw)
                              | (y[:, None] // ch != there // w // ch))
    return nxt, inter


def _walk(traffic: Traffic, config: ArchConfig, src: np.ndarray, dst: np.ndarray) -> _Routes:
    """Walk the route of every pair (``src[p]`` to ``dst[p]``) to its end."""
    ports_of = _router_ports(traffic, config, np.unique(dst))
    nxt, inter_link = _neighbours(traffic)
    budget = 4 * (traffic.width + traffic.height)
    cur = src.copy()
    length = np.zeros(len(src), dtype=np.int64)
    inter = np.zeros(len(src), dtype=np.int64)
    routers: list[np.ndarray] = []
    ports: list[np.ndarray] = []
    crossings: list[np.ndarray] = []
    live = np.arange(len(src))
    while True:
        port = ports_of(cur[live], dst[live])
        moving = port != LOCAL
        live, port = live[moving], port[moving]
        if not len(live):
            break
        if len(routers) == budget:
            raise _livelock(config, int(src[live[0]]), int(dst[live[0]]), budget)
        here = cur[live]
        there = nxt[here, port]
        if (there < 0).any():
            bad = int(np.flatnonzero(there < 0)[0])
            raise SimulationError(
                f"routing {config.router.routing!r} sends a packet out of router "
                f"{int(here[bad])} through port {int(port[bad])}, which leads off the "
                f"{traffic.width}x{traffic.height} mesh", routers=[int(here[bad])])
        step_router = np.full(len(src), -1, dtype=np.int32)
        step_port = np.full(len(src), -1, dtype=np.int8)
        crossing = np.zeros(len(src), dtype=bool)
        step_router[live], step_port[live] = here, port
        crossing[live] = inter_link[here, port]
        routers.append(step_router)
        ports.append(step_port)
        crossings.append(crossing)
        length[live] += 1
        inter[live] += crossing[live]
        cur[live] = there
    shape = (len(routers), len(src))
    return _Routes(src, length, inter,
                   np.array(routers, dtype=np.int32).reshape(shape),
                   np.array(ports, dtype=np.int8).reshape(shape),
                   np.array(crossings, dtype=bool).reshape(shape))


def _livelock(config: ArchConfig, src: int, dst: int, budget: int) -> SimulationError:
    return SimulationError(
        f"a packet's route crosses more than {budget} links without reaching router {dst} "
        f"from router {src} (livelock; routing {config.router.routing!r})", routers=[src, dst])


def _unicast(traffic: Traffic, routes: _Routes, pair: np.ndarray, flits: int) -> RouteCounts:
    """Every row is a packet on its pair's route."""
    n = traffic.n_routers
    uses = np.bincount(pair, minlength=len(routes.length))
    link_flits = np.zeros(n * 5, dtype=np.int64)
    for router, port in zip(routes.router, routes.port, strict=True):
        on = router >= 0
        link_flits += np.bincount(router[on].astype(np.int64) * 5 + port[on], weights=uses[on],
                                  minlength=n * 5).astype(np.int64)
    link_flits = link_flits.reshape(n, 5)
    link_flits[:, LOCAL] = np.bincount(traffic.dst, minlength=n)
    link_flits *= flits
    hops = routes.length[pair]
    inter = routes.inter[pair]
    return RouteCounts(hops, link_flits, int(hops.sum()), int(inter.sum()), hops, inter)


def _multicast(traffic: Traffic, routes: _Routes, pair: np.ndarray, flits: int) -> RouteCounts:
    """Copies are the distinct route prefixes of each packet's rows (see the module notes)."""
    n, rows = traffic.n_routers, len(traffic)
    packet = np.cumsum(_packet_starts(traffic)) - 1
    rank = _trie_rank(routes)
    order = np.argsort(packet * len(rank) + rank[pair], kind="stable")
    hops = routes.length[pair]
    packet, pair = packet[order], pair[order]
    link_flits = np.zeros(n * 5, dtype=np.int64)
    charged = np.zeros(rows, dtype=np.int64)
    charged_inter = np.zeros(rows, dtype=np.int64)
    length = routes.length[pair]
    prefix = np.zeros(len(rank), dtype=np.int64)  # trie node of each pair's prefix
    for k in range(routes.router.shape[0]):
        step_port = routes.port[k]
        prefix = prefix * 5 + np.maximum(step_port, 0).astype(np.int64)  # a digit per step
        prefix = np.unique(prefix, return_inverse=True)[1].astype(np.int64)
        on = np.flatnonzero(length > k)
        node = prefix[pair[on]]
        first = np.ones(len(on), dtype=bool)
        first[1:] = (packet[on[1:]] != packet[on[:-1]]) | (node[1:] != node[:-1])
        starts = np.flatnonzero(first)
        head = pair[on[starts]]
        link_flits += np.bincount(routes.router[k, head].astype(np.int64) * 5 + step_port[head],
                                  minlength=n * 5)
        owner = np.minimum.reduceat(order[on], starts)
        charged += np.bincount(owner, minlength=rows)
        crossing = routes.crosses_chip[k, head]
        charged_inter += np.bincount(owner[crossing], minlength=rows)
    ejected = np.ones(rows, dtype=bool)
    ejected[1:] = (packet[1:] != packet[:-1]) | (pair[1:] != pair[:-1])
    link_flits = link_flits.reshape(n, 5)
    link_flits[:, LOCAL] = np.bincount(traffic.dst[order[ejected]], minlength=n)
    link_flits *= flits
    return RouteCounts(hops, link_flits,
                       int(charged.sum()), int(charged_inter.sum()), charged, charged_inter)


def _packet_starts(traffic: Traffic) -> np.ndarray:
    """bool per row: the first row of a packet as the replay groups them (rows of one
    spike, source and time, consecutive)."""
    start = np.ones(len(traffic), dtype=bool)
    start[1:] = ((traffic.spike[1:] != traffic.spike[:-1])
                 | (traffic.src[1:] != traffic.src[:-1])
                 | (traffic.time_ns[1:] != traffic.time_ns[:-1]))
    return start


def _trie_rank(routes: _Routes) -> np.ndarray:
    """Position of every pair in the depth-first order of the routes from its source:
    pairs sorted by source, then by their port sequence (a route's end before any
    continuation), so every shared prefix is a contiguous run."""
    n_pairs = len(routes.length)
    keys = [routes.port[k] for k in range(routes.port.shape[0] - 1, -1, -1)]
    keys.append(routes.source)
    order = np.lexsort(keys) if keys else np.arange(n_pairs)
    rank = np.empty(n_pairs, dtype=np.int64)
    rank[order] = np.arange(n_pairs)
    return rank
