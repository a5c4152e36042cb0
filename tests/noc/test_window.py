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
