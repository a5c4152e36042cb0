"""NoC engine speed: packet-hops per second of wall time, and one VGG16 frame.

Prints, for the SimPy engine on this machine:
* uniform random traffic (20,000 packets on an 8x8 mesh),
* a hotspot (every router sends to one, many packets at once),
* the bundled default network (one frame of its real traffic),
* one VGG16 frame (synthetic weights, 25 % of neurons spiking, 8x8 chips tiled)
  unless --skip-vgg16.

    .venv/bin/python benchmarks/noc_speed.py [--skip-vgg16] [--repeat 3]

The small cases run ``--repeat`` times; the best run is the figure (the least disturbed by
other work on a shared machine), the median is printed beside it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from canmore_sim.config import ArchConfig, default_config
from canmore_sim.cores.neuron import run_network
from canmore_sim.datasets.readers import load_frames
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.mapper.loaders import load_model
from canmore_sim.mapper.quantize import quantize_graph
from canmore_sim.mapper.zoo import ZOO, synthetic_graph
from canmore_sim.noc import Traffic, simulate
from canmore_sim.noc.build import build_traffic
from canmore_sim.pipeline import map_network


def _measure(label: str, traffic: Traffic, config: ArchConfig, repeat: int = 1) -> None:
    """Best and median wall time of ``repeat`` runs (the machines are shared and noisy)."""
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        stats = simulate(traffic, config)
        walls.append(time.perf_counter() - start)
    best, median = min(walls), float(np.median(walls))
    print(f"{label:<42} {len(traffic):>10,} packets {stats.link_hops:>12,} hops "
          f"{best:8.2f} s {stats.link_hops / best:>12,.0f} packet-hops/s (best of {repeat}; "
          f"median {stats.link_hops / median:,.0f})")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-vgg16", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per small case")
    args = parser.parse_args()
    config = default_config()
    n = max(1, args.repeat)
    _measure("uniform random, 8x8", _synthetic(20_000, hotspot=False), config, n)
    _measure("hotspot to router (3,3), 8x8", _synthetic(20_000, hotspot=True), config, n)
    graph = load_model(None)
    frames, _, _ = load_frames(None, graph.input_shape, 1)
    _measure("default network, one frame", _network_frame(graph, frames, config), config, n)
    if not args.skip_vgg16:
        start = time.perf_counter()
        vgg = synthetic_graph(ZOO["vgg16"], firing_rate=0.25, seed=0, name="vgg16")
        vgg_frames, _, _ = load_frames(None, vgg.input_shape, 1)
        traffic = _network_frame(vgg, vgg_frames, config)
        prep = time.perf_counter() - start
        print(f"(VGG16 weights, spikes and traffic built in {prep:.1f} s)")
        _measure("VGG16 synthetic, one frame, 8x8 chips", traffic, config)


if __name__ == "__main__":
    main()
