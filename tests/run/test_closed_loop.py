"""Closed-loop timing (run.timing): what the chip computes when spikes are late."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.errors import ConfigError
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.models.graph import Layer, LayerGraph
from canmore_sim.noc import get_engine
from canmore_sim.noc.build import build_traffic
from canmore_sim.run.closed_loop import close_loop
from canmore_sim.run.pipeline import run
from tests.conftest import random_graph

W1 = np.array([[0.5, 0.25, 0.75], [0.5, 0.5, -0.25]], dtype=np.float32)
W2 = np.array([[1.0, -0.5], [-0.25, 1.0]], dtype=np.float32)
FRAME = np.array([[1.0, 0.5, 0.2]])  # Eq. 1: input spikes at 0, 0.5 Tw, 0.8 Tw


def _hand_graph() -> LayerGraph:
    return LayerGraph((3,), (Layer("fc1", "linear", W1, (3,)), Layer("fc2", "linear", W2, (2,))))


def _hand_config(**extra: object):
    """2x2 mesh, one neuron per core (fc1: cores 0, 1; fc2: cores 2, 3), 8 ns windows."""
    return with_overrides(default_config(), {
        "mesh": "2x2", "core.max_neurons": 1, "core.weight_bits": 32, "run.frames": 1,
        "neuron.window_ns": 8.0, **extra})


def test_drop_late_removes_exactly_the_late_spike_eq6() -> None:
    g, config = _hand_graph(), _hand_config()
    ideal = run(g, FRAME, np.array([0]), config)
    links = [layer_links(ideal.quantized, ideal.mapping.groups, l) for l in range(2)]
    traffic = build_traffic(ideal.trace, 0, ideal.mapping, links, config)
    stats = get_engine("simpy")(traffic, config)
    late = stats.late & (traffic.layer == 0)
    # the known late spike: input 2 (t = 0.8 Tw, ready at 6.4 ns) on its way to core 1
    assert late.sum() == 1
    core_1 = int(ideal.mapping.router[1])
    assert traffic.dst[late][0] == core_1 and traffic.time_ns[late][0] == pytest.approx(6.4)

    result = run(g, FRAME, np.array([0]), with_overrides(config, {"run.timing": "drop-late"}))
    t = result.timing
    frame, neuron, core = t.lost_pairs[0]
    assert (frame.tolist(), neuron.tolist(), core.tolist()) == ([0], [2], [1])
    t_in = np.array([0.0, 0.5, 0.8])

    def eq6(w: np.ndarray, times: np.ndarray) -> float:  # papers/004 Eq. 6, l = 1, Tw = 1
        return (2.0 + float(w @ times)) / (1.0 + float(w.sum()))

    hidden = np.array([eq6(W1[0].astype(float), t_in), eq6(W1[1, :2].astype(float), t_in[:2])])
    np.testing.assert_allclose(result.trace.layers[1].time, hidden, atol=1e-12)
    assert result.timing.ideal.layers[1].time[1] == pytest.approx(eq6(W1[1].astype(float), t_in))
    # the output layer reads Eq. 2 at its window start over the hidden spikes it received
    lost_out = {(int(n), int(c)) for _, n, c in zip(*t.lost_pairs[1], strict=True)}
    w2 = W2.astype(float)
    for j, out_core in enumerate(result.mapping.groups.of_layer(2)):
        got = [i for i in range(2) if (i, int(out_core)) not in lost_out]
        expected = 2.0 * w2[j, got].sum() - w2[j, got] @ hidden[got]
        assert result.trace.readout[0, j] == pytest.approx(expected, abs=1e-12)
    assert t.fixed_point and t.iterations == 2
    assert t.lost.tolist() == [[1, len(lost_out)]]
    # a lost pair arrives (too late) but makes no synaptic operation on its core
    n_hidden = len(result.trace.layers[1].neuron)
    assert result.cores.sops_per_layer.tolist() == [[3 * 2 - 1, n_hidden * 2 - len(lost_out)]]
    assert result.cores.spikes_in.sum() == 3 * 2 + n_hidden * 2
    assert ideal.cores.sops_per_layer.tolist() == [[3 * 2, 2 * 2]]


@pytest.fixture(scope="module")
def small():
    g = random_graph()
    frames = np.random.default_rng(5).random((3, *g.input_shape)).astype(np.float32)
    base = with_overrides(default_config(), {"mesh": "4x4", "run.frames": 3,
                                             "core.weight_bits": 32})
    return g, frames, np.array([1, 2, 3]), base


def _same_trace(a, b) -> None:
    for x, y in zip(a.layers, b.layers, strict=True):
        assert np.array_equal(x.neuron, y.neuron) and np.array_equal(x.time, y.time)
    assert np.array_equal(a.readout, b.readout) and np.array_equal(a.predictions, b.predictions)


def test_with_a_long_window_every_mode_is_ideal(small) -> None:
    g, frames, labels, base = small
    config = with_overrides(base, {"neuron.window_ns": 1e9})
    ideal = run(g, frames, labels, config)
    assert ideal.noc.late.sum() == 0
    late = run(g, frames, labels, with_overrides(config, {"run.timing": "drop-late"}))
    _same_trace(late.trace, ideal.trace)
    assert late.timing.iterations == 1 and late.timing.fixed_point
    assert np.array_equal(late.energy.total_uj, ideal.energy.total_uj)
    arrival = run(g, frames, labels, with_overrides(config, {"run.timing": "arrival"}))
    # latencies of tens of ns shift spikes by ~1e-8 Tw: same spikes, same answer
    assert np.array_equal(arrival.trace.predictions, ideal.trace.predictions)
    assert np.array_equal(arrival.trace.neuron_spikes, ideal.trace.neuron_spikes)
    for x, y in zip(arrival.trace.layers, ideal.trace.layers, strict=True):
        assert np.array_equal(x.neuron, y.neuron)
        np.testing.assert_allclose(x.time, y.time, atol=1e-6)
    assert arrival.timing.lost.sum() == 0 and arrival.timing.delay_mean[0] > 0


def test_arrival_with_zero_network_delay_is_ideal(small) -> None:
    g, frames, labels, base = small
    config = with_overrides(base, {"neuron.window_ns": 50.0, "router.router_delay_ns": 0.0,
                                   "router.link_delay_ns": 0.0})
    ideal = run(g, frames, labels, config)
    arrival = run(g, frames, labels, with_overrides(config, {"run.timing": "arrival"}))
    assert ideal.noc.latency_max_ns.max() == 0.0
    _same_trace(arrival.trace, ideal.trace)
    assert arrival.timing.iterations == 1 and arrival.timing.fixed_point


@pytest.mark.parametrize(("mode", "update"), [("drop-late", "accumulate"),
                                              ("drop-late", "recompute"),
                                              ("arrival", "accumulate")])
def test_the_iteration_terminates_and_is_deterministic(small, mode: str, update: str) -> None:
    g, frames, labels, base = small
    config = with_overrides(base, {"neuron.window_ns": 30.0, "run.timing": mode,
                                   "run.timing_update": update,
                                   "run.timing_max_iterations": 4})
    a = run(g, frames, labels, config)
    b = run(g, frames, labels, config)
    _same_trace(a.trace, b.trace)
    assert np.array_equal(a.noc.late, b.noc.late)
    assert np.array_equal(a.energy.total_uj, b.energy.total_uj)
    assert a.timing.history == b.timing.history and a.timing.lost.tolist() == b.timing.lost.tolist()
    t = a.timing
    assert 1 <= t.iterations <= 4 and len(t.history) == t.iterations
    assert t.history[0]["late"] > 0 and t.lost.sum() > 0  # the window really is too short
    if update == "accumulate":
        lost = [h["lost"] for h in t.history]
        assert lost == sorted(lost)  # the lost set only grows
    assert t.history[-1]["lost"] == t.lost.sum()  # the final spikes lack the lost pairs
    if t.fixed_point and update == "recompute":
        # the last replay's late pairs are exactly those the spikes were computed without
        assert t.history[-1]["late"] == t.history[-1]["lost"]
        assert np.array_equal(t.late_pairs, t.lost)


def test_accumulate_always_reaches_its_fixed_point(small) -> None:
    g, frames, labels, base = small
    config = with_overrides(base, {"neuron.window_ns": 30.0, "run.timing": "drop-late",
                                   "run.timing_max_iterations": 50})
    t = run(g, frames, labels, config).timing
    assert t.fixed_point and t.iterations < 50
    assert t.late_pairs.sum() <= t.lost.sum()  # every pair late at the end is lost


def test_the_energy_is_that_of_the_final_spikes(small) -> None:
    g, frames, labels, base = small
    config = with_overrides(base, {"neuron.window_ns": 30.0, "run.timing": "drop-late"})
    r = run(g, frames, labels, config)
    expected = 20e-6 * r.cores.sops_per_frame + 100e-6 * r.noc.hops + 3.52
    np.testing.assert_allclose(r.energy.total_uj, expected)
    links = [layer_links(r.quantized, r.mapping.groups, l) for l in range(r.quantized.depth)]
    for f in range(r.n_frames):
        assert r.noc.packets[f] == len(build_traffic(r.trace, f, r.mapping, links, r.config))


def test_unknown_timing_mode_names_the_key_and_the_modes() -> None:
    with pytest.raises(ConfigError, match=r"run\.timing.*'ideal', 'drop-late' or 'arrival'"):
        with_overrides(default_config(), {"run.timing": "late"})


@pytest.mark.parametrize(("key", "value"), [("run.timing_max_iterations", 0),
                                            ("run.timing_substeps", 0),
                                            ("run.timing_update", "sometimes")])
def test_bad_loop_settings_are_refused(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        with_overrides(default_config(), {key: value})


def test_a_model_without_re_simulation_is_refused_naming_model_and_mode(small) -> None:
    g, frames, labels, base = small
    config = with_overrides(base, {"neuron.model": "t2fsnn", "run.timing": "arrival"})
    with pytest.raises(ConfigError, match="run.timing arrival.*neuron model t2fsnn"):
        run(g, frames, labels, config)


@pytest.mark.parametrize("model", ["tq-ttfs", "rate-if"])
def test_stepped_models_with_long_steps_are_ideal_in_every_mode(small, model: str) -> None:
    g, frames, labels, base = small
    config = with_overrides(base, {"neuron.model": model, "neuron.steps": 8,
                                   "neuron.window_ns": 1e8})
    ideal = run(g, frames, labels, config)
    assert ideal.noc.late.sum() == 0
    for mode in ("drop-late", "arrival"):  # nothing late: no pair lost or shifted
        r = run(g, frames, labels, with_overrides(config, {"run.timing": mode}))
        _same_trace(r.trace, ideal.trace)
        assert r.timing.iterations == 1 and r.timing.fixed_point


@pytest.mark.parametrize(("model", "mode"), [("tq-ttfs", "drop-late"), ("rate-if", "arrival")])
def test_stepped_models_close_the_loop_deterministically(small, model: str, mode: str) -> None:
    g, frames, labels, base = small
    config = with_overrides(base, {"neuron.model": model, "neuron.steps": 8,
                                   "neuron.window_ns": 400.0, "run.timing": mode,
                                   "run.timing_max_iterations": 4})
    a, b = run(g, frames, labels, config), run(g, frames, labels, config)
    _same_trace(a.trace, b.trace)
    assert a.timing.history == b.timing.history and 1 <= a.timing.iterations <= 4
    assert a.timing.history[0]["late"] > 0 and a.timing.lost.sum() >= 0
    assert not np.array_equal(a.trace.neuron_spikes, a.timing.ideal.neuron_spikes)


def test_close_loop_refuses_the_ideal_mode(small) -> None:
    g, frames, labels, base = small
    ideal = run(g, frames, labels, base)
    with pytest.raises(ConfigError, match="drop-late or arrival"):
        close_loop(ideal.quantized, frames, labels, base, ideal.trace, ideal.mapping, [],
                   get_engine("fast"))


def test_recompute_stops_when_the_lost_pairs_cycle() -> None:
    from canmore_sim.datasets.readers import load_frames
    from canmore_sim.models.loaders import load_model
    from canmore_sim.report.summary import summarize
    from canmore_sim.report.timing import timing_text

    graph = load_model(None)
    frames, labels, _ = load_frames(None, graph.input_shape, 2, 0)
    config = with_overrides(default_config(), {"run.frames": 2, "run.timing": "drop-late",
                                               "run.timing_update": "recompute",
                                               "neuron.window_ns": 20000.0})
    result = run(graph, frames, labels, config)
    t = result.timing
    # on 20 us windows (the default before issue 26) the late input pairs of frame 0 come
    # back every 4 replays
    assert not t.fixed_point and t.cycle > 1 and t.iterations < 10
    lost = [h["lost"] for h in t.history]
    assert t.history[-1]["late"] == lost[len(lost) - t.cycle]
    assert f"cycle with period {t.cycle}" in timing_text(summarize(result)["timing"])
