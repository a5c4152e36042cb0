"""The fast NoC engine: a compiled event loop with bit-identical statistics to the SimPy one.

``run.engine: fast`` (the default). It models exactly what :mod:`canmore_sim.noc.engine`
(SimPy, the reference that defines the model) models: five-port routers, per-input FIFOs
in flits, store-and-forward, XY / YX (or any registered routing, through a table), round
robin per output, credit backpressure, multicast XY-tree copies, ejection service time
``router_delay_ns + core.sop_ns x sops``, inter-chip link delays, deadlines, occupancy
peaks and time averages, and deadlock / livelock errors with the same messages.

Event order (how ties break)
----------------------------
SimPy keeps one heap of ``(time, priority, event id, event)``; the event id counts up in
the order events are *scheduled*. Every event of the reference is a ``Timeout`` (NORMAL
priority), except the injector process's start (``Initialize``, URGENT), which is the
first event and runs alone at time 0. So events are processed in order of
``(time, scheduling order)``: equal times break by which was scheduled first. This
engine keeps the same rule with queues ordered by ``(time, sequence)`` (a FIFO ring per
fixed delay, which scheduling fills in that order already, and a binary heap for
ejections with a per-packet service time; the earliest head wins): a sequence number
is drawn at each point where the reference calls ``env.timeout``, and the callbacks run in
the reference's order (transfer end: deliver or enqueue downstream, then the head copy
leaves its FIFO and the next one requests, then the freed credit or injection queue, then
re-arbitration of the output), so every sequence number matches. Times are computed by the
same float operations: a transfer ends at ``now + delay`` with ``delay`` summed as in the
reference, and the injector's wait lands at ``now + (t - now)`` (SimPy's
``env.now + (t - env.now)``, which need not equal ``t``), while the packets released then
carry ``t`` as their arrival. Waiting and occupancy area accumulate per (router, port) in
event order, as in the reference.

The compiled loop (``noc/fast_kernel.py``, numba, cached on disk: see
:mod:`canmore_sim.noc.jitcache`) runs in slices of events and returns to Python between
them, so ``progress`` costs nothing per event and Ctrl-C is honoured between slices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from types import ModuleType
from typing import Any

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.errors import ConfigError, SimulationError
from canmore_sim.noc.engine import check_inputs, deadlock_error, livelock_error, stats_from
from canmore_sim.noc.routing import (
    PORTS_OUT,
    Adaptive,
    get_routing,
    odd_even_candidates,
    west_first_candidates,
    xy_port,
    yx_port,
)
from canmore_sim.noc.stats import NocStats
from canmore_sim.noc.traffic import Traffic

__all__ = ["needs_compile", "simulate"]

#: Events per compiled slice between returns to Python (progress, Ctrl-C).
SLICE_EVENTS = 1 << 20


def simulate(traffic: Traffic, config: ArchConfig, *,
             progress: Callable[[int, int], None] | None = None) -> NocStats:
    """Replay one frame's traffic through the mesh (compiled; same results as SimPy's).

    Parameters
    ----------
    traffic
        Packets of one frame (see :class:`~canmore_sim.noc.traffic.Traffic`).
    config
        Supplies ``router`` (buffer depth, flits, routing, delays),
        ``core.sop_ns`` and ``multichip.interchip_link_delay_ns``.
    progress
        Called as ``progress(delivered_rows, total_rows)`` after each slice of
        about a million events and once at the end.

    Raises
    ------
    SimulationError
        For router indices outside the mesh, non-finite or negative times, a routing
        that leaves the mesh, a deadlock or a livelock (naming the routers).
    ConfigError
        If a packet does not fit an input buffer or the routing is unknown.
    """
    check_inputs(traffic, config)
    kernel = _kernel()
    # the build's freed temporaries stay with the C heap for the next frame: handing them
    # back to the system lowers no peak and costs page faults (VGG16: about 0.05 s a frame)
    state = _build(kernel, traffic, config)
    total = len(traffic)
    while True:
        code = kernel.run(state.ints, state.floats, SLICE_EVENTS)
        if code != kernel.PAUSED:
            break
        if progress is not None:
            progress(int(state.ints[kernel.I_DELIVERED]), total)
    if code != kernel.DONE:
        raise _error(kernel, state, traffic, config, code)
    if progress is not None:
        progress(int(state.ints[kernel.I_DELIVERED]), total)
    counters = _counters(kernel, state, traffic)
    del state  # the int state (VGG16: 39 MB) goes before the per-row counts are widened,
    counters = _widen(counters)
    # and the float state (delivery and packet times, 25 MB) once the delivery times are
    # copied out of it, before the statistics are built
    counters["deliver"] = counters["deliver"].copy()
    return stats_from(traffic, config, **counters)


def needs_compile() -> bool:
    """Whether the first :func:`simulate` of this process will compile the engine.

    False when the compiled code is already loaded in this process or sits in numba's
    on-disk cache for this source, numba version and machine; cheap (no compiling).
    """
    kernel = _kernel()
    dispatcher: Any = kernel.run
    if dispatcher.overloads:
        return False
    try:
        cache = dispatcher._cache
        index = cache._cache_file._load_index()
        magic = dispatcher.targetctx.codegen().magic_tuple()
    except Exception:  # private numba API: when in doubt, say it compiles
        return True
    return not any(key[1] == magic for key in index)


def _kernel() -> ModuleType:
    from canmore_sim.noc import fast_kernel  # imports numba: only when the engine runs

    return fast_kernel


@dataclass(frozen=True)
class _State:
    """The compiled loop's two arrays and where each segment lies in them."""

    ints: np.ndarray
    floats: np.ndarray
    spans: dict[str, slice]

    def int_segment(self, name: str) -> np.ndarray:
        return self.ints[self.spans[name]]

    def float_segment(self, name: str) -> np.ndarray:
        return self.floats[self.spans[name]]


def _build(k: ModuleType, traffic: Traffic, config: ArchConfig) -> _State:
    """The flat int (int32 where values fit, see :func:`_int_dtype`) and float64 arrays
    of the compiled loop's state (see ``fast_kernel``).

    Segments are written straight into the flat arrays, without a full-size int64
    temporary per column where the values can be computed into their place (row ids,
    unicast packets), so building the state of a VGG16 frame adds little beyond it.
    """
    r = config.router
    n, rows = traffic.n_routers, len(traffic)
    switch = _SWITCHING[r.switching]
    # copies a FIFO can hold: each reserves all its flits, except under wormhole (one)
    slots = r.buffer_depth if switch == k.SW_WORMHOLE else r.buffer_depth // r.flits_per_packet
    cut = switch != k.SW_SAF
    budget = 4 * (traffic.width + traffic.height)
    start = _multicast_starts(traffic)  # None: unicast, every row is a packet
    n_packets = rows if start is None else len(start)
    dtype = _int_dtype(rows, n_packets, budget)
    src = traffic.src if start is None else traffic.src[start]
    vcs = r.virtual_channels
    queues = n * 5 * vcs  # input queues: a FIFO per virtual channel of each input port
    cap = n * 10 + 2 if cut else n * 5 + 2  # cut-through: a head and a tail per output
    fly = vcs * r.buffer_depth + 2 if r.link_pipelined else 0  # transfers in flight/output
    if r.link_pipelined:  # each in flight: a release, an arrival (a head) at most
        cap = n * 5 * (3 * fly + 4) + 2
    port = np.zeros((n * 5, k.N_P), dtype=np.int64)
    port[:, k.P_RR] = 5 * vcs - 1
    port[:, k.P_VRR] = vcs - 1
    port[:, k.P_IRR] = vcs - 1
    port[:, k.P_NEXT], port[:, k.P_INTER] = _links(traffic)
    inq = np.zeros((queues, k.N_Q), dtype=np.int64)
    inq[:, k.Q_FREE] = r.buffer_depth if cut else slots  # flit credits, or copy slots
    inj_list = (n_packets, partial(_grouped_by_source, src, n))  # filled in place
    inj_base = np.zeros(n, dtype=np.int64)  # first entry of each source router in inj_list
    np.cumsum(np.bincount(src, minlength=n)[:-1], out=inj_base[1:])
    table, dcol, routing = _routing_table(traffic, config)
    length = None if start is None else np.diff(np.append(start, rows))
    longest = max(1 if length is None else int(length.max()) if n_packets else 1, 5)
    # a segment is an array to copy in, or its size (zeros), or (size, fill value or
    # function that fills its view)
    ints: dict[str, Any] = {
        "port": port, "inq": inq, "copy": queues * slots * k.N_C,
        "perm": 0 if start is None else (rows, _count_up),  # unicast: the identity (_row)
        "dst": traffic.dst, "sops": rows if traffic.sops is None else traffic.sops,
        "hops": rows, "charged": 0 if start is None else rows, "charged_inter": rows,
        "pk_start": 0 if start is None else start,  # unicast: packet p is row p (K_UNICAST)
        "pk_len": 0 if length is None else length, "pk_src": src,
        "inj_list": inj_list, "inj_head": inj_base, "inj_tail": inj_base,
        "touch_mark": n, "touched": n, "scr_ports": longest,
        "scr_rows": longest, "scr_counts": 5, "heap_s": cap,
        "heap_e": cap, "ring_s": 3 * cap, "ring_e": 3 * cap,
        "table": table, "dcol": dcol, "x": np.arange(n) % traffic.width,
        "src": traffic.src if routing >= k.ROUTE_WEST_FIRST else 0,
        "y": np.arange(n) // traffic.width,
    }
    floats: dict[str, Any] = {
        "portf": n * 5 * k.N_F, "arrival": queues * slots, "deliver": (rows, np.nan),
        "pk_time": traffic.time_ns if start is None else traffic.time_ns[start],
        "heap_t": cap, "ring_t": 3 * cap, "copyf": queues * slots * k.N_CF if cut else 0}
    ints["fly"] = n * 5 * fly * k.N_FLY
    head = np.zeros(k.N_HEAD, dtype=np.int64)
    head[[k.K_WIDTH, k.K_FLITS, k.K_SLOTS, k.K_BUDGET, k.K_ROUTING, k.K_N_PACKETS,
          k.K_N_DCOL, k.K_CAP, k.K_UNICAST]] = (traffic.width, r.flits_per_packet, slots,
                                               budget, routing, n_packets, table.shape[1],
                                               cap, start is None)
    head[[k.K_SWITCH, k.K_NEED, k.K_DEPTH, k.K_PIPE, k.K_FLY, k.K_VCS]] = (
        switch, r.flits_per_packet if switch == k.SW_VCT else 1, r.buffer_depth,
        r.link_pipelined, fly, vcs)
    head_f = np.zeros(k.N_HEAD_F)
    head_f[k.KF_ROUTER] = r.router_delay_ns
    head_f[k.KF_LINK] = r.flits_per_packet * r.link_delay_ns
    head_f[k.KF_INTER] = r.flits_per_packet * config.multichip.interchip_link_delay_ns
    head_f[k.KF_SOP] = config.core.sop_ns
    head_f[k.KF_FLIT_LINK] = r.link_delay_ns
    head_f[k.KF_FLIT_INTER] = config.multichip.interchip_link_delay_ns
    head_f[k.KF_EJECT] = r.flits_per_packet * r.router_delay_ns
    spans: dict[str, slice] = {}
    arrays = [_flat(k, ints, k.N_HEAD, dtype, head, spans),
              _flat(k, floats, k.N_HEAD_F, np.float64, head, spans)]
    arrays[0][: k.N_HEAD] = head
    arrays[1][: k.N_HEAD_F] = head_f
    return _State(arrays[0], arrays[1], spans)


_SWITCHING = {"store-and-forward": 0, "virtual-cut-through": 1, "wormhole": 2}  # fast_kernel.SW_*


def _count_up(view: np.ndarray) -> None:
    """Write 0, 1, 2, ... into ``view`` a chunk at a time (no full-size temporary)."""
    step = 1 << 16
    for first in range(0, len(view), step):
        view[first:first + step] = np.arange(first, min(first + step, len(view)))


def _grouped_by_source(src: np.ndarray, n_routers: int, view: np.ndarray) -> None:
    """Write into ``view`` the packets ``0 .. len(src) - 1`` grouped by source router, each
    source's in injection order: what a stable sort by ``src`` gives.

    Consecutive packets from one source (a spike's rows under unicast) form a run, and a
    stable sort keeps a run whole and its packets in order, so the runs are sorted by
    source (stably: by first packet) and expanded: one sort of runs, not of packets (VGG16:
    about 75,000 runs for 1.5 M packets). A traffic of short runs takes the sort of
    packets (a radix sort on 16-bit router ids).
    """
    n = len(src)
    first = np.flatnonzero(src[1:] != src[:-1]) + 1 if n else np.zeros(0, dtype=np.int64)
    if 4 * (len(first) + 1) > n:
        view[:] = np.argsort(src.astype(np.uint16) if n_routers <= 1 << 16 else src,
                             kind="stable")
        return
    first = np.concatenate(([0], first))
    length = np.diff(np.append(first, n))
    order = np.argsort(src[first], kind="stable")
    first, length = first[order], length[order]
    # packet j of the output (in run r, at k from its start) is first[r] + k: the run's
    # first packet less the output position where it starts, plus j
    start = np.cumsum(length) - length
    view[:] = np.repeat((first - start).astype(view.dtype), length)
    step = 1 << 16
    for at in range(0, n, step):
        view[at:at + step] += np.arange(at, min(at + step, n), dtype=view.dtype)


def _int_dtype(rows: int, n_packets: int, budget: int) -> type:
    """int32 for the int state when every value it can hold fits (half the memory and
    cache traffic), else int64.

    The largest values are the event sequence numbers: at most one transfer per row and
    link crossed (``budget`` + 1 with the ejection) plus one injector step per packet.
    Offsets are bounded by the state's size, which is below that bound.
    """
    events = rows * (budget + 1) + n_packets + 64
    return np.int32 if 64 * (rows + n_packets) + events < np.iinfo(np.int32).max else np.int64


def _flat(k: ModuleType, segments: dict[str, Any], first: int, dtype: type, head: np.ndarray,
          spans: dict[str, slice]) -> np.ndarray:
    """One flat zero-initialised array holding ``segments`` after ``first`` header words.

    Records each segment's offset in ``head`` and its span in ``spans``; segments given
    by size stay zero (or take their fill value, or are filled in place by their fill
    function), so no temporary of their size exists.
    """
    offset = first
    for name, values in segments.items():
        size = (values if isinstance(values, int) else values[0] if isinstance(values, tuple)
                else values.size)
        head[getattr(k, f"O_{name.upper()}")] = offset
        spans[name] = slice(offset, offset + size)
        offset += size
    flat: np.ndarray = np.zeros(offset, dtype=dtype)
    for name, values in segments.items():
        if isinstance(values, tuple):
            if callable(values[1]):
                values[1](flat[spans[name]])
            else:
                flat[spans[name]] = values[1]
        elif not isinstance(values, int):
            flat[spans[name]] = np.ravel(values)
    return flat


def _multicast_starts(traffic: Traffic) -> np.ndarray | None:
    """First row of every packet in injection order, or None under unicast (every row is
    a packet: its own first row, one row long, from its own source).

    Under multicast a packet is a run of rows with the same spike, source and time (the
    reference injector's grouping).
    """
    if not traffic.multicast or not len(traffic):
        return None
    same = ((traffic.spike[1:] == traffic.spike[:-1]) & (traffic.src[1:] == traffic.src[:-1])
            & (traffic.time_ns[1:] == traffic.time_ns[:-1]))
    return np.flatnonzero(np.concatenate(([True], ~same)))


def _links(traffic: Traffic) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour through each (router, output port) (-1: off the mesh or local) and whether
    that link joins two chips."""
    w, h = traffic.width, traffic.height
    r = np.arange(traffic.n_routers)
    x, y = r % w, r // w
    nxt = np.full((len(r), 5), -1, dtype=np.int64)
    for out, (dx, dy) in PORTS_OUT.items():
        ok = (x + dx >= 0) & (x + dx < w) & (y + dy >= 0) & (y + dy < h)
        nxt[ok, out] = r[ok] + dx + dy * w
    inter = np.zeros_like(nxt)
    cw, ch = traffic.chip_width, traffic.chip_height
    if cw:
        has = nxt >= 0
        there = np.where(has, nxt, r[:, None])
        inter = (has & ((x[:, None] // cw != there % w // cw)
                        | (y[:, None] // ch != there // w // ch))).astype(np.int64)
    return nxt.reshape(-1), inter.reshape(-1)


def _routing_table(traffic: Traffic, config: ArchConfig) -> tuple[np.ndarray, np.ndarray, int]:
    """(table, column of each destination router, routing kind) for the compiled loop.

    XY and YX are computed in the loop; any other registered routing function is
    tabulated for every router and every destination the traffic uses.
    """
    from canmore_sim.noc import fast_kernel as k

    route = get_routing(config.router.routing)
    n = traffic.n_routers
    if isinstance(route, Adaptive):
        kind = {west_first_candidates: k.ROUTE_WEST_FIRST,
                odd_even_candidates: k.ROUTE_ODD_EVEN}.get(route.candidates)
        if kind is None:
            raise ConfigError(f"routing {config.router.routing!r} is adaptive but not one the "
                              "fast engine knows; use run.engine: simpy",
                              key="router.routing")
        return np.zeros((1, 1), dtype=np.int64), np.zeros(1, dtype=np.int64), kind
    if route is xy_port or route is yx_port:
        kind = k.ROUTE_XY if route is xy_port else k.ROUTE_YX
        return np.zeros((1, 1), dtype=np.int64), np.zeros(1, dtype=np.int64), kind
    dsts = np.unique(traffic.dst).tolist()
    dcol = np.zeros(n, dtype=np.int64)
    dcol[dsts] = np.arange(len(dsts))
    table = np.array([[route(here, d, traffic.width) for d in dsts] for here in range(n)],
                     dtype=np.int64).reshape(n, len(dsts))
    return table, dcol, k.ROUTE_TABLE


def _error(k: ModuleType, state: _State, traffic: Traffic, config: ArchConfig,
           code: int) -> SimulationError:
    a, b, c, d = (int(v) for v in state.ints[[k.I_ERR_A, k.I_ERR_B, k.I_ERR_C, k.I_ERR_D]])
    if code == k.LIVELOCK:
        return livelock_error(d, int(traffic.dst[c]), config.router.routing, a, b)
    return SimulationError(
        f"routing {config.router.routing!r} sends a packet out of router {a} through port "
        f"{b}, which leads off the {traffic.width}x{traffic.height} mesh", routers=[a])


def _counters(k: ModuleType, state: _State, traffic: Traffic) -> dict[str, Any]:
    """What :func:`~canmore_sim.noc.engine.stats_from` needs, copied out of the int state
    (so it can go; the per-row counts stay in the state's dtype until :func:`_widen`);
    a deadlock (packets left in a buffer or queue) is raised."""
    n = traffic.n_routers
    p = state.int_segment("port").reshape(n, 5, k.N_P)
    pf = state.float_segment("portf").reshape(n, 5, k.N_F)
    deliver = state.float_segment("deliver")
    buffered = state.int_segment("inq").reshape(n, -1, k.N_Q)[:, :, k.Q_LEN].any(axis=1)
    queued = state.int_segment("inj_head") < state.int_segment("inj_tail")
    stuck = sorted(set(np.flatnonzero(buffered).tolist() + np.flatnonzero(queued).tolist()))
    if stuck or np.isnan(deliver).any():
        raise deadlock_error(stuck)
    unicast = bool(state.ints[k.K_UNICAST])
    # under unicast every copy is one row, so each row is charged its own links: one array
    # (K_UNICAST); ``deliver`` stays a view of the float state until the int state is gone
    return {"hops": state.int_segment("hops").copy(), "deliver": deliver,
            "charged": None if unicast else state.int_segment("charged").copy(),
            "charged_inter": state.int_segment("charged_inter").copy(),
            "link_flits": _int64(p[:, :, k.P_LINKF]), "wait": pf[:, :, k.F_WAIT].copy(),
            "occupancy": _int64(p[:, :, k.P_OCC]), "area": pf[:, :, k.F_AREA].copy(),
            "link_hops": int(state.ints[k.I_LINK_HOPS]),
            "inter_hops": int(state.ints[k.I_INTER_HOPS])}


def _widen(counters: dict[str, Any]) -> dict[str, Any]:
    """The per-row counts of :func:`_counters` as int64 (the statistics' dtype), one at a
    time (each narrow copy goes as its wide one is made)."""
    for name in ("hops", "charged_inter", "charged"):
        if counters[name] is not None:
            counters[name] = _int64(counters[name])
    if counters["charged"] is None:
        counters["charged"] = counters["hops"]
    return counters


def _int64(values: np.ndarray) -> np.ndarray:
    """An int64 copy of a segment of the int state (the statistics' dtype)."""
    return values.astype(np.int64)
