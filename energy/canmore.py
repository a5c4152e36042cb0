"""The CanMore per-frame energy model (papers/004, Eq. 12).

    E_total = E_SOP x SOPs + E_hop x Hops + E_static

with SOPs the synaptic operations and Hops the router-to-router link
traversals of one frame. The CanMore 22 nm preset (configs/energy/canmore-22nm.yaml)
is E_SOP = 20 pJ, E_hop = 100 pJ, E_static = 3.52 uJ per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["CanmoreParams", "EnergyBreakdown", "canmore_energy"]

_PJ_PER_UJ = 1e6


@dataclass(frozen=True)
class CanmoreParams:
    """Coefficients of Eq. 12.

    Attributes
    ----------
    e_sop_pj
        Energy per synaptic operation, pJ.
    e_hop_pj
        Energy per packet hop between mesh routers, pJ.
    e_static_uj
        Static energy per frame, uJ.
    """

    e_sop_pj: float
    e_hop_pj: float
    e_static_uj: float

    def __post_init__(self) -> None:
        for name in ("e_sop_pj", "e_hop_pj", "e_static_uj"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True, eq=False)
class EnergyBreakdown:
    """Energy per frame by term, uJ (arrays of one value per frame).

    Attributes
    ----------
    terms
        Term name -> float64 array per frame, uJ (for canmore: ``sop``, ``hop``, ``static``).
    """

    terms: dict[str, np.ndarray]

    @property
    def total_uj(self) -> np.ndarray:
        """Total energy per frame, uJ."""
        return np.sum(np.stack(list(self.terms.values())), axis=0)


def canmore_energy(sops: ArrayLike, hops: ArrayLike, params: CanmoreParams) -> EnergyBreakdown:
    """Price per-frame counts with Eq. 12 of papers/004.

    Parameters
    ----------
    sops
        Synaptic operations per frame (one value or an array of frames).
    hops
        Router-to-router hops per frame, same shape as ``sops``.
    params
        The coefficients.

    Returns
    -------
    EnergyBreakdown
        Terms ``sop`` = E_SOP x SOPs, ``hop`` = E_hop x Hops, ``static`` = E_static, uJ.
    """
    sops_a = np.atleast_1d(np.asarray(sops, dtype=np.float64))
    hops_a = np.atleast_1d(np.asarray(hops, dtype=np.float64))
    if sops_a.shape != hops_a.shape:
        raise ValueError(f"sops and hops must have the same shape, got {sops_a.shape} "
                         f"and {hops_a.shape}")
    if (sops_a < 0).any() or (hops_a < 0).any():
        raise ValueError("sops and hops must be >= 0")
    return EnergyBreakdown({
        "sop": sops_a * params.e_sop_pj / _PJ_PER_UJ,
        "hop": hops_a * params.e_hop_pj / _PJ_PER_UJ,
        "static": np.full(sops_a.shape, params.e_static_uj),
    })
