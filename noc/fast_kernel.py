"""The compiled event loop of the fast NoC engine (numba ``@njit(cache=True)``).

Every function here mirrors one method of the SimPy reference (``noc/engine.py``) and
performs the same operations in the same order, so that events are scheduled in the same
order and every float is computed by the same sequence of IEEE operations; see
:mod:`canmore_sim.noc.fast` for the tie-breaking rule and the state layout. Nothing here
allocates or touches a Python object inside the loop: the state is flat int64/float64 arrays
held in one :class:`State` named tuple, built by ``noc/fast.py``.

Array fields (``q = router * 5 + port``, ``c = q * slots + ring position``):

* ``port[q, P_*]`` int64: credits, busy flag, request mask, round-robin pointer, FIFO ring head
  and length, flits sent, peak flits held, neighbour through this output, inter-chip flag.
* ``portf[q, F_*]`` float64: waiting (ns x rows), occupancy area (flit-ns), last change time.
* ``copy[c, C_*]`` int64 and ``arrival[c]`` float64: the copies in the FIFO rings (segment of
  ``perm`` holding their rows, branches left, branch order and segments per output port).
* ``perm`` int64: row ids; a copy owns a contiguous segment, partitioned in place into one
  sub-segment per branch (stable, so each branch keeps the reference's row order).
* ``heap_t``/``heap_s``/``heap_e``: binary min-heap of (time, sequence) with the event code
  (``-1``: the injector; else ``(router * 5 + out) * 5 + in_port``, a transfer ending).
* ``ints`` int64 scalars ``I_*`` and ``cfg``/``cfgf`` the configuration ``K_*``/``KF_*``.
"""

from __future__ import annotations

from collections import namedtuple

from canmore_sim.noc import jitcache

jitcache.configure()

from numba import njit  # noqa: E402  (after the cache directory is chosen)

__all__ = ["State", "run"]

LOCAL = 0
#: Input port at the neighbour for a packet leaving through output port ``p``.
_OPP = (0, 3, 4, 1, 2)

# port[q, ...]
P_FREE, P_BUSY, P_REQ, P_RR, P_HEAD, P_LEN, P_LINKF, P_OCC, P_NEXT, P_INTER = range(10)
N_P = 10
# portf[q, ...]
F_WAIT, F_AREA, F_SINCE = range(3)
N_F = 3
# copy[c, ...]: then 5 branch-order entries, 5 branch starts, 5 branch lengths
C_START, C_LEN, C_PENDING, C_NBR = range(4)
C_ORD = 4
C_BS = 9
C_BL = 14
N_C = 19
# ints[...]
(I_SEQ, I_HEAP, I_NEXT_PACKET, I_STARTED, I_DELIVERED, I_LINK_HOPS, I_INTER_HOPS, I_EPOCH,
 I_ERROR, I_ERR_A, I_ERR_B, I_ERR_C, I_ERR_D, I_EVENTS) = range(14)
N_I = 14
# cfg[...]
K_WIDTH, K_FLITS, K_SLOTS, K_BUDGET, K_ROUTING, K_N_PACKETS = range(6)
N_K = 6
# cfgf[...]
KF_ROUTER, KF_LINK, KF_INTER, KF_SOP = range(4)
N_KF = 4

ROUTE_XY, ROUTE_YX, ROUTE_TABLE = 0, 1, 2
#: run() results
DONE, PAUSED, LIVELOCK, OFF_MESH = 0, 1, 2, 3

State = namedtuple("State", [
    "port", "portf", "copy", "arrival", "perm", "dst", "sops", "hops", "deliver",
    "pk_start", "pk_len", "pk_time", "pk_src", "inj_list", "inj_head", "inj_tail",
    "touch_mark", "touched", "scratch", "heap_t", "heap_s", "heap_e",
    "table", "dcol", "ints", "cfg", "cfgf",
])


@njit(cache=True)
def _push(s: State, t: float, event: int) -> None:
    """Schedule ``event`` at time ``t`` with the next sequence number (SimPy's event id)."""
    ht, hs, he, ints = s.heap_t, s.heap_s, s.heap_e, s.ints
    seq = ints[I_SEQ]
    ints[I_SEQ] = seq + 1
    i = ints[I_HEAP]
    ints[I_HEAP] = i + 1
    while i > 0:
        parent = (i - 1) >> 1
        pt = ht[parent]
        if pt < t or (pt == t and hs[parent] < seq):
            break
        ht[i] = pt
        hs[i] = hs[parent]
        he[i] = he[parent]
        i = parent
    ht[i] = t
    hs[i] = seq
    he[i] = event


@njit(cache=True)
def _pop(s: State) -> tuple[float, int]:
    """Remove the earliest (time, sequence) event; returns (time, event code)."""
    ht, hs, he, ints = s.heap_t, s.heap_s, s.heap_e, s.ints
    t0 = ht[0]
    e0 = he[0]
    n = ints[I_HEAP] - 1
    ints[I_HEAP] = n
    if n > 0:
        t = ht[n]
        seq = hs[n]
        ev = he[n]
        i = 0
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            right = child + 1
            if right < n and (ht[right] < ht[child]
                              or (ht[right] == ht[child] and hs[right] < hs[child])):
                child = right
            ct = ht[child]
            if t < ct or (t == ct and seq < hs[child]):
                break
            ht[i] = ct
            hs[i] = hs[child]
            he[i] = he[child]
            i = child
        ht[i] = t
        hs[i] = seq
        he[i] = ev
    return t0, e0


@njit(cache=True)
def _route(s: State, here: int, dst: int) -> int:
    """Output port at router ``here`` towards ``dst`` (routing.xy_port / yx_port / table)."""
    kind = s.cfg[K_ROUTING]
    if kind == ROUTE_TABLE:
        return s.table[here, s.dcol[dst]]
    w = s.cfg[K_WIDTH]
    dx = dst % w - here % w
    dy = dst // w - here // w
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


@njit(cache=True)
def _account(s: State, q: int, held: int, now: float) -> None:
    """Add the flit-time held in FIFO q since its last change (reference ``_account``)."""
    pf = s.portf
    pf[q, F_AREA] += held * s.cfg[K_FLITS] * (now - pf[q, F_SINCE])
    pf[q, F_SINCE] = now


@njit(cache=True)
def _arbitrate(s: State, r: int, out: int, now: float) -> None:
    """Grant output ``out`` of router ``r`` round robin if it is idle and has a credit."""
    p = s.port
    qo = r * 5 + out
    if p[qo, P_BUSY]:
        return
    mask = p[qo, P_REQ]
    if mask == 0:
        return
    if out != LOCAL:
        qn = p[qo, P_NEXT] * 5 + _OPP[out]
        if p[qn, P_FREE] <= 0:
            return
        p[qn, P_FREE] -= 1
    last = p[qo, P_RR]
    inp = 0
    for k in range(1, 6):
        inp = (last + k) % 5
        if (mask >> inp) & 1:
            break
    p[qo, P_REQ] = mask & ~(1 << inp)
    p[qo, P_RR] = inp
    p[qo, P_BUSY] = 1
    qi = r * 5 + inp
    c = qi * s.cfg[K_SLOTS] + p[qi, P_HEAD]
    bs = s.copy[c, C_BS + out]
    bl = s.copy[c, C_BL + out]
    s.portf[qi, F_WAIT] += (now - s.arrival[c]) * bl
    if out == LOCAL:
        delay = s.cfgf[KF_ROUTER]
        sop = s.cfgf[KF_SOP]
        if sop != 0.0:
            total = 0
            for k in range(bl):
                total += s.sops[s.perm[bs + k]]
            delay += sop * total
    elif p[qo, P_INTER]:
        delay = s.cfgf[KF_ROUTER] + s.cfgf[KF_INTER]
    else:
        delay = s.cfgf[KF_ROUTER] + s.cfgf[KF_LINK]
    _push(s, now + delay, qo * 5 + inp)


@njit(cache=True)
def _branch(s: State, r: int, c: int, start: int, ln: int) -> bool:
    """Split the rows of copy ``c`` by output port, first-seen order, stably in place.

    Returns False (and records the error) if the routing leaves the mesh.
    """
    cp, perm = s.copy, s.perm
    scratch = s.scratch
    ports = scratch[0]
    rows = scratch[1]
    counts = scratch[2]
    for k in range(5):
        counts[k] = 0
    nbr = 0
    for k in range(ln):
        out = _route(s, r, s.dst[perm[start + k]])
        if out < 0 or out > 4 or (out != LOCAL and s.port[r * 5 + out, P_NEXT] < 0):
            s.ints[I_ERROR] = OFF_MESH
            s.ints[I_ERR_A] = r
            s.ints[I_ERR_B] = out
            return False
        ports[k] = out
        if counts[out] == 0:
            cp[c, C_ORD + nbr] = out
            nbr += 1
        counts[out] += 1
    cp[c, C_NBR] = nbr
    off = start
    for k in range(nbr):
        out = cp[c, C_ORD + k]
        cp[c, C_BS + out] = off
        cp[c, C_BL + out] = counts[out]
        counts[out] = off  # now the next free position of the branch
        off += cp[c, C_BL + out]
    for k in range(ln):
        out = ports[k]
        rows[counts[out] - start] = perm[start + k]
        counts[out] += 1
    for k in range(ln):
        perm[start + k] = rows[k]
    return True


@njit(cache=True)
def _request(s: State, q: int, now: float) -> None:
    """The copy now at the head of FIFO q requests its output port(s)."""
    p, cp = s.port, s.copy
    r = q // 5
    c = q * s.cfg[K_SLOTS] + p[q, P_HEAD]
    start = cp[c, C_START]
    ln = cp[c, C_LEN]
    if ln == 1:
        out = _route(s, r, s.dst[s.perm[start]])
        if out < 0 or out > 4 or (out != LOCAL and p[r * 5 + out, P_NEXT] < 0):
            s.ints[I_ERROR] = OFF_MESH
            s.ints[I_ERR_A] = r
            s.ints[I_ERR_B] = out
            return
        cp[c, C_NBR] = 1
        cp[c, C_ORD] = out
        cp[c, C_BS + out] = start
        cp[c, C_BL + out] = 1
    elif not _branch(s, r, c, start, ln):
        return
    nbr = cp[c, C_NBR]
    cp[c, C_PENDING] = nbr
    bit = 1 << (q % 5)
    for k in range(nbr):
        p[r * 5 + cp[c, C_ORD + k], P_REQ] |= bit
    for k in range(nbr):
        out = cp[c, C_ORD + k]
        if not p[r * 5 + out, P_BUSY]:
            _arbitrate(s, r, out, now)


@njit(cache=True)
def _enqueue(s: State, q: int, start: int, ln: int, arrival: float,
             now: float) -> None:
    """Append a copy (rows ``perm[start:start+ln]``) to FIFO q."""
    p = s.port
    held = p[q, P_LEN]
    _account(s, q, held, now)
    slots = s.cfg[K_SLOTS]
    c = q * slots + (p[q, P_HEAD] + held) % slots
    s.copy[c, C_START] = start
    s.copy[c, C_LEN] = ln
    s.arrival[c] = arrival
    held += 1
    p[q, P_LEN] = held
    occupied = held * s.cfg[K_FLITS]
    if occupied > p[q, P_OCC]:
        p[q, P_OCC] = occupied
    if held == 1:
        _request(s, q, now)


@njit(cache=True)
def _try_inject(s: State, r: int, now: float) -> None:
    """Move released packets of core ``r`` into its local input FIFO while it has room."""
    p = s.port
    q = r * 5
    while s.inj_head[r] < s.inj_tail[r] and p[q, P_FREE] > 0:
        p[q, P_FREE] -= 1
        pk = s.inj_list[s.inj_head[r]]
        s.inj_head[r] += 1
        _enqueue(s, q, s.pk_start[pk], s.pk_len[pk], s.pk_time[pk], now)


@njit(cache=True)
def _leave(s: State, q: int, now: float) -> None:
    """The head copy of FIFO q has sent all its branches: free its slot."""
    p = s.port
    held = p[q, P_LEN]
    _account(s, q, held, now)
    p[q, P_HEAD] = (p[q, P_HEAD] + 1) % s.cfg[K_SLOTS]
    p[q, P_LEN] = held - 1
    if held > 1:
        _request(s, q, now)
    p[q, P_FREE] += 1
    r = q // 5
    inp = q % 5
    if inp == LOCAL:
        _try_inject(s, r, now)
        return
    up = p[q, P_NEXT]
    out = _OPP[inp]
    qu = up * 5 + out
    if p[qu, P_REQ] and not p[qu, P_BUSY]:
        _arbitrate(s, up, out, now)


@njit(cache=True)
def _done(s: State, qo: int, inp: int, now: float) -> None:
    """A transfer out of port ``qo`` from input ``inp`` ends (reference ``_done``)."""
    p, cp, perm = s.port, s.copy, s.perm
    r = qo // 5
    out = qo % 5
    p[qo, P_BUSY] = 0
    qi = r * 5 + inp
    c = qi * s.cfg[K_SLOTS] + p[qi, P_HEAD]
    bs = cp[c, C_BS + out]
    bl = cp[c, C_BL + out]
    p[qo, P_LINKF] += s.cfg[K_FLITS]
    if out == LOCAL:
        for k in range(bl):
            s.deliver[perm[bs + k]] = now
        s.ints[I_DELIVERED] += bl
    else:
        s.ints[I_LINK_HOPS] += 1
        if p[qo, P_INTER]:
            s.ints[I_INTER_HOPS] += 1
        hops = s.hops
        for k in range(bl):
            hops[perm[bs + k]] += 1
        first = perm[bs]
        nxt = p[qo, P_NEXT]
        if hops[first] > s.cfg[K_BUDGET]:
            s.ints[I_ERROR] = LIVELOCK
            s.ints[I_ERR_A] = r
            s.ints[I_ERR_B] = nxt
            s.ints[I_ERR_C] = first
            s.ints[I_ERR_D] = hops[first]
            return
        _enqueue(s, nxt * 5 + _OPP[out], bs, bl, now, now)
    cp[c, C_PENDING] -= 1
    if cp[c, C_PENDING] == 0:
        _leave(s, qi, now)
    if p[qo, P_REQ] and not p[qo, P_BUSY]:
        _arbitrate(s, r, out, now)


@njit(cache=True)
def _inject(s: State, now: float, resumed: bool) -> None:
    """One step of the reference's injector process at simulated time ``now``.

    ``resumed``: the step follows the injector's own timeout, after which the reference
    releases the next group at once, without comparing its time with ``now`` again
    (``now`` may be an ulp short of it).
    """
    ints = s.ints
    i = ints[I_NEXT_PACKET]
    n = s.cfg[K_N_PACKETS]
    times = s.pk_time
    while i < n:
        t = times[i]
        if t > now and not resumed:
            _push(s, now + (t - now), -1)  # the reference's timeout(t - env.now)
            break
        resumed = False
        ints[I_EPOCH] += 1
        epoch = ints[I_EPOCH]
        touched = 0
        while i < n and times[i] == t:
            r = s.pk_src[i]
            s.inj_tail[r] += 1
            if s.touch_mark[r] != epoch:
                s.touch_mark[r] = epoch
                s.touched[touched] = r
                touched += 1
            i += 1
        ints[I_NEXT_PACKET] = i
        for k in range(touched):
            _try_inject(s, s.touched[k], now)
    ints[I_NEXT_PACKET] = i


@njit(cache=True)
def run(s: State, max_events: int) -> int:
    """Process up to ``max_events`` events; returns DONE, PAUSED or an error code.

    The first call runs the injector's start at time 0 (SimPy's Initialize event, which
    is urgent and scheduled before anything else). Call again after PAUSED to resume.
    """
    ints = s.ints
    if ints[I_STARTED] == 0:
        ints[I_STARTED] = 1
        _inject(s, 0.0, False)
        if ints[I_ERROR]:
            return ints[I_ERROR]
    processed = 0
    while ints[I_HEAP] > 0:
        if processed >= max_events:
            ints[I_EVENTS] += processed
            return PAUSED
        t, event = _pop(s)
        if event < 0:
            _inject(s, t, True)
        else:
            _done(s, event // 5, event % 5, t)
        processed += 1
        if ints[I_ERROR]:
            break
    ints[I_EVENTS] += processed
    return ints[I_ERROR]
