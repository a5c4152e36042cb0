"""Synthetic NoC traffic patterns and their channel-load throughput bound (latency-load curves).

The classic NoC evaluation (Dally and Towles, *Principles and Practices of Interconnection
Networks*, ch. 3 and 23): every router injects ``rate`` packets per ns, destinations drawn
from a pattern, and latency is plotted against offered load up to saturation. The ideal
throughput of a pattern is bounded by its busiest channel: with ``gamma_c`` the packets per
ns crossing channel ``c`` per unit of injection rate (each router injecting 1 packet/ns)
and ``1 / s_c`` the packets per ns channel ``c`` can carry, the rate that *every* router
gets through (the minimum over routers, :func:`accepted_throughput`) is at most
``min_c 1 / (s_c gamma_c)``.

In this model a router-to-router link is held for ``router_delay_ns + flits x
link_delay_ns`` per packet (``s_link``) and an ejection port for ``flits x
router_delay_ns`` (``core.sop_ns`` = 0). With ``router.link_pipelined`` the next packet's
router stage overlaps the link stage, so ``s_link`` is ``flits x link_delay_ns`` under
store-and-forward and ``max(flits x link_delay_ns, link_delay_ns + router_delay_ns)``
under the cut-through modes (an output is released no earlier than its head's arrival).
For uniform random traffic on a ``k x k`` mesh under XY (or YX) the busiest links
are those crossing the bisection, ``gamma = k / 4``, so the bound is
``4 / (k s_link)`` packets per router per ns.

Patterns (router ``(x, y)``, mesh ``width x height``):

* ``uniform``: every router equally likely (itself included);
* ``transpose``: ``(x, y) -> (y, x)`` (square meshes; the diagonal sends to itself);
* ``hotspot``: every packet to one router (the centre ``(width // 2 - 1, height // 2 - 1)``
  unless given), so that router's ejection port is the bottleneck.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.errors import ConfigError
from canmore_sim.noc.routing import LOCAL, Adaptive, get_routing, neighbour
from canmore_sim.noc.stats import NocStats
from canmore_sim.noc.traffic import Traffic

__all__ = ["PATTERNS", "accepted_throughput", "channel_loads", "cut_bound", "destination_matrix",
           "pattern_traffic", "saturation_throughput", "throughput_bound",
           "zero_load_latency_ns"]

PATTERNS = ("uniform", "transpose", "hotspot")


def destination_matrix(pattern: str, width: int, height: int,
                       hotspot: int | None = None) -> np.ndarray:
    """``P[s, d]``: probability that a packet of router ``s`` goes to router ``d``.

    Raises
    ------
    ConfigError
        For an unknown pattern, or transpose on a mesh that is not square.
    """
    n = width * height
    if pattern == "uniform":
        return np.full((n, n), 1.0 / n)
    p = np.zeros((n, n))
    if pattern == "transpose":
        if width != height:
            raise ConfigError(f"transpose traffic needs a square mesh, got {width}x{height}",
                              key="pattern")
        src = np.arange(n)
        p[src, (src % width) * width + src // width] = 1.0
        return p
    if pattern == "hotspot":
        p[:, _hotspot(width, height, hotspot)] = 1.0
        return p
    raise ConfigError(f"unknown traffic pattern {pattern!r}; valid: {', '.join(PATTERNS)}",
                      key="pattern")


def pattern_traffic(pattern: str, width: int, height: int, rate: float, duration_ns: float,
                    seed: int = 0, hotspot: int | None = None,
                    arrivals: str = "periodic") -> Traffic:
    """Every router injects ``rate`` packets per ns during ``duration_ns``.

    ``arrivals``: ``periodic`` (one packet every ``1 / rate`` ns from a random phase, so
    each router offers exactly its share; the default) or ``poisson``. Destinations follow
    :func:`destination_matrix`; rows are sorted by time (stable).
    """
    if rate <= 0 or duration_ns <= 0:
        raise ConfigError(f"rate and duration must be > 0, got {rate} and {duration_ns}",
                          key="rate")
    rng = np.random.default_rng(seed)
    n = width * height
    if arrivals == "periodic":
        period = 1.0 / rate
        phase = rng.uniform(0.0, period, n)
        counts = np.ceil((duration_ns - phase) / period).clip(min=0).astype(np.int64)
        src = np.repeat(np.arange(n), counts)
        first = np.cumsum(counts) - counts
        times = phase[src] + (np.arange(len(src)) - first[src]) * period
    elif arrivals == "poisson":
        src = np.repeat(np.arange(n), rng.poisson(rate * duration_ns, n))
        times = rng.uniform(0.0, duration_ns, len(src))
    else:
        raise ConfigError(f"unknown arrivals {arrivals!r}; valid: periodic, poisson",
                          key="arrivals")
    cumulative = np.cumsum(destination_matrix(pattern, width, height, hotspot), axis=1)
    draw = rng.random(len(src))
    dst = np.minimum((cumulative[src] < draw[:, None]).sum(axis=1), n - 1)
    order = np.argsort(times, kind="stable")
    rows = len(order)
    return Traffic(width, height, times[order], src[order].astype(np.int32),
                   dst[order].astype(np.int32), np.arange(rows, dtype=np.int64),
                   np.zeros(rows, dtype=np.int16), np.full(rows, np.inf))


def accepted_throughput(traffic: Traffic, deliver_ns: np.ndarray,
                        duration_ns: float) -> tuple[float, float]:
    """(min, mean) over routers of packets delivered by ``duration_ns``, per router per ns.

    The minimum is the throughput in the sense of the channel-load bound (the rate every
    router gets through); the mean can exceed the bound where some routers' traffic
    avoids the bottleneck.
    """
    done = deliver_ns <= duration_ns
    per_router = np.bincount(traffic.src[done], minlength=traffic.n_routers) / duration_ns
    return float(per_router.min()), float(per_router.mean())


def channel_loads(pattern: str, width: int, height: int, routing: str = "xy",
                  hotspot: int | None = None) -> np.ndarray:
    """``gamma[r, port]``: packets per ns through each output port per unit injection rate.

    Column ``LOCAL`` is the ejection into router ``r``'s core; the others are the links
    (:data:`~canmore_sim.noc.stats.PORTS` order), following the deterministic ``routing``.
    """
    route = get_routing(routing)
    p = destination_matrix(pattern, width, height, hotspot)
    n = width * height
    gamma = np.zeros((n, 5))
    for s, d in zip(*np.nonzero(p), strict=True):
        here = int(s)
        while True:
            out = route(here, int(d), width)
            gamma[here, out] += p[s, d]
            if out == LOCAL:
                break
            here = neighbour(here, out, width)
    return gamma


def throughput_bound(pattern: str, width: int, height: int, config: ArchConfig,
                     hotspot: int | None = None) -> float:
    """Channel-load bound on accepted throughput, packets per router per ns (see module).

    Under an adaptive routing the channels' loads depend on the run, so the bound is the
    one every minimal routing obeys: :func:`cut_bound`.
    """
    if isinstance(get_routing(config.router.routing), Adaptive):
        return cut_bound(pattern, width, height, config, hotspot)
    link, eject = _service_ns(config)
    service = np.full(5, link)
    service[LOCAL] = eject
    gamma = channel_loads(pattern, width, height, config.router.routing, hotspot)
    return float(1.0 / (gamma * service).max())


def cut_bound(pattern: str, width: int, height: int, config: ArchConfig,
              hotspot: int | None = None) -> float:
    """Throughput bound of any minimal routing, packets per router per ns.

    A minimal route crosses a straight cut of the mesh (between two columns, or two rows)
    once in the direction of its destination, whatever the routing, so the packets per ns
    from one side to the other cannot exceed the links across the cut (one per row, or per
    column) times ``1 / s_link``; each ejection port carries at most ``1 / s_eject``.
    """
    link, eject = _service_ns(config)
    p = destination_matrix(pattern, width, height, hotspot)
    n = width * height
    r = np.arange(n)
    x, y = r % width, r // width
    bounds = [1.0 / (p.sum(axis=0).max() * eject)]
    for coord, size, across in ((x, width, height), (y, height, width)):
        for cut in range(1, size):
            low = coord < cut
            for a, b in ((low, ~low), (~low, low)):
                load = p[np.ix_(a, b)].sum()
                if load > 0:
                    bounds.append(across / (load * link))
    return float(min(bounds))


def _service_ns(config: ArchConfig) -> tuple[float, float]:
    """(ns an output link is held per packet, ns an ejection port is held per packet)."""
    r = config.router
    flits_ns = r.flits_per_packet * r.link_delay_ns
    link = r.router_delay_ns + flits_ns
    if r.link_pipelined:
        link = flits_ns if r.switching == "store-and-forward" else max(
            flits_ns, r.link_delay_ns + r.router_delay_ns)
    return max(link, 1e-300), max(r.flits_per_packet * r.router_delay_ns, 1e-300)


def zero_load_latency_ns(hops: np.ndarray | int, config: ArchConfig) -> np.ndarray:
    """Latency (ns) of a lone packet crossing h links on one chip: under store-and-forward
    ``(h + flits) router_delay_ns + flits h link_delay_ns`` (see
    :func:`~canmore_sim.noc.zero_load.zero_load_ns` for the cut-through modes)."""
    from canmore_sim.noc.zero_load import cut_through_zero_load

    r = config.router
    h = np.asarray(hops, dtype=np.float64)
    if r.switching != "store-and-forward":
        return cut_through_zero_load(h, np.zeros_like(h), config)
    return (h + r.flits_per_packet) * r.router_delay_ns + r.flits_per_packet * h * r.link_delay_ns


def _hotspot(width: int, height: int, hotspot: int | None) -> int:
    if hotspot is None:
        return (max(height // 2 - 1, 0)) * width + max(width // 2 - 1, 0)
    if not 0 <= hotspot < width * height:
        raise ConfigError(f"hotspot router {hotspot} is outside the {width}x{height} mesh",
                          key="hotspot")
    return hotspot


#: Offered loads (fractions of the bound) searched for the saturation throughput.
SATURATION_FRACTIONS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25)


def saturation_throughput(pattern: str, width: int, height: int, config: ArchConfig, *,
                          duration_ns: float, arrivals: str, seed: int = 1,
                          fractions: tuple[float, ...] = SATURATION_FRACTIONS,
                          simulate: Callable[[Traffic, ArchConfig], NocStats] | None = None
                          ) -> tuple[float, float]:
    """(saturation throughput, bound), packets per router per ns.

    The saturation throughput is the highest accepted throughput (the minimum over routers,
    :func:`accepted_throughput`) over offered loads ``fractions x bound``
    (:func:`throughput_bound`), each a ``pattern_traffic`` of ``duration_ns`` with the
    given ``arrivals``, replayed by ``simulate`` (default: the fast engine).
    """
    if simulate is None:
        from canmore_sim.noc.fast import simulate as fast_simulate

        simulate = fast_simulate
    bound = throughput_bound(pattern, width, height, config)
    best = 0.0
    for fraction in fractions:
        traffic = pattern_traffic(pattern, width, height, fraction * bound, duration_ns,
                                  seed=seed, arrivals=arrivals)
        accepted, _ = accepted_throughput(traffic, simulate(traffic, config).deliver_ns,
                                          duration_ns)
        best = max(best, accepted)
    return best, bound
