"""Differential test: the compiled engine gives the SimPy reference's statistics bit for bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from canmore_sim.config import default_config as _default_config
from canmore_sim.config import with_overrides
from canmore_sim.errors import SimulationError
from canmore_sim.noc import ENGINES, ROUTINGS, NocStats, fast, get_engine
from canmore_sim.noc import engine as reference
from canmore_sim.noc.routing import EAST, LOCAL, NORTH, SOUTH, WEST
from canmore_sim.noc.traffic import Traffic
from tests.noc.conftest import make_traffic, random_traffic
from tests.noc.diffcases import make_case

N_CASES = 240


def default_config():  # noqa: ANN201 - the bundled configuration with a fixed 20 us window
    """The default configuration with the window fixed at 20 us (these tests build traffic
    without a run, which is what derives ``neuron.window_ns: auto``)."""
    return with_overrides(_default_config(), {"neuron.window_ns": 20000.0})


def assert_same_stats(a: NocStats, b: NocStats) -> None:
    """Every field equal: arrays by dtype, shape and bytes (floats bit for bit, NaN where
    NaN), scalars by type and value."""
    for field in dataclasses.fields(NocStats):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray), field.name
            assert x.dtype == y.dtype and x.shape == y.shape, field.name
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), field.name
            assert x.tobytes() == y.tobytes(), field.name
        else:
            assert type(x) is type(y), field.name
            assert x == y or (x != x and y != y), field.name


def both(traffic: Traffic, config) -> tuple[NocStats | str, NocStats | str]:  # type: ignore[no-untyped-def]
    """Both engines' statistics, or the message and routers of the SimulationError raised."""
    out = []
    for run in (reference.simulate, fast.simulate):
        try:
            out.append(run(traffic, config))
        except SimulationError as error:
            out.append(f"{error} routers={error.facts.get('routers')}")
    return out[0], out[1]


def _compare(traffic: Traffic, config) -> NocStats | str:  # type: ignore[no-untyped-def]
    a, b = both(traffic, config)
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return a
    assert_same_stats(a, b)
    return a


@pytest.mark.parametrize("seed", range(N_CASES))
def test_generated_traffic_identical(seed: int) -> None:
    case = make_case(seed)
    stats = _compare(case.traffic, case.config)
    assert isinstance(stats, NocStats), case.name  # these configurations never deadlock
    assert len(stats.hops) == len(case.traffic)


def test_generated_cases_span_the_space() -> None:
    cases = [make_case(seed) for seed in range(N_CASES)]
    shapes = {(c.traffic.width, c.traffic.height) for c in cases}
    assert (1, 1) in shapes and (16, 16) in shapes
    assert any(w != h for w, h in shapes)
    assert any(c.traffic.chip_width for c in cases)
    assert {c.config.router.routing for c in cases} == {"xy", "yx"}
    assert {c.config.router.buffer_depth for c in cases} >= {1, 16}
    assert {c.config.router.flits_per_packet for c in cases} == {1, 2, 3, 4}
    assert {c.traffic.multicast for c in cases} == {False, True}
    assert any(c.config.core.sop_ns == 0 for c in cases)
    assert any(c.config.core.sop_ns > 0 and c.traffic.sops is not None for c in cases)
    names = " ".join(c.name for c in cases)
    for pattern in ("uniform", "hotspot", "all-to-all", "transpose"):
        assert pattern in names
    # simultaneous injections: many rows share a ready time
    assert any(len(np.unique(c.traffic.time_ns)) < len(c.traffic) // 2 for c in cases)


def test_fast_is_registered_and_default() -> None:
    assert get_engine("fast") is fast.simulate and ENGINES["simpy"] is reference.simulate
    assert default_config().run.engine == "fast"


def test_empty_and_single_packet() -> None:
    config = default_config()
    _compare(Traffic.empty(4, 4), config)
    stats = _compare(make_traffic([0], [63], [3.0]), config)
    assert isinstance(stats, NocStats) and stats.hops[0] == 14


# -- routings that are not XY/YX: tabulated; deadlock, livelock, wandering -----------------


def _ring(here: int, dst: int, width: int) -> int:
    """Clockwise 0 -> 1 -> 3 -> 2 -> 0 on a 2x2 mesh."""
    if here == dst:
        return LOCAL
    return {0: EAST, 1: SOUTH, 3: WEST, 2: NORTH}[here]


def _ping_pong(here: int, dst: int, width: int) -> int:
    return EAST if here % 2 == 0 else WEST


def _wander(height: int, salt: int):  # type: ignore[no-untyped-def]
    """A routing tabulated by the fast engine (deterministic per router pair).

    For two salts in three it picks, by a hash, one of the productive directions (minimal
    but mixing XY and YX turns, so small buffers can deadlock); for the third it takes any
    valid step (non-minimal: loops end in livelock).
    """

    def route(here: int, dst: int, width: int) -> int:
        if here == dst:
            return LOCAL
        key = here * 7919 + dst * 104729 + salt
        x, y, dx, dy = here % width, here // width, dst % width, dst // width
        if salt % 3:
            productive = [p for p, ok in ((EAST, dx > x), (WEST, dx < x), (SOUTH, dy > y),
                                          (NORTH, dy < y)) if ok]
            return productive[key % len(productive)]
        valid = [p for p, ok in ((NORTH, y > 0), (EAST, x < width - 1),
                                 (SOUTH, y < height - 1), (WEST, x > 0)) if ok]
        return valid[key % len(valid)]

    return route


def test_deadlock_same_error(monkeypatch) -> None:
    monkeypatch.setitem(ROUTINGS, "ring", _ring)
    config = with_overrides(default_config(), {"router.routing": "ring",
                                               "router.buffer_depth": 1})
    traffic = make_traffic([0, 1, 3, 2] * 2, [2, 0, 1, 3] * 2, width=2, height=2)
    message = _compare(traffic, config)
    assert isinstance(message, str) and "deadlock" in message
    with pytest.raises(SimulationError, match="deadlock") as info:
        fast.simulate(traffic, config)
    assert info.value.facts["routers"] == [0, 1, 2, 3]


def test_livelock_same_error(monkeypatch) -> None:
    monkeypatch.setitem(ROUTINGS, "ping-pong", _ping_pong)
    config = with_overrides(default_config(), {"router.routing": "ping-pong"})
    message = _compare(make_traffic([0, 2], [3, 1], width=2, height=2), config)
    assert isinstance(message, str) and "livelock" in message and "routers=[" in message


def _wander_case(monkeypatch, seed: int) -> tuple[Traffic, object]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    w, h = int(rng.integers(2, 7)), int(rng.integers(1, 6))
    monkeypatch.setitem(ROUTINGS, "wander", _wander(h, seed))
    config = with_overrides(default_config(), {
        "router.routing": "wander", "router.buffer_depth": int(rng.integers(1, 5)),
        "router.router_delay_ns": 1.7})
    return random_traffic(int(rng.integers(2, 200)), seed, w, h, span_ns=50.0), config


@pytest.mark.parametrize("seed", range(24))
def test_wandering_routing_identical_or_same_error(monkeypatch, seed: int) -> None:
    _compare(*_wander_case(monkeypatch, seed))


def test_wandering_cases_cover_success_deadlock_and_livelock(monkeypatch) -> None:
    outcomes = set()
    for seed in range(24):
        try:
            fast.simulate(*_wander_case(monkeypatch, seed))  # type: ignore[arg-type]
            outcomes.add("ok")
        except SimulationError as error:
            outcomes.add("deadlock" if "deadlock" in str(error) else "livelock")
    assert outcomes == {"ok", "deadlock", "livelock"}


def test_routing_off_the_mesh_is_an_error(monkeypatch) -> None:
    monkeypatch.setitem(ROUTINGS, "east", lambda here, dst, width: EAST)
    config = with_overrides(default_config(), {"router.routing": "east"})
    with pytest.raises(SimulationError, match="off the 2x2 mesh") as info:
        fast.simulate(make_traffic([1], [0], width=2, height=2), config)
    assert info.value.facts["routers"] == [1]


# -- progress and compile state ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["fast", "simpy"])
def test_progress_reports_deliveries(monkeypatch, name: str) -> None:
    monkeypatch.setattr(fast, "SLICE_EVENTS", 1000)
    monkeypatch.setattr(reference, "PROGRESS_ROWS", 1000)
    traffic = random_traffic(5000, seed=2)
    calls: list[tuple[int, int]] = []
    stats = get_engine(name)(traffic, default_config(), progress=lambda d, t: calls.append((d, t)))
    assert len(calls) >= 3
    assert calls[-1] == (5000, 5000)
    done = [d for d, _ in calls]
    assert done == sorted(done) and all(t == 5000 for _, t in calls)
    assert_same_stats(stats, reference.simulate(traffic, default_config()))


def test_needs_compile_false_once_compiled() -> None:
    fast.simulate(make_traffic([0], [1]), default_config())
    assert fast.needs_compile() is False


# -- real frames through the project's own pipeline stages ------------------------------------


def _frames_traffic(graph, n_frames: int, config) -> list[Traffic]:  # type: ignore[no-untyped-def]
    from canmore_sim.cores.neuron import run_network
    from canmore_sim.datasets.readers import load_frames
    from canmore_sim.mapper.connectivity import layer_links
    from canmore_sim.models.quantize import quantize_graph
    from canmore_sim.noc.build import build_traffic
    from canmore_sim.run.pipeline import map_network

    frames, _, _ = load_frames(None, graph.input_shape, n_frames)
    q = quantize_graph(graph, config.core.weight_bits)
    mapping = map_network(q, config)
    trace = run_network(q, frames)
    links = [layer_links(q, mapping.groups, l) for l in range(q.depth)]
    return [build_traffic(trace, f, mapping, links, config) for f in range(n_frames)]


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [
    {},
    {"traffic.multicast": True, "core.sop_ns": 0.05},
    {"router.routing": "yx", "router.buffer_depth": 1, "router.router_delay_ns": 1.7},
], ids=["default", "multicast-sop", "yx-depth1"])
def test_bundled_network_frames_identical(overrides) -> None:  # type: ignore[no-untyped-def]
    from canmore_sim.models.loaders import load_model

    config = with_overrides(default_config(), overrides)
    for traffic in _frames_traffic(load_model(None), 2 if not overrides else 1, config):
        assert len(traffic) > 10_000  # a real frame, not a toy
        stats = _compare(traffic, config)
        assert isinstance(stats, NocStats) and stats.link_hops > 0


@pytest.mark.slow
def test_small_synthetic_vgg_on_tiled_chips_identical() -> None:
    from canmore_sim.cores.calibrate import synthetic_graph

    graph = synthetic_graph("16x16x3:16C3-16C3-P2-32C3-P2-64F-10F", firing_rate=0.25, seed=0,
                            name="vgg-small")
    config = with_overrides(default_config(), {"mesh": "3x3", "core.sop_ns": 0.02,
                                               "router.buffer_depth": 2})
    (traffic,) = _frames_traffic(graph, 1, config)
    assert traffic.chip_width == 3 and len(traffic) > 5_000
    stats = _compare(traffic, config)
    assert isinstance(stats, NocStats) and stats.interchip_hops > 0


def test_int_state_is_int32_until_sequence_numbers_could_overflow() -> None:
    assert fast._int_dtype(1000, 1000, 64) is np.int32
    assert fast._int_dtype(30_000_000, 30_000_000, 160) is np.int64  # 4.8e9 possible events


@pytest.mark.parametrize("seed", [3, 11, 27])
def test_int64_state_gives_the_same_statistics(monkeypatch, seed: int) -> None:
    """The fallback for traffics too large for int32 state runs the same loop."""
    case = make_case(seed)
    narrow = fast.simulate(case.traffic, case.config)
    monkeypatch.setattr(fast, "_int_dtype", lambda rows, packets, budget: np.int64)
    assert fast._build(fast._kernel(), case.traffic, case.config).ints.dtype == np.int64
    assert_same_stats(fast.simulate(case.traffic, case.config), narrow)


@pytest.mark.parametrize("seed", range(40))
def test_packets_grouped_by_source_are_the_stable_sort(seed: int) -> None:
    """The injection lists built from runs of one source (or by a sort of packets where
    runs are short) are a stable sort of the packets by source router, in the int state's
    either dtype."""
    from canmore_sim.noc.fast import _grouped_by_source

    rng = np.random.default_rng(seed)
    routers = int(rng.integers(1, 300))
    n = int(rng.integers(0, 5000))
    if seed % 3:  # runs: a spike's rows share their source
        runs = rng.integers(0, routers, max(1, n // 5))
        src = np.repeat(runs, rng.integers(1, 60, len(runs)))[:n]
    else:
        src = rng.integers(0, routers, n)
    src = src.astype(np.int32)
    for dtype in (np.int32, np.int64):
        view = np.full(len(src), -7, dtype=dtype)
        _grouped_by_source(src, routers, view)
        assert np.array_equal(view, np.argsort(src, kind="stable")), seed
