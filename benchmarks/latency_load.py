"""Latency against offered load on an 8x8 mesh: uniform random, transpose and hotspot traffic.

The NoC evaluation every NoC paper shows (XY routing, the default router of
``configs/arch/default.yaml``). Each router injects a Poisson stream of packets for
``--duration`` ns at each offered load (a fraction of the pattern's channel-load bound, see
``noc/patterns.py``; periodic sources with random phases); the table gives accepted
throughput (packets delivered by the end of the injection window, per router per ns: the
minimum over routers, which the bound limits, and the mean), mean latency of the packets
injected in the middle half of the window, and the zero-load latency, closed form
``(h + 1) * router_delay_ns + flits * h * link_delay_ns`` averaged over the pattern. The
saturation throughput is the highest accepted throughput seen, beside the bound.

    .venv/bin/python benchmarks/latency_load.py [--duration 4000] [--engine fast]
                                                [--out benchmarks/results/latency_load.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from canmore_sim.config import ArchConfig, default_config
from canmore_sim.noc import get_engine
from canmore_sim.noc.patterns import (
    PATTERNS,
    accepted_throughput,
    destination_matrix,
    pattern_traffic,
    throughput_bound,
    zero_load_latency_ns,
)

FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25)
K = 8


def _zero_load(pattern: str, config: ArchConfig) -> float:
    """Mean closed-form zero-load latency over the pattern's (source, destination) pairs."""
    n = K * K
    p = destination_matrix(pattern, K, K) / n
    r = np.arange(n)
    hops = (np.abs(r[:, None] % K - r[None, :] % K) + np.abs(r[:, None] // K - r[None, :] // K))
    return float((p * zero_load_latency_ns(hops, config)).sum())


def _point(pattern: str, rate: float, duration: float, config: ArchConfig,
           engine: str) -> tuple[float, float, float]:
    """Accepted packets per router per ns (min and mean over routers), mean latency ns."""
    traffic = pattern_traffic(pattern, K, K, rate, duration, seed=1)
    stats = get_engine(engine)(traffic, config)
    accepted, mean = accepted_throughput(traffic, stats.deliver_ns, duration)
    window = (traffic.time_ns >= duration / 4) & (traffic.time_ns < 3 * duration / 4)
    return accepted, mean, float(stats.latency_ns[window].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=4000.0, help="injection window, ns")
    parser.add_argument("--engine", default="fast", help="NoC engine (fast or simpy)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/latency_load.png"))
    args = parser.parse_args()
    config = default_config()
    start = time.perf_counter()
    curves = {}
    print(f"8x8 mesh, XY, buffer {config.router.buffer_depth} flits, "
          f"{config.router.flits_per_packet} flit/packet, router {config.router.router_delay_ns}"
          f" ns, link {config.router.link_delay_ns} ns; Poisson injection for "
          f"{args.duration:.0f} ns per point; engine {args.engine}")
    for pattern in PATTERNS:
        bound = throughput_bound(pattern, K, K, config)
        zero = _zero_load(pattern, config)
        print(f"\n{pattern}: channel-load bound {bound:.4f} packets/router/ns, "
              f"zero-load latency {zero:.2f} ns (closed form)")
        print(f"  {'offered':>10} {'x bound':>8} {'accepted':>10} {'x bound':>8} "
              f"{'mean acc.':>10} {'latency ns':>11} {'x zero-load':>12}")
        rows = []
        for fraction in FRACTIONS:
            rate = fraction * bound
            accepted, mean, latency = _point(pattern, rate, args.duration, config, args.engine)
            rows.append((rate, accepted, latency))
            print(f"  {rate:10.4f} {fraction:8.2f} {accepted:10.4f} {accepted / bound:8.2f} "
                  f"{mean:10.4f} {latency:11.1f} {latency / zero:12.2f}")
        saturation = max(a for _, a, _ in rows)
        print(f"  saturation throughput {saturation:.4f} packets/router/ns = "
              f"{saturation / bound:.2f} x bound")
        curves[pattern] = (bound, zero, rows)
    _plot(curves, args.out)
    print(f"\nplot: {args.out}  ({time.perf_counter() - start:.1f} s)")


def _plot(curves: dict[str, tuple[float, float, list[tuple[float, float, float]]]],
          out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (pattern, (bound, zero, rows)), colour in zip(curves.items(), ("C0", "C1", "C2"),
                                                     strict=True):
        rates = [r for r, _, _ in rows]
        ax.plot(rates, [lat for _, _, lat in rows], "o-", color=colour, label=pattern)
        ax.axvline(bound, color=colour, linestyle="--", linewidth=1)
        ax.axhline(zero, color=colour, linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("offered load, packets per router per ns (dashed: channel-load bound)")
    ax.set_ylabel("mean latency, ns (dotted: zero-load)")
    ax.set_title("8x8 mesh, XY routing: latency against offered load", fontsize=10)
    ax.legend()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
