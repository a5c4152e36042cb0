"""Virtual cut-through and wormhole switching in the SimPy reference engine.

``router.switching`` (see :mod:`canmore_sim.noc.engine` for store-and-forward, the
default, and for everything the modes share: ports, FIFOs, round-robin allocation,
multicast copies, statistics). The model stays at the level of packets, with two
events per transfer across a link; buffer space is counted in flit credits.

* **Credits per flit.** Each input buffer has ``buffer_depth`` flit credits. Under
  ``virtual-cut-through`` an output is granted only when the downstream buffer has room
  for all ``flits_per_packet`` flits (all reserved at the grant); under ``wormhole`` one
  free flit is enough: the grant takes what is free (up to the packet's flits) and the
  transfer then waits, holding the output and the link, until the downstream buffer has
  returned the missing credits (its packets ahead have left). A packet's credits return
  upstream, all at once, when its tail has left the buffer (all its branches sent):
  flits of one packet are not tracked one by one. Injection writes a whole packet into
  the local buffer (room for all its flits).
* **Head and tail.** A transfer granted at ``g`` over a link of ``d`` ns per flit
  delivers its head downstream at ``g + (router_delay_ns + d)``; the packet (copy) is
  then in the downstream FIFO (its waiting starts) and may be granted onwards before
  its tail has arrived (cut-through). The tail crosses at
  ``max(g + (router_delay_ns + flits x d), c + d, t + d)``, with ``c`` the time the last
  credit was obtained (``g`` without a wormhole stall) and ``t`` the time the tail
  reached this router; this event frees the output and tells the downstream copy where
  its tail is. It is scheduled once the head has arrived, the credits are complete and
  ``t`` is known (whichever comes last).
* **Ejection** of a copy granted the local output at ``g`` ends (delivery) at
  ``max(g + flits x router_delay_ns, t + router_delay_ns) + core.sop_ns x sops``: one
  router delay per flit ejected, no earlier than one after the tail arrived.
* **Occupancy** of a buffer is the flit credits taken from it (reserved at the grant, so
  a packet counts from the moment its room is promised until its tail has left).

A lone packet crossing ``h`` links of one kind (``d`` ns per flit) has latency
``max(h x (router + d) + flits x router, h x router + (h + flits - 1) x d + router)``
(:func:`~canmore_sim.noc.zero_load.zero_load_ns`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import simpy

from canmore_sim.config import ArchConfig
from canmore_sim.noc import engine as _engine
from canmore_sim.noc.engine import _Copy, _Simulator, livelock_error
from canmore_sim.noc.routing import LOCAL, OPPOSITE, neighbour
from canmore_sim.noc.traffic import Traffic

__all__ = ["CutThroughSimulator"]


class _CtCopy(_Copy):
    """A copy in an input FIFO, with where its tail is and its granted branches."""

    __slots__ = ("tail", "xfers")

    def __init__(self, rows: list[int], arrival: float) -> None:
        super().__init__(rows, arrival)
        self.tail: float | None = None  # when its tail reached this router (None: not yet)
        self.xfers: dict[int, _Xfer] = {}


class _Xfer:
    """One granted branch of a copy: a transfer out of router ``r`` through ``out``."""

    __slots__ = ("r", "out", "port", "copy", "rows", "nxt", "in_port", "grant", "short",
                 "credit_t", "flit_ns", "down", "scheduled", "start")

    def __init__(self, r: int, out: int, port: int, copy: _CtCopy, rows: list[int], nxt: int,
                 in_port: int, grant: float, short: int) -> None:
        self.r, self.out, self.port, self.copy, self.rows = r, out, port, copy, rows
        self.nxt, self.in_port, self.grant, self.short = nxt, in_port, grant, short
        self.credit_t = grant  # when the last missing credit was obtained
        self.flit_ns = 0.0
        self.down: _CtCopy | None = None  # the copy downstream, once the head has arrived
        self.scheduled = False
        self.start = 0.0  # router.link_pipelined: when the link stage starts


class CutThroughSimulator(_Simulator):
    """The SimPy engine under ``virtual-cut-through`` or ``wormhole`` switching."""

    def __init__(self, traffic: Traffic, config: ArchConfig,
                 progress: Callable[[int, int], None] | None = None) -> None:
        super().__init__(traffic, config, progress)
        r = config.router
        self.copy_type = _CtCopy
        self.depth = r.buffer_depth
        self.need = self.flits if r.switching == "virtual-cut-through" else 1
        self.f_link = r.link_delay_ns
        self.f_inter = config.multichip.interchip_link_delay_ns
        n = traffic.n_routers
        self.free = [[self.depth] * (5 * self.vcs) for _ in range(n)]
        self.stall: list[list[_Xfer | None]] = [[None] * (5 * self.vcs) for _ in range(n)]

    # -- buffers -----------------------------------------------------------------------
    def _account_credits(self, r: int, port: int) -> None:
        """Add the flit-time held (credits taken, all VCs) in input ``port`` since its last
        change."""
        now = self.env.now
        self.occ_area[r][port] += self.held[r][port] * (now - self.occ_since[r][port])
        self.occ_since[r][port] = now

    def _take(self, r: int, q: int, credits: int) -> None:
        """Take ``credits`` flit credits of input queue (r, q)."""
        port = q // self.vcs
        self._account_credits(r, port)
        self.free[r][q] -= credits
        self.held[r][port] += credits
        if self.held[r][port] > self.occupancy[r][port]:
            self.occupancy[r][port] = self.held[r][port]

    def _try_inject(self, r: int) -> None:
        queue, free = self.inject[r], self.free[r]
        while queue:
            vc = self._vc_with_room(free, LOCAL, self.irr[r], self.flits)
            if vc < 0:
                break
            self.irr[r] = vc
            self._take(r, vc, self.flits)
            copy = queue.popleft()
            assert isinstance(copy, _CtCopy)
            copy.tail = self.env.now  # the whole packet is written into the local buffer
            self._enqueue(r, vc, copy)

    def _enqueue(self, r: int, q: int, copy: _Copy) -> None:
        fifo = self.buf[r][q]
        fifo.append(copy)
        if len(fifo) == 1:
            self._request(r, q)

    def _leave(self, r: int, q: int) -> None:
        """The head copy of input queue (r, q) has sent all its tails: return its credits."""
        fifo = self.buf[r][q]
        fifo.popleft()
        if fifo:
            self._request(r, q)
        port = q // self.vcs
        self._account_credits(r, port)
        self.free[r][q] += self.flits
        self.held[r][port] -= self.flits
        x = self.stall[r][q]
        if x is not None:  # a wormhole transfer into this queue waits for credits
            take = min(x.short, self.free[r][q])
            self._take(r, q, take)
            x.short -= take
            if not x.short:
                self.stall[r][q] = None
                x.credit_t = self.env.now
                self._maybe_tail(x)
        if port == LOCAL:
            self._try_inject(r)
            return
        up, out = neighbour(r, port, self.width), OPPOSITE[port]
        if self.req[up][out] and not self.busy[up][out]:
            self._arbitrate(up, out)

    # -- router ------------------------------------------------------------------------
    def _arbitrate(self, r: int, out: int) -> None:
        if self.busy[r][out]:
            return
        mask = self.req[r][out]
        if not mask:
            return
        take = 0
        if out != LOCAL:
            nxt = neighbour(r, out, self.width)
            in_port = self._vc_with_room(self.free[nxt], OPPOSITE[out], self.vrr[r][out],
                                         self.need)
            if in_port < 0:
                return  # backpressure: wait for credits
            self.vrr[r][out] = in_port % self.vcs
            take = min(self.flits, self.free[nxt][in_port])
            self._take(nxt, in_port, take)
        else:
            nxt, in_port = r, LOCAL
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
        assert isinstance(copy, _CtCopy)
        rows = copy.branches[out]
        now = self.env.now
        self.wait[r][port // self.vcs] += (now - copy.arrival) * len(rows)
        x = _Xfer(r, out, port, copy, rows, nxt, in_port, now,
                  0 if out == LOCAL else self.flits - take)
        copy.xfers[out] = x
        if out == LOCAL:
            self._maybe_tail(x)
            return
        x.flit_ns = self.f_inter if self._interchip(r, nxt) else self.f_link
        if x.short:
            self.stall[nxt][in_port] = x
        if self.pipelined:  # the link stage starts when the router stage is over and the
            start = now + self.d_router  # link is free (``_Simulator._pipeline``)
            if self.link_free[r][out] > start:
                start = self.link_free[r][out]
            x.start = start
            event = self.env.timeout((start + x.flit_ns) - now)
        else:
            event = self.env.timeout(self.d_router + x.flit_ns)
        event.callbacks.append(partial(self._head, x))

    def _interchip(self, r: int, nxt: int) -> bool:
        w = self.width
        return bool(self.cw) and (r % w // self.cw != nxt % w // self.cw
                                  or r // w // self.ch != nxt // w // self.ch)

    def _head(self, x: _Xfer, _event: simpy.Event) -> None:
        """The head of a transfer reaches the downstream FIFO."""
        r, nxt, rows = x.r, x.nxt, x.rows
        self.link_hops += 1
        self.charged[rows[0]] += 1
        self.link_flits[r][x.out] += self.flits
        if self._interchip(r, nxt):
            self.inter_hops += 1
            self.charged_inter[rows[0]] += 1
        hops = self.hops
        for row in rows:
            hops[row] += 1
        if hops[rows[0]] > self.hop_budget:
            raise livelock_error(hops[rows[0]], self.dst[rows[0]],
                                 self.config.router.routing, r, nxt)
        down = _CtCopy(rows, self.env.now)
        x.down = down
        self._enqueue(nxt, x.in_port, down)
        self._maybe_tail(x)

    def _maybe_tail(self, x: _Xfer) -> None:
        """Schedule the end of transfer ``x`` once its head, credits and tail allow."""
        copy = x.copy
        if x.scheduled or copy.tail is None:
            return
        if x.out == LOCAL:
            end = x.grant + self.d_eject
            late = copy.tail + self.d_router
            if late > end:
                end = late
            if self.sop_ns:
                end += self.sop_ns * sum(self.sops[row] for row in x.rows)
        else:
            if x.down is None or x.short:
                return
            if self.pipelined:
                end = x.start + self.flits * x.flit_ns
            else:
                end = x.grant + (self.d_router + self.flits * x.flit_ns)
            late = x.credit_t + x.flit_ns
            if late > end:
                end = late
            late = copy.tail + x.flit_ns
            if late > end:
                end = late
            if self.pipelined:
                self.link_free[x.r][x.out] = end
                self._schedule_release(x.r, x.out, x.port, copy, end)
        if end < self.env.now:  # (start + flit) - now rounded past start + flits x flit
            end = self.env.now
        x.scheduled = True
        event = self.env.timeout(end - self.env.now)
        event.callbacks.append(partial(self._tail, x))

    def _tail(self, x: _Xfer, _event: simpy.Event) -> None:
        """The tail of transfer ``x`` has crossed (or its ejection ended)."""
        now = self.env.now
        r, out = x.r, x.out
        held = self.pipelined and out != LOCAL  # released earlier (``_release``)
        if not held:
            self.busy[r][out] = False
        if out == LOCAL:
            self.link_flits[r][LOCAL] += self.flits
            for row in x.rows:
                self.deliver[row] = now
            if self.progress is not None:
                self.delivered += len(x.rows)
                if self.delivered >= self.next_report:
                    self.next_report += _engine.PROGRESS_ROWS
                    self.progress(self.delivered, len(self.t))
        else:
            down = x.down
            assert down is not None
            down.tail = now
            for branch in down.branches:
                y = down.xfers.get(branch)
                if y is not None:
                    self._maybe_tail(y)
        if held:
            return  # the branch was sent at its release
        copy = x.copy
        copy.pending -= 1
        if copy.pending == 0:
            self._leave(r, x.port)
        if self.req[r][out] and not self.busy[r][out]:
            self._arbitrate(r, out)


_engine.SIMULATORS.update({"virtual-cut-through": CutThroughSimulator,
                          "wormhole": CutThroughSimulator})
