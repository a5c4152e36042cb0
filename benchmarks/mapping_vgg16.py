"""Mapping VGG16 (CIFAR-10, official DTA-TTFS configuration) onto 8x8 chips.

For each placement strategy prints the cores, chips, mapping wall time and the
traffic-weighted hop total (expected packet-hops per frame, 25 % of neurons
spiking, unicast), and the ratio to row-major.

    .venv/bin/python benchmarks/mapping_vgg16.py
"""

from __future__ import annotations

import time

import numpy as np

from canmore_sim.config import default_config
from canmore_sim.mapper.partition import partition
from canmore_sim.mapper.placement import (
    PlacementProblem,
    chip_grid,
    place,
    weighted_hops,
)
from canmore_sim.mapper.spec import graph_from_spec, weight_shapes
from canmore_sim.mapper.traffic_graph import core_traffic
from canmore_sim.mapper.zoo import ZOO
from canmore_sim.noc.build import io_router_index


def main() -> None:
    config = default_config()
    spec = ZOO["vgg16"]
    # placement depends on the architecture, not on the weight values
    graph = graph_from_spec(spec, [np.zeros(s, np.float32) for s in weight_shapes(spec)])
    start = time.perf_counter()
    groups = partition(graph, config.core)
    traffic = core_traffic(graph, groups, spike_rate=0.25)
    shared = time.perf_counter() - start
    chips_x, chips_y = chip_grid(len(groups), 8, 8)
    io = io_router_index(config, chips_x * 8, chips_y * 8)
    print(f"VGG16: {len(groups)} cores on {chips_x}x{chips_y} chips of 8x8; partition + "
          f"traffic graph ({len(traffic)} edges) {shared:.2f} s")
    base = None
    for name in ("row-major", "snake", "hilbert", "anneal"):
        problem = PlacementProblem(groups, 8, 8, chips_x, chips_y, traffic, io_router=io,
                                   seed=0, iterations=config.run.placement_iterations)
        start = time.perf_counter()
        mapping = place(problem, name)
        wall = time.perf_counter() - start
        cost = weighted_hops(mapping.router, traffic, mapping.width, io)
        base = base or cost
        print(f"{name:<10} chips used {mapping.chips_used}  placement {wall:7.2f} s  "
              f"traffic-weighted hops {cost:>14,.0f} per frame  ({cost / base:.3f} x row-major)")


if __name__ == "__main__":
    main()
