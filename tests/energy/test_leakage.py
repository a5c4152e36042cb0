"""The leakage energy model: linear in latency and chip size, calibrated to 3.52 uJ/frame."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.energy import (
    ENERGY_MODELS,
    FrameCounts,
    load_preset,
    preset_names,
    price_frames,
    term_dependence,
)
from canmore_sim.energy.area import count_parts, price_area
from canmore_sim.energy.area_preset import load_area_preset
from canmore_sim.energy.leakage import STATIC_TERMS
from canmore_sim.errors import ConfigError

PRESET = load_preset("canmore-22nm-leakage")
AREA = load_area_preset("canmore-22nm")


def _counts(latency_ns, *, mesh=(8, 8), sram_kib=256.0, depth=4, neurons=1024, chips=(1, 1),
            sops=1000.0, hops=100.0, area=True) -> FrameCounts:
    latency = np.atleast_1d(np.asarray(latency_ns, dtype=np.float64))
    n = len(latency)
    parts = count_parts(AREA, mesh_width=mesh[0], mesh_height=mesh[1], sram_kib=sram_kib,
                        max_neurons=neurons, buffer_depth=depth, chips_x=chips[0],
                        chips_y=chips[1])
    return FrameCounts(sops=np.full(n, sops), hops=np.full(n, hops), frame_latency_ns=latency,
                       spikes=np.zeros(n), interchip_hops=np.zeros(n),
                       layer_sops=np.tile([sops * 0.25, sops * 0.75], (n, 1)),
                       layer_hops=np.tile([hops, 0.0], (n, 1)), layer_cores=np.array([3, 1]),
                       area=price_area(parts, AREA) if area else None)


def _static(e) -> np.ndarray:
    return sum(e.terms[t] for t in STATIC_TERMS)


def test_the_reference_configuration_leaks_3_52_uj_per_frame() -> None:
    e = price_frames(PRESET, _counts(100_000.0))
    assert _static(e)[0] == pytest.approx(3.52, rel=1e-12)
    assert e.params["p_static_mw"] == pytest.approx(35.2, rel=1e-12)
    assert e.params["ref_p_static_mw"] == pytest.approx(35.2, rel=1e-12)
    assert e.terms["sop"][0] == pytest.approx(1000 * 20e-6)  # Eq. 12's dynamic terms
    assert e.terms["hop"][0] == pytest.approx(100 * 100e-6)
    assert e.params["area_preset"] == "canmore-22nm"
    # the SRAM dominates a 256 KiB core; every part leaks something
    assert e.terms["static_sram"][0] > e.terms["static_router"][0] > 0
    assert e.terms["static_interchip"][0] == 0.0


def test_static_energy_is_linear_in_frame_latency() -> None:
    latency = np.array([1_000.0, 2_000.0, 50_000.0, 100_000.0, 4_450_000.0])
    e = price_frames(PRESET, _counts(latency))
    static = _static(e)
    assert np.allclose(static / latency, static[0] / latency[0], rtol=1e-12, atol=0)
    assert static[-1] == pytest.approx(3.52 * 44.5, rel=1e-12)


@pytest.mark.parametrize(("small", "large", "factor"), [((4, 4), (8, 8), 4), ((8, 8), (16, 8), 2),
                                                        ((2, 3), (6, 6), 6)])
def test_static_energy_is_linear_in_chip_size(small, large, factor) -> None:
    a = _static(price_frames(PRESET, _counts(20_000.0, mesh=small)))[0]
    b = _static(price_frames(PRESET, _counts(20_000.0, mesh=large)))[0]
    assert b == pytest.approx(factor * a, rel=1e-12)


def test_static_energy_grows_with_sram_buffers_and_chips() -> None:
    base = _static(price_frames(PRESET, _counts(20_000.0)))[0]
    for bigger in ({"sram_kib": 512.0}, {"depth": 8}, {"chips": (2, 1)}, {"neurons": 2048}):
        assert _static(price_frames(PRESET, _counts(20_000.0, **bigger)))[0] > base
    two = _static(price_frames(PRESET, _counts(20_000.0, chips=(2, 1))))[0]
    assert two > 2 * base  # two chips and the links between them


def test_eq12_preset_stays_constant_per_frame_whatever_the_design() -> None:
    eq12 = load_preset("canmore-22nm")
    for counts in (_counts(1_000.0), _counts(4_000_000.0, mesh=(16, 16), depth=8)):
        assert price_frames(eq12, counts).terms["static"].tolist() == [3.52]


def test_each_model_says_which_terms_depend_on_time_and_size() -> None:
    assert set(ENERGY_MODELS) == {"canmore", "canmore-leakage", "normalized", "tq-ttfs"}
    leak = term_dependence(PRESET)
    assert all(leak[t] == ("time", "size") for t in STATIC_TERMS)
    assert leak["sop"] == ("activity",)
    assert term_dependence(load_preset("canmore-22nm"))["static"] == ()
    assert term_dependence(load_preset("truenorth"))["static"] == ("time",)
    for name in preset_names():  # every bundled preset: a dependence for each term it prices
        preset = load_preset(name)
        depends = term_dependence(preset)
        assert all(set(v) <= {"activity", "time", "size"} for v in depends.values())
    e = price_frames(PRESET, _counts([100.0, 200.0]))
    assert set(e.terms) == set(leak)


def test_layer_split_sums_to_each_term() -> None:
    e = price_frames(PRESET, _counts([10_000.0, 30_000.0]))
    assert e.layer_terms is not None
    for term, values in e.layer_terms.items():
        assert np.allclose(values.sum(axis=1), e.terms[term], rtol=1e-12)
    assert np.allclose(e.layer_terms["static_router"][:, 0] / e.terms["static_router"], 0.75)


def test_without_an_area_the_leakage_model_refuses_by_name() -> None:
    with pytest.raises(ConfigError, match="needs the run's area"):
        price_frames(PRESET, _counts(1_000.0, area=False))
