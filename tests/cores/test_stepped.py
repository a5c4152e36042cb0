"""TQ-TTFS (papers/001) and rate-coded IF: each model's defining rule on small layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from canmore_sim.config import NeuronConfig
from canmore_sim.cores.models import simulate_neurons
from canmore_sim.cores.stepped import if_rate_spikes, run_rate_if, run_tq_ttfs, tq_fire_steps
from canmore_sim.errors import ConfigError
from tests.conftest import random_graph


def _tq_loop(current: np.ndarray, q: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """papers/001: V[t] = (1 - F) sum W S[t] + V[t-1]; S[t] = V[t] > theta and (t+1) % q == 0."""
    steps, n = current.shape
    v, f = np.zeros(n), np.zeros(n)
    fire = np.full(n, np.inf)
    for t in range(steps):
        v = (1 - f) * current[t] + v
        s = (v > theta) & ((t + 1) % q == 0) & (f == 0)
        fire[s] = t
        f = f + s
    return fire, v


@pytest.mark.parametrize("q", [1, 2, 4])
def test_tq_ttfs_matches_the_papers_equations(q: int) -> None:
    rng = np.random.default_rng(q)
    current = rng.normal(0.15, 0.4, size=(16, 200))
    fire, v = tq_fire_steps(torch.tensor(current.T[None].transpose(0, 2, 1)), q, 1.0)
    fire_ref, v_ref = _tq_loop(current, q, 1.0)
    assert np.array_equal(fire.numpy()[0], fire_ref)
    np.testing.assert_allclose(v.numpy()[0], v_ref)
    fired = fire_ref[np.isfinite(fire_ref)]
    assert len(fired) > 20 and np.all((fired + 1) % q == 0)  # only at quantized steps


def _if_loop(current: np.ndarray, theta: float) -> np.ndarray:
    v = np.zeros(current.shape[1])
    out = np.zeros_like(current)
    for t in range(current.shape[0]):
        v = v + current[t]
        out[t] = v > theta
        v = np.where(out[t] > 0, 0.0, v)
    return out


def test_rate_if_matches_direct_loop_and_fires_repeatedly() -> None:
    current = np.random.default_rng(0).normal(0.3, 0.5, size=(20, 100))
    spikes = if_rate_spikes(torch.tensor(current)[None], 1.0).numpy()[0]
    assert np.array_equal(spikes, _if_loop(current, 1.0))
    assert spikes.sum(axis=0).max() >= 3


def test_rate_encoding_and_single_spike_tq_traces() -> None:
    graph = random_graph()
    frames = np.random.default_rng(1).random((3, 1, 16, 16)).astype(np.float32)
    rate = run_rate_if(graph, frames, None, NeuronConfig(model="rate-if", steps=10))
    expected = np.floor(10 * frames + 1e-9).reshape(3, -1).sum(axis=1)
    assert rate.neuron_spikes[:, 0].tolist() == expected.tolist()  # about x T input spikes
    tq = run_tq_ttfs(graph, frames, None, NeuronConfig(model="tq-ttfs", steps=8, q=(1, 2, 2)))
    for l, spikes in enumerate(tq.layers):
        keys = spikes.frame.astype(np.int64) * 10**6 + spikes.neuron
        assert len(np.unique(keys)) == len(keys)  # at most one spike per neuron (after pooling)
        unit = graph.tw / 8
        steps = spikes.time / unit - l - 1
        assert np.allclose(steps, np.round(steps)) and steps.min() >= 0 and steps.max() <= 7
        np.testing.assert_allclose(spikes.deadline, spikes.time + unit)
        if l >= 2:  # trace.layers[l] = weight layer l; q = (1, 2, 2): Q = 2 from layer 2 on
            assert np.all((np.round(steps) + 1) % 2 == 0)
    assert tq.end_time == pytest.approx((8 + graph.depth) * graph.tw / 8)


def test_unknown_model_and_bad_q() -> None:
    graph = random_graph()
    frames = np.zeros((1, 1, 16, 16), dtype=np.float32)
    with pytest.raises(ConfigError, match="auto, dta-ttfs, if-lif, rate-if, t2fsnn, tq-ttfs"):
        simulate_neurons(graph, frames, None, NeuronConfig(model="lif"))
    with pytest.raises(ConfigError, match="neuron.q"):
        run_tq_ttfs(graph, frames, None, NeuronConfig(model="tq-ttfs", q=(1, 2)))
