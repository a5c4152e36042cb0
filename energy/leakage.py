"""Leakage-based energy: Eq. 12's dynamic terms, a static term that grows with time and size.

    E = E_SOP x SOPs + E_hop x Hops + sum_parts P_leak(part) x frame latency

Eq. 12 of papers/004 prices static energy as a constant 3.52 uJ per frame, whatever the
frame takes and whatever the chip holds. Here the static power is summed over the parts
of the run's chip grid (:mod:`canmore_sim.energy.area`): leakage per um2 of SRAM (weights
and neuron state, i.e. per SRAM bit) and per um2 of logic (each core's logic, each router
by its buffers, crossbar, allocator and links, each inter-chip link), times the frame
latency. So a deeper buffer, a larger SRAM, a larger mesh or a slower frame costs energy.

Calibration: the absolute leakage level is fixed so that a stated reference
configuration (``ref_*`` keys of the preset: one chip of the default architecture,
8x8 cores of 256 KiB and 1024 neurons, 4-flit buffers) at a stated frame latency
(``ref_frame_latency_ns``) leaks exactly ``calibrate_static_uj`` (papers/004's
3.52 uJ/frame) under the same area preset as the run. Only the ratio of the two
densities (``leak_sram_per_um2`` : ``leak_logic_per_um2``) comes from the preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from canmore_sim.energy.area import AreaBreakdown, count_parts, price_area
from canmore_sim.energy.canmore import CanmoreParams, EnergyBreakdown, price_canmore
from canmore_sim.energy.counts import FrameCounts, split_by_share

__all__ = ["STATIC_TERMS", "LeakageParams", "leakage_weights", "price_leakage",
           "reference_area"]

#: Static terms and the area parts each one covers.
STATIC_TERMS = {
    "static_sram": ("core.sram_weights", "core.neuron_state"),
    "static_core_logic": ("core.logic",),
    "static_router": ("router.input_buffers", "router.crossbar", "router.allocator",
                      "router.link_drivers"),
    "static_interchip": ("grid.interchip_links",),
}
_UJ_PER_NS_TO_MW = 1e6  # 1 uJ/ns = 1 kW = 1e6 mW


@dataclass(frozen=True)
class LeakageParams:
    """Coefficients of the leakage model.

    Attributes
    ----------
    e_sop_pj, e_hop_pj, e_interchip_hop_pj
        Dynamic energies as in Eq. 12, pJ (inter-chip: None prices those hops at e_hop_pj).
    leak_sram_per_um2, leak_logic_per_um2
        Relative leakage per um2 of SRAM macro and of logic (only their ratio matters).
    calibrate_static_uj
        Static energy of the reference configuration at the reference latency, uJ.
    ref_frame_latency_ns
        The reference frame latency, ns.
    ref_mesh_width, ref_mesh_height, ref_sram_kib, ref_max_neurons, ref_buffer_depth
        The reference configuration (one chip): routers along x and y, KiB of weight SRAM
        and neurons per core, flits per input buffer.
    """

    e_sop_pj: float
    e_hop_pj: float
    leak_sram_per_um2: float
    leak_logic_per_um2: float
    calibrate_static_uj: float
    ref_frame_latency_ns: float
    ref_mesh_width: float
    ref_mesh_height: float
    ref_sram_kib: float
    ref_max_neurons: float
    ref_buffer_depth: float
    e_interchip_hop_pj: float | None = None

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value is not None and (not np.isfinite(value) or value < 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        for name in ("calibrate_static_uj", "ref_frame_latency_ns", "ref_sram_kib"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        for name in ("ref_mesh_width", "ref_mesh_height", "ref_max_neurons",
                     "ref_buffer_depth"):
            value = getattr(self, name)
            if value < 1 or value != int(value):
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        if self.leak_sram_per_um2 + self.leak_logic_per_um2 <= 0:
            raise ValueError("leak_sram_per_um2 and leak_logic_per_um2 cannot both be 0")


def leakage_weights(area: AreaBreakdown, params: LeakageParams) -> dict[str, float]:
    """Relative leakage of every static term over the whole grid (density x area)."""
    by_part = dict(zip(area.part, area.part_grid_um2(), strict=True))
    out = {}
    for term, parts in STATIC_TERMS.items():
        density = params.leak_sram_per_um2 if term == "static_sram" else params.leak_logic_per_um2
        out[term] = density * float(sum(by_part[p] for p in parts))
    return out


def reference_area(area: AreaBreakdown, params: LeakageParams) -> AreaBreakdown:
    """The reference configuration, priced with the run's area preset."""
    parts = count_parts(area.preset, mesh_width=int(params.ref_mesh_width),
                        mesh_height=int(params.ref_mesh_height), sram_kib=params.ref_sram_kib,
                        max_neurons=int(params.ref_max_neurons),
                        buffer_depth=int(params.ref_buffer_depth))
    return price_area(parts, area.preset)


def price_leakage(params: LeakageParams, counts: FrameCounts) -> EnergyBreakdown:
    """Price per-frame counts with the leakage model (see the module docstring).

    Returns
    -------
    EnergyBreakdown
        Terms ``sop``, ``hop`` (``interchip_hop``) and the :data:`STATIC_TERMS`, uJ;
        ``params`` adds the calibration (``calibration_uj_per_ns``), the run's and the
        reference's static power (``p_static_mw``, ``ref_p_static_mw``) and the area preset.

    Raises
    ------
    ValueError
        If the counts carry no area (``FrameCounts.area``).
    """
    if counts.area is None:
        raise ValueError("the canmore-leakage energy needs the run's area (FrameCounts.area)")
    dynamic = price_canmore(CanmoreParams(params.e_sop_pj, params.e_hop_pj, e_static_uj=0.0,
                                          e_interchip_hop_pj=params.e_interchip_hop_pj), counts)
    terms = {k: v for k, v in dynamic.terms.items() if k != "static"}
    reference = sum(leakage_weights(reference_area(counts.area, params), params).values())
    per_ns = params.calibrate_static_uj / (params.ref_frame_latency_ns * reference)
    weights = leakage_weights(counts.area, params)
    latency = counts.f64("frame_latency_ns")
    for term, weight in weights.items():
        terms[term] = per_ns * weight * latency
    layers = {k: v for k, v in (dynamic.layer_terms or {}).items() if k != "static"}
    if counts.layer_cores is not None:
        for term in STATIC_TERMS:
            layers[term] = split_by_share(terms[term], counts.layer_cores)
    resolved: dict[str, Any] = {k: v for k, v in vars(params).items() if v is not None}
    resolved.update(area_preset=counts.area.preset.name, calibration_uj_per_ns=per_ns,
                    p_static_mw=per_ns * sum(weights.values()) * _UJ_PER_NS_TO_MW,
                    ref_p_static_mw=per_ns * reference * _UJ_PER_NS_TO_MW)
    return EnergyBreakdown(terms, layers or None, resolved)
