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
from canmore_sim.mapper.spec import graph_from_spec, weight_shapes
from canmore_sim.mapper.zoo import ZOO


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
