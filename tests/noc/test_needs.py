"""The window needs from the spikes (noc/needs.py) equal those of the built traffic, bit for bit.

A differential test over generated cases: real networks (the bundled one and seeded random
ones), real spike traces under several neuron models, and configurations drawn from a seed
(mesh sizes that tile chips or not, unicast or multicast, XY, YX and the minimal adaptive
routings taken along XY routes, several placements and I/O routers, and delays that are not
exact in binary), against ``layer_needs(build_traffic(...))``, the reference.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from canmore_sim.config import ArchConfig, default_config, with_overrides
from canmore_sim.cores.models import simulate_neurons
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.models.graph import LayerGraph
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.noc.build import build_traffic
from canmore_sim.noc.needs import trace_layer_needs
from canmore_sim.noc.window import LayerNeeds, frames_pair_needs, layer_needs, with_window
from canmore_sim.run.pipeline import map_network
from tests.conftest import random_graph

CASES = 120
SPECS = ("16x16x1:8C3-P2-16C3-P2-10F", "12x12x2:6C3-P2-12F-10F", "8x8x1:4C3-8C3-P2-10F")
MODELS = ("dta-ttfs", "tq-ttfs", "rate-if")


@cache
def _network(which: int) -> LayerGraph:
    if which == 0:
        from canmore_sim.models.loaders import load_model

        return quantize_graph(load_model(None), 4)
    return quantize_graph(random_graph(SPECS[which - 1], seed=which), 4)


@cache
def _trace(which: int, model: str, seed: int) -> SpikeTrace:
    graph = _network(which)
    rng = np.random.default_rng(seed)
    frames = rng.uniform(0.0, 1.0, size=(2, *graph.input_shape)).astype(np.float32)
    config = with_overrides(default_config(), {"neuron.model": model})
    return simulate_neurons(graph, frames, None, config.neuron)


def _case(seed: int) -> tuple[LayerGraph, SpikeTrace, ArchConfig]:
    rng = np.random.default_rng(seed)
    which = int(rng.integers(0, len(SPECS) + 1))
    model = str(rng.choice(MODELS))
    w, h = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    # on the edge of the mesh, and of the larger one tiled chips make
    edge = [(0, 0), (w - 1, 0), (0, h - 1), (int(rng.integers(0, w)), 0)]
    delays = [0.3, 1.0, 1.7, 2.0, 0.1]
    config = with_overrides(default_config(), {
        "mesh": f"{w}x{h}", "neuron.model": model,
        "traffic.multicast": bool(rng.random() < 0.5),
        "traffic.io_router": list(edge[int(rng.integers(0, len(edge)))]),
        "router.routing": str(rng.choice(["xy", "yx", "xy", "yx", "west-first", "odd-even"])),
        "router.router_delay_ns": float(rng.choice(delays)),
        "router.link_delay_ns": float(rng.choice(delays)),
        "router.flits_per_packet": int(rng.integers(1, 4)),
        "core.sop_ns": float(rng.choice([0.0, 0.3, 1.7, 0.01])),
        "multichip.interchip_link_delay_ns": float(rng.choice([20.0, 3.3, 0.7])),
        "run.placement": str(rng.choice(["row-major", "snake", "hilbert", "anneal"])),
        "run.placement_iterations": 200, "run.seed": seed})
    return _network(which), _trace(which, model, seed % 3), config


@pytest.mark.parametrize("seed", range(CASES))
def test_needs_from_the_spikes_equal_the_traffics(seed: int) -> None:
    graph, trace, config = _case(seed)
    mapping = map_network(graph, config)
    links = [layer_links(graph, mapping.groups, l) for l in range(graph.depth)]
    built = with_window(config, 1.0)
    yx = config.router.routing == "yx"
    for f in range(trace.n_frames):
        reference = layer_needs(build_traffic(trace, f, mapping, links, built), built,
                                graph.depth)
        link, eject, path = trace_layer_needs(trace, f, mapping, links, built, yx)
        assert link.tobytes() == reference.link_ns.tobytes()
        assert eject.tobytes() == reference.eject_ns.tobytes()
        assert path.tobytes() == reference.path_ns.tobytes()
        assert LayerNeeds(link, eject, path).pair_need_ns().tobytes() == \
            reference.pair_need_ns().tobytes()


def test_the_frames_needs_are_the_largest_over_the_built_traffics() -> None:
    """frames_pair_needs (the fast path) equals the maximum over every frame's traffic."""
    graph, trace, config = _case(7)
    config = with_overrides(config, {"router.routing": "xy", "neuron.window_ns": "auto"})
    mapping = map_network(graph, config)
    links = [layer_links(graph, mapping.groups, l) for l in range(graph.depth)]
    built = with_window(config, 1.0)
    expected = np.zeros(graph.depth)
    for f in range(trace.n_frames):
        traffic = build_traffic(trace, f, mapping, links, built)
        expected = np.maximum(expected, layer_needs(traffic, built, graph.depth).pair_need_ns())
    assert frames_pair_needs(trace, mapping, links, config).tobytes() == expected.tobytes()
