"""Synthetic traffic patterns, the channel-load bound, and the latency-load behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.errors import ConfigError
from canmore_sim.noc import fast
from canmore_sim.noc.patterns import (
    PATTERNS,
    accepted_throughput,
    channel_loads,
    destination_matrix,
    pattern_traffic,
    throughput_bound,
    zero_load_latency_ns,
)
from canmore_sim.noc.routing import LOCAL
from canmore_sim.noc.traffic import Traffic


@pytest.mark.parametrize("pattern", PATTERNS)
def test_destination_rows_are_distributions(pattern: str) -> None:
    p = destination_matrix(pattern, 4, 4)
    assert p.shape == (16, 16) and np.allclose(p.sum(axis=1), 1.0) and (p >= 0).all()


@pytest.mark.parametrize("k", [4, 6, 8])
def test_uniform_bound_is_the_bisection_bound(k: int) -> None:
    config = default_config()
    gamma = channel_loads("uniform", k, k)
    assert gamma[:, 1:].max() == pytest.approx(k / 4)  # links crossing the bisection
    assert gamma[:, LOCAL] == pytest.approx(np.ones(k * k))  # each core ejects its share
    s_link = config.router.router_delay_ns + config.router.link_delay_ns
    assert throughput_bound("uniform", k, k, config) == pytest.approx(4 / (k * s_link))


def test_hotspot_bound_is_its_ejection_port() -> None:
    config = default_config()
    assert throughput_bound("hotspot", 8, 8, config) == pytest.approx(
        1 / (64 * config.router.router_delay_ns))


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("fraction", [0.5, 1.0, 1.3])
def test_accepted_throughput_never_exceeds_the_bound(pattern: str, fraction: float) -> None:
    config = default_config()
    bound = throughput_bound(pattern, 8, 8, config)
    duration = 3000.0
    traffic = pattern_traffic(pattern, 8, 8, fraction * bound, duration, seed=3)
    stats = fast.simulate(traffic, config)
    accepted, mean = accepted_throughput(traffic, stats.deliver_ns, duration)
    assert 0 < accepted <= bound
    if fraction <= 0.5:  # below saturation the network delivers what is offered
        assert accepted == pytest.approx(fraction * bound, rel=0.1)
        assert mean == pytest.approx(fraction * bound, rel=0.05)


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("overrides", [
    {}, {"router.flits_per_packet": 3, "router.buffer_depth": 3, "router.router_delay_ns": 1.3},
    *({"router.switching": mode, "router.flits_per_packet": 3, "router.buffer_depth": 5,
       "router.link_pipelined": piped, "router.link_delay_ns": 0.7}
      for mode in ("virtual-cut-through", "wormhole") for piped in (False, True))])
def test_zero_load_latency_is_the_closed_form(pattern: str, overrides) -> None:  # type: ignore[no-untyped-def]
    config = with_overrides(default_config(), overrides)
    sparse = pattern_traffic(pattern, 8, 8, 1e-3, 2000.0, seed=5)
    times = np.arange(len(sparse)) * 1000.0  # one packet in the network at a time
    alone = Traffic(8, 8, times, sparse.src, sparse.dst, sparse.spike, sparse.layer,
                    sparse.deadline_ns)
    stats = fast.simulate(alone, config)
    expected = zero_load_latency_ns(alone.manhattan(), config)
    assert stats.latency_ns == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert stats.wait_ns.sum() == pytest.approx(0.0, abs=1e-6)


def test_bad_patterns_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="square"):
        destination_matrix("transpose", 4, 2)
    with pytest.raises(ConfigError, match="unknown traffic pattern"):
        destination_matrix("tornado", 4, 4)
    with pytest.raises(ConfigError, match="outside"):
        destination_matrix("hotspot", 4, 4, hotspot=16)
    with pytest.raises(ConfigError, match="arrivals"):
        pattern_traffic("uniform", 4, 4, 0.1, 10.0, arrivals="bursty")
    with pytest.raises(ConfigError, match="> 0"):
        pattern_traffic("uniform", 4, 4, 0.0, 10.0)


def test_poisson_arrivals_offer_the_rate() -> None:
    traffic = pattern_traffic("uniform", 8, 8, 0.01, 20_000.0, seed=1, arrivals="poisson")
    assert len(traffic) == pytest.approx(64 * 0.01 * 20_000, rel=0.05)
    assert np.all(np.diff(traffic.time_ns) >= 0)
