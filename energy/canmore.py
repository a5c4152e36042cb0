"""The CanMore per-frame energy model (papers/004, Eq. 12).

    E_total = E_SOP x SOPs + E_hop x Hops + E_static

with SOPs the synaptic operations and Hops the router-to-router link traversals
of one frame. Extensions: hops between chips are priced at ``e_interchip_hop_pj``,
and the static term may be given as a power, ``p_static_mw x frame latency``,
instead of an energy per frame. The CanMore 22 nm preset
(configs/energy/canmore-22nm.yaml) is E_SOP = 20 pJ, E_hop = 100 pJ,
E_static = 3.52 uJ per frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from canmore_sim.energy.counts import FrameCounts, split_by_share

__all__ = ["CanmoreParams", "EnergyBreakdown", "canmore_energy", "price_canmore"]

_PJ_PER_UJ = 1e6


@dataclass(frozen=True)
class CanmoreParams:
    """Coefficients of Eq. 12.

    Attributes
    ----------
    e_sop_pj
        Energy per synaptic operation, pJ.
    e_hop_pj
        Energy per packet hop between routers of one chip, pJ.
    e_static_uj
        Static energy per frame, uJ (or None with ``p_static_mw``).
    e_interchip_hop_pj
        Energy per packet hop between chips, pJ (None: same as ``e_hop_pj``).
    p_static_mw
        Static power, mW, priced over the frame latency (instead of ``e_static_uj``).
    """

    e_sop_pj: float
    e_hop_pj: float
    e_static_uj: float | None = None
    e_interchip_hop_pj: float | None = None
    p_static_mw: float | None = None

    def __post_init__(self) -> None:
        if (self.e_static_uj is None) == (self.p_static_mw is None):
            raise ValueError("give exactly one of e_static_uj and p_static_mw")
        for name in ("e_sop_pj", "e_hop_pj", "e_static_uj", "e_interchip_hop_pj", "p_static_mw"):
            value = getattr(self, name)
            if value is not None and (not np.isfinite(value) or value < 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True, eq=False)
class EnergyBreakdown:
    """Energy per frame by term, uJ (arrays of one value per frame).

    Attributes
    ----------
    terms
        Term name -> float64 array per frame, uJ.
    layer_terms
        Optional term name -> ``(n_frames, L)`` energy attributed to each weight layer, uJ
        (for every term present, its rows sum to the frame's term).
    params
        The coefficients the model actually used, after defaults and references were
        resolved (what a report must record to reproduce the numbers).
    """

    terms: dict[str, np.ndarray]
    layer_terms: dict[str, np.ndarray] | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def total_uj(self) -> np.ndarray:
        """Total energy per frame, uJ."""
        return np.sum(np.stack(list(self.terms.values())), axis=0)


def canmore_energy(sops: ArrayLike, hops: ArrayLike, params: CanmoreParams,
                   *, interchip_hops: ArrayLike | None = None,
                   frame_latency_ns: ArrayLike | None = None) -> EnergyBreakdown:
    """Price per-frame counts with Eq. 12 of papers/004.

    Parameters
    ----------
    sops
        Synaptic operations per frame (one value or an array of frames).
    hops
        Router-to-router hops per frame (inter-chip hops included), same shape.
    params
        The coefficients.
    interchip_hops
        The part of ``hops`` between chips (priced at ``e_interchip_hop_pj``).
    frame_latency_ns
        Needed when the static term is a power.

    Returns
    -------
    EnergyBreakdown
        Terms ``sop``, ``hop``, ``interchip_hop`` (when priced separately) and ``static``, uJ.
    """
    counts = FrameCounts(
        sops=np.atleast_1d(np.asarray(sops, dtype=np.float64)),
        hops=np.atleast_1d(np.asarray(hops, dtype=np.float64)),
        frame_latency_ns=(np.zeros(np.shape(np.atleast_1d(sops))) if frame_latency_ns is None
                          else np.atleast_1d(np.asarray(frame_latency_ns, dtype=np.float64))),
        spikes=np.zeros(np.shape(np.atleast_1d(sops))),
        interchip_hops=(None if interchip_hops is None
                        else np.atleast_1d(np.asarray(interchip_hops, dtype=np.float64))))
    if params.p_static_mw is not None and frame_latency_ns is None:
        raise ValueError("a static power (p_static_mw) needs frame_latency_ns")
    return price_canmore(params, counts)


def price_canmore(params: CanmoreParams, counts: FrameCounts) -> EnergyBreakdown:
    """Eq. 12 on :class:`FrameCounts` (see :func:`canmore_energy`)."""
    sops, hops, inter = counts.f64("sops"), counts.f64("hops"), counts.f64("interchip_hops")
    if np.any(inter > hops):
        raise ValueError("interchip_hops cannot exceed hops")
    terms = {"sop": sops * params.e_sop_pj / _PJ_PER_UJ}
    if params.e_interchip_hop_pj is None:
        terms["hop"] = hops * params.e_hop_pj / _PJ_PER_UJ
    else:
        terms["hop"] = (hops - inter) * params.e_hop_pj / _PJ_PER_UJ
        terms["interchip_hop"] = inter * params.e_interchip_hop_pj / _PJ_PER_UJ
    if params.p_static_mw is not None:
        terms["static"] = params.p_static_mw * counts.f64("frame_latency_ns") * 1e-6  # mW*ns->uJ
    else:
        terms["static"] = np.full(counts.n_frames, float(params.e_static_uj or 0.0))
    return EnergyBreakdown(terms, _canmore_layers(terms, counts),
                           {k: v for k, v in vars(params).items() if v is not None})


def _canmore_layers(
    terms: dict[str, np.ndarray], counts: FrameCounts
) -> dict[str, np.ndarray] | None:
    """Attribute each term of Eq. 12 to the weight layers.

    SOP energy by the layer's SOPs; hop energy by the layer's share of the hops of
    packets into it (with ``layer_interchip_hops`` and inter-chip hops priced on their
    own: on-chip hop energy by the layer's on-chip hops, inter-chip energy by its
    inter-chip hops, so each layer's hop energy is its own hops at their price); static
    energy by the layer's share of the cores (an idle core leaks as much as a busy one).
    A term whose per-layer counts are absent is left out.
    """
    out: dict[str, np.ndarray] = {}
    if counts.layer_sops is not None:
        out["sop"] = split_by_share(terms["sop"], counts.layer_sops)
    if counts.layer_hops is not None:
        hops = np.asarray(counts.layer_hops, dtype=np.float64)
        inter = (None if counts.layer_interchip_hops is None
                 else np.asarray(counts.layer_interchip_hops, dtype=np.float64))
        if "interchip_hop" in terms and inter is not None:  # each layer's own hops
            out["hop"] = split_by_share(terms["hop"], hops - inter)
            out["interchip_hop"] = split_by_share(terms["interchip_hop"], inter)
        else:
            out["hop"] = split_by_share(terms["hop"], hops)
            if "interchip_hop" in terms:
                out["interchip_hop"] = split_by_share(terms["interchip_hop"], hops)
    if counts.layer_cores is not None:
        out["static"] = split_by_share(terms["static"], counts.layer_cores)
    return out or None
