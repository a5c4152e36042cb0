"""The per-layer and per-core counts of one frame's rows (a step of
:mod:`canmore_sim.run.frame_noc`), exact integers however they are summed.

Every count here is a sum over the frame's rows of a function of one or two small
integers of the row: its layer, source router, destination router, its charged hops
(and inter-chip hops), and whether it starts a packet. :func:`row_figures` counts the
rows per (layer, source), (layer, destination), (source, destination) and (layer,
charged hops) with one integer bincount each and reads every figure off those tables:
packets and injections, deliveries and ejections, the unicast (Manhattan) hop total, the
hops per layer (count x hops, integer sums). A mesh of more than
:data:`TABLE_ENTRIES` router pairs, or hops beyond :data:`_MOST_HOPS`, is counted row
by row in chunks instead (:func:`_by_chunks`, the former way, float bincounts of
integers, exact below 2**53). Both give the same integers (a differential test over
generated traffics shows it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from canmore_sim.noc.stats import NocStats
from canmore_sim.noc.traffic import Traffic

__all__ = ["RowFigures", "row_figures"]

#: Most (source, destination) router pairs counted in one table (8 MB of int64).
TABLE_ENTRIES = 1 << 20
#: Most charged hops of a row counted in a (layer, hops) table (a minimal route on a
#: 1024 x 1024 mesh has fewer).
_MOST_HOPS = 4096
#: Rows per chunk.
_STEP = 1 << 17


@dataclass(frozen=True)
class RowFigures:
    """One frame's counts from its rows.

    Attributes
    ----------
    hops, interchip, packets, deliveries
        int64 ``(L + 1,)`` per source layer: charged hops, charged inter-chip hops,
        packets (first rows of packets) and deliveries (rows).
    injected, ejected
        int64 ``(n_cores,)``: packets injected by each core (input packets come from the
        I/O port) and deliveries ejected into it (readouts go to the I/O port).
    late_max_ns
        How long after its deadline the latest late delivery arrived, ns (0: none late).
    unicast_hops
        Sum of the rows' Manhattan distances.
    """

    hops: np.ndarray
    interchip: np.ndarray
    packets: np.ndarray
    deliveries: np.ndarray
    injected: np.ndarray
    ejected: np.ndarray
    late_max_ns: float
    unicast_hops: int


def row_figures(traffic: Traffic, stats: NocStats, starts: np.ndarray, depth: int,
                core_of_router: np.ndarray, n_cores: int) -> RowFigures:
    """The counts of one frame's rows (``starts``: :meth:`Traffic.packet_starts`; ``depth``:
    L, the readouts' layer; ``core_of_router``: int64 core of each router, -1 where none)."""
    n, size = traffic.n_routers, depth + 1
    charged = stats.hops if stats.charged_hops is None else stats.charged_hops
    inter = stats.charged_interchip_hops
    if inter is not None and not inter.any():
        inter = None  # every count 0
    most = max((int(c.max()) if len(c) else 0) for c in (charged, inter) if c is not None)
    if n * n > TABLE_ENTRIES or most > _MOST_HOPS or len(charged) and (
            min(int(c.min()) for c in (charged, inter) if c is not None) < 0):
        return _by_chunks(traffic, stats, starts, depth, core_of_router, n_cores)
    unicast = bool(starts.all())
    by_source = np.zeros(size * n, dtype=np.int64)  # (layer, source) of packets
    by_dest = np.zeros(size * n, dtype=np.int64)  # (layer, destination) of rows
    pairs = np.zeros(n * n, dtype=np.int64)  # (source, destination) of rows
    hop_rows = {"hops": np.zeros(size * (most + 1), dtype=np.int64),
                "interchip": np.zeros(size * (most + 1), dtype=np.int64)}
    for first in range(0, len(traffic), _STEP):
        part = slice(first, first + _STEP)
        layer = traffic.layer[part].astype(np.int64)
        src, dst = traffic.src[part], traffic.dst[part]
        key = layer * n
        key += src
        by_source += np.bincount(key if unicast else key[starts[part]], minlength=size * n)
        key -= src
        key += dst
        by_dest += np.bincount(key, minlength=size * n)
        key = src.astype(np.int64) * n
        key += dst
        pairs += np.bincount(key, minlength=n * n)
        layer *= most + 1
        for name, counts in (("hops", charged), ("interchip", inter)):
            if counts is not None:
                hop_rows[name] += np.bincount(layer + counts[part], minlength=len(hop_rows[name]))
    by_source, by_dest = by_source.reshape(size, n), by_dest.reshape(size, n)
    per_hops = np.arange(most + 1, dtype=np.int64)
    return RowFigures(
        hops=hop_rows["hops"].reshape(size, most + 1) @ per_hops,
        interchip=hop_rows["interchip"].reshape(size, most + 1) @ per_hops,
        packets=by_source.sum(axis=1), deliveries=by_dest.sum(axis=1),
        injected=_per_core(by_source[1:].sum(axis=0), core_of_router, n_cores),
        ejected=_per_core(by_dest[:depth].sum(axis=0), core_of_router, n_cores),
        late_max_ns=_late_max(traffic, stats),
        unicast_hops=int((pairs.reshape(n, n) * _manhattan(traffic.width, n)).sum()))


def _per_core(per_router: np.ndarray, core_of_router: np.ndarray, n_cores: int) -> np.ndarray:
    """Counts per router as counts per core (one core per router at most)."""
    has = core_of_router >= 0
    if per_router[~has].any():
        raise ValueError("rows count at a router that holds no core")
    out = np.zeros(n_cores, dtype=np.int64)
    out[core_of_router[has]] = per_router[has]
    return out


def _manhattan(width: int, n: int) -> np.ndarray:
    """int64 ``(n, n)``: Manhattan distance between routers ``s`` and ``d``."""
    r = np.arange(n)
    x, y = r % width, r // width
    return np.abs(x[:, None] - x[None, :]) + np.abs(y[:, None] - y[None, :])


def _late_max(traffic: Traffic, stats: NocStats) -> float:
    """How long after its deadline the latest late delivery arrived, ns (0.0: none)."""
    late_max = None
    for first in range(0, len(traffic), _STEP):
        part = slice(first, first + _STEP)
        late = stats.late[part]
        if late.any():
            most = float((stats.deliver_ns[part][late] - traffic.deadline_ns[part][late]).max())
            late_max = most if late_max is None else max(late_max, most)
    return 0.0 if late_max is None else late_max


def _by_chunks(traffic: Traffic, stats: NocStats, starts: np.ndarray, depth: int,
               core_of_router: np.ndarray, n_cores: int) -> RowFigures:
    """:func:`row_figures` counted row by row, a chunk of rows at a time (large meshes)."""
    charged = stats.hops if stats.charged_hops is None else stats.charged_hops
    inter = stats.charged_interchip_hops
    size = depth + 1
    sums = {k: np.zeros(size) for k in ("hops", "interchip", "packets", "deliveries")}
    cores = {k: np.zeros(n_cores, dtype=np.int64) for k in ("injected", "ejected")}
    manhattan, step = 0, 1 << 16
    for first in range(0, len(traffic), step):
        part = slice(first, first + step)
        layer, start = traffic.layer[part], starts[part]
        sums["hops"] += np.bincount(layer, weights=charged[part], minlength=size)
        if inter is not None:
            sums["interchip"] += np.bincount(layer, weights=inter[part], minlength=size)
        sums["packets"] += np.bincount(layer[start], minlength=size)
        sums["deliveries"] += np.bincount(layer, minlength=size)
        sent = start & (layer > 0)  # input packets come from the I/O port
        received = layer < depth  # readouts go to the I/O port
        cores["injected"] += np.bincount(core_of_router[traffic.src[part][sent]],
                                         minlength=n_cores)
        cores["ejected"] += np.bincount(core_of_router[traffic.dst[part][received]],
                                        minlength=n_cores)
        manhattan += int(traffic.rows(part).manhattan().sum())
    return RowFigures(**{k: v.astype(np.int64) for k, v in sums.items()}, **cores,
                      late_max_ns=_late_max(traffic, stats), unicast_hops=manhattan)
