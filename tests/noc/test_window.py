"""The derived window's work counts, held against the reference SimPy engine's replay."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.errors import ConfigError
from canmore_sim.noc.engine import simulate
from canmore_sim.noc.traffic import Traffic
from canmore_sim.noc.window import MARGIN, layer_needs, window_from_needs
from tests.noc.conftest import make_traffic
from tests.noc.diffcases import make_case

# engine port order: local, north, east, south, west; window order: east, west, south, north
_ENGINE_PORT = {0: 2, 1: 4, 2: 3, 3: 1}


@pytest.mark.parametrize("seed", range(60))
def test_link_work_equals_the_replays_flits(seed: int) -> None:
    """Every link's packets (multicast: tree copies) x flits equal the flits the SimPy
    engine sent through it, on generated meshes, chips, XY/YX, unicast/multicast."""
    case = make_case(seed)
    stats = simulate(case.traffic, case.config)
    needs = layer_needs(case.traffic, case.config, depth=1)
    w, h = case.traffic.width, case.traffic.height
    rd, flits = case.config.router.router_delay_ns, case.config.router.flits_per_packet
    per_link = np.zeros((w * h, 5))
    link_delay = case.config.router.link_delay_ns
    for port, engine_port in _ENGINE_PORT.items():
        busy = needs.link_ns[0, port].reshape(-1)
        cost = rd + flits * link_delay
        if case.traffic.chip_width:  # inter-chip links cost more; count them by their cost
            inter = rd + flits * case.config.multichip.interchip_link_delay_ns
            cost = np.where(_crosses(case.traffic, port), inter, cost)
        per_link[:, engine_port] = np.divide(busy, cost, out=np.zeros_like(busy),
                                             where=cost > 0) * flits
    if rd + flits * link_delay > 0 and (not case.traffic.chip_width
                                        or case.config.multichip.interchip_link_delay_ns
                                        + rd > 0):
        np.testing.assert_allclose(per_link[:, 1:], stats.link_flits[:, 1:], atol=1e-6)
    sops = np.zeros(len(case.traffic)) if case.traffic.sops is None else case.traffic.sops
    eject = np.bincount(case.traffic.dst, weights=rd + case.config.core.sop_ns * sops,
                        minlength=w * h)
    np.testing.assert_allclose(needs.eject_ns[0], eject, rtol=1e-12)


def _crosses(traffic: Traffic, port: int) -> np.ndarray:
    w, h, cw, ch = traffic.width, traffic.height, traffic.chip_width, traffic.chip_height
    x, y = np.meshgrid(np.arange(w), np.arange(h))
    dx, dy = ((1, 0), (-1, 0), (0, 1), (0, -1))[port]
    return (((x // cw) != ((x + dx) // cw)) | ((y // ch) != ((y + dy) // ch))).reshape(-1)


def test_longest_path_is_a_lone_packets_latency() -> None:
    config = default_config()
    traffic = make_traffic([0], [63])  # 14 hops on the 8x8 mesh
    stats = simulate(traffic, config)
    needs = layer_needs(traffic, config, depth=1)
    assert needs.path_ns[0] == pytest.approx(float(stats.latency_ns[0]))


def test_layers_share_their_window_and_the_window_says_how() -> None:
    config = default_config()
    src, dst = [0] * 10 + [1] * 4, [2] * 10 + [2] * 4  # both cross the link 1 -> 2 east
    t = make_traffic(src, dst)
    layered = Traffic(t.width, t.height, t.time_ns, t.src, t.dst, t.spike,
                      np.array([0] * 10 + [1] * 4, dtype=np.int16), t.deadline_ns)
    needs = layer_needs(layered, config, depth=2)
    per_packet = config.router.router_delay_ns + config.router.link_delay_ns
    assert needs.link_ns[0, 0, 0, 1] == 10 * per_packet  # east link out of router 1
    assert needs.link_ns[1, 0, 0, 1] == 4 * per_packet
    pair = needs.pair_need_ns()
    assert pair[0] == 14 * per_packet and pair[1] == max(4 * per_packet, needs.path_ns[1])
    window, record = window_from_needs(pair, 1, config)
    assert window == np.ceil(MARGIN * 14 * per_packet)
    assert record["deciding_layer"] == 0 and record["mode"] == "auto"


def test_other_routings_are_refused() -> None:
    from canmore_sim.noc.routing import ROUTINGS, xy_port

    ROUTINGS["xy-copy"] = xy_port
    try:
        config = with_overrides(default_config(), {"router.routing": "xy-copy"})
        with pytest.raises(ConfigError, match="neuron.window_ns"):
            layer_needs(make_traffic([0], [1]), config, depth=1)
    finally:
        del ROUTINGS["xy-copy"]


@pytest.fixture(scope="module")
def bundled() -> tuple:
    """The bundled network, quantized, and its spikes on 8 digits frames."""
    from canmore_sim.cores.models import simulate_neurons
    from canmore_sim.datasets.readers import load_frames
    from canmore_sim.models.loaders import load_model
    from canmore_sim.models.quantize import quantize_graph

    graph = quantize_graph(load_model(None), 4)
    frames, labels, _ = load_frames(None, graph.input_shape, 8)
    return graph, simulate_neurons(graph, frames, labels, default_config().neuron)


@pytest.mark.parametrize(("mesh", "multicast", "placement"), [
    ("4x4", False, "row-major"), ("4x4", True, "row-major"), ("8x8", False, "anneal"),
    ("8x8", True, "row-major")])
def test_the_derived_window_is_met(bundled, mesh: str, multicast: bool,
                                   placement: str) -> None:
    """Under the derived window at most 1 % of deliveries are late (a fixed 20 us window
    leaves 42.9 % late on the 4x4 mesh), and the derivation is recorded."""
    from canmore_sim.mapper.connectivity import layer_links
    from canmore_sim.noc import get_engine
    from canmore_sim.noc.build import build_traffic
    from canmore_sim.noc.window import derive_window
    from canmore_sim.run.pipeline import map_network

    graph, trace = bundled
    config = with_overrides(default_config(), {
        "mesh": mesh, "traffic.multicast": multicast, "run.placement": placement,
        "run.placement_iterations": 3000, "neuron.window_ns": "auto"})
    mapping = map_network(graph, config)
    links = [layer_links(graph, mapping.groups, l) for l in range(graph.depth)]
    resolved, record = derive_window(trace, mapping, links, config)
    assert record is not None and resolved.neuron.window_ns == record["window_ns"]
    assert record["frames"] == 8 and len(record["per_layer_need_ns"]) == graph.depth
    late = deliveries = 0
    for f in range(trace.n_frames):
        stats = get_engine("fast")(build_traffic(trace, f, mapping, links, resolved), resolved)
        late, deliveries = late + int(stats.late.sum()), deliveries + len(stats.late)
    assert late <= 0.01 * deliveries
    fixed = with_overrides(config, {"neuron.window_ns": 20000.0})
    assert derive_window(trace, mapping, links, fixed) == (fixed, None)
