"""Core back-pressure, occupancy, and the watchdog (deadlock, livelock)."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.errors import ConfigError, SimulationError
from canmore_sim.noc import ROUTINGS, simulate
from canmore_sim.noc.build import io_router_index
from canmore_sim.noc.routing import EAST, LOCAL, NORTH, SOUTH, WEST
from canmore_sim.noc.traffic import Traffic
from tests.noc.conftest import make_traffic


def _with_sops(traffic: Traffic, sops: int) -> Traffic:
    return Traffic(traffic.width, traffic.height, traffic.time_ns, traffic.src, traffic.dst,
                   traffic.spike, traffic.layer, traffic.deadline_ns, traffic.multicast,
                   sops=np.full(len(traffic), sops, dtype=np.int64))


def test_slow_core_backs_up_into_the_network() -> None:
    sources = [0, 1, 2, 3, 4, 5, 6, 7] * 3
    traffic = _with_sops(make_traffic(sources, [63] * len(sources)), 50)
    fast = simulate(traffic, default_config())
    slow = simulate(traffic, with_overrides(default_config(), {"core.sop_ns": 0.5}))
    # each packet keeps the destination core busy 2 + 0.5 * 50 ns: the last waits behind 23
    assert slow.end_ns >= len(sources) * (2.0 + 25.0)
    assert slow.total_wait_ns > 5 * fast.total_wait_ns
    assert slow.wait_ns.sum() == pytest.approx(slow.total_wait_ns)


def test_mean_occupancy_is_time_average() -> None:
    stats = simulate(make_traffic([0], [1], [0.0]), default_config())
    # one flit sits in router 0's local FIFO for router + link delay, then in router 1's west
    # FIFO for the router delay; the frame ends at 2 + 1 + 2 = 5 ns
    assert stats.end_ns == pytest.approx(5.0)
    assert stats.mean_occupancy[0, LOCAL] == pytest.approx(3.0 / 5.0)
    assert stats.mean_occupancy[1, WEST] == pytest.approx(2.0 / 5.0)
    assert stats.max_occupancy[0, LOCAL] == 1 and stats.max_occupancy[1, WEST] == 1


def _ring(here: int, dst: int, width: int) -> int:
    """A deliberately bad routing on a 2x2 mesh: always clockwise 0 -> 1 -> 3 -> 2 -> 0."""
    if here == dst:
        return LOCAL
    return {0: EAST, 1: SOUTH, 3: WEST, 2: NORTH}[here]


def _ping_pong(here: int, dst: int, width: int) -> int:
    """A routing that never arrives: bounces between routers 0 and 1."""
    return EAST if here % 2 == 0 else WEST


def test_deadlock_is_an_error_naming_the_routers(monkeypatch) -> None:
    monkeypatch.setitem(ROUTINGS, "ring", _ring)
    config = with_overrides(default_config(), {"router.routing": "ring",
                                               "router.buffer_depth": 1})
    # four packets, each three hops around the ring, fill every ring buffer at once
    traffic = make_traffic([0, 1, 3, 2] * 2, [2, 0, 1, 3] * 2, width=2, height=2)
    with pytest.raises(SimulationError, match="deadlock") as info:
        simulate(traffic, config)
    assert set(info.value.facts["routers"]) == {0, 1, 2, 3}
    assert gc.isenabled()  # the collector paused for the run is back, even after an error


def test_livelock_is_an_error(monkeypatch) -> None:
    monkeypatch.setitem(ROUTINGS, "ping-pong", _ping_pong)
    config = with_overrides(default_config(), {"router.routing": "ping-pong"})
    with pytest.raises(SimulationError, match="livelock"):
        simulate(make_traffic([0], [3], width=2, height=2), config)


def test_unknown_routing_lists_valid_ones() -> None:
    config = with_overrides(default_config(), {"router.routing": "adaptive"})
    with pytest.raises(ConfigError, match="xy, yx"):
        simulate(make_traffic([0], [1]), config)


def test_io_router_must_be_on_the_edge() -> None:
    assert io_router_index(default_config(), 8, 8) == 0
    inner = with_overrides(default_config(), {"traffic.io_router": (3, 3)})
    with pytest.raises(ConfigError, match="edge"):
        io_router_index(inner, 8, 8)
    outside = with_overrides(default_config(), {"traffic.io_router": (9, 0)})
    with pytest.raises(ConfigError, match="outside"):
        io_router_index(outside, 8, 8)
