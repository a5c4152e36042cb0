"""Latency against offered load on an 8x8 mesh, and saturation per router option.

The NoC evaluation every NoC paper shows, in three parts:

1. **Latency-load curves** of the default router (``configs/arch/default.yaml``: XY, 4-flit
   buffers, 1 flit per packet, store-and-forward) for uniform random, transpose and hotspot
   traffic, with **periodic** arrivals (each router one packet every ``1 / rate`` ns from a
   random phase) and with **Poisson** arrivals (``pattern_traffic(arrivals=...)``). Each
   point injects for ``--duration`` ns at an offered load that is a fraction of the
   pattern's channel-load bound (``noc/patterns.py``); the table gives accepted throughput
   (packets delivered by the end of the window, per router per ns: the minimum over
   routers, which the bound limits, and the mean), the mean latency of the packets injected
   in the middle half of the window, and the zero-load latency (closed form averaged over
   the pattern).
2. **Saturation per switching mode and routing**: 4-flit packets, 16-flit buffers, every
   ``router.switching`` x ``router.routing`` (xy, yx, west-first, odd-even), both arrival
   processes: the saturation throughput (the highest accepted throughput over offered loads
   0.2-1.25 x bound, ``saturation_throughput``) beside the bound (the channel-load bound of
   the deterministic routings; the cut bound, valid for every minimal routing, of the
   adaptive ones).
3. **A BookSim-comparable configuration**: 8x8 mesh, XY, one virtual channel, 1-flit
   packets, 16-flit buffers, 1 ns router and 1 ns link (BookSim2's cycle), wormhole,
   pipelined links: zero-load latency and uniform-random saturation, to set beside
   BookSim2's published behaviour (README, "Router options").

    .venv/bin/python benchmarks/latency_load.py [--duration 4000] [--engine fast]
                                                [--out benchmarks/results/latency_load.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from canmore_sim.config import ArchConfig, default_config, with_overrides
from canmore_sim.noc import get_engine
from canmore_sim.noc.patterns import (
    PATTERNS,
    accepted_throughput,
    destination_matrix,
    pattern_traffic,
    saturation_throughput,
    throughput_bound,
    zero_load_latency_ns,
)

FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25)
ARRIVALS = ("periodic", "poisson")
SWITCHINGS = ("store-and-forward", "virtual-cut-through", "wormhole")
ROUTINGS = ("xy", "yx", "west-first", "odd-even")
K = 8
#: The router of part 3, comparable with BookSim2's 8x8 mesh examples.
BOOKSIM_LIKE = {"router.routing": "xy", "router.virtual_channels": 1,
                "router.flits_per_packet": 1, "router.buffer_depth": 16,
                "router.router_delay_ns": 1.0, "router.link_delay_ns": 1.0,
                "router.switching": "wormhole", "router.link_pipelined": True}


def _zero_load(pattern: str, config: ArchConfig) -> float:
    """Mean closed-form zero-load latency over the pattern's (source, destination) pairs."""
    n = K * K
    p = destination_matrix(pattern, K, K) / n
    r = np.arange(n)
    hops = (np.abs(r[:, None] % K - r[None, :] % K) + np.abs(r[:, None] // K - r[None, :] // K))
    return float((p * zero_load_latency_ns(hops, config)).sum())


def _point(pattern: str, rate: float, duration: float, config: ArchConfig, engine: str,
           arrivals: str) -> tuple[float, float, float]:
    """Accepted packets per router per ns (min and mean over routers), mean latency ns."""
    traffic = pattern_traffic(pattern, K, K, rate, duration, seed=1, arrivals=arrivals)
    stats = get_engine(engine)(traffic, config)
    accepted, mean = accepted_throughput(traffic, stats.deliver_ns, duration)
    window = (traffic.time_ns >= duration / 4) & (traffic.time_ns < 3 * duration / 4)
    return accepted, mean, float(stats.latency_ns[window].mean())


def _curves(config: ArchConfig, duration: float, engine: str
            ) -> dict[tuple[str, str], tuple[float, float, list[tuple[float, float, float]]]]:
    curves = {}
    for arrivals in ARRIVALS:
        for pattern in PATTERNS:
            bound = throughput_bound(pattern, K, K, config)
            zero = _zero_load(pattern, config)
            print(f"\n{pattern}, {arrivals} arrivals: channel-load bound {bound:.4f} "
                  f"packets/router/ns, zero-load latency {zero:.2f} ns (closed form)")
            print(f"  {'offered':>10} {'x bound':>8} {'accepted':>10} {'x bound':>8} "
                  f"{'mean acc.':>10} {'latency ns':>11} {'x zero-load':>12}")
            rows = []
            for fraction in FRACTIONS:
                rate = fraction * bound
                accepted, mean, latency = _point(pattern, rate, duration, config, engine,
                                                 arrivals)
                rows.append((rate, accepted, latency))
                print(f"  {rate:10.4f} {fraction:8.2f} {accepted:10.4f} "
                      f"{accepted / bound:8.2f} {mean:10.4f} {latency:11.1f} "
                      f"{latency / zero:12.2f}")
            saturation = max(a for _, a, _ in rows)
            print(f"  saturation throughput {saturation:.4f} packets/router/ns = "
                  f"{saturation / bound:.2f} x bound")
            curves[pattern, arrivals] = (bound, zero, rows)
    return curves


def _saturation_table(duration: float, engine: str) -> None:
    simulate = get_engine(engine)
    print("\nSaturation per switching mode and routing: 4-flit packets, 16-flit buffers "
          f"(x bound; {duration:.0f} ns per offered load)")
    print(f"  {'pattern':<10} {'arrivals':<9} {'switching':<20} "
          + " ".join(f"{r:>11}" for r in ROUTINGS))
    for pattern in PATTERNS:
        span = duration * 5 if pattern == "hotspot" else duration
        for arrivals in ARRIVALS:
            for switching in SWITCHINGS:
                cells = []
                for routing in ROUTINGS:
                    config = with_overrides(default_config(), {
                        "router.switching": switching, "router.routing": routing,
                        "router.flits_per_packet": 4, "router.buffer_depth": 16})
                    sat, bound = saturation_throughput(pattern, K, K, config, duration_ns=span,
                                                       arrivals=arrivals, simulate=simulate)
                    cells.append(f"{sat / bound:11.2f}")
                print(f"  {pattern:<10} {arrivals:<9} {switching:<20} " + " ".join(cells))


def _booksim_like(duration: float, engine: str) -> None:
    config = with_overrides(default_config(), BOOKSIM_LIKE)
    simulate = get_engine(engine)
    bound = throughput_bound("uniform", K, K, config)
    zero = _zero_load("uniform", config)
    low = _point("uniform", 0.02 * bound, duration, config, engine, "poisson")[2]
    print("\nBookSim-comparable router (8x8, XY, 1 VC, 1-flit packets, 16-flit buffers, "
          "1 ns router, 1 ns link, wormhole, pipelined links), uniform random:")
    r = np.arange(K * K)
    hops = (np.abs(r[:, None] % K - r[None, :] % K) + np.abs(r[:, None] // K - r[None, :] // K))
    print(f"  zero-load latency {zero:.2f} ns closed form (mean {hops.mean():.2f} hops x 2 ns "
          f"+ 1 ns ejection), {low:.2f} ns measured at 0.02 x bound")
    for arrivals in ARRIVALS:
        sat, bound = saturation_throughput("uniform", K, K, config, duration_ns=duration,
                                           arrivals=arrivals, simulate=simulate)
        print(f"  saturation ({arrivals}) {sat:.4f} packets/router/ns = {sat / bound:.2f} x "
              f"the channel-load bound {bound:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=4000.0, help="injection window, ns")
    parser.add_argument("--engine", default="fast", help="NoC engine (fast or simpy)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/latency_load.png"))
    args = parser.parse_args()
    config = default_config()
    start = time.perf_counter()
    r = config.router
    print(f"8x8 mesh, {r.routing.upper()}, buffer {r.buffer_depth} flits, "
          f"{r.flits_per_packet} flit/packet, router {r.router_delay_ns} ns, link "
          f"{r.link_delay_ns} ns, {r.switching}; periodic and Poisson arrivals for "
          f"{args.duration:.0f} ns per point; engine {args.engine}")
    curves = _curves(config, args.duration, args.engine)
    _plot(curves, args.out)
    _saturation_table(args.duration, args.engine)
    _booksim_like(args.duration, args.engine)
    print(f"\nplot: {args.out}  ({time.perf_counter() - start:.1f} s)")


def _plot(curves: dict[tuple[str, str], tuple[float, float, list[tuple[float, float, float]]]],
          out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = dict(zip(PATTERNS, ("C0", "C1", "C2"), strict=True))
    for (pattern, arrivals), (bound, zero, rows) in curves.items():
        colour = colours[pattern]
        rates = [r for r, _, _ in rows]
        style = "o-" if arrivals == "poisson" else "s--"
        ax.plot(rates, [lat for _, _, lat in rows], style, color=colour,
                label=f"{pattern}, {arrivals}", markersize=4)
        ax.axvline(bound, color=colour, linestyle="--", linewidth=1)
        ax.axhline(zero, color=colour, linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("offered load, packets per router per ns (dashed: channel-load bound)")
    ax.set_ylabel("mean latency, ns (dotted: zero-load)")
    ax.set_title("8x8 mesh, XY routing: latency against offered load", fontsize=10)
    ax.legend(fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
