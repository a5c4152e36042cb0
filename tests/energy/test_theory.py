"""Normalized (papers/004 Eq. 11) and TQ-TTFS (papers/001) energy, recomputed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.energy import (
    FrameCounts,
    NormalizedParams,
    TqttfsParams,
    load_preset,
    normalized_energy,
    price_frames,
    tqttfs_energy,
)
from canmore_sim.errors import ConfigError
from canmore_sim.models.spec import graph_from_spec, weight_shapes
from canmore_sim.models.zoo import ZOO


def _counts(latency, spikes, **layers) -> FrameCounts:
    n = len(latency)
    return FrameCounts(sops=np.zeros(n), hops=np.zeros(n), frame_latency_ns=np.asarray(latency),
                       spikes=np.asarray(spikes), **layers)


def test_eq11_by_hand_truenorth_and_spinnaker() -> None:
    # papers/004 Table 2: DTA-TTFS 160 steps, 0.073 M spikes against rate coding 512, 2.612 M
    counts = _counts([160.0], [0.073e6])
    ref = {"frame_latency_ns": 512.0, "spikes": 2.612e6}
    tn = price_frames(load_preset("truenorth"), counts, ref)
    sp = price_frames(load_preset("spinnaker"), counts, ref)
    assert tn.total_uj[0] == pytest.approx(0.6 * 160 / 512 + 0.4 * 0.073 / 2.612)
    assert sp.total_uj[0] == pytest.approx(0.36 * 160 / 512 + 0.64 * 0.073 / 2.612)
    assert tn.total_uj[0] == pytest.approx(0.1987, abs=1e-3)  # the paper's TrueNorth figure
    assert sp.total_uj[0] == pytest.approx(0.1304, abs=1e-3)  # and SpiNNaker figure


def test_normalized_without_reference_is_relative_to_itself() -> None:
    e = price_frames(load_preset("truenorth"), _counts([100.0, 300.0], [10.0, 30.0]))
    assert e.total_uj.tolist() == pytest.approx([0.5, 1.5])
    with pytest.raises(ValueError, match="reference"):
        normalized_energy(NormalizedParams(0.6, 0.4, 0.0, 1.0), _counts([1.0], [1.0]))


def test_tqttfs_by_hand_on_the_papers_scnn() -> None:
    spec = ZOO["fmnist-scnn"]
    graph = graph_from_spec(spec, [np.zeros(s, np.float32) for s in weight_shapes(spec)])
    flops = np.array([layer.flops for layer in graph.layers])
    neurons = np.array([layer.n_neurons for layer in graph.layers])
    # papers/001 table "neurons and FLOPs in each layer"
    assert flops.tolist() == [313600, 2508800, 1254400, 102400, 1280]
    assert neurons.tolist() == [12544, 6272, 800, 128, 10]
    spikes = np.array([[1538.94, 1000.0, 200.0, 30.0, 1.0]])
    params = TqttfsParams(e_ac_pj=0.9, t0=16.0, t1=20.0, q=(1, 2, 2, 4, 4))
    e = tqttfs_energy(params, _counts([1.0], [0.0], layer_spikes=spikes, layer_neurons=neurons,
                                      layer_flops=flops))
    alpha = 20.0 / (16.0 * np.array([1, 2, 2, 4, 4]))
    expected = 0.9e-6 * np.sum(flops * alpha * spikes[0] / neurons)
    assert e.total_uj[0] == pytest.approx(expected)
    assert e.layer_terms["ac"].sum() == pytest.approx(expected)


def test_tqttfs_rejects_wrong_q_and_missing_layers() -> None:
    with pytest.raises(ValueError, match="q has 2"):
        TqttfsParams(q=(1.0, 2.0)).alpha(5)
    with pytest.raises(ConfigError, match="tq-ttfs"):
        price_frames(load_preset("tq-ttfs"), _counts([1.0], [1.0]))


def test_preset_file_with_its_own_reference(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("model: normalized\nsource: my lab\ne_static: 0.5\ne_dynamic: 0.5\n"
                    "latency_ref_ns: 200\nspikes_ref: 20\n")
    e = price_frames(load_preset(str(path)), _counts([100.0], [10.0]))
    assert e.total_uj[0] == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)
    with pytest.raises(ConfigError, match="cannot read"):
        load_preset(str(tmp_path / "absent.yaml"))
    (tmp_path / "bad.yaml").write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="malformed"):
        load_preset(str(tmp_path / "bad.yaml"))


# papers/001, "Energy Efficiency Analysis": spikes per layer and average inference time
# steps of its FashionMNIST SCNN for each temporal quantization Q_1..Q_5.
_PAPER_SCNN = {
    (1, 1, 1, 1, 1): ([1763.94, 730.00, 233.35, 30.22, 1.09], 4.766),
    (1, 1, 1, 2, 2): ([1538.94, 448.94, 107.24, 24.94, 1.05], 5.471),
    (1, 2, 2, 2, 2): ([1318.03, 265.84, 45.89, 18.50, 1.05], 5.609),
    (1, 2, 2, 4, 4): ([1663.24, 397.94, 52.11, 17.29, 1.02], 7.102),
    (1, 4, 4, 4, 4): ([1217.15, 266.42, 37.13, 18.36, 1.02], 6.880),
}
_SCNN_FLOPS = np.array([313600, 2508800, 1254400, 102400, 1280])
_SCNN_NEURONS = np.array([12544, 6272, 800, 128, 10])


def _scnn_energy(q: tuple[int, ...]) -> tuple[float, np.ndarray]:
    spikes, steps = _PAPER_SCNN[q]
    params = TqttfsParams(e_ac_pj=0.9, t0=4.766, t1=steps, q=tuple(float(v) for v in q))
    e = tqttfs_energy(params, _counts([1.0], [sum(spikes)], layer_spikes=np.array([spikes]),
                                      layer_neurons=_SCNN_NEURONS, layer_flops=_SCNN_FLOPS))
    return float(e.total_uj[0]), params.alpha(5)


def test_tqttfs_reproduces_the_papers_alpha_table_and_savings() -> None:
    # alpha_l = T1 / (T0 Q_l), the paper's table (its 0.360 is 0.3609 truncated)
    assert _scnn_energy((1, 2, 2, 4, 4))[1] == pytest.approx([1.490, 0.745, 0.745, 0.372, 0.372],
                                                             abs=1e-3)
    assert _scnn_energy((1, 1, 1, 2, 2))[1] == pytest.approx([1.147, 1.147, 1.147, 0.573, 0.573],
                                                             abs=1.5e-3)
    regular, alpha = _scnn_energy((1, 1, 1, 1, 1))
    assert alpha.tolist() == [1.0] * 5
    by_hand = 0.9e-6 * (313600 * 1763.94 / 12544 + 2508800 * 730.00 / 6272
                        + 1254400 * 233.35 / 800 + 102400 * 30.22 / 128 + 1280 * 1.09 / 10)
    assert regular == pytest.approx(by_hand)
    # "1-2-2-4-4 ... a reduction of 66.0% energy"; "1-4-4-4-4 reduces energy by 85.0%"
    assert 1 - _scnn_energy((1, 2, 2, 4, 4))[0] / regular == pytest.approx(0.660, abs=5e-4)
    assert 1 - _scnn_energy((1, 4, 4, 4, 4))[0] / regular == pytest.approx(0.850, abs=5e-4)


def test_normalized_reference_precedence_and_per_layer_split(tmp_path) -> None:
    path = tmp_path / "ref.yaml"
    path.write_text("model: normalized\nsource: t\ne_static: 0.6\ne_dynamic: 0.4\n"
                    "latency_ref_ns: 50\nspikes_ref: 5\n")
    counts = _counts([100.0], [40.0], layer_spikes=np.array([[10.0, 20.0]]),
                     layer_cores=np.array([1, 3]))
    preset = load_preset(str(path))
    own = price_frames(preset, counts)  # the preset's reference
    assert own.total_uj[0] == pytest.approx(0.6 * 100 / 50 + 0.4 * 40 / 5)
    assert own.params["reference"] == "preset"
    ref = price_frames(preset, counts, {"frame_latency_ns": 200.0, "spikes": 80.0})
    assert ref.total_uj[0] == pytest.approx(0.6 * 0.5 + 0.4 * 0.5)  # an explicit run wins
    assert ref.params["reference"] == "reference run" and ref.params["latency_ref_ns"] == 200.0
    layers = ref.layer_terms
    assert layers is not None
    assert layers["static"][0].tolist() == pytest.approx([0.3 * 0.25, 0.3 * 0.75])
    # 40 spikes: 10 input-encoding spikes counted in layer 1 (which they drive), 10 + 20 fired
    assert layers["dynamic"][0].tolist() == pytest.approx([0.2 * 20 / 40, 0.2 * 20 / 40])
    with pytest.raises(ConfigError, match="reference run"):
        price_frames(preset, counts, {"frame_latency_ns": float("nan"), "spikes": 1.0})


def test_tqttfs_preset_keys_are_checked(tmp_path) -> None:
    path = tmp_path / "tq.yaml"
    path.write_text("model: tq-ttfs\nsource: t\ne_ac_pj: 0.9\nt0: 1\nt1: 1\nQ: [1, 2]\n")
    with pytest.raises(ConfigError, match="unknown key 'Q'; did you mean 'q'"):
        load_preset(str(path))
    path.write_text("model: tq-ttfs\nsource: t\ne_ac_pj: 0.9\nt0: 0\nt1: 1\nq: 1\n")
    with pytest.raises(ConfigError, match="> 0"):
        load_preset(str(path))
