from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.errors import ConfigError, SimulationError
from canmore_sim.noc import get_engine, simulate
from canmore_sim.noc.routing import xy_port, yx_port
from tests.noc.conftest import make_traffic, random_traffic


def cfg(**overrides):
    return with_overrides(default_config(), overrides)


@pytest.mark.parametrize("routing", ["xy", "yx"])
@pytest.mark.parametrize("depth", [1, 4])
def test_hops_equal_manhattan_distance(routing: str, depth: int) -> None:
    traffic = random_traffic(2000, seed=depth)
    stats = simulate(traffic, cfg(**{"router.routing": routing, "router.buffer_depth": depth}))
    assert np.array_equal(stats.hops, traffic.manhattan())
    assert stats.link_hops == int(traffic.manhattan().sum())
    assert stats.link_flits[:, 1:].sum() == stats.link_hops  # router-to-router links
    assert stats.link_flits[:, 0].sum() == len(traffic)  # ejections into the cores
    assert np.isfinite(stats.deliver_ns).all()


@pytest.mark.parametrize(("src", "dst"), [(0, 63), (9, 9), (7, 56), (36, 3)])
def test_lone_packet_latency_is_delays_times_hops(src: int, dst: int) -> None:
    config = cfg(**{"router.router_delay_ns": 1.7, "router.link_delay_ns": 0.6})
    stats = simulate(make_traffic([src], [dst], [5.0]), config)
    h = abs(src % 8 - dst % 8) + abs(src // 8 - dst // 8)
    assert stats.hops[0] == h
    assert stats.latency_ns[0] == pytest.approx((h + 1) * 1.7 + h * 0.6)
    assert stats.latency_ns[0] == pytest.approx(stats.zero_load_ns[0])
    assert stats.total_wait_ns == pytest.approx(0.0)


def test_multi_flit_store_and_forward_latency() -> None:
    config = cfg(**{"router.flits_per_packet": 3, "router.buffer_depth": 3})
    stats = simulate(make_traffic([0], [2]), config)
    # two hops of router + 3 flits of link each, then 3 flits ejected at one router delay each
    assert stats.latency_ns[0] == pytest.approx(2 * (2.0 + 3 * 1.0) + 3 * 2.0)
    assert stats.link_flits[:, 1:].sum() == 2 * 3
    with pytest.raises(ConfigError, match="flits_per_packet"):
        simulate(make_traffic([0], [2]), cfg(**{"router.flits_per_packet": 5}))


def _hotspot():
    sources = [r for r in range(64) if r != 27] * 4
    return make_traffic(sources, [27] * len(sources), np.zeros(len(sources)))


def test_hotspot_waiting_grows_as_buffers_shrink() -> None:
    waits = [simulate(_hotspot(), cfg(**{"router.buffer_depth": d})).total_wait_ns
             for d in (16, 4, 1)]
    assert waits[0] > 0
    assert waits[0] <= waits[1] <= waits[2]
    assert waits[2] > waits[0]


def test_wait_attribution_sums_to_packet_waiting() -> None:
    stats = simulate(_hotspot(), cfg(**{"router.buffer_depth": 2}))
    assert stats.wait_ns.sum() == pytest.approx(stats.total_wait_ns, rel=1e-9)
    assert stats.wait_ns[27 - 1].sum() > 0  # the router west of the hotspot sees waiting
    assert (stats.max_occupancy <= 2).all() and stats.max_occupancy.max() == 2


def _xy_tree_edges(src: int, dsts: list[int], width: int) -> set[tuple[int, int]]:
    edges = set()
    for d in dsts:
        here = src
        while here != d:
            port = xy_port(here, d, width)
            nxt = here + {1: -width, 2: 1, 3: width, 4: -1}[port]
            edges.add((here, nxt))
            here = nxt
    return edges


def test_multicast_hops_are_xy_tree_edges() -> None:
    rng = np.random.default_rng(3)
    src, dsts = [], []
    spikes = []
    for s in range(40):
        origin = int(rng.integers(0, 64))
        targets = sorted(set(rng.integers(0, 64, size=6).tolist()))
        src += [origin] * len(targets)
        dsts += targets
        spikes += [s] * len(targets)
    times = np.repeat(np.arange(40) * 3.0, np.bincount(spikes))
    traffic = make_traffic(src, dsts, times, spike=spikes, multicast=True)
    stats = simulate(traffic, cfg())
    expected = 0
    for s in range(40):
        rows = np.flatnonzero(traffic.spike == s)
        expected += len(_xy_tree_edges(int(traffic.src[rows[0]]),
                                       traffic.dst[rows].tolist(), 8))
    assert stats.link_hops == expected
    assert np.array_equal(stats.hops, traffic.manhattan())  # each destination's path length
    unicast = simulate(make_traffic(src, dsts, times, spike=spikes), cfg())
    assert stats.link_hops < unicast.link_hops


def test_identical_runs_identical_stats() -> None:
    traffic = random_traffic(1500, seed=11)
    config = cfg(**{"router.buffer_depth": 1})
    a, b = simulate(traffic, config), simulate(traffic, config)
    for name in ("hops", "deliver_ns", "wait_ns", "link_flits", "max_occupancy", "late"):
        assert np.array_equal(getattr(a, name), getattr(b, name))


def test_late_flags_follow_deadline() -> None:
    traffic = make_traffic([0, 0], [63, 1], [0.0, 0.0], deadline_ns=[10.0, 10.0])
    stats = simulate(traffic, cfg())
    # 14 hops: 15*2 + 14*1 = 44 ns > 10 ns; 1 hop: 2*2 + 1 = 5 ns <= 10 ns
    late = dict(zip(traffic.dst.tolist(), stats.late.tolist(), strict=True))
    assert late == {63: True, 1: False}


def test_interchip_links_have_their_own_delay() -> None:
    config = cfg(**{"multichip.interchip_link_delay_ns": 10.0})
    traffic = make_traffic([0], [7], chip=(4, 4))  # crosses one chip boundary along x
    stats = simulate(traffic, config)
    assert stats.interchip_hops == 1 and stats.link_hops == 7
    assert stats.latency_ns[0] == pytest.approx(8 * 2.0 + 6 * 1.0 + 10.0)


def test_bad_input_is_a_simulation_error() -> None:
    with pytest.raises(SimulationError, match="out of range"):
        simulate(make_traffic([0], [64]), cfg())
    with pytest.raises(SimulationError, match="finite"):
        simulate(make_traffic([0], [1], [np.nan]), cfg())
    with pytest.raises(ConfigError, match="simpy"):
        get_engine("booksim")


def test_routing_functions() -> None:
    assert xy_port(0, 9, 8) == 2 and yx_port(0, 9, 8) == 3
    assert xy_port(9, 9, 8) == 0


def test_progress_reports_deliveries_in_chunks_without_changing_the_run() -> None:
    from canmore_sim.noc.engine import PROGRESS_ROWS

    config = default_config()
    traffic = random_traffic(PROGRESS_ROWS + 4_000, seed=5, width=4, height=4,
                             span_ns=200_000.0)
    calls: list[tuple[int, int]] = []
    with_progress = simulate(traffic, config, progress=lambda d, t: calls.append((d, t)))
    plain = simulate(traffic, config)
    n = len(traffic)
    assert calls[-1] == (n, n) and len(calls) == 2
    assert calls[0][1] == n and PROGRESS_ROWS <= calls[0][0] < PROGRESS_ROWS + 8
    assert np.array_equal(with_progress.deliver_ns, plain.deliver_ns)
    assert np.array_equal(with_progress.wait_ns, plain.wait_ns)
    assert with_progress.end_ns == plain.end_ns


def test_progress_counts_every_multicast_row() -> None:
    traffic = make_traffic([0, 0, 0], [5, 7, 63], spike=[0, 0, 0], multicast=True)
    calls: list[tuple[int, int]] = []
    simulate(traffic, default_config(), progress=lambda d, t: calls.append((d, t)))
    assert calls == [(3, 3)]


@pytest.mark.parametrize("sops", [False, True])
def test_zero_load_latency_in_chunks_is_the_one_pass_value(sops: bool) -> None:
    """stats_from computes the zero-load column a chunk of rows at a time: same bits."""
    from dataclasses import replace

    from canmore_sim.noc.zero_load import zero_load_latency, zero_load_ns

    traffic = random_traffic(150_000, seed=5, width=12, height=10)
    rng = np.random.default_rng(1)
    traffic = replace(traffic, chip_width=4, chip_height=5,
                      sops=rng.integers(0, 900, len(traffic)) if sops else None)
    config = cfg(**{"core.sop_ns": 0.37, "multichip.interchip_link_delay_ns": 13.1})
    chunked, whole = zero_load_latency(traffic, config), zero_load_ns(traffic, config)[2]
    assert chunked.dtype == whole.dtype and chunked.tobytes() == whole.tobytes()
    assert len(np.unique(chunked)) > 10  # the delays really vary along the rows


@pytest.mark.parametrize("seed", range(60))
def test_zero_load_latency_from_the_pair_table_is_the_one_pass_value(seed: int) -> None:
    """Generated cases (meshes 1x1 to 16x16, tiled chips, 1-4 flits, delays not exact in
    binary, service times or none, every switching): the column stats_from computes from
    a table of every (source, destination) pair is zero_load_ns's, bit for bit; a mesh
    larger than the table's limit takes the chunks of zero_load_ns itself."""
    from dataclasses import replace

    from canmore_sim.noc import zero_load
    from tests.noc.diffcases import SWITCHINGS, make_case

    case = make_case(seed)
    traffic, config = case.traffic, with_overrides(case.config, {
        "router.switching": SWITCHINGS[seed % 3]})
    if seed % 10 == 9:  # larger than the table: 40x30 routers
        rng = np.random.default_rng(seed)
        traffic = replace(traffic, width=40, height=30, chip_width=0, chip_height=0,
                          src=rng.integers(0, 1200, len(traffic)).astype(np.int32),
                          dst=rng.integers(0, 1200, len(traffic)).astype(np.int32))
        assert traffic.n_routers > zero_load._PAIR_TABLE_ROUTERS
    got = zero_load.zero_load_latency(traffic, config)
    expected = zero_load.zero_load_ns(traffic, config)[2]
    assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes(), case.name


def test_the_pair_table_kept_between_frames_is_the_one_of_their_mesh_and_delays() -> None:
    """A table kept from one frame serves the next only on the same mesh, chips and router
    delays: alternating configurations and meshes give zero_load_ns's bits each time."""
    from dataclasses import replace

    from canmore_sim.noc import zero_load

    traffic = random_traffic(5_000, seed=3, width=6, height=4)
    tiled = replace(traffic, chip_width=3, chip_height=2)
    slow = cfg(**{"router.router_delay_ns": 3.3})
    cut = cfg(**{"router.switching": "wormhole"})
    for t, config in [(traffic, cfg()), (traffic, slow), (traffic, cfg()), (tiled, cfg()),
                      (traffic, cut), (tiled, slow), (traffic, cfg())]:
        got = zero_load.zero_load_latency(t, config)
        assert got.tobytes() == zero_load.zero_load_ns(t, config)[2].tobytes()
    assert len(zero_load._PAIR_TABLES) == 1
