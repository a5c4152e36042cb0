"""Normalized theoretical energy (papers/004 Eq. 11, after papers/002 Table II).

    E = E_static x latency / latency_ref + E_dynamic x spikes / spikes_ref

a relative energy: 1.0 is the reference run. ``latency`` is the frame latency
(ns here; the papers count time steps: only the ratio matters, so the reference
must be measured the same way) and ``spikes`` the spikes fired by all neurons,
input encoding included. Presets: TrueNorth (E_static, E_dynamic) = (0.6, 0.4),
SpiNNaker (0.36, 0.64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from canmore_sim.energy.canmore import EnergyBreakdown
from canmore_sim.energy.counts import FrameCounts

__all__ = ["NormalizedParams", "normalized_energy"]


@dataclass(frozen=True)
class NormalizedParams:
    """Coefficients of Eq. 11 and the reference run.

    Attributes
    ----------
    e_static, e_dynamic
        Relative weights of the static and dynamic parts (dimensionless).
    latency_ref_ns, spikes_ref
        The reference run's frame latency (ns) and spikes per frame.
    """

    e_static: float
    e_dynamic: float
    latency_ref_ns: float
    spikes_ref: float

    def __post_init__(self) -> None:
        for name in ("e_static", "e_dynamic"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a finite number >= 0")
        for name in ("latency_ref_ns", "spikes_ref"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a finite number > 0 (the reference run)")


def normalized_energy(params: NormalizedParams, counts: FrameCounts) -> EnergyBreakdown:
    """Eq. 11 of papers/004 on per-frame counts; terms ``static`` and ``dynamic`` (relative)."""
    return EnergyBreakdown({
        "static": params.e_static * counts.f64("frame_latency_ns") / params.latency_ref_ns,
        "dynamic": params.e_dynamic * counts.f64("spikes") / params.spikes_ref,
    })
