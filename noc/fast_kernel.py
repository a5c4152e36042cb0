"""The compiled event loop of the fast NoC engine (numba ``@njit(cache=True)``).

Every function here mirrors one method of the SimPy reference (``noc/engine.py``) and
performs the same operations in the same order, so that events are scheduled in the same
order and every float is computed by the same sequence of IEEE operations; see
:mod:`canmore_sim.noc.fast` for the tie-breaking rule.

State layout. The whole state lives in two flat arrays, ``I`` (int32, or int64
when a traffic is too large for it) and ``F`` (float64),
so that every function takes two array arguments (a namedtuple of 27 arrays made every
call push ~190 words and cost 8x the time). A call that is not inlined still passes 7
words per array plus its scalars and checks a status on return, so the functions on the
path of every event are inlined at numba's IR level (``inline="always"``: ``_pop``,
``_done``, ``_leave``, ``_enqueue``, ``_arbitrate``, ``_schedule`` and the small ones):
the VGG16 frame's loop took 0.87-0.97 s instead of 1.22-1.33 s (CPU, best of 5), for a
compile of 15-21 s instead of about 12 s (CPU); ``_request``, the injection and the heap stay
calls (inlining ``_request`` as well, into each of its callers, took the compile to
50 s for 8 % more speed). The functions are compiled without numba's reference
counting (``_nrt=False``): they allocate nothing, and the atomic increments of a counted
array argument were 80 % of the run time. ``I[:N_HEAD]`` holds the scalar state ``I_*``,
the configuration ``K_*`` and the offsets ``O_*`` of the segments that follow; ``F`` starts
with the delays ``KF_*``. Segments (``q = router * 5 + port``, ``c = q * slots + ring slot``):

* ``O_PORT`` ``[q, P_*]``: credits, busy flag, request mask, round-robin pointer, FIFO ring
  head and length, flits sent, peak flits held, neighbour through this output (-1: none),
  inter-chip flag; ``O_PORTF`` ``[q, F_*]`` (in F): waiting (ns x rows), occupancy area
  (flit-ns), time of the last change.
* ``O_COPY`` ``[c, C_*]``: the copies in the FIFO rings: the segment of ``perm`` holding
  their rows, branches left, and per branch its output port (in first-seen order), start
  and length; ``O_ARRIVAL`` ``[c]`` (in F): when the copy arrived in its FIFO.
* ``O_PERM`` (rows): row ids; a copy owns a contiguous segment, split in place into one
  sub-segment per branch (stably, so each branch keeps the reference's row order).
  Empty under unicast (``K_UNICAST``), where every copy is one row and never split, so
  ``perm`` is the identity (``_row``).
  ``O_DST``, ``O_SOPS``, ``O_HOPS`` per row; ``O_CHARGED``, ``O_CHARGED_INTER`` per row:
  links (all, between chips) crossed by the copies whose first row it is (``O_CHARGED`` is
  empty under unicast, ``K_UNICAST``, where it equals ``O_HOPS``);
  ``O_DELIVER`` (in F) per row.
* ``O_PK_START``, ``O_PK_LEN``, ``O_PK_SRC``, ``O_PK_TIME`` (in F): packets in injection
  order (the first two empty under unicast: packet ``p`` is row ``p``); ``O_INJ_LIST``
  the packet ids grouped by source; ``O_INJ_HEAD``/``O_INJ_TAIL`` per
  router: the released, not yet injected part of its injection queue.
* Pending events, each (time, sequence, code), code ``(router * 5 + out) * 5 + in_port``
  (a transfer ending) or ``-1`` (the injector): ``O_RING_T`` (in F), ``O_RING_S``,
  ``O_RING_E``: three FIFO rings (link, inter-chip link, ejection without service time),
  each in (time, sequence) order by construction (see ``_schedule``); ``O_HEAP_T`` (in F),
  ``O_HEAP_S``, ``O_HEAP_E``: a binary min-heap for ejections with a service time; the
  injector's one pending timeout in the header.
* ``O_TABLE`` ``[router, column]`` and ``O_DCOL`` ``[router]``: a tabulated routing;
  ``O_X``, ``O_Y`` ``[router]``: coordinates (no division in the loop).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from canmore_sim.noc import jitcache

jitcache.configure()

from numba import njit  # noqa: E402  (after the cache directory is chosen)

jitcache.defer_blas_probe()  # no SciPy import when the compiled code is first loaded

__all__ = ["run"]

LOCAL = 0

# scalar state
(I_SEQ, I_HEAP, I_NEXT_PACKET, I_STARTED, I_DELIVERED, I_LINK_HOPS, I_INTER_HOPS, I_EPOCH,
 I_ERROR, I_ERR_A, I_ERR_B, I_ERR_C, I_ERR_D, I_EVENTS, I_INJ_PENDING, I_INJ_SEQ) = range(16)
I_RING_HEAD = 16  # + class (3 rings)
I_RING_LEN = 19  # + class
# configuration
K_WIDTH, K_FLITS, K_SLOTS, K_BUDGET, K_ROUTING, K_N_PACKETS, K_N_DCOL, K_CAP = range(22, 30)
# offsets of the int segments, then of the float segments (into F)
(O_PORT, O_COPY, O_PERM, O_DST, O_SOPS, O_HOPS, O_PK_START, O_PK_LEN, O_PK_SRC, O_INJ_LIST,
 O_INJ_HEAD, O_INJ_TAIL, O_TOUCH_MARK, O_TOUCHED, O_SCR_PORTS, O_SCR_ROWS, O_SCR_COUNTS,
 O_HEAP_S, O_HEAP_E, O_RING_S, O_RING_E, O_TABLE, O_DCOL, O_X, O_Y, O_CHARGED,
 O_CHARGED_INTER) = range(30, 57)
O_PORTF, O_ARRIVAL, O_DELIVER, O_PK_TIME, O_HEAP_T, O_RING_T = range(57, 63)
# 1: unicast, every packet is its own row (O_PK_START, O_PK_LEN and O_CHARGED are empty:
# packet p starts at row p, one row long, and charges its links to ``hops``)
K_UNICAST = 63
# switching (SW_*), flit credits a grant needs (cut-through modes), buffer depth (flits),
# offset of the per-copy float state of the cut-through modes (into F)
K_SWITCH, K_NEED, K_DEPTH, O_COPYF = range(64, 68)
# 1: router.link_pipelined (every event in the heap; release events code
# -(3 + q * 5 + input)); K_FLY: capacity of each output's ring of transfers in flight;
# O_FLY: the rings ([q, slot, FLY_*])
K_PIPE, K_FLY, O_FLY = 68, 69, 70
# virtual channels per input port; O_INQ: the input queues ([g, Q_*], g = (router * 5 +
# port) * vcs + vc; within a router ``i = port * vcs + vc``, 0 .. 5 vcs - 1)
K_VCS, O_INQ = 71, 72
# adaptive routings: the source router of every row
O_SRC = 73
N_HEAD = 74
FLY_BS, FLY_BL, FLY_DOWN = range(3)
N_FLY = 3
# float header: delays, then the time of the injector's pending timeout, then the
# per-flit link delays and the ejection time (flits x router delay)
KF_ROUTER, KF_LINK, KF_INTER, KF_SOP, F_INJ_T, KF_FLIT_LINK, KF_FLIT_INTER, KF_EJECT = range(8)
N_HEAD_F = 8
SW_SAF, SW_VCT, SW_WORMHOLE = range(3)

# port[q, ...]: output side (busy, request mask over the 5 vcs input queues, last queue
# granted, last downstream VC allocated), flits sent, peak and current hold of the input
# port (copies under store-and-forward, flit credits taken under cut-through, all VCs),
# neighbour, inter-chip flag, the last local VC injected into (P_IRR, local port only);
# P_FLYHEAD, P_FLYLEN (router.link_pipelined): the output's ring of transfers whose
# branch was sent at its release but whose arrival (tail) is still to come
(P_BUSY, P_REQ, P_RR, P_VRR, P_LINKF, P_OCC, P_HELD, P_NEXT, P_INTER, P_IRR,
 P_FLYHEAD, P_FLYLEN) = range(12)
N_P = 12
# inq[g, ...]: credits (copy slots under store-and-forward, flits under cut-through), FIFO
# ring head and length; Q_STALL (cut-through modes): 1 + (upstream output q * 5 vcs + its
# input queue) of a wormhole transfer into this queue waiting for credits, 0: none
Q_FREE, Q_HEAD, Q_LEN, Q_STALL = range(4)
N_Q = 4
# portf[q, ...]
# F_LINKFREE (router.link_pipelined): when the output's link stage ends
F_WAIT, F_AREA, F_SINCE, F_LINKFREE = range(4)
N_F = 4
# copy[c, ...]: then 5 branch-order entries, 5 branch starts, 5 branch lengths (by port)
C_START, C_LEN, C_PENDING, C_NBR = range(4)
C_ORD = 4
C_BS = 9
C_BL = 14
# cut-through modes: whether the copy's tail time is known, then per output port: flit
# credits still missing, 1 + the downstream copy once the head arrived (0: not yet),
# whether the tail event is scheduled, whether the branch is granted
C_TAILK = 19
X_SHORT, X_DOWN, X_SCHED, X_GRANTED = 20, 25, 30, 35
# per output port: the downstream input queue (global) allocated at the grant
X_VC = 40
N_C = 45
# copyf[c, ...] (cut-through modes, in F): tail time, then per output: grant time, time
# the credits were complete
CF_TAIL, CF_GRANT, CF_CREDIT, CF_START = 0, 1, 6, 11
N_CF = 16

ROUTE_XY, ROUTE_YX, ROUTE_TABLE, ROUTE_WEST_FIRST, ROUTE_ODD_EVEN = range(5)
#: event queues: rings of transfers with one fixed delay each, the heap, the injector
Q_LINK, Q_INTER, Q_EJECT, Q_HEAP, Q_INJECT = range(5)
#: run() results
DONE, PAUSED, LIVELOCK, OFF_MESH = 0, 1, 2, 3

#: cached on disk; no reference counting (nothing is allocated in the loop)
_JIT: dict[str, Any] = {"cache": True, "_nrt": False}
_INLINE: dict[str, Any] = {**_JIT, "inline": "always"}


@njit(**_INLINE)
def _u(index: int) -> int:
    """``index`` as an unsigned integer: numba then skips the negative-index wraparound
    test on every array access (no index in the loop is negative)."""
    return np.uintp(index)  # type: ignore[return-value]


@njit(**_INLINE)
def _row(I: np.ndarray, pos: int) -> int:
    """Row id at position ``pos`` of ``perm`` (under unicast ``perm`` is the identity and
    is not stored: K_UNICAST)."""
    if I[_u(K_UNICAST)]:
        return pos
    return I[_u(I[_u(O_PERM)] + pos)]


@njit(**_INLINE)
def _inq(I: np.ndarray, g: int) -> int:
    """Offset of input queue g's record."""
    return I[_u(O_INQ)] + g * N_Q


@njit(**_INLINE)
def _per_vc(I: np.ndarray, x: int) -> int:
    """``x // vcs`` (an input queue's port; no division with one VC, the default: a
    division by a value known only at run time costs tens of cycles on every event)."""
    vcs = I[_u(K_VCS)]
    return x if vcs == 1 else x // vcs


@njit(**_INLINE)
def _vc_of(I: np.ndarray, x: int) -> int:
    """``x % vcs`` (0 with one VC)."""
    vcs = I[_u(K_VCS)]
    return 0 if vcs == 1 else x % vcs


@njit(**_INLINE)
def _split(I: np.ndarray, x: int) -> tuple[int, int]:
    """``(x // (5 vcs), x % (5 vcs))``: an event code or queue into (output or router,
    input queue); by the constant 5 with one VC."""
    if I[_u(K_VCS)] == 1:
        return x // 5, x % 5
    qv = 5 * I[_u(K_VCS)]
    return x // qv, x % qv


@njit(**_INLINE)
def _vc_with_room(I: np.ndarray, port_q: int, last: int, need: int) -> int:
    """Round robin from VC ``last + 1``: the first queue (global) of input port ``port_q``
    (router * 5 + port) with ``need`` credits, or -1 (reference ``_vc_with_room``)."""
    if I[_u(K_VCS)] == 1:
        return port_q if I[_u(_inq(I, port_q) + Q_FREE)] >= need else -1
    return _vc_round_robin(I, port_q, last, need)


@njit(**_JIT)
def _vc_round_robin(I: np.ndarray, port_q: int, last: int, need: int) -> int:
    """:func:`_vc_with_room` with several VCs (a call: not inlined, to keep the compile
    short)."""
    vcs = I[_u(K_VCS)]
    vc = last
    for _ in range(vcs):
        vc = 0 if vc == vcs - 1 else vc + 1
        g = port_q * vcs + vc
        if I[_u(_inq(I, g) + Q_FREE)] >= need:
            return g
    return -1


@njit(**_INLINE)
def _opposite(port: int) -> int:
    """Input port at the neighbour for a packet leaving through output ``port``."""
    return (0, 3, 4, 1, 2)[port]


@njit(**_JIT)
def _heap_push(I: np.ndarray, F: np.ndarray, t: float, seq: int, event: int) -> None:
    """Insert (t, seq, event) into the binary min-heap ordered by (time, sequence)."""
    ht, hs, he = I[_u(O_HEAP_T)], I[_u(O_HEAP_S)], I[_u(O_HEAP_E)]
    i = I[_u(I_HEAP)]
    I[_u(I_HEAP)] = i + 1
    while i > 0:
        parent = (i - 1) >> 1
        pt = F[_u(ht + parent)]
        if pt < t or (pt == t and I[_u(hs + parent)] < seq):
            break
        F[_u(ht + i)] = pt
        I[_u(hs + i)] = I[_u(hs + parent)]
        I[_u(he + i)] = I[_u(he + parent)]
        i = parent
    F[_u(ht + i)] = t
    I[_u(hs + i)] = seq
    I[_u(he + i)] = event


@njit(**_JIT)
def _heap_drop(I: np.ndarray, F: np.ndarray) -> None:
    """Remove the heap's root (its earliest event)."""
    ht, hs, he = I[_u(O_HEAP_T)], I[_u(O_HEAP_S)], I[_u(O_HEAP_E)]
    n = I[_u(I_HEAP)] - 1
    I[_u(I_HEAP)] = n
    if n == 0:
        return
    t = F[_u(ht + n)]
    seq = I[_u(hs + n)]
    ev = I[_u(he + n)]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        right = child + 1
        if right < n:
            tr, tc = F[_u(ht + right)], F[_u(ht + child)]
            if tr < tc or (tr == tc and I[_u(hs + right)] < I[_u(hs + child)]):
                child = right
        ct = F[_u(ht + child)]
        if t < ct or (t == ct and seq < I[_u(hs + child)]):
            break
        F[_u(ht + i)] = ct
        I[_u(hs + i)] = I[_u(hs + child)]
        I[_u(he + i)] = I[_u(he + child)]
        i = child
    F[_u(ht + i)] = t
    I[_u(hs + i)] = seq
    I[_u(he + i)] = ev


@njit(**_INLINE)
def _schedule(I: np.ndarray, F: np.ndarray, t: float, event: int, queue: int) -> None:
    """Schedule ``event`` at time ``t`` with the next sequence number (SimPy's event id).

    Events are always scheduled at ``now + delay`` with ``now`` never decreasing, so the
    events of one fixed delay arrive in (time, sequence) order: each such queue is a FIFO
    ring, and only ejections with a per-packet service time need the heap.
    """
    seq = I[_u(I_SEQ)]
    I[_u(I_SEQ)] = seq + 1
    if queue == Q_INJECT:
        I[_u(I_INJ_PENDING)] = 1
        I[_u(I_INJ_SEQ)] = seq
        F[_u(F_INJ_T)] = t
    elif queue == Q_HEAP:
        _heap_push(I, F, t, seq, event)
    else:
        cap = I[_u(K_CAP)]
        pos = I[_u(I_RING_HEAD + queue)] + I[_u(I_RING_LEN + queue)]
        if pos >= cap:
            pos -= cap
        slot = queue * cap + pos
        I[_u(I_RING_LEN + queue)] += 1
        F[_u(I[_u(O_RING_T)] + slot)] = t
        I[_u(I[_u(O_RING_S)] + slot)] = seq
        I[_u(I[_u(O_RING_E)] + slot)] = event


@njit(**_INLINE)
def _pop(I: np.ndarray, F: np.ndarray) -> tuple[float, int]:
    """Remove the earliest (time, sequence) event of all queues; returns (time, event code).

    Event code -2: no event left.
    """
    best = -1
    bt = 0.0
    bs = 0
    cap = I[_u(K_CAP)]
    for queue in range(3):
        if I[_u(I_RING_LEN + queue)]:
            slot = queue * cap + I[_u(I_RING_HEAD + queue)]
            t = F[_u(I[_u(O_RING_T)] + slot)]
            seq = I[_u(I[_u(O_RING_S)] + slot)]
            if best < 0 or t < bt or (t == bt and seq < bs):
                best, bt, bs = queue, t, seq
    if I[_u(I_HEAP)]:
        t = F[_u(I[_u(O_HEAP_T)])]
        seq = I[_u(I[_u(O_HEAP_S)])]
        if best < 0 or t < bt or (t == bt and seq < bs):
            best, bt, bs = Q_HEAP, t, seq
    if I[_u(I_INJ_PENDING)]:
        t = F[_u(F_INJ_T)]
        seq = I[_u(I_INJ_SEQ)]
        if best < 0 or t < bt or (t == bt and seq < bs):
            best, bt, bs = Q_INJECT, t, seq
    if best < 0:
        return 0.0, -2
    if best == Q_INJECT:
        I[_u(I_INJ_PENDING)] = 0
        return bt, -1
    if best == Q_HEAP:
        event = I[_u(I[_u(O_HEAP_E)])]
        _heap_drop(I, F)
        return bt, event
    slot = best * cap + I[_u(I_RING_HEAD + best)]
    head = I[_u(I_RING_HEAD + best)] + 1
    I[_u(I_RING_HEAD + best)] = 0 if head == cap else head
    I[_u(I_RING_LEN + best)] -= 1
    return bt, I[_u(I[_u(O_RING_E)] + slot)]


@njit(**_INLINE)
def _route(I: np.ndarray, here: int, dst: int) -> int:
    """Output port at router ``here`` towards ``dst`` (routing.xy_port / yx_port / table)."""
    kind = I[_u(K_ROUTING)]
    if kind == ROUTE_TABLE:
        return I[_u(I[_u(O_TABLE)] + here * I[_u(K_N_DCOL)] + I[_u(I[_u(O_DCOL)] + dst)])]
    xs, ys = I[_u(O_X)], I[_u(O_Y)]
    dx = I[_u(xs + dst)] - I[_u(xs + here)]
    dy = I[_u(ys + dst)] - I[_u(ys + here)]
    if kind == ROUTE_XY:
        if dx > 0:
            return 2
        if dx < 0:
            return 4
        if dy > 0:
            return 3
        if dy < 0:
            return 1
        return 0
    if dy > 0:
        return 3
    if dy < 0:
        return 1
    if dx > 0:
        return 2
    if dx < 0:
        return 4
    return 0


@njit(**_INLINE)
def _route_row(I: np.ndarray, here: int, row: int) -> int:
    """Output port at router ``here`` for ``row``: the routing, or under an adaptive one the
    admissible port whose downstream input holds least (reference ``_select``)."""
    if I[_u(K_ROUTING)] < ROUTE_WEST_FIRST:
        return _route(I, here, I[_u(I[_u(O_DST)] + row)])
    return _adaptive_port(I, here, row)


@njit(**_JIT)
def _adaptive_port(I: np.ndarray, here: int, row: int) -> int:
    """:func:`_route_row` under an adaptive routing (a call: not inlined, to keep the
    compile short)."""
    kind = I[_u(K_ROUTING)]
    dst = I[_u(I[_u(O_DST)] + row)]
    xs, ys = I[_u(O_X)], I[_u(O_Y)]
    cx = I[_u(xs + here)]
    e0 = I[_u(xs + dst)] - cx
    e1 = I[_u(ys + dst)] - I[_u(ys + here)]
    vertical = 3 if e1 > 0 else 1
    first = -1
    second = -1
    if kind == ROUTE_WEST_FIRST:  # routing.west_first_candidates
        if e0 < 0:
            first = 4
        elif e0 > 0:
            first = 2
            if e1 != 0:
                second = vertical
        elif e1 != 0:
            first = vertical
        else:
            first = 0
    elif e0 == 0:  # routing.odd_even_candidates
        first = 0 if e1 == 0 else vertical
    elif e0 > 0:
        if e1 == 0:
            first = 2
        else:
            if cx % 2 == 1 or cx == I[_u(xs + I[_u(I[_u(O_SRC)] + row)])]:
                first = vertical
            if I[_u(xs + dst)] % 2 == 1 or e0 != 1:
                if first < 0:
                    first = 2
                else:
                    second = 2
    else:
        first = 4
        if cx % 2 == 0 and e1 != 0:
            second = vertical
    if second < 0:
        return first
    port = I[_u(O_PORT)]
    n1 = I[_u(port + (here * 5 + first) * N_P + P_NEXT)] * 5 + _opposite(first)
    n2 = I[_u(port + (here * 5 + second) * N_P + P_NEXT)] * 5 + _opposite(second)
    if I[_u(port + n2 * N_P + P_HELD)] < I[_u(port + n1 * N_P + P_HELD)]:
        return second
    return first


@njit(**_INLINE)
def _valid(I: np.ndarray, r: int, out: int) -> bool:
    """Whether ``out`` is a port of router ``r`` (records the error if not)."""
    if 0 <= out <= 4 and (out == LOCAL or I[_u(I[_u(O_PORT)] + (r * 5 + out) * N_P + P_NEXT)] >= 0):
        return True
    I[_u(I_ERROR)] = OFF_MESH
    I[_u(I_ERR_A)] = r
    I[_u(I_ERR_B)] = out
    return False


@njit(**_INLINE)
def _account(I: np.ndarray, F: np.ndarray, q: int, held: int, now: float) -> None:
    """Add the flit-time held in FIFO q since its last change (reference ``_account``)."""
    base = I[_u(O_PORTF)] + q * N_F
    F[_u(base + F_AREA)] += held * I[_u(K_FLITS)] * (now - F[_u(base + F_SINCE)])
    F[_u(base + F_SINCE)] = now


@njit(**_INLINE)
def _arbitrate(I: np.ndarray, F: np.ndarray, r: int, out: int, now: float) -> None:
    """Grant output ``out`` of router ``r`` round robin if it is idle and has a credit."""
    if I[_u(K_SWITCH)] != SW_SAF:
        _arbitrate_ct(I, F, r, out, now)
        return
    port = I[_u(O_PORT)]
    po = port + (r * 5 + out) * N_P
    if I[_u(po + P_BUSY)]:
        return
    mask = I[_u(po + P_REQ)]
    if mask == 0:
        return
    vcs = I[_u(K_VCS)]
    down = 0
    if out != LOCAL:
        down = _vc_with_room(I, I[_u(po + P_NEXT)] * 5 + _opposite(out), I[_u(po + P_VRR)], 1)
        if down < 0:
            return  # backpressure: wait for a credit
        I[_u(po + P_VRR)] = _vc_of(I, down)
        I[_u(_inq(I, down) + Q_FREE)] -= 1
    inp = _pick_input(I, po, mask)
    qi = r * 5 * vcs + inp
    c = _head_copy(I, qi)
    pc = I[_u(O_COPY)] + c * N_C
    I[_u(pc + X_VC + out)] = down
    bs = I[_u(pc + C_BS + out)]
    bl = I[_u(pc + C_BL + out)]
    F[_u(I[_u(O_PORTF)] + (r * 5 + _per_vc(I, inp)) * N_F + F_WAIT)] += (
        now - F[_u(I[_u(O_ARRIVAL)] + c)]) * bl
    queue = Q_LINK
    if out == LOCAL:
        queue = Q_EJECT
        delay = F[_u(KF_EJECT)]
        if F[_u(KF_SOP)] != 0.0:
            queue = Q_HEAP
            sops = I[_u(O_SOPS)]
            total = 0
            for k in range(bl):
                total += I[_u(sops + _row(I, bs + k))]
            delay += F[_u(KF_SOP)] * total
    elif I[_u(K_PIPE)]:
        queue = Q_HEAP
        delay = _pipeline(I, F, r * 5 + out, inp, F[_u(KF_INTER)] if I[_u(po + P_INTER)]
                          else F[_u(KF_LINK)], now)
        _fly_push(I, r * 5 + out, bs, bl, down)
    elif I[_u(po + P_INTER)]:
        queue = Q_INTER
        delay = F[_u(KF_ROUTER)] + F[_u(KF_INTER)]
    else:
        delay = F[_u(KF_ROUTER)] + F[_u(KF_LINK)]
    _schedule(I, F, now + delay, (r * 5 + out) * 5 * vcs + inp, queue)


@njit(**_INLINE)
def _pick_input(I: np.ndarray, po: int, mask: int) -> int:
    """Round robin over the requesting input queues of output ``po`` (its record): take the
    next one after the last granted, clear its request, mark the output busy."""
    qv = 5 * I[_u(K_VCS)]
    inp = I[_u(po + P_RR)]
    for _ in range(qv):
        inp = 0 if inp == qv - 1 else inp + 1
        if (mask >> inp) & 1:
            break
    I[_u(po + P_REQ)] = mask & ~(1 << inp)
    I[_u(po + P_RR)] = inp
    I[_u(po + P_BUSY)] = 1
    return inp


@njit(**_JIT)
def _pipeline(I: np.ndarray, F: np.ndarray, qo: int, inp: int, link: float,
              now: float) -> float:
    """Link stage of a pipelined transfer granted now (reference ``_pipeline``); returns
    the delay to its end."""
    lf = I[_u(O_PORTF)] + qo * N_F + F_LINKFREE
    start = now + F[_u(KF_ROUTER)]
    if F[_u(lf)] > start:
        start = F[_u(lf)]
    end = start + link
    F[_u(lf)] = end
    _schedule_release(I, F, qo, inp, end, now)
    return end - now


@njit(**_JIT)
def _schedule_release(I: np.ndarray, F: np.ndarray, qo: int, inp: int, end: float,
                      now: float) -> None:
    """Release output qo ``router_delay_ns`` before its link stage ends (not before now)."""
    release = end - F[_u(KF_ROUTER)]
    if release < now:
        release = now
    _schedule(I, F, now + (release - now), -(3 + qo * 5 * I[_u(K_VCS)] + inp), Q_HEAP)


@njit(**_INLINE)
def _fly_push(I: np.ndarray, qo: int, bs: int, bl: int, down: int) -> None:
    """Record a pipelined transfer of output qo whose arrival (tail) is still to come."""
    po = I[_u(O_PORT)] + qo * N_P
    cap = I[_u(K_FLY)]
    pos = I[_u(po + P_FLYHEAD)] + I[_u(po + P_FLYLEN)]
    if pos >= cap:
        pos -= cap
    base = I[_u(O_FLY)] + (qo * cap + pos) * N_FLY
    I[_u(base + FLY_BS)] = bs
    I[_u(base + FLY_BL)] = bl
    I[_u(base + FLY_DOWN)] = down
    I[_u(po + P_FLYLEN)] += 1


@njit(**_INLINE)
def _fly_pop(I: np.ndarray, qo: int) -> int:
    """Remove output qo's earliest transfer in flight (arrivals come in grant order);
    returns where its record lies."""
    po = I[_u(O_PORT)] + qo * N_P
    cap = I[_u(K_FLY)]
    head = I[_u(po + P_FLYHEAD)]
    I[_u(po + P_FLYHEAD)] = 0 if head + 1 == cap else head + 1
    I[_u(po + P_FLYLEN)] -= 1
    return I[_u(O_FLY)] + (qo * cap + head) * N_FLY


@njit(**_JIT)
def _branch(I: np.ndarray, r: int, pc: int, start: int, ln: int) -> bool:
    """Split the rows of the copy at ``pc`` by output port, first-seen order, stably in place.

    Returns False (the error recorded) if the routing leaves the mesh.
    """
    perm = I[_u(O_PERM)]
    ports, rows, counts = I[_u(O_SCR_PORTS)], I[_u(O_SCR_ROWS)], I[_u(O_SCR_COUNTS)]
    for k in range(5):
        I[_u(counts + k)] = 0
    nbr = 0
    for k in range(ln):
        out = _route_row(I, r, I[_u(perm + start + k)])
        if not _valid(I, r, out):
            return False
        I[_u(ports + k)] = out
        if I[_u(counts + out)] == 0:
            I[_u(pc + C_ORD + nbr)] = out
            nbr += 1
        I[_u(counts + out)] += 1
    I[_u(pc + C_NBR)] = nbr
    off = start
    for k in range(nbr):
        out = I[_u(pc + C_ORD + k)]
        I[_u(pc + C_BS + out)] = off
        I[_u(pc + C_BL + out)] = I[_u(counts + out)]
        I[_u(counts + out)] = off  # from here on: the next free position of the branch
        off += I[_u(pc + C_BL + out)]
    for k in range(ln):
        out = I[_u(ports + k)]
        I[_u(rows + I[_u(counts + out)] - start)] = I[_u(perm + start + k)]
        I[_u(counts + out)] += 1
    for k in range(ln):
        I[_u(perm + start + k)] = I[_u(rows + k)]
    return True


@njit(**_JIT)
def _request(I: np.ndarray, F: np.ndarray, g: int, now: float) -> None:
    """The copy now at the head of input queue g requests its output port(s)."""
    port = I[_u(O_PORT)]
    r, bit_at = _split(I, g)
    pc = I[_u(O_COPY)] + _head_copy(I, g) * N_C
    start = I[_u(pc + C_START)]
    ln = I[_u(pc + C_LEN)]
    if ln == 1:  # unicast fast path
        out = _route_row(I, r, _row(I, start))
        if not _valid(I, r, out):
            return
        I[_u(pc + C_NBR)] = 1
        I[_u(pc + C_ORD)] = out
        I[_u(pc + C_BS + out)] = start
        I[_u(pc + C_BL + out)] = 1
    elif not _branch(I, r, pc, start, ln):
        return
    nbr = I[_u(pc + C_NBR)]
    I[_u(pc + C_PENDING)] = nbr
    bit = 1 << bit_at
    for k in range(nbr):
        I[_u(port + (r * 5 + I[_u(pc + C_ORD + k)]) * N_P + P_REQ)] |= bit
    for k in range(nbr):
        out = I[_u(pc + C_ORD + k)]
        if not I[_u(port + (r * 5 + out) * N_P + P_BUSY)]:
            _arbitrate(I, F, r, out, now)


@njit(**_INLINE)
def _enqueue(I: np.ndarray, F: np.ndarray, g: int, start: int, ln: int, arrival: float,
             now: float) -> None:
    """Append a copy (rows ``perm[start:start+ln]``) to input queue g."""
    q = _per_vc(I, g)
    pq = I[_u(O_PORT)] + q * N_P
    held = I[_u(pq + P_HELD)]
    _account(I, F, q, held, now)
    pg = _inq(I, g)
    ln_q = I[_u(pg + Q_LEN)]
    slots = I[_u(K_SLOTS)]
    pos = I[_u(pg + Q_HEAD)] + ln_q
    if pos >= slots:
        pos -= slots
    c = g * slots + pos
    pc = I[_u(O_COPY)] + c * N_C
    I[_u(pc + C_START)] = start
    I[_u(pc + C_LEN)] = ln
    F[_u(I[_u(O_ARRIVAL)] + c)] = arrival
    I[_u(pg + Q_LEN)] = ln_q + 1
    held += 1
    I[_u(pq + P_HELD)] = held
    occupied = held * I[_u(K_FLITS)]
    if occupied > I[_u(pq + P_OCC)]:
        I[_u(pq + P_OCC)] = occupied
    if ln_q == 0:
        _request(I, F, g, now)


@njit(**_JIT)
def _try_inject(I: np.ndarray, F: np.ndarray, r: int, now: float) -> None:
    """Move released packets of core ``r`` into its local input FIFO while it has room."""
    pq = I[_u(O_PORT)] + r * 5 * N_P
    head, tail = I[_u(O_INJ_HEAD)] + r, I[_u(O_INJ_TAIL)] + r
    if I[_u(K_SWITCH)] != SW_SAF:
        _try_inject_ct(I, F, r, now)
        return
    while I[_u(head)] < I[_u(tail)]:
        g = _vc_with_room(I, r * 5, I[_u(pq + P_IRR)], 1)
        if g < 0:
            break
        I[_u(pq + P_IRR)] = _vc_of(I, g)
        I[_u(_inq(I, g) + Q_FREE)] -= 1
        pk = I[_u(I[_u(O_INJ_LIST)] + I[_u(head)])]
        I[_u(head)] += 1
        if I[_u(K_UNICAST)]:
            start, length = pk, 1
        else:
            start, length = I[_u(I[_u(O_PK_START)] + pk)], I[_u(I[_u(O_PK_LEN)] + pk)]
        _enqueue(I, F, g, start, length, F[_u(I[_u(O_PK_TIME)] + pk)], now)


@njit(**_INLINE)
def _leave(I: np.ndarray, F: np.ndarray, g: int, now: float) -> None:
    """The head copy of input queue g has sent all its branches: free its slot."""
    port = I[_u(O_PORT)]
    q = _per_vc(I, g)
    pq = port + q * N_P
    held = I[_u(pq + P_HELD)]
    _account(I, F, q, held, now)
    pg = _inq(I, g)
    head = I[_u(pg + Q_HEAD)] + 1
    I[_u(pg + Q_HEAD)] = 0 if head == I[_u(K_SLOTS)] else head
    ln_q = I[_u(pg + Q_LEN)]
    I[_u(pg + Q_LEN)] = ln_q - 1
    I[_u(pq + P_HELD)] = held - 1
    if ln_q > 1:  # the next copy requests before the freed slot is refilled
        _request(I, F, g, now)
    I[_u(pg + Q_FREE)] += 1
    inp = q % 5
    if inp == LOCAL:
        _try_inject(I, F, q // 5, now)
        return
    up = I[_u(pq + P_NEXT)]
    out = _opposite(inp)
    pu = port + (up * 5 + out) * N_P
    if I[_u(pu + P_REQ)] and not I[_u(pu + P_BUSY)]:  # the credit unblocks a waiting output
        _arbitrate(I, F, up, out, now)


@njit(**_INLINE)
def _done(I: np.ndarray, F: np.ndarray, qo: int, inp: int, now: float) -> None:
    """A transfer out of port ``qo`` from input ``inp`` ends (reference ``_done``)."""
    port = I[_u(O_PORT)]
    r = qo // 5
    out = qo % 5
    po = port + qo * N_P
    held = I[_u(K_PIPE)] and out != LOCAL  # released earlier (``_release``)
    if not held:
        I[_u(po + P_BUSY)] = 0
    qi = r * 5 * I[_u(K_VCS)] + inp
    pc = I[_u(O_COPY)] + _head_copy(I, qi) * N_C
    if held:  # the copy may have left its FIFO at the release
        fly = _fly_pop(I, qo)
        bs = I[_u(fly + FLY_BS)]
        bl = I[_u(fly + FLY_BL)]
        down = I[_u(fly + FLY_DOWN)]
    else:
        bs = I[_u(pc + C_BS + out)]
        bl = I[_u(pc + C_BL + out)]
        down = I[_u(pc + X_VC + out)]
    I[_u(po + P_LINKF)] += I[_u(K_FLITS)]
    if out == LOCAL:
        deliver = I[_u(O_DELIVER)]
        for k in range(bl):
            F[_u(deliver + _row(I, bs + k))] = now
        I[_u(I_DELIVERED)] += bl
    else:
        first = _row(I, bs)
        I[_u(I_LINK_HOPS)] += 1
        if not I[_u(K_UNICAST)]:
            I[_u(I[_u(O_CHARGED)] + first)] += 1
        if I[_u(po + P_INTER)]:
            I[_u(I_INTER_HOPS)] += 1
            I[_u(I[_u(O_CHARGED_INTER)] + first)] += 1
        hops = I[_u(O_HOPS)]
        for k in range(bl):
            I[_u(hops + _row(I, bs + k))] += 1
        nxt = I[_u(po + P_NEXT)]
        if I[_u(hops + first)] > I[_u(K_BUDGET)]:
            I[_u(I_ERROR)] = LIVELOCK
            I[_u(I_ERR_A)] = r
            I[_u(I_ERR_B)] = nxt
            I[_u(I_ERR_C)] = first
            I[_u(I_ERR_D)] = I[_u(hops + first)]
            return
        _enqueue(I, F, down, bs, bl, now, now)
    if held:
        return  # the branch was sent at its release
    I[_u(pc + C_PENDING)] -= 1
    if I[_u(pc + C_PENDING)] == 0:
        _leave(I, F, qi, now)
    if I[_u(po + P_REQ)] and not I[_u(po + P_BUSY)]:
        _arbitrate(I, F, r, out, now)


# -- virtual cut-through and wormhole (noc/cutthrough.py) ---------------------------------


@njit(**_INLINE)
def _take(I: np.ndarray, F: np.ndarray, g: int, credits: int, now: float) -> None:
    """Take ``credits`` flit credits of input queue g (reference ``_take``)."""
    q = _per_vc(I, g)
    pq = I[_u(O_PORT)] + q * N_P
    base = I[_u(O_PORTF)] + q * N_F
    F[_u(base + F_AREA)] += I[_u(pq + P_HELD)] * (now - F[_u(base + F_SINCE)])
    F[_u(base + F_SINCE)] = now
    I[_u(_inq(I, g) + Q_FREE)] -= credits
    held = I[_u(pq + P_HELD)] + credits
    I[_u(pq + P_HELD)] = held
    if held > I[_u(pq + P_OCC)]:
        I[_u(pq + P_OCC)] = held


@njit(**_INLINE)
def _head_copy(I: np.ndarray, g: int) -> int:
    """Ring slot of the copy at the head of input queue g."""
    return g * I[_u(K_SLOTS)] + I[_u(_inq(I, g) + Q_HEAD)]


@njit(**_JIT)
def _enqueue_ct(I: np.ndarray, F: np.ndarray, g: int, start: int, ln: int, arrival: float,
                tail_known: bool, now: float) -> None:
    """Append a copy to input queue g (reference ``CutThroughSimulator._enqueue``)."""
    pg = _inq(I, g)
    held = I[_u(pg + Q_LEN)]
    slots = I[_u(K_SLOTS)]
    pos = I[_u(pg + Q_HEAD)] + held
    if pos >= slots:
        pos -= slots
    c = g * slots + pos
    pc = I[_u(O_COPY)] + c * N_C
    I[_u(pc + C_START)] = start
    I[_u(pc + C_LEN)] = ln
    I[_u(pc + C_NBR)] = 0
    I[_u(pc + C_TAILK)] = tail_known
    F[_u(I[_u(O_COPYF)] + c * N_CF + CF_TAIL)] = now
    for k in range(5):
        I[_u(pc + X_GRANTED + k)] = 0
    F[_u(I[_u(O_ARRIVAL)] + c)] = arrival
    I[_u(pg + Q_LEN)] = held + 1
    if held == 0:
        _request(I, F, g, now)


@njit(**_JIT)
def _try_inject_ct(I: np.ndarray, F: np.ndarray, r: int, now: float) -> None:
    """Inject released packets of core ``r`` while a local VC has room for one."""
    pq = I[_u(O_PORT)] + r * 5 * N_P
    head, tail = I[_u(O_INJ_HEAD)] + r, I[_u(O_INJ_TAIL)] + r
    flits = I[_u(K_FLITS)]
    while I[_u(head)] < I[_u(tail)]:
        g = _vc_with_room(I, r * 5, I[_u(pq + P_IRR)], flits)
        if g < 0:
            break
        I[_u(pq + P_IRR)] = _vc_of(I, g)
        _take(I, F, g, flits, now)
        pk = I[_u(I[_u(O_INJ_LIST)] + I[_u(head)])]
        I[_u(head)] += 1
        if I[_u(K_UNICAST)]:
            start, length = pk, 1
        else:
            start, length = I[_u(I[_u(O_PK_START)] + pk)], I[_u(I[_u(O_PK_LEN)] + pk)]
        _enqueue_ct(I, F, g, start, length, F[_u(I[_u(O_PK_TIME)] + pk)], True, now)


@njit(**_JIT)
def _arbitrate_ct(I: np.ndarray, F: np.ndarray, r: int, out: int, now: float) -> None:
    """Grant output ``out`` of router ``r`` (reference ``CutThroughSimulator._arbitrate``)."""
    port = I[_u(O_PORT)]
    po = port + (r * 5 + out) * N_P
    if I[_u(po + P_BUSY)]:
        return
    mask = I[_u(po + P_REQ)]
    if mask == 0:
        return
    vcs = I[_u(K_VCS)]
    take = 0
    down = 0
    if out != LOCAL:
        down = _vc_with_room(I, I[_u(po + P_NEXT)] * 5 + _opposite(out), I[_u(po + P_VRR)],
                             I[_u(K_NEED)])
        if down < 0:
            return  # backpressure: wait for credits
        I[_u(po + P_VRR)] = _vc_of(I, down)
        take = min(I[_u(K_FLITS)], I[_u(_inq(I, down) + Q_FREE)])
        _take(I, F, down, take, now)
    inp = _pick_input(I, po, mask)
    qi = r * 5 * vcs + inp
    c = _head_copy(I, qi)
    pc = I[_u(O_COPY)] + c * N_C
    pf = I[_u(O_COPYF)] + c * N_CF
    bl = I[_u(pc + C_BL + out)]
    F[_u(I[_u(O_PORTF)] + (r * 5 + _per_vc(I, inp)) * N_F + F_WAIT)] += (
        now - F[_u(I[_u(O_ARRIVAL)] + c)]) * bl
    I[_u(pc + X_GRANTED + out)] = 1
    I[_u(pc + X_SCHED + out)] = 0
    I[_u(pc + X_DOWN + out)] = 0
    I[_u(pc + X_VC + out)] = down
    F[_u(pf + CF_GRANT + out)] = now
    F[_u(pf + CF_CREDIT + out)] = now
    code = (r * 5 + out) * 5 * vcs + inp
    if out == LOCAL:
        I[_u(pc + X_SHORT + out)] = 0
        _maybe_tail(I, F, r, out, inp, now)
        return
    short = I[_u(K_FLITS)] - take
    I[_u(pc + X_SHORT + out)] = short
    if short:
        I[_u(_inq(I, down) + Q_STALL)] = code + 1
    d = F[_u(KF_FLIT_INTER)] if I[_u(po + P_INTER)] else F[_u(KF_FLIT_LINK)]
    if I[_u(K_PIPE)]:
        start = now + F[_u(KF_ROUTER)]
        lf = F[_u(I[_u(O_PORTF)] + (r * 5 + out) * N_F + F_LINKFREE)]
        if lf > start:
            start = lf
        F[_u(pf + CF_START + out)] = start
        _schedule(I, F, now + ((start + d) - now), code * 2, Q_HEAP)
    else:
        _schedule(I, F, now + (F[_u(KF_ROUTER)] + d), code * 2, Q_HEAP)


@njit(**_JIT)
def _maybe_tail(I: np.ndarray, F: np.ndarray, r: int, out: int, inp: int, now: float) -> None:
    """Schedule the end of the transfer of output ``out`` from input queue ``inp`` once its
    head, credits and tail allow (reference ``_maybe_tail``)."""
    vcs = I[_u(K_VCS)]
    c = _head_copy(I, r * 5 * vcs + inp)
    pc = I[_u(O_COPY)] + c * N_C
    pf = I[_u(O_COPYF)] + c * N_CF
    if I[_u(pc + X_SCHED + out)] or not I[_u(pc + C_TAILK)]:
        return
    tail = F[_u(pf + CF_TAIL)]
    if out == LOCAL:
        end = F[_u(pf + CF_GRANT + out)] + F[_u(KF_EJECT)]
        late = tail + F[_u(KF_ROUTER)]
        if late > end:
            end = late
        if F[_u(KF_SOP)] != 0.0:
            sops = I[_u(O_SOPS)]
            bs = I[_u(pc + C_BS + out)]
            total = 0
            for k in range(I[_u(pc + C_BL + out)]):
                total += I[_u(sops + _row(I, bs + k))]
            end += F[_u(KF_SOP)] * total
    else:
        if I[_u(pc + X_DOWN + out)] == 0 or I[_u(pc + X_SHORT + out)]:
            return
        po = I[_u(O_PORT)] + (r * 5 + out) * N_P
        d = F[_u(KF_FLIT_INTER)] if I[_u(po + P_INTER)] else F[_u(KF_FLIT_LINK)]
        if I[_u(K_PIPE)]:
            end = F[_u(pf + CF_START + out)] + I[_u(K_FLITS)] * d
        else:
            end = F[_u(pf + CF_GRANT + out)] + (F[_u(KF_ROUTER)] + I[_u(K_FLITS)] * d)
        late = F[_u(pf + CF_CREDIT + out)] + d
        if late > end:
            end = late
        late = tail + d
        if late > end:
            end = late
        if I[_u(K_PIPE)]:
            F[_u(I[_u(O_PORTF)] + (r * 5 + out) * N_F + F_LINKFREE)] = end
            _schedule_release(I, F, r * 5 + out, inp, end, now)
            _fly_push(I, r * 5 + out, 0, 0, I[_u(pc + X_DOWN + out)])
    if end < now:
        end = now
    I[_u(pc + X_SCHED + out)] = 1
    _schedule(I, F, now + (end - now), ((r * 5 + out) * 5 * vcs + inp) * 2 + 1, Q_HEAP)


@njit(**_JIT)
def _head_ct(I: np.ndarray, F: np.ndarray, qo: int, inp: int, now: float) -> None:
    """The head of a transfer reaches the downstream queue (reference ``_head``)."""
    port = I[_u(O_PORT)]
    r = qo // 5
    out = qo % 5
    po = port + qo * N_P
    c = _head_copy(I, r * 5 * I[_u(K_VCS)] + inp)
    pc = I[_u(O_COPY)] + c * N_C
    bs = I[_u(pc + C_BS + out)]
    bl = I[_u(pc + C_BL + out)]
    first = _row(I, bs)
    I[_u(I_LINK_HOPS)] += 1
    if not I[_u(K_UNICAST)]:
        I[_u(I[_u(O_CHARGED)] + first)] += 1
    I[_u(po + P_LINKF)] += I[_u(K_FLITS)]
    if I[_u(po + P_INTER)]:
        I[_u(I_INTER_HOPS)] += 1
        I[_u(I[_u(O_CHARGED_INTER)] + first)] += 1
    hops = I[_u(O_HOPS)]
    for k in range(bl):
        I[_u(hops + _row(I, bs + k))] += 1
    nxt = I[_u(po + P_NEXT)]
    if I[_u(hops + first)] > I[_u(K_BUDGET)]:
        I[_u(I_ERROR)] = LIVELOCK
        I[_u(I_ERR_A)] = r
        I[_u(I_ERR_B)] = nxt
        I[_u(I_ERR_C)] = first
        I[_u(I_ERR_D)] = I[_u(hops + first)]
        return
    down = I[_u(pc + X_VC + out)]
    pg = _inq(I, down)
    slots = I[_u(K_SLOTS)]
    pos = I[_u(pg + Q_HEAD)] + I[_u(pg + Q_LEN)]
    if pos >= slots:
        pos -= slots
    I[_u(pc + X_DOWN + out)] = down * slots + pos + 1
    _enqueue_ct(I, F, down, bs, bl, now, False, now)
    _maybe_tail(I, F, r, out, inp, now)


@njit(**_JIT)
def _tail_ct(I: np.ndarray, F: np.ndarray, qo: int, inp: int, now: float) -> None:
    """The tail of a transfer has crossed, or an ejection ended (reference ``_tail``)."""
    port = I[_u(O_PORT)]
    r = qo // 5
    out = qo % 5
    po = port + qo * N_P
    held = I[_u(K_PIPE)] and out != LOCAL  # released earlier (``_release``)
    if not held:
        I[_u(po + P_BUSY)] = 0
    qv = 5 * I[_u(K_VCS)]
    qi = r * qv + inp
    c = _head_copy(I, qi)
    pc = I[_u(O_COPY)] + c * N_C
    if out == LOCAL:
        I[_u(po + P_LINKF)] += I[_u(K_FLITS)]
        bs = I[_u(pc + C_BS + out)]
        bl = I[_u(pc + C_BL + out)]
        deliver = I[_u(O_DELIVER)]
        for k in range(bl):
            F[_u(deliver + _row(I, bs + k))] = now
        I[_u(I_DELIVERED)] += bl
    else:
        # pipelined: the copy may have left its FIFO at the release
        cd = (I[_u(_fly_pop(I, qo) + FLY_DOWN)] if held else I[_u(pc + X_DOWN + out)]) - 1
        pcd = I[_u(O_COPY)] + cd * N_C
        I[_u(pcd + C_TAILK)] = 1
        F[_u(I[_u(O_COPYF)] + cd * N_CF + CF_TAIL)] = now
        gd = cd // I[_u(K_SLOTS)]
        if _head_copy(I, gd) == cd:  # only the head copy has branches (granted or not)
            for k in range(I[_u(pcd + C_NBR)]):
                o = I[_u(pcd + C_ORD + k)]
                if I[_u(pcd + X_GRANTED + o)]:
                    rd, ind = _split(I, gd)
                    _maybe_tail(I, F, rd, o, ind, now)
    if held:
        return  # the branch was sent at its release
    I[_u(pc + C_PENDING)] -= 1
    if I[_u(pc + C_PENDING)] == 0:
        _leave_ct(I, F, qi, now)
    if I[_u(po + P_REQ)] and not I[_u(po + P_BUSY)]:
        _arbitrate(I, F, r, out, now)


@njit(**_JIT)
def _leave_ct(I: np.ndarray, F: np.ndarray, g: int, now: float) -> None:
    """The head copy of input queue g has sent all its tails: return its credits
    (reference ``CutThroughSimulator._leave``)."""
    port = I[_u(O_PORT)]
    q = _per_vc(I, g)
    pq = port + q * N_P
    pg = _inq(I, g)
    held = I[_u(pg + Q_LEN)]
    head = I[_u(pg + Q_HEAD)] + 1
    I[_u(pg + Q_HEAD)] = 0 if head == I[_u(K_SLOTS)] else head
    I[_u(pg + Q_LEN)] = held - 1
    if held > 1:
        _request(I, F, g, now)
    _take(I, F, g, -I[_u(K_FLITS)], now)
    stall = I[_u(pg + Q_STALL)]
    if stall:  # a wormhole transfer into this queue waits for credits
        code = stall - 1
        qo, inp_up = _split(I, code)
        r_up, out_up = qo // 5, qo % 5
        cu = _head_copy(I, r_up * 5 * I[_u(K_VCS)] + inp_up)
        pcu = I[_u(O_COPY)] + cu * N_C
        short = I[_u(pcu + X_SHORT + out_up)]
        take = min(short, I[_u(pg + Q_FREE)])
        _take(I, F, g, take, now)
        I[_u(pcu + X_SHORT + out_up)] = short - take
        if short == take:
            I[_u(pg + Q_STALL)] = 0
            F[_u(I[_u(O_COPYF)] + cu * N_CF + CF_CREDIT + out_up)] = now
            _maybe_tail(I, F, r_up, out_up, inp_up, now)
    inp = q % 5
    if inp == LOCAL:
        _try_inject(I, F, q // 5, now)
        return
    up = I[_u(pq + P_NEXT)]
    out = _opposite(inp)
    pu = port + (up * 5 + out) * N_P
    if I[_u(pu + P_REQ)] and not I[_u(pu + P_BUSY)]:
        _arbitrate(I, F, up, out, now)


@njit(**_JIT)
def _release(I: np.ndarray, F: np.ndarray, qo: int, inp: int, now: float) -> None:
    """A pipelined transfer is on its link: its branch counts as sent and the output takes
    its next packet (reference ``_release``)."""
    po = I[_u(O_PORT)] + qo * N_P
    I[_u(po + P_BUSY)] = 0
    qi = qo // 5 * 5 * I[_u(K_VCS)] + inp
    pc = I[_u(O_COPY)] + _head_copy(I, qi) * N_C
    I[_u(pc + C_PENDING)] -= 1
    if I[_u(pc + C_PENDING)] == 0:
        if I[_u(K_SWITCH)] != SW_SAF:
            _leave_ct(I, F, qi, now)
        else:
            _leave(I, F, qi, now)
    if I[_u(po + P_REQ)] and not I[_u(po + P_BUSY)]:
        _arbitrate(I, F, qo // 5, qo % 5, now)


@njit(**_JIT)
def _inject(I: np.ndarray, F: np.ndarray, now: float, resumed: bool) -> None:
    """One step of the reference's injector process at simulated time ``now``.

    ``resumed``: the step follows the injector's own timeout, after which the reference
    releases the next group at once, without comparing its time with ``now`` again
    (``now`` may be an ulp short of it).
    """
    i = I[_u(I_NEXT_PACKET)]
    n = I[_u(K_N_PACKETS)]
    times, src = I[_u(O_PK_TIME)], I[_u(O_PK_SRC)]
    tail, mark, touched = I[_u(O_INJ_TAIL)], I[_u(O_TOUCH_MARK)], I[_u(O_TOUCHED)]
    while i < n:
        t = F[_u(times + i)]
        if t > now and not resumed:
            _schedule(I, F, now + (t - now), -1, Q_INJECT)  # the reference's timeout(t - env.now)
            break
        resumed = False
        I[_u(I_EPOCH)] += 1
        epoch = I[_u(I_EPOCH)]
        count = 0
        while i < n and F[_u(times + i)] == t:
            r = I[_u(src + i)]
            I[_u(tail + r)] += 1
            if I[_u(mark + r)] != epoch:
                I[_u(mark + r)] = epoch
                I[_u(touched + count)] = r
                count += 1
            i += 1
        I[_u(I_NEXT_PACKET)] = i
        for k in range(count):
            _try_inject(I, F, I[_u(touched + k)], now)
    I[_u(I_NEXT_PACKET)] = i


@njit(**_JIT)
def run(I: np.ndarray, F: np.ndarray, max_events: int) -> int:
    """Process up to ``max_events`` events; returns DONE, PAUSED or an error code.

    The first call runs the injector's start at time 0 (SimPy's Initialize event, which
    is urgent and scheduled before anything else). Call again after PAUSED to resume.
    """
    if I[_u(I_STARTED)] == 0:
        I[_u(I_STARTED)] = 1
        _inject(I, F, 0.0, False)
        if I[_u(I_ERROR)]:
            return I[_u(I_ERROR)]
    processed = 0
    while True:
        if processed >= max_events:
            I[_u(I_EVENTS)] += processed
            return PAUSED
        t, event = _pop(I, F)
        if event == -2:
            break
        if event < -2:
            code = -event - 3
            qo, inp = _split(I, code)
            _release(I, F, qo, inp, t)
        elif event < 0:
            _inject(I, F, t, True)
        elif I[_u(K_SWITCH)] != SW_SAF:
            code = event >> 1
            qo, inp = _split(I, code)
            if event & 1:
                _tail_ct(I, F, qo, inp, t)
            else:
                _head_ct(I, F, qo, inp, t)
        else:
            qo, inp = _split(I, event)
            _done(I, F, qo, inp, t)
        processed += 1
        if I[_u(I_ERROR)]:
            break
    I[_u(I_EVENTS)] += processed
    return I[_u(I_ERROR)]
