"""Time-stepped models re-simulated with lost and shifted inputs per core."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import CoreConfig, NeuronConfig
from canmore_sim.cores.resim import CoreInputs
from canmore_sim.cores.resim_stepped import resimulate_stepped
from canmore_sim.cores.stepped import run_rate_if, run_tq_ttfs
from canmore_sim.errors import DataError
from canmore_sim.mapper.partition import partition
from canmore_sim.models.graph import Layer, LayerGraph
from tests.conftest import random_graph

RUNNERS = {"tq-ttfs": run_tq_ttfs, "rate-if": run_rate_if}


def _pairs(frame, neuron, core, lost, delay, slot) -> tuple[np.ndarray, ...]:
    return (np.asarray(frame, np.int64), np.asarray(neuron, np.int64),
            np.asarray(core, np.int64), np.asarray(lost, bool), np.asarray(delay, float),
            np.asarray(slot, np.int64))


EMPTY = _pairs([], [], [], [], [], [])


@pytest.mark.parametrize("model", ["tq-ttfs", "rate-if"])
def test_no_changed_pair_gives_the_ideal_trace_bit_for_bit(model: str) -> None:
    g = random_graph()
    neuron = NeuronConfig(model=model, steps=8)
    frames = np.random.default_rng(2).random((4, *g.input_shape)).astype(np.float32)
    groups = partition(g, CoreConfig(max_neurons=256))
    ideal = RUNNERS[model](g, frames, None, neuron)
    again = resimulate_stepped(g, frames, None, neuron, groups, CoreInputs.none(g.depth))
    for a, b in zip(ideal.layers, again.layers, strict=True):
        assert np.array_equal(a.neuron, b.neuron) and np.array_equal(a.time, b.time)
        assert np.array_equal(a.deadline, b.deadline)
    assert np.array_equal(ideal.readout, again.readout)
    assert np.array_equal(ideal.predictions, again.predictions)


def _hand_network() -> LayerGraph:
    """2 inputs -> 2 IF neurons (one per core) -> 2 outputs (one core)."""
    w1 = np.array([[0.6, 0.5], [0.5, 0.7]], dtype=np.float32)
    w2 = np.array([[1.0, -1.0], [-0.5, 1.0]], dtype=np.float32)
    return LayerGraph((2,), (Layer("fc1", "linear", w1, (2,)),
                             Layer("fc2", "linear", w2, (2,))))


def _if_by_hand(w: np.ndarray, trains: np.ndarray, threshold: float = 1.0) -> np.ndarray:
    """IF with reset to 0: ``v += w @ s[t]``, spike where ``v > threshold``."""
    v, out = np.zeros(w.shape[0]), np.zeros((len(trains), w.shape[0]))
    for t, s in enumerate(trains):
        v = v + w @ s
        out[t] = v > threshold
        v[out[t] > 0] = 0.0
    return out


def test_rate_if_lost_and_shifted_spikes_change_only_their_core() -> None:
    g, steps = _hand_network(), 6
    neuron = NeuronConfig(model="rate-if", steps=steps)
    groups = partition(g, CoreConfig(max_neurons=1))  # fc1: cores 0, 1; fc2: cores 2, 3
    frames = np.array([[1.0, 0.5]])
    ideal = run_rate_if(g, frames, None, neuron)
    inp = ideal.layers[0]
    unit = g.tw / steps
    trains = np.zeros((steps, 2))
    trains[np.rint(inp.time / unit).astype(int) - 1, inp.neuron] = 1.0
    first = int(np.flatnonzero(trains[:, 0])[0])
    # core 1 loses input 0's first spike; core 0 gets it 2 steps late
    inputs = CoreInputs((_pairs([0, 0], [0, 0], [1, 0], [True, False], [0, 2], [first] * 2),
                         EMPTY))
    got = resimulate_stepped(g, frames, None, neuron, groups, inputs)
    w1 = g.layers[0].weight.astype(float)
    seen_1 = trains.copy()
    seen_1[first, 0] = 0
    seen_0 = trains.copy()
    seen_0[first, 0] -= 1
    seen_0[first + 2, 0] += 1  # the input spikes every step: two arrive in step first + 2
    expected = np.stack([_if_by_hand(w1[:1], seen_0)[:, 0], _if_by_hand(w1[1:], seen_1)[:, 0]],
                        axis=1)
    hidden = got.layers[1]
    spikes = np.zeros((steps, 2))
    spikes[np.rint(hidden.time / unit).astype(int) - 2, hidden.neuron] = 1.0
    assert np.array_equal(spikes, expected)
    assert not np.array_equal(expected, _if_by_hand(w1, trains))  # the changes mattered
    np.testing.assert_allclose(got.readout[0], g.layers[1].weight.astype(float)
                               @ expected.sum(axis=0))


def test_tq_ttfs_a_shift_past_the_last_step_is_a_loss() -> None:
    g, steps = _hand_network(), 4
    neuron = NeuronConfig(model="tq-ttfs", steps=steps)
    groups = partition(g, CoreConfig(max_neurons=1))
    frames = np.array([[1.0, 1.0]])  # both inputs spike at step 0
    shifted = CoreInputs((_pairs([0], [1], [0], [False], [steps], [0]), EMPTY))
    lost = CoreInputs((_pairs([0], [1], [0], [True], [0], [0]), EMPTY))
    a = resimulate_stepped(g, frames, None, neuron, groups, shifted)
    b = resimulate_stepped(g, frames, None, neuron, groups, lost)
    ideal = run_tq_ttfs(g, frames, None, neuron)
    for x, y in zip(a.layers, b.layers, strict=True):
        assert np.array_equal(x.neuron, y.neuron) and np.array_equal(x.time, y.time)
    # neuron 0 alone with input 0 (0.6 < threshold 1) stays silent; neuron 1 is untouched
    assert ideal.layers[1].neuron.tolist() == [0, 1] and a.layers[1].neuron.tolist() == [1]
    assert a.layers[1].time[0] == ideal.layers[1].time[1]


def test_other_models_and_bad_inputs_are_refused() -> None:
    g = random_graph()
    groups = partition(g, CoreConfig(max_neurons=256))
    frames = np.zeros((1, *g.input_shape))
    with pytest.raises(ValueError, match="not t2fsnn"):
        resimulate_stepped(g, frames, None, NeuronConfig(model="t2fsnn"), groups,
                           CoreInputs.none(g.depth))
    with pytest.raises(DataError, match="core inputs for 1 source layers"):
        resimulate_stepped(g, frames, None, NeuronConfig(model="rate-if"), groups,
                           CoreInputs.none(1))
