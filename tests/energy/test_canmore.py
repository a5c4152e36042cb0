from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.energy import CanmoreParams, canmore_energy, load_preset, price_frames
from canmore_sim.errors import ConfigError


def test_eq12_by_hand() -> None:
    # papers/004 Eq. 12 with the CanMore 22 nm coefficients
    e = canmore_energy([1000, 0], [250, 10], CanmoreParams(20.0, 100.0, 3.52))
    assert e.terms["sop"].tolist() == pytest.approx([1000 * 20e-6, 0.0])
    assert e.terms["hop"].tolist() == pytest.approx([250 * 100e-6, 10 * 100e-6])
    assert e.terms["static"].tolist() == [3.52, 3.52]
    assert e.total_uj.tolist() == pytest.approx([0.02 + 0.025 + 3.52, 0.001 + 3.52])


def test_preset_has_paper_values_and_source() -> None:
    p = load_preset("canmore-22nm")
    assert p.params == {"e_sop_pj": 20.0, "e_hop_pj": 100.0, "e_static_uj": 3.52}
    assert "papers/004" in p.source
    e = price_frames(p, {"sops": np.array([71e6]), "hops": np.array([45.4e6])})
    assert e.total_uj[0] == pytest.approx(71e6 * 20e-6 + 45.4e6 * 100e-6 + 3.52)


def test_bad_inputs() -> None:
    with pytest.raises(ConfigError, match="canmore-22nm"):
        load_preset("canmore-7nm")
    with pytest.raises(ValueError):
        CanmoreParams(-1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        canmore_energy([1, 2], [1], CanmoreParams(1.0, 1.0, 1.0))
