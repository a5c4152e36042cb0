"""DTA-TTFS as the official code computes it, held against an independent implementation.

The reference below is written from the equations of the official code's activation-space
model (issue 13; papers/004 Eq. 1 and 6 rewritten with ``a = 1 - t_rel``), in numpy and
torch's ``conv2d``, without calling canmore-sim's neuron code:

* input ``a = intensity / a_max`` (clipped at 1), 0 = no spike;
* hidden layer: ``W_j = sum_i w_ij [a_i > 0]``, ``P_j = sum_i w_ij a_i``,
  ``a_j = (W_j + P_j) / (1 + W_j)``, ``a_j = 0`` where ``P_j < -W_j``, ``a_j = 1`` where
  ``P_j >= 1``, a neuron fires where ``a_j > 0``; spike time ``t_j = (l + 1 - a_j) Tw``;
* max pooling over ``a``;
* output: ``P_j`` (the potential at the output window start), class = argmax.

The window-end variant (``window_end_spike``, readout at the window end) is the same with
``a_j >= 0`` firing where ``1 + W_j > 0`` and the readout ``W_j + P_j``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from canmore_sim.cores.neuron import dta_spike_times, layer_forward, network_forward, run_network
from canmore_sim.datasets.digits import load_digits_frames
from canmore_sim.models.graph import LEGACY_RULE, OFFICIAL_RULE, DtaRule, Layer, LayerGraph
from canmore_sim.models.loaders import load_model
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.models.spec import graph_from_spec, weight_shapes

TOL = 1e-6


# ----------------------------------------------------------------------------- reference


def _reference_sums(layer: Layer, a: np.ndarray, spiked: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``W_j`` and ``P_j`` of one layer from input activations ``a`` and spike flags."""
    w = np.asarray(layer.weight, dtype=np.float64)
    mask = spiked.astype(np.float64)
    if layer.kind == "conv":
        wt = torch.from_numpy(w)
        conv = {"stride": layer.stride, "padding": layer.padding}
        return (F.conv2d(torch.from_numpy(mask), wt, **conv).numpy(),
                F.conv2d(torch.from_numpy(a), wt, **conv).numpy())
    return mask.reshape(len(a), -1) @ w.T, a.reshape(len(a), -1) @ w.T


def _reference_activation(w_sum: np.ndarray, p: np.ndarray, window_end_spike: bool
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Activation ``a_j`` in [0, 1] and whether the neuron spikes."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = (w_sum + p) / (1.0 + w_sum)
    a = np.where(p < -w_sum, 0.0, a)
    a = np.where(p >= 1.0, 1.0, a)
    if window_end_spike:  # a = 0 at the window end is a spike too (where 1 + W > 0)
        return a, (p >= 1.0) | ((1.0 + w_sum > 0) & (p >= -w_sum))
    return a, a > 0


def _reference_network(graph: LayerGraph, frames: np.ndarray, rule: DtaRule
                       ) -> tuple[list[np.ndarray], np.ndarray]:
    """Per hidden layer the spike times before pooling (inf: none), and the class scores."""
    a = np.minimum(np.asarray(frames, dtype=np.float64) / graph.input_scale, 1.0)
    spiked = a > 0
    a = np.where(spiked, a, 0.0)
    times = []
    for l, layer in enumerate(graph.layers[:-1], start=1):
        w_sum, p = _reference_sums(layer, a, spiked)
        a, spiked = _reference_activation(w_sum, p, rule.window_end_spike)
        times.append(np.where(spiked, (l + 1 - a) * graph.tw, np.inf))
        a = np.where(spiked, a, 0.0)
        if layer.kind == "conv" and layer.pool > 1:  # the earliest spike: the largest a
            pooled = F.max_pool2d(torch.from_numpy(np.where(spiked, a, -1.0)),
                                  layer.pool).numpy()
            spiked, a = pooled >= 0, np.maximum(pooled, 0.0)
    w_sum, p = _reference_sums(graph.layers[-1], a, spiked)
    return times, (p if rule.readout == "window-start" else w_sum + p)


# ----------------------------------------------------------------------------- comparison


def _compare(graph: LayerGraph, frames: np.ndarray, rule: DtaRule) -> dict[str, float]:
    """Assert canmore-sim = reference on every layer; return activity figures."""
    ref_times, ref_scores = _reference_network(graph, frames, rule)
    fired, _, potential = network_forward(graph, torch.as_tensor(frames, dtype=torch.float64),
                                          rule=rule)
    stats = {"min_rate": 1.0, "max_rate": 0.0, "at_start": 0, "end_only": 0}
    for l, (ours, ref) in enumerate(zip(fired[1:], ref_times, strict=True), start=1):
        ours = ours.numpy()
        assert np.array_equal(np.isfinite(ours), np.isfinite(ref)), f"layer {l}: fired sets"
        both = np.isfinite(ref)
        np.testing.assert_allclose(ours[both], ref[both], rtol=0, atol=TOL)
        rate = float(both.mean())
        stats["min_rate"] = min(stats["min_rate"], rate)
        stats["max_rate"] = max(stats["max_rate"], rate)
        stats["at_start"] += int(np.sum(ref == l * graph.tw))
    scale = graph.tw  # canmore-sim's potential is in time units: Tw x the activation P
    np.testing.assert_allclose(potential.numpy(), scale * ref_scores, rtol=1e-9, atol=1e-9)
    trace = run_network(graph, frames, rule=rule)
    assert np.array_equal(trace.predictions, np.argmax(ref_scores, axis=1))
    return stats


def _vgg_like(spec: str, seed: int, gain: float = 1.0) -> LayerGraph:
    """Random weights of both signs (zero mean), scaled by the square root of the fan-in."""
    rng = np.random.default_rng(seed)
    weights = []
    for shape in weight_shapes(spec):
        fan_in = int(np.prod(shape[1:]))
        weights.append((rng.normal(0.0, 1.0, size=shape) * gain / np.sqrt(fan_in))
                       .astype(np.float32))
    return graph_from_spec(spec, weights)


def _frames(shape: tuple[int, ...], n: int, seed: int) -> np.ndarray:
    """Random intensities with zero pixels and a zero block (neurons with no input spike)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape))
    x[rng.random(x.shape) < 0.3] = 0.0
    x[:, :, 2:8, 2:8] = 0.0
    return x


VGG_LIKE = [
    ("16x16x2:8C3-P2-16C3-P2-10F", 0),
    ("16x16x3:8C3-8C3-P2-16C3-P2-32F-10F", 1),
    ("16x16x1:8C3-8C3-P2-16C3-16C3-P2-16C3-P2-48F-24F-10F", 2),
    ("32x32x3:8C3-P2-16C3-16C3-P2-16C3-16C3-P2-16C3-P2-64F-10F", 3),
]


@pytest.mark.parametrize(("spec", "seed"), VGG_LIKE)
@pytest.mark.parametrize("rule", [OFFICIAL_RULE, LEGACY_RULE], ids=["official", "window-end"])
def test_random_vgg_like_networks_match_the_reference(spec: str, seed: int,
                                                      rule: DtaRule) -> None:
    graph = _vgg_like(spec, seed)
    stats = _compare(graph, _frames(graph.input_shape, 12, seed), rule)
    # the networks are neither dead nor saturated, and they exercise the window start
    assert stats["min_rate"] > 0.02 and stats["max_rate"] < 0.98
    assert stats["at_start"] > 0


def test_tw_and_input_scale_enter_as_the_equations_say() -> None:
    spec = "12x12x2:6C3-P2-12C3-16F-10F"
    rng = np.random.default_rng(5)
    weights = [(rng.normal(0.0, 1.0, s) / np.sqrt(np.prod(s[1:]))).astype(np.float32)
               for s in weight_shapes(spec)]
    graph = graph_from_spec(spec, weights, tw=2.5, input_scale=0.8)
    frames = _frames(graph.input_shape, 8, 5)
    for rule in (OFFICIAL_RULE, LEGACY_RULE):
        _compare(graph, frames, rule)


@pytest.mark.parametrize("bits", [None, 4])
def test_bundled_network_matches_the_reference(bits: int | None) -> None:
    graph = load_model(None)
    if bits is not None:
        graph = quantize_graph(graph, bits)
    frames, _ = load_digits_frames("test")
    stats = _compare(graph, frames[:48].astype(np.float64), graph.dta_rule)
    assert stats["min_rate"] > 0.01


def test_official_rule_differs_from_window_end_rule_where_the_issue_says() -> None:
    """Neurons with no spiking input fire at the window end only under the window-end rule."""
    graph = _vgg_like("16x16x2:8C3-P2-16C3-P2-10F", 0)
    frames = _frames(graph.input_shape, 4, 0)
    official, _, _ = network_forward(graph, torch.as_tensor(frames), rule=OFFICIAL_RULE)
    legacy, _, _ = network_forward(graph, torch.as_tensor(frames), rule=LEGACY_RULE)
    block = (slice(None), slice(None), slice(3, 7), slice(3, 7))  # no input spike at all
    assert np.all(np.isinf(official[1][block].numpy()))
    assert np.all(legacy[1][block].numpy() == 2.0)
    assert np.isfinite(legacy[1].numpy()).sum() > np.isfinite(official[1].numpy()).sum()


# ----------------------------------------------------------------------------- edges


@pytest.mark.parametrize(("rule", "expected"), [(OFFICIAL_RULE, np.inf), (LEGACY_RULE, 3.0)])
def test_no_input_spike(rule: DtaRule, expected: float) -> None:
    """W = P = 0: the potential meets the threshold only at the window end."""
    layer = Layer("fc", "linear", np.array([[0.5, -0.3], [2.0, 1.0]], dtype=np.float32), (2,))
    fired, _ = layer_forward(layer, torch.full((1, 2), np.inf, dtype=torch.float64), 2, 1.0,
                             window_end_spike=rule.window_end_spike)
    assert np.all(fired.numpy() == expected)
    w_sum, p = _reference_sums(layer, np.zeros((1, 2)), np.zeros((1, 2), dtype=bool))
    assert not _reference_activation(w_sum, p, False)[1].any()
    assert _reference_activation(w_sum, p, True)[1].all()


@pytest.mark.parametrize("window_end_spike", [False, True])
def test_potential_exactly_at_threshold_at_window_start(window_end_spike: bool) -> None:
    """P_j = 1 exactly: fires at the window start (a = 1); just below it, just after."""
    # layer 1, Tw = 1: one input at t = 0.5 (a = 0.5) with w = 2 gives P = 1 exactly
    t_in = torch.tensor([[0.5]], dtype=torch.float64)
    for w, expect in ((2.0, 1.0), (2.0 - 2**-20, None)):
        layer = Layer("fc", "linear", np.array([[w]], dtype=np.float32), (1,))
        fired, _ = layer_forward(layer, t_in, 1, 1.0, torch.tensor([[w]], dtype=torch.float64),
                                 window_end_spike=window_end_spike)
        t = fired.item()
        w_sum, p = np.array([[w]]), np.array([[w * 0.5]])
        a_ref = _reference_activation(w_sum, p, False)[0].item()
        assert t == pytest.approx(2.0 - a_ref, abs=1e-12)
        if expect is not None:
            assert t == expect and a_ref == 1.0
        else:
            assert 1.0 < t < 1.0 + 1e-5


@pytest.mark.parametrize("window_end_spike", [False, True])
@pytest.mark.parametrize(("w_sum", "p", "expected"), [
    (-1.0, 0.5, np.inf),   # 1 + W = 0, P < 1: potential and threshold fall together
    (-1.0, 1.0, 1.0),      # 1 + W = 0, P >= 1: fires at the window start
    (-3.0, 0.5, np.inf),   # 1 + W < 0, P < 1: the potential falls faster than the threshold
    (-3.0, 2.0, 1.0),      # 1 + W < 0, P >= 1 (although P < -W): window start
])
def test_one_plus_w_not_positive(window_end_spike: bool, w_sum: float, p: float,
                                 expected: float) -> None:
    l, tw = 1, 1.0
    s_sum = l * tw * w_sum - p  # V(l Tw) = l Tw W - S = P (Tw = 1)
    t = dta_spike_times(torch.tensor([w_sum], dtype=torch.float64),
                        torch.tensor([s_sum], dtype=torch.float64), l, tw,
                        window_end_spike=window_end_spike)
    assert t.item() == expected
    _, fires = _reference_activation(np.array([w_sum]), np.array([p]), window_end_spike)
    assert fires.item() == np.isfinite(expected)


def test_all_zero_frame_fires_nothing_and_reads_zero() -> None:
    graph = _vgg_like("16x16x2:8C3-P2-16C3-P2-10F", 0)
    trace = run_network(graph, np.zeros((2, *graph.input_shape)), rule=OFFICIAL_RULE)
    assert trace.neuron_spikes.sum() == 0 and np.all(trace.readout == 0.0)
    legacy = run_network(graph, np.zeros((2, *graph.input_shape)), rule=LEGACY_RULE)
    assert np.all(legacy.neuron_spikes[:, 1] == graph.layers[0].n_neurons)
