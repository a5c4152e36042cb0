"""Generated traffics and configurations for the differential test of the NoC engines.

Each case is drawn from one seed: mesh 1x1 to 16x16 (square or not, sometimes tiled into
chips with their own link delay), XY or YX, buffer depth 1-16, 1-4 flits per packet,
unicast or multicast, ``core.sop_ns`` zero or not, and one of the patterns uniform,
hotspot, all-to-all burst or transpose, with many simultaneous injections (times drawn
from a coarse grid) and delays that are not exact in binary (1.7 ns, 0.3 ns...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from canmore_sim.config import ArchConfig, default_config, with_overrides
from canmore_sim.noc.traffic import Traffic

PATTERNS = ("uniform", "hotspot", "all-to-all", "transpose")


@dataclass(frozen=True)
class Case:
    """One generated differential case."""

    name: str
    traffic: Traffic
    config: ArchConfig


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _mesh(rng: np.random.Generator, seed: int) -> tuple[int, int, int, int]:
    """Width, height and chip size (0, 0 for one chip)."""
    fixed = {0: (1, 1), 1: (16, 16), 2: (16, 3), 3: (1, 9), 4: (8, 8)}
    w, h = fixed.get(seed % 25, (int(rng.integers(1, 17)), int(rng.integers(1, 17))))
    if rng.random() < 0.3:
        cw = int(rng.choice([d for d in _divisors(w) if d < w] or [w]))
        ch = int(rng.choice([d for d in _divisors(h) if d < h] or [h]))
        if (cw, ch) != (w, h):
            return w, h, cw, ch
    return w, h, 0, 0


def _times(rng: np.random.Generator, n: int, span: float) -> np.ndarray:
    """Injection times on a coarse grid (many exact ties) or continuous."""
    if rng.random() < 0.6:
        step = float(rng.choice([1.3, 0.1, 2.0, 7.7]))
        return rng.integers(0, max(1, int(span / step)), n) * step
    return rng.uniform(0.0, span, n)


def _endpoints(rng: np.random.Generator, pattern: str, n_routers: int, w: int, h: int,
               n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sources, destinations and (for bursts) times of ``n`` or so rows."""
    if pattern == "hotspot":
        src = rng.integers(0, n_routers, n)
        return src, np.full(n, int(rng.integers(0, n_routers))), _times(rng, n, 40.0)
    if pattern == "all-to-all":
        pairs = np.arange(n_routers * n_routers)
        if len(pairs) > 2000:
            pairs = np.sort(rng.choice(pairs, size=n, replace=False))
        else:
            pairs = np.tile(pairs, max(1, n // len(pairs)))
        src, dst = pairs // n_routers, pairs % n_routers
        bursts = rng.integers(0, 3, len(src)) * float(rng.choice([0.0, 5.0, 50.0]))
        return src, dst, bursts
    if pattern == "transpose":
        src = rng.integers(0, n_routers, n)
        x, y = src % w, src // w
        dst = (x % h) * w + (y % w)
        return src, dst, _times(rng, n, 200.0)
    return rng.integers(0, n_routers, n), rng.integers(0, n_routers, n), _times(rng, n, 300.0)


def _multicast(rng: np.random.Generator, src: np.ndarray, times: np.ndarray, n_routers: int,
               fanout: int) -> tuple[np.ndarray, ...]:
    """Spikes with up to ``fanout`` distinct destinations each, one row per destination."""
    rows_src, rows_dst, rows_t, rows_spike = [], [], [], []
    for s, (origin, t) in enumerate(zip(src.tolist(), times.tolist(), strict=True)):
        k = int(rng.integers(1, fanout + 1))
        targets = np.unique(rng.integers(0, n_routers, k))
        rows_src += [origin] * len(targets)
        rows_dst += targets.tolist()
        rows_t += [t] * len(targets)
        rows_spike += [s] * len(targets)
    return (np.array(rows_src), np.array(rows_dst), np.array(rows_t, dtype=np.float64),
            np.array(rows_spike))


def make_case(seed: int) -> Case:
    """The differential case number ``seed`` (deterministic)."""
    rng = np.random.default_rng(1000 + seed)
    w, h, cw, ch = _mesh(rng, seed)
    n_routers = w * h
    pattern = PATTERNS[seed % len(PATTERNS)]
    multicast = rng.random() < 0.35
    n = int(rng.integers(5, 260 if multicast else 700))
    src, dst, times = _endpoints(rng, pattern, n_routers, w, h, n)
    if multicast:
        src, dst, times, spike = _multicast(rng, src, times, n_routers, fanout=int(
            rng.integers(2, 9)))
    else:
        spike = np.arange(len(src))
    order = np.lexsort((dst, spike, times))
    rows = len(order)
    flits = int(rng.integers(1, 5))
    depth = int(rng.integers(flits, 17)) if rng.random() < 0.5 else flits * int(rng.integers(1, 3))
    sop = float(rng.choice([0.0, 0.0, 0.37, 0.1]))
    deadline = rng.uniform(5.0, 400.0, rows)
    traffic = Traffic(
        w, h, times[order].astype(np.float64), src[order].astype(np.int32),
        dst[order].astype(np.int32), spike[order].astype(np.int64), np.zeros(rows, np.int16),
        deadline, multicast, cw, ch,
        sops=rng.integers(0, 40, rows).astype(np.int64) if rng.random() < 0.7 else None)
    config = with_overrides(default_config(), {
        "mesh": f"{w}x{h}",
        "router.routing": str(rng.choice(["xy", "yx"])),
        "router.buffer_depth": min(depth, 16),
        "router.flits_per_packet": flits,
        "router.router_delay_ns": float(rng.choice([2.0, 1.7, 0.3, 1.0])),
        "router.link_delay_ns": float(rng.choice([1.0, 0.6, 0.1, 2.3])),
        "core.sop_ns": sop,
        "multichip.interchip_link_delay_ns": float(rng.choice([20.0, 7.3, 0.0])),
    })
    name = (f"{seed}:{pattern} {w}x{h}" + (f" chips {cw}x{ch}" if cw else "")
            + f" {config.router.routing} d{config.router.buffer_depth} f{flits}"
            + (" mc" if multicast else "") + (f" sop{sop}" if sop else "") + f" rows{rows}")
    return Case(name, traffic, config)


SWITCHINGS = ("store-and-forward", "virtual-cut-through", "wormhole")
#: Every combination of the router options the differential test must cover.
ROUTING_NAMES = ("xy", "yx", "west-first", "odd-even")
#: (switching, link_pipelined, virtual_channels, routing): every combination.
OPTION_GRID = tuple((switching, piped, vcs, routing) for switching in SWITCHINGS
                    for piped in (False, True) for vcs in (1, 2, 3) for routing in ROUTING_NAMES)


def make_option_case(seed: int) -> Case:
    """Case ``seed`` of the router options' differential test: a generated traffic and
    configuration as :func:`make_case` draws them (from other seeds), with the router
    options of :data:`OPTION_GRID` entry ``seed % len(OPTION_GRID)``, and smaller
    traffics (at most 200 rows) so that many combinations stay fast."""
    base = make_case(5000 + seed)
    switching, piped, vcs, routing = OPTION_GRID[seed % len(OPTION_GRID)]
    rng = np.random.default_rng(9000 + seed)
    keep = len(base.traffic)
    if keep > 200:
        keep = 200
    t = base.traffic
    part = slice(0, keep)  # (a cut multicast spike is a smaller packet, still valid)
    traffic = Traffic(t.width, t.height, t.time_ns[part], t.src[part], t.dst[part],
                      t.spike[part], t.layer[part], t.deadline_ns[part], t.multicast,
                      t.chip_width, t.chip_height,
                      None if t.sops is None else t.sops[part])
    config = with_overrides(base.config, {
        "router.switching": switching, "router.link_pipelined": piped,
        "router.virtual_channels": vcs, "router.routing": routing,
        "router.buffer_depth": min(16, base.config.router.buffer_depth
                                   + int(rng.integers(0, 3)))})
    name = f"{base.name} {switching}{' pipelined' if piped else ''} vc{vcs} {routing}"
    return Case(name, traffic, config)
