"""T2FSNN (papers/002): dynamic-threshold encoding (Eq. 7), conversion, early firing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from canmore_sim.config import NeuronConfig
from canmore_sim.cores.t2fsnn import kernel_fire_steps, normalize_weights, run_t2fsnn
from canmore_sim.errors import ConfigError
from tests.conftest import random_graph


@pytest.mark.parametrize(("tau", "t_d"), [(4.0, 0.0), (2.5, 1.0)])
def test_fire_step_is_eq7_and_decodes_within_one_step(tau: float, t_d: float) -> None:
    u = torch.tensor([0.9, 0.5, 0.2, 0.05, 0.001, 0.0], dtype=torch.float64)
    steps = 16
    fired = kernel_fire_steps(u.reshape(1, 1, -1).expand(1, steps, -1), tau, t_d, steps)[0]
    expected = np.ceil(-tau * np.log(u.numpy()[:5]) + t_d).clip(min=0)
    expected = np.where(expected < steps, expected, np.inf)
    assert fired[:5].tolist() == expected.tolist()  # papers/002 Eq. 7
    assert fired[5] == np.inf  # nothing to send
    sent = np.isfinite(fired.numpy())
    decoded = np.exp(-(fired.numpy()[sent] - t_d) / tau)  # Eq. 5 kernel value of the spike
    value = u.numpy()[sent]
    assert np.all((decoded <= value + 1e-12) & (decoded >= value * np.exp(-1 / tau) - 1e-12))


def test_data_based_normalization_bounds_activations() -> None:
    graph = random_graph()
    frames = np.random.default_rng(0).random((16, 1, 16, 16)).astype(np.float32)
    weights = normalize_weights(graph, frames)
    x = torch.as_tensor(frames, dtype=torch.float64)
    for layer, w in zip(graph.layers, weights, strict=True):
        a = torch.relu(torch.nn.functional.conv2d(x, torch.tensor(w), padding=layer.padding)
                       if layer.kind == "conv" else x.flatten(1) @ torch.tensor(w).T)
        assert np.percentile(a.numpy(), 99.9) == pytest.approx(1.0)
        x = torch.nn.functional.max_pool2d(a, layer.pool) if layer.pool > 1 else a


def test_early_firing_shortens_the_schedule() -> None:
    graph = random_graph()
    frames = np.random.default_rng(2).random((4, 1, 16, 16)).astype(np.float32)
    base = run_t2fsnn(graph, frames, None, NeuronConfig(model="t2fsnn", steps=8))
    early = run_t2fsnn(graph, frames, None, NeuronConfig(model="t2fsnn", steps=8,
                                                         early_steps=3))
    assert early.end_time < base.end_time
    for l, spikes in enumerate(base.layers):
        start = l * 8 * graph.tw / 8
        assert np.all((spikes.time > start) & (spikes.time <= start + graph.tw))
    with pytest.raises(ConfigError, match="early_steps"):
        run_t2fsnn(graph, frames, None, NeuronConfig(model="t2fsnn", steps=4, early_steps=4))
