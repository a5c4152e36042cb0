"""Re-simulation with lost and shifted inputs per core (cores/resim.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from canmore_sim.config import CoreConfig
from canmore_sim.cores.neuron import layer_forward, run_network
from canmore_sim.cores.resim import CoreInputs, arrival_spike_times, resimulate_dta
from canmore_sim.errors import DataError
from canmore_sim.mapper.partition import partition
from canmore_sim.models.graph import DtaRule, Layer, LayerGraph
from tests.conftest import random_graph

RULE = DtaRule()


def _pairs(frame, neuron, core, lost, delay) -> tuple[np.ndarray, ...]:
    return (np.asarray(frame, np.int64), np.asarray(neuron, np.int64),
            np.asarray(core, np.int64), np.asarray(lost, bool), np.asarray(delay, float),
            np.zeros(len(frame), np.int64))


def _hand_network() -> LayerGraph:
    """3 inputs -> 2 hidden neurons (one core each with max_neurons 1) -> 2 outputs."""
    w1 = np.array([[0.5, 0.25, 0.75], [0.5, 0.5, -0.25]], dtype=np.float32)
    w2 = np.array([[1.0, -0.5], [-0.25, 1.0]], dtype=np.float32)
    return LayerGraph((3,), (Layer("fc1", "linear", w1, (3,)),
                             Layer("fc2", "linear", w2, (2,))))


def test_no_changed_pair_gives_the_ideal_trace_bit_for_bit() -> None:
    g = random_graph()
    frames = np.random.default_rng(2).random((5, *g.input_shape)).astype(np.float32)
    groups = partition(g, CoreConfig(max_neurons=256))
    ideal = run_network(g, frames, np.arange(5))
    again = resimulate_dta(g, frames, np.arange(5), RULE, groups, CoreInputs.none(g.depth))
    for a, b in zip(ideal.layers, again.layers, strict=True):
        assert np.array_equal(a.neuron, b.neuron) and np.array_equal(a.time, b.time)
    assert np.array_equal(ideal.readout, again.readout)
    assert np.array_equal(ideal.neuron_spikes, again.neuron_spikes)


def test_a_lost_pair_removes_exactly_that_input_from_that_core_eq6() -> None:
    g = _hand_network()
    groups = partition(g, CoreConfig(max_neurons=1))  # cores 0, 1: fc1 neurons; 2, 3: fc2
    frames = np.array([[1.0, 0.5, 0.2]])
    t_in = (1 - frames[0]) * g.tw  # Eq. 1: 0, 0.5, 0.8
    w1 = g.layers[0].weight.astype(np.float64)
    # input spike 2 (t = 0.8) is lost on its way to core 1 (hidden neuron 1) only
    inputs = CoreInputs((_pairs([0], [2], [1], [True], [0.0]), _pairs([], [], [], [], [])))
    trace = resimulate_dta(g, frames, None, RULE, groups, inputs)
    ideal = run_network(g, frames)

    def eq6(w: np.ndarray, t: np.ndarray) -> float:  # papers/004 Eq. 6, layer 1, Tw = 1
        return (2.0 + float(w @ t)) / (1.0 + float(w.sum()))

    t0, t1 = eq6(w1[0], t_in), eq6(w1[1, :2], t_in[:2])
    assert t1 != pytest.approx(eq6(w1[1], t_in))  # the lost spike mattered
    hidden = dict(zip(trace.layers[1].neuron.tolist(), trace.layers[1].time.tolist(),
                      strict=True))
    assert hidden == {0: pytest.approx(t0, abs=1e-12), 1: pytest.approx(t1, abs=1e-12)}
    assert ideal.layers[1].time[0] == trace.layers[1].time[0]  # core 0 is untouched
    # the readout sees the changed hidden spike (Eq. 2 at the window start, l = 2)
    w2 = g.layers[1].weight.astype(np.float64)
    expected = 2.0 * w2.sum(axis=1) - w2 @ np.array([t0, t1])
    np.testing.assert_allclose(trace.readout[0], expected, atol=1e-12)


def test_a_lost_spike_on_a_conv_core_changes_only_that_core() -> None:
    g = random_graph()
    frames = np.random.default_rng(3).random((3, *g.input_shape)).astype(np.float32)
    groups = partition(g, CoreConfig(max_neurons=256))
    ideal = run_network(g, frames)
    first = ideal.layers[0]
    sel = first.frame == 1
    lost_neurons = first.neuron[sel][:40]
    core = int(groups.of_layer(1)[0])
    inputs = CoreInputs((_pairs(np.ones(40), lost_neurons, np.full(40, core), np.ones(40),
                                np.zeros(40)),) + CoreInputs.none(g.depth).layers[1:])
    fired = resimulate_dta(g, frames, None, RULE, groups, inputs)
    lo, hi = int(groups.neuron_lo[core]), int(groups.neuron_hi[core])
    assert np.array_equal(fired.neuron_spikes[[0, 2], :2], ideal.neuron_spikes[[0, 2], :2])
    # by hand: layer 1 with the spikes removed, on the core's neurons only
    x = torch.full((1, *g.input_shape), float("inf"), dtype=torch.float64).flatten(1)
    x[0, torch.as_tensor(first.neuron[sel])] = torch.as_tensor(first.time[sel])
    full, _ = layer_forward(g.layers[0], x.reshape(1, *g.input_shape), 1, g.tw)
    x[0, torch.as_tensor(lost_neurons)] = float("inf")
    masked, _ = layer_forward(g.layers[0], x.reshape(1, *g.input_shape), 1, g.tw)
    mixed = full.flatten(1).clone()
    mixed[:, lo:hi] = masked.flatten(1)[:, lo:hi]
    assert int(torch.isfinite(mixed).sum()) == fired.neuron_spikes[1, 1]
    assert not torch.equal(mixed, full.flatten(1))  # the lost spikes mattered


def _brute_force(w: np.ndarray, arrivals: np.ndarray, l: int, tw: float,
                 dt: float) -> np.ndarray:
    """First step with V(t) = sum_i w_i (t - a_i)^+ >= Tw(l+1) - t, stepping by ``dt``."""
    steps = np.arange(l * tw, (l + 1) * tw + dt / 2, dt)
    ok = np.isfinite(arrivals)
    v = np.maximum(steps[:, None] - arrivals[None, ok], 0.0) @ w[:, ok].T
    crossed = v >= (tw * (l + 1) - steps)[:, None]
    return np.where(crossed.any(axis=0), steps[np.argmax(crossed, axis=0)], np.inf)


def test_arrival_with_zero_shift_is_the_closed_form() -> None:
    rng = np.random.default_rng(4)
    layer = Layer("c", "conv", rng.normal(0.05, 0.3, (4, 2, 3, 3)).astype(np.float32),
                  (2, 8, 8), padding=1)
    times = torch.as_tensor(rng.uniform(0, 1, (3, 2, 8, 8)))
    times[times > 0.8] = float("inf")
    w = torch.as_tensor(layer.weight, dtype=torch.float64)
    expected, _ = layer_forward(layer, times, 1, 1.0)
    got = arrival_spike_times(layer, times, w, 1, 1.0, 16)
    assert torch.equal(got, expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_arrival_inside_the_window_follows_the_piecewise_potential(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_in, n_out, l, tw, k = 12, 30, 1, 1.0, 8
    w = rng.normal(0.05, 0.3, size=(n_out, n_in))
    arrivals = rng.uniform(0.2, 1.6, size=n_in)  # some before the window start, some inside
    layer = Layer("fc", "linear", w.astype(np.float32), (n_in,))
    got = arrival_spike_times(layer, torch.as_tensor(arrivals[None]),
                              torch.as_tensor(w), l, tw, k)[0].numpy()
    step = tw / k  # arrivals inside the window take effect at the next sub-step
    rounded = np.where(arrivals > l * tw, l * tw + np.ceil((arrivals - l * tw) / step) * step,
                       arrivals)
    dt = 1e-4
    brute = _brute_force(w, rounded, l, tw, dt)
    fires = np.isfinite(got)
    assert fires.sum() >= 5 and (~fires).sum() >= 1
    assert np.any(got[fires] > rounded[rounded > l * tw].min())  # segments after an arrival
    near_end = got > (l + 1) * tw - dt
    assert not np.any(np.isfinite(brute) & ~fires)
    assert np.all(near_end[fires & ~np.isfinite(brute)])
    both = fires & np.isfinite(brute)
    assert np.all(got[both] <= brute[both] + 1e-9) and np.all(brute[both] - got[both] <= dt)


def test_arrival_before_the_window_start_shifts_eq6() -> None:
    w = np.array([[0.6, 0.3]])
    layer = Layer("fc", "linear", w.astype(np.float32), (2,))
    arrivals = torch.tensor([[0.3, 0.9]], dtype=torch.float64)  # both before l Tw = 1
    got = float(arrival_spike_times(layer, arrivals, torch.as_tensor(w), 1, 1.0, 4))
    assert got == pytest.approx((2.0 + 0.6 * 0.3 + 0.3 * 0.9) / (1.0 + 0.9))


def test_shifted_readout_uses_arrival_times() -> None:
    g = _hand_network()
    groups = partition(g, CoreConfig(max_neurons=1))
    frames = np.array([[1.0, 0.5, 0.2]])
    ideal = run_network(g, frames)
    delays = np.array([0.1, 0.2])
    neurons = ideal.layers[1].neuron
    out_core = int(groups.of_layer(2)[0])
    inputs = CoreInputs((_pairs([], [], [], [], []),
                         _pairs([0, 0], neurons, [out_core] * 2, [False] * 2, delays)))
    trace = resimulate_dta(g, frames, None, RULE, groups, inputs)
    w2 = g.layers[1].weight.astype(np.float64)
    arrived = ideal.layers[1].time + delays
    assert trace.readout[0, 0] == pytest.approx(2.0 * w2[0].sum() - w2[0] @ arrived)
    assert trace.readout[0, 1] == ideal.readout[0, 1]  # the other output core is untouched


def test_core_inputs_must_cover_every_source_layer() -> None:
    g = random_graph()
    groups = partition(g, CoreConfig(max_neurons=256))
    with pytest.raises(DataError, match="core inputs for 1 source layers"):
        resimulate_dta(g, np.zeros((1, *g.input_shape)), None, RULE, groups,
                       CoreInputs.none(1))


def test_frames_must_fit_the_network() -> None:
    g = random_graph()
    groups = partition(g, CoreConfig(max_neurons=256))
    with pytest.raises(DataError, match="frames have shape"):
        resimulate_dta(g, np.zeros((1, 3, 3)), None, RULE, groups, CoreInputs.none(g.depth))
