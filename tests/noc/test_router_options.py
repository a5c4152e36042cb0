"""Router options (``router.switching``, ``router.link_pipelined``): what each one models,
and the differential test of the compiled engine against the SimPy reference over every
combination."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.errors import ConfigError
from canmore_sim.noc import NocStats, engine, fast
from tests.noc.conftest import make_traffic, random_traffic
from tests.noc.diffcases import OPTION_GRID, SWITCHINGS, make_option_case
from tests.noc.test_fast_engine import N_CASES, _compare

N_OPTION_CASES = 288


def cfg(**overrides):  # type: ignore[no-untyped-def]
    return with_overrides(default_config(), {f"router.{k}": v for k, v in overrides.items()})


@pytest.mark.parametrize("seed", range(N_OPTION_CASES))
def test_option_cases_identical(seed: int) -> None:
    """Both engines agree bit for bit; and every case finishes: the deadlock detector
    (shared by both engines) finds no deadlock under any option, the adaptive turn models
    included, and minimal adaptive routing crosses exactly the Manhattan distance."""
    case = make_option_case(seed)
    stats = _compare(case.traffic, case.config)
    assert isinstance(stats, NocStats), case.name
    assert np.array_equal(stats.hops, case.traffic.manhattan()), case.name


def test_option_cases_cover_every_combination() -> None:
    cases = [make_option_case(seed) for seed in range(N_OPTION_CASES)]
    def combo(c):  # type: ignore[no-untyped-def]
        r = c.config.router
        return r.switching, r.link_pipelined, r.virtual_channels, r.routing

    assert {combo(c) for c in cases} == set(OPTION_GRID)
    assert len(cases) + N_CASES >= 400  # with the default router's generated traffics
    for key in {k[:3] for k in OPTION_GRID}:  # each switching x pipelining x VCs
        mine = [c for c in cases if combo(c)[:3] == key]
        assert len({c.config.router.flits_per_packet for c in mine}) >= 3
        assert {c.traffic.multicast for c in mine} == {False, True}
        assert any(c.traffic.chip_width for c in mine)
        assert any(c.config.router.buffer_depth > c.config.router.flits_per_packet
                   for c in mine)


@pytest.mark.parametrize("switching", SWITCHINGS)
@pytest.mark.parametrize("piped", [False, True])
def test_lone_packet_latency_is_the_zero_load_latency(switching: str, piped: bool) -> None:
    config = cfg(switching=switching, link_pipelined=piped, flits_per_packet=4,
                 buffer_depth=6, router_delay_ns=1.5, link_delay_ns=0.5)
    for src, dst in [(0, 63), (9, 9), (7, 56)]:
        stats = engine.simulate(make_traffic([src], [dst], [3.0]), config)
        assert stats.latency_ns[0] == pytest.approx(stats.zero_load_ns[0], rel=1e-12)
        h = int(stats.hops[0])
        if switching == "store-and-forward":  # whole packet per hop, 4 flits ejected
            assert stats.latency_ns[0] == pytest.approx(h * (1.5 + 4 * 0.5) + 4 * 1.5)
        elif h:  # the head pays the router, the tail trails it by 3 flits
            assert stats.latency_ns[0] == pytest.approx(
                max(h * (1.5 + 0.5) + 4 * 1.5, h * 1.5 + (h + 3) * 0.5 + 1.5))


def test_cut_through_beats_store_and_forward_on_a_4_flit_stream() -> None:
    """4-flit packets, buffers of 4 flits, a stream along a row: store-and-forward uses a
    link half the time (the next packet waits for the whole previous one to leave); the
    cut-through modes forward a head before its tail arrives."""
    n = 200
    traffic = make_traffic([0] * n, [6] * n, np.zeros(n))
    ends = {mode: engine.simulate(traffic, cfg(switching=mode, flits_per_packet=4,
                                               buffer_depth=4, router_delay_ns=0.5)).end_ns
            for mode in SWITCHINGS}
    link = 0.5 + 4 * 1.0  # one packet's transfer over a link, ns
    assert ends["store-and-forward"] == pytest.approx(2 * link * n, rel=0.02)
    assert ends["virtual-cut-through"] < 0.7 * ends["store-and-forward"]
    assert ends["wormhole"] == ends["virtual-cut-through"]  # one packet per buffer either way


def test_wormhole_advances_with_one_free_flit() -> None:
    """Buffers of 6 flits, 4-flit packets: cut-through needs 4 free flits, wormhole one,
    so under wormhole a stream keeps the link busy all the time."""
    n = 200
    traffic = make_traffic([0] * n, [6] * n, np.zeros(n))
    vct, wormhole = (engine.simulate(traffic, cfg(switching=mode, flits_per_packet=4,
                                                  buffer_depth=6, router_delay_ns=0.5))
                     for mode in SWITCHINGS[1:])
    assert wormhole.end_ns < 0.8 * vct.end_ns
    assert wormhole.end_ns == pytest.approx(n * (0.5 + 4 * 1.0), rel=0.02)  # link always busy
    assert (wormhole.max_occupancy <= 6).all() and wormhole.max_occupancy.max() == 6


@pytest.mark.parametrize("switching", SWITCHINGS)
def test_ejection_takes_a_router_delay_per_flit(switching: str) -> None:
    """A 4-flit hotspot is limited by its ejection port: 4 router delays per packet."""
    sources = [r for r in range(64) if r != 27] * 3
    traffic = make_traffic(sources, [27] * len(sources), np.zeros(len(sources)))
    stats = engine.simulate(traffic, cfg(switching=switching, flits_per_packet=4,
                                         buffer_depth=8))
    eject = 4 * 2.0
    assert stats.end_ns >= len(sources) * eject
    assert stats.end_ns == pytest.approx(len(sources) * eject, rel=0.05)
    assert stats.link_flits[27, 0] == 4 * len(sources)


@pytest.mark.parametrize("switching", SWITCHINGS)
def test_pipelined_links_carry_a_stream_faster(switching: str) -> None:
    n = 300
    traffic = make_traffic([0] * n, [7] * n, np.zeros(n))
    plain, piped = (engine.simulate(traffic, cfg(switching=switching, flits_per_packet=2,
                                                 buffer_depth=8, link_pipelined=p,
                                                 router_delay_ns=1.0, link_delay_ns=1.0))
                    for p in (False, True))
    assert np.array_equal(plain.hops, piped.hops)
    # an output serves a packet in router + 2 flits of link = 3 ns, pipelined in 2 ns
    assert plain.end_ns == pytest.approx(3.0 * n, rel=0.03)
    assert piped.end_ns == pytest.approx(2.0 * n, rel=0.05)
    assert plain.latency_ns.min() == piped.latency_ns.min()  # the first packet: alone


@pytest.mark.parametrize("switching", SWITCHINGS)
def test_one_flit_cut_through_is_store_and_forward(switching: str) -> None:
    """With 1-flit packets there is no tail to cut through: every mode delivers as
    store-and-forward does, up to the order of simultaneous events (head and tail are two
    events at one time there, so ties can be granted in another order)."""
    traffic = random_traffic(3000, seed=4, span_ns=800.0)
    saf = fast.simulate(traffic, default_config())
    other = fast.simulate(traffic, cfg(switching=switching))
    assert np.array_equal(saf.link_flits, other.link_flits)
    assert np.array_equal(saf.zero_load_ns, other.zero_load_ns)
    assert other.latency_ns.mean() == pytest.approx(saf.latency_ns.mean(), rel=0.01)
    assert np.median(np.abs(other.deliver_ns - saf.deliver_ns)) == 0.0


def test_router_option_values_are_checked() -> None:
    with pytest.raises(ConfigError, match="router.switching"):
        cfg(switching="cut-through")
    with pytest.raises(ConfigError, match="router.link_pipelined"):
        cfg(link_pipelined="yes")
    fields = type(default_config().router).model_fields
    for key in ("switching", "link_pipelined"):
        assert fields[key].description


@pytest.mark.parametrize("switching", SWITCHINGS)
def test_virtual_channels_split_each_input_buffer(switching: str) -> None:
    """Each VC is a FIFO of buffer_depth flits: a port holds up to vcs x depth flits, and
    the round-robin VC allocator spreads packets over the VCs."""
    traffic = random_traffic(4000, seed=3, span_ns=600.0)
    stats = {v: engine.simulate(traffic, cfg(switching=switching, virtual_channels=v,
                                              flits_per_packet=2, buffer_depth=4))
             for v in (1, 2, 3)}
    for v, s in stats.items():
        assert np.array_equal(s.hops, traffic.manhattan())
        assert s.max_occupancy.max() == 4 * v  # congested enough to fill every VC
    assert stats[2].latency_ns.mean() < 0.5 * stats[1].latency_ns.mean()
    assert stats[3].latency_ns.mean() <= stats[2].latency_ns.mean()


@pytest.mark.parametrize("switching", SWITCHINGS)
def test_two_virtual_channels_do_no_worse_than_one_fifo_of_their_size(switching: str) -> None:
    from canmore_sim.noc.patterns import pattern_traffic

    traffic = pattern_traffic("uniform", 8, 8, 0.03, 3000.0, seed=1, arrivals="poisson")
    one = fast.simulate(traffic, cfg(switching=switching, buffer_depth=8, flits_per_packet=2))
    two = fast.simulate(traffic, cfg(switching=switching, virtual_channels=2, buffer_depth=4,
                                     flits_per_packet=2))
    assert two.latency_ns.mean() <= one.latency_ns.mean()
    assert two.link_hops == one.link_hops


def test_virtual_channels_are_bounded() -> None:
    with pytest.raises(ConfigError, match="router.virtual_channels"):
        cfg(virtual_channels=0)
    with pytest.raises(ConfigError, match="router.virtual_channels"):
        cfg(virtual_channels=5)


# -- adaptive routing: turn models and the selection function ---------------------------------


def _all_paths(candidates, src: int, dst: int, width: int) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """Every sequence of output ports the turn model admits from src to dst."""
    from canmore_sim.noc.routing import LOCAL as HERE
    from canmore_sim.noc.routing import neighbour

    paths, stack = [], [(src, [])]
    while stack:
        here, taken = stack.pop()
        for out in candidates(here, src, dst, width):
            if out == HERE:
                paths.append(taken)
            else:
                stack.append((neighbour(here, out, width), [*taken, out]))
    return paths


@pytest.mark.parametrize("name", ["west-first", "odd-even"])
def test_turn_models_admit_only_minimal_paths_without_forbidden_turns(name: str) -> None:
    from canmore_sim.noc.routing import EAST, NORTH, ROUTINGS, SOUTH, WEST, Adaptive

    route = ROUTINGS[name]
    assert isinstance(route, Adaptive)
    width, height = 6, 5
    adaptive_pairs = 0
    for src in range(width * height):
        for dst in range(width * height):
            paths = _all_paths(route.candidates, src, dst, width)
            adaptive_pairs += len(paths) > 1
            manhattan = abs(src % width - dst % width) + abs(src // width - dst // width)
            for path in paths:
                assert len(path) == manhattan  # minimal: hops = Manhattan distance
                here = src
                for a, b in zip(path, path[1:], strict=False):
                    here += {NORTH: -width, EAST: 1, SOUTH: width, WEST: -1}[a]
                    column = here % width
                    if name == "west-first":
                        assert not (b == WEST and a != WEST)  # no turn into west
                    else:  # odd-even: no E->N/S in an even column, no N/S->W in an odd one
                        assert not (a == EAST and b in (NORTH, SOUTH) and column % 2 == 0)
                        assert not (a in (NORTH, SOUTH) and b == WEST and column % 2 == 1)
    assert adaptive_pairs > 100  # they do adapt


@pytest.mark.parametrize("name", ["west-first", "odd-even"])
@pytest.mark.parametrize("switching", SWITCHINGS)
def test_adaptive_routing_is_minimal_and_spreads_load(name: str, switching: str) -> None:
    from canmore_sim.noc.patterns import pattern_traffic

    traffic = pattern_traffic("transpose", 8, 8, 0.05, 1500.0, seed=2, arrivals="poisson")
    xy = fast.simulate(traffic, cfg(switching=switching, flits_per_packet=2, buffer_depth=4))
    adaptive = fast.simulate(traffic, cfg(switching=switching, routing=name,
                                          flits_per_packet=2, buffer_depth=4))
    # hop counts under minimal adaptive routing still equal the Manhattan distance
    assert np.array_equal(adaptive.hops, traffic.manhattan())
    assert adaptive.link_hops == xy.link_hops
    # ... but over other links: the selection function moved packets off the XY paths
    assert not np.array_equal(adaptive.link_flits, xy.link_flits)


@pytest.mark.parametrize("name", ["west-first", "odd-even"])
@pytest.mark.parametrize("switching", SWITCHINGS)
@pytest.mark.parametrize("pattern", ["uniform", "transpose", "hotspot"])
def test_adaptive_routing_never_deadlocks_under_overload(name: str, switching: str,
                                                         pattern: str) -> None:
    """Far beyond saturation with one-packet buffers, the deadlock detector (which raises
    SimulationError) never fires: every packet is delivered."""
    from canmore_sim.noc.patterns import pattern_traffic

    traffic = pattern_traffic(pattern, 6, 6, 0.2, 300.0, seed=3, arrivals="poisson")
    stats = fast.simulate(traffic, cfg(switching=switching, routing=name, flits_per_packet=2,
                                       buffer_depth=2))
    assert np.isfinite(stats.deliver_ns).all()
    assert np.array_equal(stats.hops, traffic.manhattan())
