"""T2FSNN (papers/002): dynamic-threshold encoding (Eq. 7), conversion, early firing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from canmore_sim.config import NeuronConfig
from canmore_sim.cores.t2fsnn import (
    kernel_fire_steps,
    layer_kernels,
    normalize_weights,
    run_t2fsnn,
)
from canmore_sim.cores.t2fsnn_kernels import fit_kernel, kernel_losses
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


# -- gradient-based kernel optimization (papers/002 Sec. III-B) ---------------------------
def _values(seed: int = 0) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).uniform(0.01, 1.0, 500))


def test_kernel_gradients_are_eq12_and_eq13() -> None:
    z = _values()
    tau = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    t_d = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    loss = kernel_losses(z, tau, t_d, steps=16)
    (g_tau,) = torch.autograd.grad(loss.prec, tau)
    (g_td,) = torch.autograd.grad(loss.max, t_d)
    with torch.no_grad():
        t_f = torch.clamp(torch.ceil(-tau * torch.log(z) + t_d), min=0.0)
        sent = t_f <= 15
        z_hat = torch.exp(-(t_f - t_d) / tau)[sent]
        eq12 = -((t_f[sent] - t_d) / tau**2 * (z[sent] - z_hat) * z_hat).mean()
        z_max_hat = torch.exp(t_d / tau)
        eq13 = -(z.max() - z_max_hat) * z_max_hat / tau
    assert float(g_tau) == pytest.approx(float(eq12), rel=1e-9)
    assert float(g_td) == pytest.approx(float(eq13), rel=1e-9)


@pytest.mark.parametrize("tau0", [2.0, 18.0])
def test_fit_kernel_lowers_the_losses_from_small_and_large_tau(tau0) -> None:
    """papers/002 Fig. 4: from tau = 2 the time constant grows, from tau = 18 it shrinks,
    and the fitted kernel represents the values better."""
    z = _values(1).numpy()

    def total(tau: float, t_d: float) -> float:
        loss = kernel_losses(torch.as_tensor(z), torch.tensor(tau, dtype=torch.float64),
                             torch.tensor(t_d, dtype=torch.float64), 20)
        return float(loss.prec + loss.min + loss.max)

    tau, t_d = fit_kernel(z, tau0, 0.0, steps=20, iterations=300, lr=0.05)
    assert (tau > tau0) if tau0 == 2.0 else (tau < tau0)
    assert total(tau, t_d) < 0.5 * total(tau0, 0.0)
    assert fit_kernel(z, tau0, 0.0, 20, 300, 0.05) == (tau, t_d)  # deterministic


def test_fitted_kernels_drive_each_layer_of_the_run() -> None:
    graph = random_graph(seed=4)
    frames = np.random.default_rng(2).random((4, 1, 16, 16))
    neuron = NeuronConfig(model="t2fsnn", steps=12, tau=2.0, kernel_iterations=200)
    taus, t_ds = layer_kernels(graph, frames, neuron)
    assert len(taus) == graph.depth and len(set(taus)) > 1  # one kernel per spiking layer
    trace = run_t2fsnn(graph, frames, None, neuron)
    # the input layer fires at Eq. 7 with its own fitted kernel
    u = np.clip(frames.reshape(4, -1), 0, 1)
    first = trace.layers[0]
    unit = graph.tw / 12
    steps = np.rint(first.time / unit - 1).astype(int)
    expected = np.ceil(-taus[0] * np.log(u[first.frame, first.neuron]) + t_ds[0] - 1e-9)
    assert np.array_equal(steps, np.maximum(expected, 0).astype(int))
