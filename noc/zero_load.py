"""Zero-load latency: the time a packet takes on an empty network, per row of a frame's
traffic (the reference its waiting is measured against).

A lone packet crossing ``h`` links under store-and-forward switching takes
``(h + flits) * router_delay_ns + flits * (links' delays)`` (docs/explanation/noc.md), under
virtual cut-through or wormhole switching :func:`cut_through_zero_load`; the destination
core's own service ``core.sop_ns x sops`` is added, so waiting is only time spent queued.
A frame's column (:func:`zero_load_latency`) takes the route's part from a table of every
(source, destination) router pair, computed by the same float operations (the same bits).
"""

from __future__ import annotations

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.noc.traffic import Traffic

__all__ = ["cut_through_zero_load", "zero_load_latency", "zero_load_ns"]


def zero_load_ns(
    traffic: Traffic, config: ArchConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hops and zero-load latency (ns) of every row under minimal XY/YX routing.

    The zero-load latency includes the destination core's own service time,
    ``core.sop_ns x sops``, so that waiting is only time spent queued.

    Returns
    -------
    (hops, inter, latency)
        int64 links crossed, int64 of them between chips, float64 ns.
    """
    hops, inter, route = _route_zero_load(traffic.src, traffic.dst, traffic, config)
    eject = 0.0 if traffic.sops is None else config.core.sop_ns * traffic.sops
    return hops, inter, route + eject


def _route_zero_load(src: np.ndarray, dst: np.ndarray, traffic: Traffic,
                     config: ArchConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hops, inter-chip hops, latency without the core's service, ns) from router ``src``
    to ``dst`` on ``traffic``'s mesh and chips: :func:`zero_load_ns` before it adds
    ``core.sop_ns x sops``."""
    w = traffic.width
    sx, sy, dx, dy = src % w, src // w, dst % w, dst // w
    hops = (np.abs(sx - dx) + np.abs(sy - dy)).astype(np.int64)
    inter = np.zeros_like(hops)
    if traffic.chip_width and traffic.chip_height:
        inter = (np.abs(sx // traffic.chip_width - dx // traffic.chip_width)
                 + np.abs(sy // traffic.chip_height - dy // traffic.chip_height)).astype(np.int64)
    r = config.router
    flits = r.flits_per_packet
    if r.switching != "store-and-forward":
        return hops, inter, cut_through_zero_load(hops, inter, config)
    link = flits * ((hops - inter) * r.link_delay_ns
                    + inter * config.multichip.interchip_link_delay_ns)
    return hops, inter, (hops + flits) * r.router_delay_ns + link


def cut_through_zero_load(hops: np.ndarray, inter: np.ndarray,
                           config: ArchConfig) -> np.ndarray:
    """Zero-load latency (ns, without the core's service) under virtual cut-through or
    wormhole switching (see :mod:`canmore_sim.noc.cutthrough`).

    The head pays ``router_delay_ns`` plus one flit's link delay per hop; the tail
    trails it by ``(flits - 1)`` flit delays of the slowest link crossed (exact on one
    chip; on tiled chips it takes the slower link type as the last one crossed, an upper
    bound); ejection ends ``flits x router_delay_ns`` after the head arrives, and no
    earlier than one router delay after the tail.
    """
    r = config.router
    d_link, d_inter = r.link_delay_ns, config.multichip.interchip_link_delay_ns
    flits = r.flits_per_packet
    links = (hops - inter) * d_link + inter * d_inter
    slowest = np.where(inter == hops, d_inter,
                       np.where(inter > 0, max(d_link, d_inter), d_link))
    head = hops * r.router_delay_ns + links
    tail = links + hops * r.router_delay_ns + (flits - 1) * slowest
    return np.where(hops > 0, np.maximum(head + flits * r.router_delay_ns,
                                         tail + r.router_delay_ns),
                    flits * r.router_delay_ns)


#: The last pair tables of :func:`_pair_table`, by mesh, chips and router delays.
_PAIR_TABLES: dict[tuple[object, ...], np.ndarray] = {}


def _pair_table(traffic: Traffic, config: ArchConfig) -> np.ndarray:
    """float64 ``(n_routers**2,)``: the zero-load latency without the core's service from
    router ``s`` to ``d`` at ``s * n_routers + d`` (:func:`_route_zero_load`), kept for the
    next frame on the same mesh and router (VGG16's 384 routers: 147,456 pairs, 9 ms)."""
    r, n = config.router, traffic.n_routers
    key = (traffic.width, n, traffic.chip_width, traffic.chip_height, r.switching,
           r.flits_per_packet, r.router_delay_ns, r.link_delay_ns,
           config.multichip.interchip_link_delay_ns)
    table = _PAIR_TABLES.get(key)
    if table is None:
        pairs = np.arange(n * n, dtype=np.int64)
        table = _route_zero_load(pairs // n, pairs % n, traffic, config)[2]
        table.flags.writeable = False
        _PAIR_TABLES.clear()  # one mesh at a time (up to 8 MB)
        _PAIR_TABLES[key] = table
    return table


#: Meshes up to this many routers take the zero-load latency of a row's route from a
#: table over every (source, destination) pair (VGG16's 8x8 mesh: 4,096 entries).
_PAIR_TABLE_ROUTERS = 1024


def zero_load_latency(traffic: Traffic, config: ArchConfig) -> np.ndarray:
    """The latency column of :func:`zero_load_ns`, computed a chunk of rows at a time.

    Every value is an element-wise function of its row, so the chunks give the same
    bits as one pass, without one full-size temporary per intermediate (VGG16: about
    a dozen of 12 MB each). On a mesh of at most :data:`_PAIR_TABLE_ROUTERS` routers the
    route's part (a function of the source and destination routers alone) is looked up in
    a table of every pair, computed by the same float operations, and the core's service
    ``core.sop_ns x sops`` is added to it as :func:`zero_load_ns` adds it: the same bits.
    """
    out = np.empty(len(traffic), dtype=np.float64)
    step = 1 << 16
    n = traffic.n_routers
    if n > _PAIR_TABLE_ROUTERS:
        for first in range(0, len(traffic), step):
            part = slice(first, first + step)
            out[part] = zero_load_ns(traffic.rows(part), config)[2]
        return out
    table = _pair_table(traffic, config)
    if traffic.sops is None:
        table = table + 0.0  # zero_load_ns adds a service of 0.0
    sop_ns = config.core.sop_ns
    for first in range(0, len(traffic), step):
        part = slice(first, first + step)
        pair = traffic.src[part].astype(np.int64) * n
        pair += traffic.dst[part]
        np.take(table, pair, out=out[part])
        if traffic.sops is not None:
            out[part] += sop_ns * traffic.sops[part]
    return out
