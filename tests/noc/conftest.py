"""Small traffic patterns for NoC tests."""

from __future__ import annotations

import numpy as np

from canmore_sim.noc.traffic import Traffic


def make_traffic(src, dst, time_ns=None, *, width=8, height=8, spike=None, deadline_ns=None,
                 multicast=False, chip=(0, 0)) -> Traffic:
    src = np.asarray(src, dtype=np.int32)
    dst = np.asarray(dst, dtype=np.int32)
    n = len(src)
    t = np.zeros(n) if time_ns is None else np.asarray(time_ns, dtype=np.float64)
    order = np.argsort(t, kind="stable")
    spike = np.arange(n) if spike is None else np.asarray(spike)
    deadline = np.full(n, 1e12) if deadline_ns is None else np.asarray(deadline_ns, dtype=float)
    return Traffic(width, height, t[order], src[order], dst[order], spike[order].astype(np.int64),
                   np.zeros(n, dtype=np.int16), deadline[order], multicast, chip[0], chip[1])


def random_traffic(n: int, seed: int = 0, width: int = 8, height: int = 8,
                   span_ns: float = 2000.0) -> Traffic:
    rng = np.random.default_rng(seed)
    routers = width * height
    return make_traffic(rng.integers(0, routers, n), rng.integers(0, routers, n),
                        rng.uniform(0, span_ns, n), width=width, height=height)
