"""NoC engine speed: packet-hops per second of wall time, both engines, and their ratio.

Prints, for the compiled ``fast`` engine and the SimPy reference on this machine:
* uniform random traffic (20,000 packets on an 8x8 mesh),
* a hotspot (every router sends to router (3,3), 20,000 packets within 500 ns),
* the bundled default network (one frame of its real traffic),
* one VGG16 frame (synthetic weights, 25 % of neurons spiking, 8x8 chips tiled); the SimPy
  run of it takes minutes: ``--skip-simpy-vgg16`` times SimPy on the frame's first
  ``--slice`` packets instead and says so, ``--skip-vgg16`` leaves the case out.

    .venv/bin/python benchmarks/noc_speed.py [--skip-vgg16 | --skip-simpy-vgg16] [--repeat 3]

Each case checks that both engines' statistics are identical. Runs are repeated
``--repeat`` times (the fast engine 5x as often) and the best run is the figure (the least
disturbed by other work on a shared machine), the median beside it, and the speed per
second of CPU time used by the process (what one core gives when the machine is busy).
The fast engine is compiled (or loaded from numba's cache) before any timing; the compile
time is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable

import numpy as np

from canmore_sim.config import ArchConfig, default_config
from canmore_sim.cores.calibrate import synthetic_graph
from canmore_sim.cores.neuron import run_network
from canmore_sim.datasets.readers import load_frames
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.models.loaders import load_model
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.models.zoo import ZOO
from canmore_sim.noc import NocStats, Traffic, fast
from canmore_sim.noc import engine as reference
from canmore_sim.noc.build import build_traffic
from canmore_sim.run.pipeline import map_network

Simulate = Callable[[Traffic, ArchConfig], NocStats]


def _time(run: Simulate, traffic: Traffic, config: ArchConfig,
          repeat: int) -> tuple[NocStats, float, float, float]:
    """Statistics, best and median wall time, and best CPU time of ``repeat`` runs."""
    walls, cpus = [], []
    stats = None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        stats = run(traffic, config)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    assert stats is not None
    return stats, min(walls), float(np.median(walls)), min(cpus)


def _identical(a: NocStats, b: NocStats) -> bool:
    for field in dataclasses.fields(NocStats):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                return False
        elif x != y:
            return False
    return True


def _row(engine: str, traffic: Traffic, stats: NocStats, best: float, median: float,
         cpu: float, repeat: int) -> float:
    speed = stats.link_hops / best
    print(f"  {engine:<6} {len(traffic):>10,} packets {stats.link_hops:>12,} hops {best:9.3f} s "
          f"{speed:>14,.0f} packet-hops/s (best of {repeat}; median "
          f"{stats.link_hops / median:,.0f}; per CPU second {stats.link_hops / cpu:,.0f})")
    return speed


def _case(label: str, traffic: Traffic, config: ArchConfig, repeat: int,
          simpy_traffic: Traffic | None = None, note: str = "") -> None:
    """Both engines on one case; SimPy on ``simpy_traffic`` (a slice) when given."""
    print(label)
    f_stats, f_best, f_med, f_cpu = _time(fast.simulate, traffic, config, 5 * repeat)
    f_speed = _row("fast", traffic, f_stats, f_best, f_med, f_cpu, 5 * repeat)
    s_traffic = traffic if simpy_traffic is None else simpy_traffic
    s_stats, s_best, s_med, s_cpu = _time(reference.simulate, s_traffic, config, repeat)
    s_speed = _row("simpy", s_traffic, s_stats, s_best, s_med, s_cpu, repeat)
    if simpy_traffic is None:
        same = _identical(f_stats, s_stats)
    else:
        same = _identical(fast.simulate(simpy_traffic, config), s_stats)
    print(f"  ratio  {f_speed / s_speed:,.1f}x packet-hops/s; statistics identical: "
          f"{'yes' if same else 'NO'}{note}")


def _synthetic(n: int, hotspot: bool) -> Traffic:
    rng = np.random.default_rng(0)
    src = rng.integers(0, 64, n).astype(np.int32)
    dst = np.full(n, 27, dtype=np.int32) if hotspot else rng.integers(0, 64, n).astype(np.int32)
    t = np.sort(rng.uniform(0, 500.0 if hotspot else 20_000.0, n))
    return Traffic(8, 8, t, src, dst, np.arange(n), np.zeros(n, np.int16), np.full(n, np.inf))


def _network_frame(graph, frames, config: ArchConfig) -> Traffic:  # type: ignore[no-untyped-def]
    q = quantize_graph(graph, config.core.weight_bits)
    mapping = map_network(q, config)
    trace = run_network(q, frames)
    links = [layer_links(q, mapping.groups, l) for l in range(q.depth)]
    return build_traffic(trace, 0, mapping, links, config)


def _head(traffic: Traffic, n: int) -> Traffic:
    """The first ``n`` packets (rows) of a frame."""
    cut = slice(0, n)
    return Traffic(traffic.width, traffic.height, traffic.time_ns[cut], traffic.src[cut],
                   traffic.dst[cut], traffic.spike[cut], traffic.layer[cut],
                   traffic.deadline_ns[cut], traffic.multicast, traffic.chip_width,
                   traffic.chip_height, None if traffic.sops is None else traffic.sops[cut])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-vgg16", action="store_true", help="leave the VGG16 case out")
    parser.add_argument("--skip-simpy-vgg16", action="store_true",
                        help="time SimPy on the first --slice packets of the VGG16 frame only")
    parser.add_argument("--slice", type=int, default=300_000,
                        help="packets of the VGG16 frame for SimPy with --skip-simpy-vgg16")
    parser.add_argument("--repeat", type=int, default=3, help="SimPy runs per small case")
    args = parser.parse_args()
    config = default_config()
    n = max(1, args.repeat)
    cold = fast.needs_compile()
    start = time.perf_counter()
    fast.simulate(_synthetic(10, hotspot=False), config)
    print(f"fast engine {'compiled' if cold else 'loaded from the cache'} in "
          f"{time.perf_counter() - start:.1f} s")
    _case("uniform random, 8x8", _synthetic(20_000, hotspot=False), config, n)
    _case("hotspot to router (3,3), 8x8", _synthetic(20_000, hotspot=True), config, n)
    graph = load_model(None)
    frames, _, _ = load_frames(None, graph.input_shape, 1)
    _case("default network, one frame", _network_frame(graph, frames, config), config, n)
    if args.skip_vgg16:
        return
    start = time.perf_counter()
    vgg = synthetic_graph(ZOO["vgg16"], firing_rate=0.25, seed=0, name="vgg16")
    vgg_frames, _, _ = load_frames(None, vgg.input_shape, 1)
    traffic = _network_frame(vgg, vgg_frames, config)
    print(f"(VGG16 weights, spikes and traffic built in {time.perf_counter() - start:.1f} s)")
    if args.skip_simpy_vgg16:
        _case("VGG16 synthetic, one frame, 8x8 chips", traffic, config, 1,
              simpy_traffic=_head(traffic, args.slice),
              note=f" (SimPy timed on the first {args.slice:,} packets only, and compared "
                   "with the fast engine on that slice)")
    else:
        _case("VGG16 synthetic, one frame, 8x8 chips", traffic, config, 1)


if __name__ == "__main__":
    main()
