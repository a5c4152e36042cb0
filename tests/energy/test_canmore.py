from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from canmore_sim.energy import (
    CanmoreParams,
    EnergyPreset,
    FrameCounts,
    canmore_energy,
    load_preset,
    preset_names,
    price_frames,
)
from canmore_sim.errors import ConfigError


def test_eq12_by_hand() -> None:
    # papers/004 Eq. 12 with the CanMore 22 nm coefficients
    e = canmore_energy([1000, 0], [250, 10], CanmoreParams(20.0, 100.0, 3.52))
    assert e.terms["sop"].tolist() == pytest.approx([1000 * 20e-6, 0.0])
    assert e.terms["hop"].tolist() == pytest.approx([250 * 100e-6, 10 * 100e-6])
    assert e.terms["static"].tolist() == [3.52, 3.52]
    assert e.total_uj.tolist() == pytest.approx([0.02 + 0.025 + 3.52, 0.001 + 3.52])


def test_interchip_hops_priced_separately_and_static_as_power() -> None:
    params = CanmoreParams(20.0, 100.0, e_interchip_hop_pj=1000.0, p_static_mw=50.0)
    e = canmore_energy([10], [40], params, interchip_hops=[4], frame_latency_ns=[2000.0])
    assert e.terms["hop"][0] == pytest.approx(36 * 100e-6)
    assert e.terms["interchip_hop"][0] == pytest.approx(4 * 1000e-6)
    assert e.terms["static"][0] == pytest.approx(50e-3 * 2000e-9 * 1e6)  # W x s -> uJ
    with pytest.raises(ValueError, match="exactly one"):
        CanmoreParams(20.0, 100.0, e_static_uj=1.0, p_static_mw=1.0)
    with pytest.raises(ValueError, match="frame_latency_ns"):
        canmore_energy([1], [1], CanmoreParams(1.0, 1.0, p_static_mw=1.0))


def test_paper_vgg16_counts() -> None:
    p = load_preset("canmore-22nm")
    assert p.params["e_sop_pj"] == 20.0 and p.params["e_hop_pj"] == 100.0
    assert p.params["e_static_uj"] == 3.52 and "papers/004" in p.source
    counts = FrameCounts(sops=np.array([71e6]), hops=np.array([45.4e6]),
                         frame_latency_ns=np.array([1.0]), spikes=np.array([73e3]))
    e = price_frames(p, counts)
    assert e.total_uj[0] == pytest.approx(71e6 * 20e-6 + 45.4e6 * 100e-6 + 3.52)


def test_bad_inputs() -> None:
    assert {"canmore-22nm", "truenorth", "spinnaker", "tq-ttfs"} <= set(preset_names())
    with pytest.raises(ConfigError, match="canmore-22nm"):
        load_preset("canmore-7nm")
    with pytest.raises(ValueError, match=r"^e_sop_pj must be a finite number >= 0, got -1\.0$"):
        CanmoreParams(-1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"^FrameCounts\.hops must have one value per frame"):
        canmore_energy([1, 2], [1], CanmoreParams(1.0, 1.0, 1.0))
    counts = FrameCounts(sops=np.array([1.0]), hops=np.array([1.0]),
                         frame_latency_ns=np.array([1.0]), spikes=np.array([1.0]))
    with pytest.raises(ConfigError, match="valid: canmore, canmore-leakage, normalized, tq-ttfs"):
        price_frames(EnergyPreset("x", "magic", "", {}), counts)
    with pytest.raises(ConfigError, match="'bad'"):
        price_frames(EnergyPreset("bad", "canmore", "", {"e_sop_pj": 1.0}), counts)


def test_per_layer_attribution_by_hand() -> None:
    # two layers: SOPs 300/100, hops into them 30/10 (4 inter-chip), cores 3/1
    counts = FrameCounts(sops=np.array([400.0]), hops=np.array([40.0]),
                         interchip_hops=np.array([4.0]), frame_latency_ns=np.array([1.0]),
                         spikes=np.array([0.0]), layer_sops=np.array([[300.0, 100.0]]),
                         layer_hops=np.array([[30.0, 10.0]]), layer_cores=np.array([3, 1]))
    e = price_frames(load_preset("canmore-22nm"), counts)
    layers = e.layer_terms
    assert layers is not None
    assert layers["sop"][0].tolist() == pytest.approx([300 * 20e-6, 100 * 20e-6])
    assert layers["hop"][0].tolist() == pytest.approx([36 * 100e-6 * 0.75, 36 * 100e-6 * 0.25])
    assert layers["interchip_hop"][0].tolist() == pytest.approx([4e-3 * 0.75, 4e-3 * 0.25])
    assert layers["static"][0].tolist() == pytest.approx([3.52 * 0.75, 3.52 * 0.25])
    for term, values in e.terms.items():  # every term is split completely
        assert layers[term].sum() == pytest.approx(values[0])
    assert e.params == {"e_sop_pj": 20.0, "e_hop_pj": 100.0, "e_static_uj": 3.52,
                        "e_interchip_hop_pj": 1000.0}


def test_canmore_22nm_states_the_interchip_cost_and_its_assumption() -> None:
    preset = load_preset("canmore-22nm")
    assert preset.params["e_interchip_hop_pj"] == 1000.0
    text = (Path(__file__).parents[2] / "configs/energy/canmore-22nm.yaml").read_text()
    assert "ASSUMPTION" in text


@pytest.mark.parametrize(("body", "message"), [
    ("e_sop_pj: 20\ne_hop_pJ: 100\ne_static_uj: 1\n",
     "unknown key 'e_hop_pJ'; did you mean 'e_hop_pj'"),
    ("e_sop_pj: 20\ne_static_uj: 1\n", "missing key 'e_hop_pj'"),
    ("e_sop_pj: 20\ne_hop_pj: 100\ne_static_uj: 1\np_static_mw: 5\n",
     "exactly one of e_static_uj and p_static_mw"),
    ("e_sop_pj: 20\ne_hop_pj: 100\n", "exactly one of e_static_uj and p_static_mw"),
    ("e_sop_pj: -20\ne_hop_pj: 100\ne_static_uj: 1\n", "e_sop_pj must be"),
])
def test_bad_preset_is_rejected_when_loaded(tmp_path, body: str, message: str) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(f"model: canmore\nsource: test\n{body}")
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_preset(str(path))
    assert "'mine'" in str(info.value) and "\n" not in str(info.value)


def test_static_power_preset_prices_frame_latency(tmp_path) -> None:
    path = tmp_path / "power.yaml"
    path.write_text("model: canmore\nsource: test\ne_sop_pj: 1\ne_hop_pj: 1\np_static_mw: 10\n")
    counts = FrameCounts(sops=np.array([0.0, 0.0]), hops=np.array([0.0, 0.0]),
                         frame_latency_ns=np.array([1000.0, 3000.0]), spikes=np.zeros(2))
    e = price_frames(load_preset(str(path)), counts)
    # 10 mW x 1 us = 10 nJ = 0.01 uJ
    assert e.terms["static"].tolist() == pytest.approx([0.01, 0.03])
    assert "hop" in e.terms and "interchip_hop" not in e.terms  # no separate inter-chip price
