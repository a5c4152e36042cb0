from __future__ import annotations

import numpy as np
import pytest
import torch

from canmore_sim.cores.neuron import (
    dta_spike_times,
    encode,
    layer_forward,
    network_forward,
    readout,
    run_network,
)
from canmore_sim.errors import DataError
from canmore_sim.models.graph import Layer
from tests.conftest import random_graph


def _time_stepped(w: np.ndarray, t_in: np.ndarray, l: int, tw: float, dt: float) -> np.ndarray:
    """Direct simulation: V(t) = sum_i w_i (t - t_i)^+ against theta(t) = Tw(l+1) - t (Eq. 2-5).

    Steps t from l*Tw to (l+1)*Tw by ``dt``; a neuron fires at the first step where its
    potential reaches the threshold, ``+inf`` if it never does.
    """
    steps = np.arange(l * tw, (l + 1) * tw + dt / 2, dt)
    spiked = np.isfinite(t_in)
    psp = np.maximum(steps[:, None] - t_in[None, spiked], 0.0)  # (steps, inputs)
    v = psp @ w[:, spiked].T  # (steps, neurons)
    crossed = v >= (tw * (l + 1) - steps)[:, None]
    first = np.argmax(crossed, axis=0)
    return np.where(crossed.any(axis=0), steps[first], np.inf)


def _assert_matches_time_stepped(closed: np.ndarray, stepped: np.ndarray, l: int, tw: float,
                                 dt: float) -> None:
    """Fire/no-fire and spike times of the closed form agree with the stepped simulation.

    The stepped spike is the first step at or after the true crossing, so it lies in
    ``[t_closed, t_closed + dt]``. The only allowed fire/no-fire disagreement is a closed-form
    crossing within one step of the window end (the last step may fall just short of it).
    """
    eps = 1e-9 * tw
    fires_c, fires_s = np.isfinite(closed), np.isfinite(stepped)
    assert not np.any(fires_s & ~fires_c)
    near_end = closed > (l + 1) * tw - dt - eps
    assert np.all(near_end[fires_c & ~fires_s])
    both = fires_c & fires_s
    assert both.sum() >= len(closed) // 5 and (~fires_c).sum() >= 1
    assert np.all(closed[both] <= stepped[both] + eps)
    assert np.all(stepped[both] - closed[both] <= dt + eps)
    assert np.all((closed[fires_c] >= l * tw) & (closed[fires_c] <= (l + 1) * tw))


@pytest.mark.parametrize(("l", "tw", "seed"), [(1, 1.0, 0), (2, 1.0, 1), (3, 2.5, 2), (1, 0.5, 3)])
def test_closed_form_matches_time_stepped_simulation(l: int, tw: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_in, n_out, dt = 30, 40, 1e-3 * tw
    w = rng.normal(0.02, 0.25, size=(n_out, n_in))
    t_in = rng.uniform((l - 1) * tw, l * tw, size=n_in)
    t_in[rng.random(n_in) < 0.3] = np.inf  # some inputs do not spike
    layer = Layer("fc", "linear", w.astype(np.float32), (n_in,))
    fired, _ = layer_forward(layer, torch.tensor(t_in[None]), l, tw, torch.tensor(w))
    _assert_matches_time_stepped(fired[0].numpy(), _time_stepped(w, t_in, l, tw, dt), l, tw, dt)


@pytest.mark.parametrize(("l", "tw", "stride", "seed"),
                         [(1, 1.0, 1, 7), (2, 2.0, 1, 8), (4, 0.25, 2, 9)])
def test_closed_form_matches_time_stepped_on_a_conv_layer(l: int, tw: float, stride: int,
                                                          seed: int) -> None:
    rng = np.random.default_rng(seed)
    dt = 1e-3 * tw
    w = rng.normal(0.03, 0.3, size=(3, 2, 3, 3))
    t_in = rng.uniform((l - 1) * tw, l * tw, size=(2, 6, 6))
    t_in[rng.random(t_in.shape) < 0.2] = np.inf
    layer = Layer("c", "conv", w.astype(np.float32), (2, 6, 6), stride=stride, padding=1)
    fired, _ = layer_forward(layer, torch.tensor(t_in[None]), l, tw, torch.tensor(w))
    # unroll the convolution into a dense matrix and step it directly
    dense = torch.nn.functional.conv2d(torch.eye(72, dtype=torch.float64).reshape(72, 2, 6, 6),
                                       torch.tensor(w), stride=stride,
                                       padding=1).reshape(72, -1).T.numpy()
    stepped = _time_stepped(dense, t_in.reshape(-1), l, tw, dt)
    _assert_matches_time_stepped(fired.reshape(-1).numpy(), stepped, l, tw, dt)


def test_eq1_encoding() -> None:
    a = torch.tensor([0.0, 0.25, 1.0, 2.0, -1.0])
    t = encode(a, a_max=1.0, tw=2.0)
    assert t[0] == np.inf and t[4] == np.inf  # zero intensity: no spike
    assert t[1].item() == pytest.approx(1.5) and t[2].item() == 0.0 and t[3].item() == 0.0


def test_fires_at_window_start_when_potential_already_reaches_threshold() -> None:
    t = dta_spike_times(torch.tensor([5.0, 0.1, -2.0]), torch.tensor([0.0, 0.0, 0.0]), 1, 1.0)
    # V(1) = 5 >= 1 -> t = 1;  t = (2 + 0) / 1.1 = 1.818;  1 + W < 0 -> no spike
    assert t[0].item() == 1.0 and t[1].item() == pytest.approx(2 / 1.1) and t[2] == np.inf


def test_pooling_is_earliest_spike() -> None:
    rng = np.random.default_rng(0)
    layer = Layer("c", "conv", rng.normal(0.1, 0.3, (4, 1, 3, 3)).astype(np.float32),
                  (1, 8, 8), padding=1, pool=2)
    times = encode(torch.tensor(rng.random((2, 1, 8, 8))), 1.0, 1.0)
    fired, pooled = layer_forward(layer, times, 1, 1.0)
    expected = fired.reshape(2, 4, 4, 2, 4, 2).amin(dim=(3, 5))
    assert torch.equal(pooled, expected)


def test_autograd_gives_eq9_and_eq10() -> None:
    l, tw = 2, 1.0
    w = torch.tensor([[0.3, 0.4, -0.1]], dtype=torch.float64, requires_grad=True)
    t_in = torch.tensor([[1.2, 1.5, 1.9]], dtype=torch.float64, requires_grad=True)
    layer = Layer("fc", "linear", w.detach().numpy().astype(np.float32), (3,))
    fired, _ = layer_forward(layer, t_in, l, tw, w)
    fired.sum().backward()
    t_j = fired.item()
    assert l * tw < t_j < (l + 1) * tw
    denom = 1 + w.detach().sum().item()
    np.testing.assert_allclose(w.grad.numpy()[0], (t_in.detach().numpy()[0] - t_j) / denom)  # Eq. 9
    np.testing.assert_allclose(t_in.grad.numpy()[0], w.detach().numpy()[0] / denom)  # Eq. 10


def test_no_gradient_when_firing_at_window_start_or_not_firing() -> None:
    # l = 2, Tw = 1: neuron 0: V(2) = 2*3 - 4.5 = 1.5 >= Tw -> fires at the window start;
    # neuron 1: 1 + W = -0.2 <= 0 -> never fires; neuron 2: t = (3 + 0.4) / 1.3 inside the window
    w = torch.tensor([[1.5, 1.5], [-0.7, -0.5], [0.2, 0.1]], dtype=torch.float64,
                     requires_grad=True)
    t_in = torch.tensor([[1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    layer = Layer("fc", "linear", w.detach().numpy().astype(np.float32), (2,))
    fired, _ = layer_forward(layer, t_in, 2, 1.0, w)
    assert fired[0, 0].item() == 2.0 and fired[0, 1] == np.inf and 2 < fired[0, 2].item() < 3
    fired[0, 0].backward(retain_graph=True)
    assert torch.all(w.grad == 0) and torch.all(t_in.grad == 0)
    torch.where(torch.isfinite(fired), fired, 0.0)[0, 1].backward(retain_graph=True)
    assert torch.all(w.grad == 0) and torch.all(t_in.grad == 0)
    fired[0, 2].backward()
    assert torch.all(w.grad[:2] == 0) and torch.all(w.grad[2] != 0)


@pytest.mark.parametrize(("point", "at"), [("window-start", 3.0), ("window-end", 4.0)])
def test_readout_is_potential_at_the_window_start_or_end(point: str, at: float) -> None:
    w = np.array([[0.5, -0.25]], dtype=np.float32)
    layer = Layer("out", "linear", w, (2,))
    v = readout(layer, torch.tensor([[2.5, np.inf]], dtype=torch.float64), 3, 1.0, point=point)
    assert v.item() == pytest.approx(0.5 * (at - 2.5))


def test_unknown_readout_point_is_refused() -> None:
    layer = Layer("out", "linear", np.ones((1, 1), dtype=np.float32), (1,))
    with pytest.raises(ValueError, match="window-start or window-end"):
        readout(layer, torch.zeros((1, 1), dtype=torch.float64), 1, 1.0, point="middle")


def test_run_network_trace_contract_and_determinism() -> None:
    g = random_graph()
    frames = np.random.default_rng(1).random((6, 1, 16, 16)).astype(np.float32)
    a = run_network(g, frames, np.arange(6) % 10)
    b = run_network(g, frames, np.arange(6) % 10, batch_size=4)
    assert len(a.layers) == g.depth and a.neuron_spikes.shape == (6, g.depth + 1)
    for l, (sa, sb) in enumerate(zip(a.layers, b.layers, strict=True)):
        assert np.array_equal(sa.neuron, sb.neuron) and np.array_equal(sa.time, sb.time)
        assert np.all((sa.time >= l * g.tw) & (sa.time <= (l + 1) * g.tw))
        shape = g.input_shape if l == 0 else g.layers[l - 1].spike_shape
        assert sa.neuron.max() < np.prod(shape)
    assert np.array_equal(a.readout, b.readout)
    assert a.layers[0].counts(6).tolist() == (frames > 0).reshape(6, -1).sum(1).tolist()
    _, _, potential = network_forward(g, torch.tensor(frames, dtype=torch.float64))
    assert np.array_equal(a.predictions, potential.argmax(1).numpy())
    assert (a.neuron_spikes[:, g.depth] == 0).all()  # the output layer does not spike
    unlabelled = run_network(g, frames)
    assert (unlabelled.labels == -1).all() and unlabelled.accuracy() is None
    assert np.array_equal(unlabelled.readout, a.readout)


def test_frame_shape_mismatch_is_a_data_error() -> None:
    with pytest.raises(DataError, match=r"\(1, 16, 16\)"):
        run_network(random_graph(), np.zeros((2, 1, 8, 8)))


def test_dta_fires_is_where_the_spike_times_are_finite() -> None:
    from canmore_sim.cores.neuron import dta_fires

    rng = np.random.default_rng(3)
    w = rng.normal(0.0, 1.5, 20_000)
    s = rng.normal(1.0, 2.0, 20_000)
    # edge cases: denominator zero or negative, firing at the window start, at its end
    w[:4] = [-1.0, -2.0, 3.0, 1.0]
    s[:4] = [0.5, 0.5, 0.5, 2.0]  # w=1, s=2 at l=1: t = (2 + 2) / 2 = 2 = the window end
    for l, edge in ((1, False), (2, False), (1, True), (2, True)):
        times = dta_spike_times(torch.as_tensor(w), torch.as_tensor(s), l, 1.0,
                                window_end_spike=edge)
        fires = dta_fires(w, s, l, 1.0, window_end_spike=edge)
        assert np.array_equal(fires, torch.isfinite(times).numpy())
        assert 0 < fires.sum() < len(fires)
    # the window-end case fires only under the window-end rule
    assert not dta_fires(w[3:4], s[3:4], 1, 1.0)[0]
    assert dta_fires(w[3:4], s[3:4], 1, 1.0, window_end_spike=True)[0]
