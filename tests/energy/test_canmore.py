from __future__ import annotations

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
    with pytest.raises(ValueError):
        CanmoreParams(-1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        canmore_energy([1, 2], [1], CanmoreParams(1.0, 1.0, 1.0))
    counts = FrameCounts(sops=np.array([1.0]), hops=np.array([1.0]),
                         frame_latency_ns=np.array([1.0]), spikes=np.array([1.0]))
    with pytest.raises(ConfigError, match="valid: canmore, normalized, tq-ttfs"):
        price_frames(EnergyPreset("x", "magic", "", {}), counts)
    with pytest.raises(ConfigError, match="'bad'"):
        price_frames(EnergyPreset("bad", "canmore", "", {"e_sop_pj": 1.0}), counts)
