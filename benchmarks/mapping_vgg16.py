"""Mapping VGG16 (CIFAR-10, official DTA-TTFS configuration) onto 8x8 chips.

VGG16 is built from its spec with seeded random (synthetic) weights; placement
depends only on the architecture, not on the weight values. The core-to-core
traffic graph is weighted by expected packets per frame: every neuron that can
spike spikes with probability 0.25, one unicast packet per (spike, destination
core), computed from the layer connectivity (no simulation).

For each placement strategy prints the cores, chips used, mapping wall time
(partition + traffic graph + placement, s), the traffic-weighted hop total
(expected packet-hops per frame), the part of it on inter-chip links, and the
ratio to row-major.

    .venv/bin/python benchmarks/mapping_vgg16.py
"""

from __future__ import annotations

import time

import numpy as np

from canmore_sim.config import default_config
from canmore_sim.mapper.partition import partition
from canmore_sim.mapper.placement import (
    PLACEMENTS,
    PlacementProblem,
    chip_grid,
    interchip_hops,
    place,
    weighted_hops,
)
from canmore_sim.mapper.traffic_graph import IO, core_traffic
from canmore_sim.models.spec import graph_from_spec, weight_shapes
from canmore_sim.models.zoo import ZOO
from canmore_sim.noc.build import io_router_index

MESH = (8, 8)
SEED = 0


def main() -> None:
    config = default_config()
    spec = ZOO["vgg16"]
    rng = np.random.default_rng(SEED)
    weights = [rng.normal(0.0, 0.05, s).astype(np.float32) for s in weight_shapes(spec)]
    graph = graph_from_spec(spec, weights)
    start = time.perf_counter()
    groups = partition(graph, config.core)
    traffic = core_traffic(graph, groups, spike_rate=0.25)
    shared = time.perf_counter() - start
    chip_w, chip_h = MESH
    chips_x, chips_y = chip_grid(len(groups), chip_w, chip_h)
    io = io_router_index(config, chips_x * chip_w, chips_y * chip_h)
    print(f"VGG16 ({spec})")
    print(f"{len(groups)} cores (per layer {np.bincount(groups.layer)[1:].tolist()}) on a "
          f"{chips_x}x{chips_y} grid of {chip_w}x{chip_h} chips; partition + traffic graph "
          f"({len(traffic)} edges, {traffic.packets.sum():,.0f} packets/frame) {shared:.2f} s")
    print(f"{'strategy':<10} {'cores':>5} {'chips':>5} {'map s':>6} "
          f"{'packet-hops/frame':>18} {'inter-chip':>11} {'vs row-major':>12}")
    base = None
    for name in ["row-major", *sorted(set(PLACEMENTS) - {"row-major"})]:
        problem = PlacementProblem(groups, chip_w, chip_h, chips_x, chips_y, traffic,
                                   io_router=io, seed=SEED,
                                   iterations=config.run.placement_iterations,
                                   budget_s=config.run.placement_budget_s)
        start = time.perf_counter()
        mapping = place(problem, name)
        wall = shared + time.perf_counter() - start
        cost = weighted_hops(mapping.router, traffic, mapping.width, io)
        pos = np.append(mapping.router, io)
        inter = float(np.sum(traffic.packets * interchip_hops(
            pos[np.where(traffic.src == IO, -1, traffic.src)],
            pos[np.where(traffic.dst == IO, -1, traffic.dst)], mapping.width, chip_w, chip_h)))
        base = base or cost
        print(f"{name:<10} {mapping.n_cores:>5} {mapping.chips_used:>5} {wall:>6.2f} "
              f"{cost:>18,.0f} {inter:>11,.0f} {cost / base:>11.3f}x")


if __name__ == "__main__":
    main()
