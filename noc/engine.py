"""SimPy model of an asynchronous 2-D mesh network-on-chip.

This docstring describes the default router (store-and-forward, unpipelined links, one
virtual channel, deterministic routing); ``router.switching`` (:mod:`~canmore_sim.noc.
cutthrough`), ``router.link_pipelined`` (``_pipeline``), ``router.virtual_channels`` (a
FIFO per VC, round-robin VC allocation per output) and adaptive routings (``_select``,
:mod:`~canmore_sim.noc.routing`) change what docs/guides/router-options.md says.

Model (docs/explanation/noc.md and docs/explanation/domain-rules.md, "Traffic and NoC")
--------------------------------------------------------------------------------------
* Every router has five ports (local, N, E, S, W); each input port has a FIFO of
  ``router.buffer_depth`` flits. A packet is ``router.flits_per_packet`` flits and
  moves **store-and-forward**: it needs room for all its flits in the downstream
  FIFO before it is granted, and occupies them until it is latched there.
* The packet at the head of an input FIFO computes its route (``router.routing``)
  and requests its output port(s). Each output port has a **round-robin switch
  allocator** over the five input ports. A request is granted only when the
  output is idle and the downstream FIFO has room (**backpressure**, credits
  reserved at grant).
* **Asynchronous timing**, no clock: a granted packet takes ``router_delay_ns``
  (route computation, allocation, crossbar) plus ``flits x link_delay_ns`` on the
  link (``multichip.interchip_link_delay_ns`` where the link joins two chips), and
  holds the output for that time. Ejection into the local core takes
  ``flits x router_delay_ns`` (one router delay per flit). So a lone packet crossing ``h``
  links has latency ``(h + flits) * router_delay_ns + flits * h * link_delay_ns``.
* **Injection**: each core has an unbounded injection queue feeding its router's
  local input port; a packet is ready at ``traffic.time_ns``.
* **Ejection**: the core consumes a packet in ``flits x router_delay_ns + core.sop_ns x sops``
  (its synaptic operations there), holding the local output port meanwhile, so a
  slow core backs up into the network.
* **Multicast**: the rows of one spike travel as one packet, copied at routers
  where the XY paths to its destinations diverge; the copy at the head of a FIFO
  is granted on each needed output independently and leaves the FIFO when all
  its branches have been sent.

Statistics: a hop is one packet crossing one router-to-router link (a multicast copy
crossing a link is one hop, charged to the first destination row the copy carries,
so the charged hops of the rows add up to the frame's link hops). Waiting is the
time between a packet (copy) arriving in an input FIFO (for the source: being
ready in the injection queue) and being granted an output, attributed to that
router and input port; summed over a packet's path it equals its latency minus
its zero-load latency.

Every transfer is one SimPy timeout event with a callback; injections come from
one SimPy process. If the event queue runs dry while packets remain buffered
(deadlock), or a packet crosses more links than any minimal route needs
(livelock: ``4 x (width + height)``), :class:`~canmore_sim.errors.SimulationError`
names the routers involved instead of hanging.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from functools import partial

import numpy as np
import simpy

from canmore_sim.config import ArchConfig
from canmore_sim.errors import ConfigError, SimulationError
from canmore_sim.noc.routing import LOCAL, OPPOSITE, Adaptive, get_routing, neighbour
from canmore_sim.noc.stats import NocStats
from canmore_sim.noc.traffic import Traffic
from canmore_sim.noc.zero_load import zero_load_latency

__all__ = ["PROGRESS_ROWS", "SIMULATORS", "check_inputs", "deadlock_error", "livelock_error",
           "simulate", "stats_from"]

#: Delivered rows between two ``progress`` calls of the SimPy engine.
PROGRESS_ROWS = 1 << 16


def simulate(traffic: Traffic, config: ArchConfig, *,
             progress: Callable[[int, int], None] | None = None) -> NocStats:
    """Replay one frame's traffic through the mesh and count what happened.

    Parameters
    ----------
    traffic
        Packets of one frame (see :class:`~canmore_sim.noc.traffic.Traffic`).
    config
        Supplies ``router`` (buffer depth, flits, routing, delays),
        ``core.sop_ns`` and ``multichip.interchip_link_delay_ns``.
    progress
        Called as ``progress(delivered_rows, total_rows)`` every :data:`PROGRESS_ROWS`
        deliveries and once at the end.

    Raises
    ------
    SimulationError
        For router indices outside the mesh, non-finite or negative times, or a
        deadlock (naming the routers with stuck packets).
    ConfigError
        If a packet does not fit an input buffer or the routing is unknown.
    """
    check_inputs(traffic, config)
    simulator = SIMULATORS[config.router.switching]
    with _no_cyclic_gc():
        stats = simulator(traffic, config, progress).run()
    if progress is not None:
        progress(len(traffic), len(traffic))
    return stats


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during a run, restoring it after.

    A congested run keeps hundreds of thousands of queued packets alive, and every
    automatic collection walks them: on the 20,000-packet hotspot of
    ``benchmarks/noc_speed.py`` the median speed rose from 131k to 163k packet-hops/s
    with the collector paused. The engine frees its events by reference counting (they
    form no cycles), so nothing accumulates meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_inputs(traffic: Traffic, config: ArchConfig) -> None:
    """Refuse traffic or a configuration that no engine can simulate (see :func:`simulate`)."""
    n = traffic.n_routers
    for name in ("src", "dst"):
        col = getattr(traffic, name)
        if len(col) and (col.min() < 0 or col.max() >= n):
            raise SimulationError(f"traffic {name} router index out of range 0..{n - 1} for a "
                                  f"{traffic.width}x{traffic.height} mesh")
    if len(traffic) and (not np.isfinite(traffic.time_ns).all() or traffic.time_ns.min() < 0):
        raise SimulationError("traffic times must be finite and >= 0 ns")
    if config.router.flits_per_packet > config.router.buffer_depth:
        raise ConfigError(
            f"router.flits_per_packet ({config.router.flits_per_packet}) exceeds "
            f"router.buffer_depth ({config.router.buffer_depth}): the model needs a whole "
            "packet to fit one input buffer", key="router.flits_per_packet")
    get_routing(config.router.routing)


class _Copy:
    """A packet (or multicast copy) sitting in one input FIFO."""

    __slots__ = ("rows", "arrival", "branches", "pending")

    def __init__(self, rows: list[int], arrival: float) -> None:
        self.rows = rows
        self.arrival = arrival
        self.branches: dict[int, list[int]] = {}
        self.pending = 0


class _Simulator:
    def __init__(self, traffic: Traffic, config: ArchConfig,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.t = traffic
        self.progress = progress
        self.delivered = 0
        self.next_report = PROGRESS_ROWS
        self.config = config
        self.env = simpy.Environment()
        r = config.router
        self.width = traffic.width
        self.route = get_routing(r.routing)
        self.adaptive = isinstance(self.route, Adaptive)
        self.src = traffic.src.tolist() if self.adaptive else []
        self.flits = r.flits_per_packet
        self.d_router = r.router_delay_ns
        self.d_eject = self.flits * r.router_delay_ns  # one router delay per flit ejected
        self.d_link = self.flits * r.link_delay_ns
        self.d_inter = self.flits * config.multichip.interchip_link_delay_ns
        self.cw, self.ch = traffic.chip_width, traffic.chip_height
        self.sop_ns = config.core.sop_ns
        self.copy_type: type[_Copy] = _Copy
        self.pipelined = r.link_pipelined
        self.link_free = [[0.0] * 5 for _ in range(traffic.n_routers)]  # end of link stage
        self.sops = [0] * len(traffic) if traffic.sops is None else traffic.sops.tolist()
        self.hop_budget = 4 * (traffic.width + traffic.height)
        n = traffic.n_routers
        slots = r.buffer_depth // self.flits
        # input queues: virtual channel v of input port p is queue q = p * vcs + v
        self.vcs = vcs = r.virtual_channels
        self.buf: list[list[deque[_Copy]]] = [[deque() for _ in range(5 * vcs)]
                                              for _ in range(n)]
        self.free = [[slots] * (5 * vcs) for _ in range(n)]
        self.held = [[0] * 5 for _ in range(n)]  # per input port: copies held in its queues
        self.busy = [[False] * 5 for _ in range(n)]
        self.req = [[0] * 5 for _ in range(n)]  # bit mask of requesting input queues per output
        self.rr = [[5 * vcs - 1] * 5 for _ in range(n)]  # last input queue granted per output
        self.vrr = [[vcs - 1] * 5 for _ in range(n)]  # last downstream VC allocated per output
        self.irr = [vcs - 1] * n  # last local VC a packet was injected into
        self.inject: list[deque[_Copy]] = [deque() for _ in range(n)]
        rows = len(traffic)
        self.dst = traffic.dst.tolist()
        self.hops = [0] * rows
        self.charged = [0] * rows  # links of each copy, charged to the copy's first row
        self.charged_inter = [0] * rows
        self.deliver = np.full(rows, np.nan)
        # per (router, port) counters as nested lists (numpy scalar indexing is slow here)
        self.link_flits = [[0] * 5 for _ in range(n)]
        self.wait = [[0.0] * 5 for _ in range(n)]
        self.occupancy = [[0] * 5 for _ in range(n)]
        self.occ_area = [[0.0] * 5 for _ in range(n)]  # flit-ns held, for the time average
        self.occ_since = [[0.0] * 5 for _ in range(n)]
        self.link_hops = 0
        self.inter_hops = 0

    # -- driving -----------------------------------------------------------------------
    def run(self) -> NocStats:
        self.env.process(self._injector())
        self.env.run()
        stuck = [r for r, ports in enumerate(self.buf) if any(ports)]
        stuck += [r for r, q in enumerate(self.inject) if q]
        if stuck or np.isnan(self.deliver).any():
            raise deadlock_error(sorted(set(stuck)))
        return self._stats()

    def _injector(self) -> Generator[simpy.Event, None, None]:
        t = self.t
        times, src = t.time_ns.tolist(), t.src.tolist()
        spike = t.spike.tolist()
        env, i, n = self.env, 0, len(times)
        while i < n:
            now = times[i]
            if now > env.now:
                yield env.timeout(now - env.now)
            touched = []
            while i < n and times[i] == now:
                j = i + 1
                if t.multicast:
                    while j < n and spike[j] == spike[i] and src[j] == src[i] and times[j] == now:
                        j += 1
                self.inject[src[i]].append(self.copy_type(list(range(i, j)), now))
                touched.append(src[i])
                i = j
            for r in dict.fromkeys(touched):
                self._try_inject(r)

    def _try_inject(self, r: int) -> None:
        queue, free = self.inject[r], self.free[r]
        while queue:
            vc = self._vc_with_room(free, LOCAL, self.irr[r], 1)
            if vc < 0:
                break
            self.irr[r] = vc
            free[vc] -= 1
            self._enqueue(r, vc, queue.popleft())

    def _vc_with_room(self, free: list[int], port: int, last: int, need: int) -> int:
        """Round robin from VC ``last + 1``: the first VC of input ``port`` whose queue has
        ``need`` credits (``free``: the router's credits per queue), or -1 if none has."""
        vcs = self.vcs
        for k in range(1, vcs + 1):
            vc = (last + k) % vcs
            if free[port * vcs + vc] >= need:
                return port * vcs + vc
        return -1

    def _enqueue(self, r: int, q: int, copy: _Copy) -> None:
        fifo = self.buf[r][q]
        port = q // self.vcs
        held = self.held[r]
        self._account(r, port, held[port])
        fifo.append(copy)
        held[port] += 1
        occupied = held[port] * self.flits
        if occupied > self.occupancy[r][port]:
            self.occupancy[r][port] = occupied
        if len(fifo) == 1:
            self._request(r, q)

    def _account(self, r: int, port: int, held: int) -> None:
        """Add the flit-time held in FIFO (r, port) since its last change."""
        now = self.env.now
        self.occ_area[r][port] += held * self.flits * (now - self.occ_since[r][port])
        self.occ_since[r][port] = now

    # -- router ------------------------------------------------------------------------
    def _request(self, r: int, q: int) -> None:
        """The copy now at the head of input queue (r, q) requests its output port(s)."""
        copy = self.buf[r][q][0]
        route, dst, width = self.route, self.dst, self.width
        rows = copy.rows
        branches: dict[int, list[int]]
        if self.adaptive:
            branches = {}
            for row in rows:
                branches.setdefault(self._select(r, row), []).append(row)
        elif len(rows) == 1:  # unicast fast path
            branches = {route(r, dst[rows[0]], width): rows}
        else:
            branches = {}
            for row in rows:
                branches.setdefault(route(r, dst[row], width), []).append(row)
        copy.branches = branches
        copy.pending = len(branches)
        bit = 1 << q
        req, busy = self.req[r], self.busy[r]
        for out in branches:
            req[out] |= bit
        for out in list(branches):
            if not busy[out]:  # a busy output re-arbitrates when its transfer is done
                self._arbitrate(r, out)

    def _select(self, r: int, row: int) -> int:
        """Adaptive routing: the admissible output whose downstream input port holds least
        (the first on a tie), see :mod:`~canmore_sim.noc.routing`."""
        assert isinstance(self.route, Adaptive)
        width = self.width
        ports = self.route.candidates(r, self.src[row], self.dst[row], width)
        best = ports[0]
        if len(ports) > 1:
            least = self.held[neighbour(r, best, width)][OPPOSITE[best]]
            for out in ports[1:]:
                held = self.held[neighbour(r, out, width)][OPPOSITE[out]]
                if held < least:
                    best, least = out, held
        return best

    def _arbitrate(self, r: int, out: int) -> None:
        if self.busy[r][out]:
            return
        mask = self.req[r][out]
        if not mask:
            return
        if out != LOCAL:
            nxt = neighbour(r, out, self.width)
            in_q = self._vc_with_room(self.free[nxt], OPPOSITE[out], self.vrr[r][out], 1)
            if in_q < 0:
                return  # backpressure: wait for a credit
            self.vrr[r][out] = in_q % self.vcs
            self.free[nxt][in_q] -= 1
        else:
            nxt, in_q = r, LOCAL
        last = self.rr[r][out]
        queues = 5 * self.vcs
        for k in range(1, queues + 1):
            port = (last + k) % queues
            if mask >> port & 1:
                break
        self.req[r][out] = mask & ~(1 << port)
        self.rr[r][out] = port
        self.busy[r][out] = True
        copy = self.buf[r][port][0]
        rows = copy.branches[out]
        now = self.env.now
        self.wait[r][port // self.vcs] += (now - copy.arrival) * len(rows)
        if out == LOCAL:
            delay = self.d_eject
            if self.sop_ns:
                delay += self.sop_ns * sum(self.sops[row] for row in rows)
        else:
            link = self.d_inter if self.cw and (
                r % self.width // self.cw != nxt % self.width // self.cw
                or r // self.width // self.ch != nxt // self.width // self.ch) else self.d_link
            delay = (self._pipeline(r, out, port, copy, link) if self.pipelined
                     else self.d_router + link)
        event = self.env.timeout(delay)
        event.callbacks.append(partial(self._done, r, out, port, copy, rows, nxt, in_q))

    def _pipeline(self, r: int, out: int, port: int, copy: _Copy, link_ns: float) -> float:
        """``router.link_pipelined``: start the link stage of a transfer granted now when
        its router stage is over and the link is free; schedule its release
        ``router_delay_ns`` before the link stage ends (not before now). Returns the delay
        from now to the end of the link stage (the arrival)."""
        now = self.env.now
        start = now + self.d_router
        if self.link_free[r][out] > start:
            start = self.link_free[r][out]
        end = start + link_ns
        self.link_free[r][out] = end
        self._schedule_release(r, out, port, copy, end)
        return end - now

    def _schedule_release(self, r: int, out: int, port: int, copy: _Copy, end: float) -> None:
        now = self.env.now
        release = end - self.d_router
        if release < now:
            release = now
        event = self.env.timeout(release - now)
        event.callbacks.append(partial(self._release, r, out, port, copy))

    def _release(self, r: int, out: int, port: int, copy: _Copy, _event: simpy.Event) -> None:
        """A pipelined transfer is on its link: the branch counts as sent (the copy leaves
        its input FIFO once all are), and the output takes its next packet."""
        self.busy[r][out] = False
        copy.pending -= 1
        if copy.pending == 0:
            self._leave(r, port)
        if self.req[r][out] and not self.busy[r][out]:
            self._arbitrate(r, out)

    def _done(self, r: int, out: int, port: int, copy: _Copy, rows: list[int], nxt: int,
              in_port: int, _event: simpy.Event) -> None:
        now = self.env.now
        held = self.pipelined and out != LOCAL  # released earlier (``_release``)
        if not held:
            self.busy[r][out] = False
        if out == LOCAL:
            self.link_flits[r][LOCAL] += self.flits
            for row in rows:
                self.deliver[row] = now
            if self.progress is not None:
                self.delivered += len(rows)
                if self.delivered >= self.next_report:
                    self.next_report += PROGRESS_ROWS
                    self.progress(self.delivered, len(self.t))
        else:
            self.link_hops += 1
            self.charged[rows[0]] += 1
            self.link_flits[r][out] += self.flits
            if self.cw and (r % self.width // self.cw != nxt % self.width // self.cw
                            or r // self.width // self.ch != nxt // self.width // self.ch):
                self.inter_hops += 1
                self.charged_inter[rows[0]] += 1
            hops = self.hops
            for row in rows:
                hops[row] += 1
            if hops[rows[0]] > self.hop_budget:
                raise livelock_error(hops[rows[0]], self.dst[rows[0]],
                                     self.config.router.routing, r, nxt)
            self._enqueue(nxt, in_port, _Copy(rows, now))
        if held:
            return  # the branch was sent at its release
        copy.pending -= 1
        if copy.pending == 0:
            self._leave(r, port)
        if self.req[r][out] and not self.busy[r][out]:
            self._arbitrate(r, out)

    def _leave(self, r: int, q: int) -> None:
        """The head copy of input queue (r, q) has sent all its branches: free its slot."""
        fifo = self.buf[r][q]
        port = q // self.vcs
        self._account(r, port, self.held[r][port])
        fifo.popleft()
        self.held[r][port] -= 1
        if fifo:  # the next copy requests before the freed slot is refilled
            self._request(r, q)
        self.free[r][q] += 1
        if port == LOCAL:
            self._try_inject(r)
            return
        up, out = neighbour(r, port, self.width), OPPOSITE[port]
        if self.req[up][out] and not self.busy[up][out]:  # the credit unblocks a waiting output
            self._arbitrate(up, out)

    # -- results -----------------------------------------------------------------------
    def _stats(self) -> NocStats:
        return stats_from(
            self.t, self.config, hops=np.asarray(self.hops, dtype=np.int64), deliver=self.deliver,
            link_flits=np.asarray(self.link_flits, dtype=np.int64).reshape(-1, 5),
            wait=np.asarray(self.wait, dtype=np.float64).reshape(-1, 5),
            occupancy=np.asarray(self.occupancy, dtype=np.int64).reshape(-1, 5),
            area=np.asarray(self.occ_area, dtype=np.float64).reshape(-1, 5),
            link_hops=self.link_hops, inter_hops=self.inter_hops,
            charged=np.asarray(self.charged, dtype=np.int64),
            charged_inter=np.asarray(self.charged_inter, dtype=np.int64))


#: The SimPy simulator for each ``router.switching``: store-and-forward here; the package
#: (``canmore_sim.noc``) loads :mod:`canmore_sim.noc.cutthrough`, which adds
#: ``virtual-cut-through`` and ``wormhole`` (its simulator extends this one).
SIMULATORS: dict[str, type[_Simulator]] = {"store-and-forward": _Simulator}


def deadlock_error(routers: list[int]) -> SimulationError:
    """The error of a run whose events ran out with packets still buffered at ``routers``."""
    return SimulationError(
        f"the network stopped making progress with packets still buffered at routers "
        f"{routers[:16]}{'...' if len(routers) > 16 else ''} (deadlock)", routers=routers)


def livelock_error(hops: int, dst: int, routing: str, here: int, nxt: int) -> SimulationError:
    """The error of a packet that crossed ``hops`` links, more than any minimal route needs."""
    return SimulationError(
        f"a packet crossed {hops} links without reaching router {dst} (livelock; routing "
        f"{routing!r}), last at routers {[here, nxt]}", routers=[here, nxt])


def stats_from(traffic: Traffic, config: ArchConfig, *, hops: np.ndarray, deliver: np.ndarray,
               link_flits: np.ndarray, wait: np.ndarray, occupancy: np.ndarray,
               area: np.ndarray, link_hops: int, inter_hops: int, charged: np.ndarray,
               charged_inter: np.ndarray) -> NocStats:
    """NocStats of a finished run from an engine's counters (shared by every engine).

    Parameters
    ----------
    hops, deliver
        Per row: links crossed (int64) and delivery time (float64 ns).
    link_flits, wait, occupancy, area
        Per ``(router, port)``: flits sent, waiting (ns), peak flits held, and flit-ns held.
    link_hops, inter_hops
        Links crossed by all packets, and those between chips.
    charged, charged_inter
        Per row: links (all, and those between chips) crossed by the copies whose first
        row it is (see :class:`~canmore_sim.noc.stats.NocStats`).
    """
    zero = zero_load_latency(traffic, config)
    end = float(deliver.max()) if len(deliver) else 0.0
    mean_occ = area / end if end > 0 else np.zeros_like(area)
    return NocStats(
        hops=hops,
        inject_ns=traffic.time_ns.astype(np.float64, copy=False),
        deliver_ns=deliver,
        zero_load_ns=zero,
        late=deliver > traffic.deadline_ns,
        link_flits=link_flits,
        wait_ns=wait,
        max_occupancy=occupancy,
        link_hops=int(link_hops),
        end_ns=end,
        interchip_hops=int(inter_hops),
        mean_occupancy=mean_occ,
        charged_hops=charged,
        charged_interchip_hops=charged_inter,
    )
