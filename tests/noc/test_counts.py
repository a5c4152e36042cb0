"""Differential test: the counts without a replay equal the replay's, bit for bit.

Over generated traffics (``diffcases``: unicast and multicast, XY and YX, one chip and
tiled chips, buffer depths, flits, delays) with the routing given as is or through custom
registered table routings (minimal and not, and one whose routes from a source part and
meet again), and over the real frames of the bundled default network (unicast on one
chip, multicast on tiled chips).
"""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import ArchConfig, default_config, with_overrides
from canmore_sim.cores.models import simulate_neurons
from canmore_sim.datasets.readers import load_frames
from canmore_sim.errors import ConfigError, SimulationError
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.mapper.partition import partition
from canmore_sim.mapper.placement import PlacementProblem, chip_grid, place
from canmore_sim.models.loaders import load_model
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.noc import ROUTINGS, NocStats, fast
from canmore_sim.noc import counts as counts_module
from canmore_sim.noc import engine as reference
from canmore_sim.noc.build import build_traffic, io_router_index
from canmore_sim.noc.counts import RouteCounts, counted_stats, route_counts
from canmore_sim.noc.routing import EAST, LOCAL, NORTH, SOUTH, WEST, xy_port, yx_port
from canmore_sim.noc.traffic import Traffic
from tests.noc.conftest import make_traffic
from tests.noc.diffcases import make_case

N_CASES = 160
#: Counted fields and the replay's field holding the same figure.
FIELDS = {"hops": "hops", "link_flits": "link_flits", "link_hops": "link_hops",
          "interchip_hops": "interchip_hops", "charged_hops": "charged_hops",
          "charged_interchip_hops": "charged_interchip_hops"}


def _west_first(here: int, dst: int, width: int) -> int:
    """Not minimal: to column 0 first, then along y, then east (west-first turns only)."""
    x, y, dx, dy = here % width, here // width, dst % width, dst // width
    if y == dy and dx >= x:
        return EAST if dx > x else LOCAL
    if x > 0:
        return WEST
    return SOUTH if dy > y else NORTH


def _mixed(here: int, dst: int, width: int) -> int:
    """XY towards even destinations, YX towards odd ones: the routes of one source to two
    destinations can part and meet again."""
    return (xy_port if dst % 2 == 0 else yx_port)(here, dst, width)


CUSTOM = {"table-yx": lambda here, dst, width: yx_port(here, dst, width),
          "west-first": _west_first, "mixed": _mixed}


def assert_same_counts(counts: RouteCounts, stats: NocStats) -> None:
    """Every counted field equal to the replay's: dtype, shape and bytes for arrays, type
    and value for scalars."""
    for mine, theirs in FIELDS.items():
        x, y = getattr(counts, mine), getattr(stats, theirs)
        if isinstance(y, np.ndarray):
            assert isinstance(x, np.ndarray), mine
            assert x.dtype == y.dtype and x.shape == y.shape, mine
            assert x.tobytes() == y.tobytes(), mine
        else:
            assert type(x) is type(y) and x == y, mine


def _replay(run, traffic: Traffic, config: ArchConfig) -> NocStats | None:  # type: ignore[no-untyped-def]
    try:
        return run(traffic, config)
    except SimulationError as error:
        assert "deadlock" in str(error), error  # the routes themselves are fine
        return None


@pytest.mark.parametrize("seed", range(N_CASES))
def test_generated_counts_equal_the_replay(seed: int, monkeypatch) -> None:
    case = make_case(seed)
    config = case.config
    if seed % 4 == 3:  # a quarter of the cases through a registered table routing
        name = list(CUSTOM)[seed // 4 % len(CUSTOM)]
        monkeypatch.setitem(ROUTINGS, name, CUSTOM[name])
        config = with_overrides(config, {"router.routing": name, "router.buffer_depth": 16})
    if seed % 7 == 0:  # the sort that finds the pairs on meshes too large for a lookup
        monkeypatch.setattr(counts_module, "_DENSE_PAIRS", 0)
    counts = route_counts(case.traffic, config)
    engines = (fast.simulate, reference.simulate) if seed % 5 == 0 else (fast.simulate,)
    replayed = [s for s in (_replay(run, case.traffic, config) for run in engines) if s]
    if seed % 4 != 3:
        assert replayed, case.name  # dimension order routing never deadlocks
    for stats in replayed:
        assert_same_counts(counts, stats)


def test_enough_generated_cases_are_compared(monkeypatch) -> None:
    """The table-routed cases that deadlock in the replay are few: most are compared."""
    compared = 0
    for seed in range(3, N_CASES, 4):
        case = make_case(seed)
        name = list(CUSTOM)[seed // 4 % len(CUSTOM)]
        monkeypatch.setitem(ROUTINGS, name, CUSTOM[name])
        config = with_overrides(case.config, {"router.routing": name,
                                              "router.buffer_depth": 16})
        compared += _replay(fast.simulate, case.traffic, config) is not None
    assert compared >= 0.8 * len(range(3, N_CASES, 4))


def test_multicast_copies_part_and_meet_again(monkeypatch) -> None:
    """Two destinations whose mixed routes part at the source and meet at a router: the
    copies stay two (each link is counted per copy), ejections one per destination."""
    monkeypatch.setitem(ROUTINGS, "mixed", _mixed)
    config = with_overrides(default_config(), {"mesh": "4x4", "router.routing": "mixed",
                                               "router.buffer_depth": 8})
    # from router 0 to 10 (even, XY: E E S S) and to 11 (odd, YX: S S E E E): the routes
    # part at the source and meet at router 10; 15 shares 11's first links; 0 is local
    traffic = make_traffic([0, 0, 0, 0], [10, 11, 15, 0], [0.0] * 4, width=4, height=4,
                           spike=[0, 0, 0, 0], multicast=True)
    counts = route_counts(traffic, config)
    assert_same_counts(counts, fast.simulate(traffic, config))
    assert_same_counts(counts, reference.simulate(traffic, config))
    assert counts.link_hops < int(counts.hops.sum())  # shared links charged once


def test_refuses_an_adaptive_routing(monkeypatch) -> None:
    def adaptive(here: int, dst: int, width: int) -> int:
        return xy_port(here, dst, width)

    adaptive.deterministic = False  # type: ignore[attr-defined]
    monkeypatch.setitem(ROUTINGS, "adaptive", adaptive)
    config = with_overrides(default_config(), {"router.routing": "adaptive"})
    with pytest.raises(ConfigError, match="adaptive") as caught:
        route_counts(make_traffic([0], [5]), config)
    assert caught.value.facts["key"] == "router.routing"


def test_refuses_a_route_off_the_mesh_or_round_in_circles(monkeypatch) -> None:
    monkeypatch.setitem(ROUTINGS, "east", lambda here, dst, width: EAST)
    monkeypatch.setitem(ROUTINGS, "ping-pong",
                        lambda here, dst, width: EAST if here % width == 0 else WEST)
    traffic = make_traffic([0], [9])
    with pytest.raises(SimulationError, match="off the 8x8 mesh"):
        route_counts(traffic, with_overrides(default_config(), {"router.routing": "east"}))
    with pytest.raises(SimulationError, match="livelock"):
        route_counts(traffic, with_overrides(default_config(), {"router.routing": "ping-pong"}))
    with pytest.raises(SimulationError, match="out of range"):
        route_counts(make_traffic([0], [64]), default_config())


def test_empty_frame_counts_nothing() -> None:
    traffic = Traffic.empty(4, 4, multicast=True)
    config = with_overrides(default_config(), {"mesh": "4x4"})
    assert_same_counts(route_counts(traffic, config), fast.simulate(traffic, config))


def test_self_addressed_rows_only_eject() -> None:
    traffic = make_traffic([5, 5, 6], [5, 5, 6], spike=[0, 0, 1], multicast=True)
    counts = route_counts(traffic, default_config())
    assert_same_counts(counts, reference.simulate(traffic, default_config()))
    assert counts.link_hops == 0 and counts.link_flits[5, LOCAL] == 1


# ------------------------------------------------------------------ the bundled network

REAL = {"unicast": {}, "multicast-tiled": {"traffic.multicast": True, "mesh": "4x4"},
        "yx": {"router.routing": "yx"}}


def _frames_traffic(overrides: dict[str, object],
                    n_frames: int) -> tuple[list[Traffic], ArchConfig]:
    """Every frame's traffic of the bundled network, mapped as the pipeline maps it."""
    config = with_overrides(default_config(), overrides)
    graph = quantize_graph(load_model(None), config.core.weight_bits)
    frames, labels, _ = load_frames(None, graph.input_shape, n_frames, 0)
    trace = simulate_neurons(graph, frames, labels, config.neuron)
    groups = partition(graph, config.core)
    w, h = config.mesh.width, config.mesh.height
    cx, cy = chip_grid(len(groups), w, h, config.multichip.overflow)
    mapping = place(PlacementProblem(groups, w, h, cx, cy, None,
                                     io_router=io_router_index(config, cx * w, cy * h),
                                     seed=config.run.seed), config.run.placement)
    links = [layer_links(graph, groups, l) for l in range(graph.depth)]
    return [build_traffic(trace, f, mapping, links, config) for f in range(n_frames)], config


@pytest.mark.parametrize("kind", list(REAL))
def test_bundled_network_frames_counted_as_replayed(kind: str) -> None:
    traffics, config = _frames_traffic(REAL[kind], 3)
    for traffic in traffics:
        assert len(traffic) > 100
        if kind == "multicast-tiled":
            assert traffic.chip_width and traffic.multicast
        assert_same_counts(route_counts(traffic, config), fast.simulate(traffic, config))


def test_counted_stats_carry_the_counts_and_no_timing() -> None:
    case = make_case(9)
    stats = counted_stats(case.traffic, case.config)
    replayed = fast.simulate(case.traffic, case.config)
    assert_same_counts(route_counts(case.traffic, case.config), stats)
    assert stats.zero_load_ns.tobytes() == replayed.zero_load_ns.tobytes()
    assert np.isnan(stats.deliver_ns).all() and np.isnan(stats.end_ns)
    assert not stats.late.any() and not stats.wait_ns.any() and not stats.max_occupancy.any()
