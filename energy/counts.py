"""FrameCounts: the plain event counts energy models price (count first, price later)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from canmore_sim.energy.area import AreaBreakdown

__all__ = ["FrameCounts", "split_by_share"]


@dataclass(frozen=True, eq=False)
class FrameCounts:
    """Per-frame counts of one run (arrays of one value per frame, ``n`` frames, ``L`` layers).

    Attributes
    ----------
    sops
        Synaptic operations.
    hops
        Router-to-router packet hops, inter-chip ones included.
    interchip_hops
        The part of ``hops`` that crossed between chips.
    frame_latency_ns
        Time to process the frame, ns.
    spikes
        Spikes fired by all neurons (input encoding included).
    layer_spikes
        ``(n, L)`` neurons that fired in weight layer ``l`` (column ``l - 1``).
    layer_neurons, layer_flops
        ``(L,)`` neurons and FLOPs (papers/001 definition) of every weight layer.
    layer_sops, layer_hops
        ``(n, L)`` SOPs of, and packet hops into, every weight layer (optional).
    layer_interchip_hops
        ``(n, L)`` the part of ``layer_hops`` that crossed between chips (optional; without
        it both hop terms are split by ``layer_hops``).
    layer_cores
        ``(L,)`` cores holding every weight layer (optional; static energy is split
        between layers by their share of the cores).
    area
        The priced area of the run's chip grid (optional; the parts list a leakage model
        prices static power from).
    """

    sops: np.ndarray
    hops: np.ndarray
    frame_latency_ns: np.ndarray
    spikes: np.ndarray
    interchip_hops: np.ndarray | None = None
    layer_spikes: np.ndarray | None = None
    layer_neurons: np.ndarray | None = None
    layer_flops: np.ndarray | None = None
    layer_sops: np.ndarray | None = None
    layer_hops: np.ndarray | None = None
    layer_interchip_hops: np.ndarray | None = None
    layer_cores: np.ndarray | None = None
    area: AreaBreakdown | None = None

    def __post_init__(self) -> None:
        n = len(np.atleast_1d(self.sops))
        for name in ("hops", "frame_latency_ns", "spikes", "interchip_hops"):
            value = getattr(self, name)
            if value is not None and len(np.atleast_1d(value)) != n:
                raise ValueError(f"FrameCounts.{name} must have one value per frame ({n})")
            if value is not None and np.any(np.asarray(value) < 0):
                raise ValueError(f"FrameCounts.{name} must be >= 0")

    @property
    def n_frames(self) -> int:
        return len(np.atleast_1d(self.sops))

    def f64(self, name: str) -> np.ndarray:
        """A per-frame field as a float64 array (zeros when absent)."""
        value = getattr(self, name)
        if value is None:
            return np.zeros(self.n_frames)
        return np.atleast_1d(np.asarray(value, dtype=np.float64))


def split_by_share(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split a per-frame total between layers in proportion to ``weights``.

    Parameters
    ----------
    total
        ``(n,)`` one value per frame.
    weights
        ``(n, L)`` or ``(L,)`` non-negative weights of every layer.

    Returns
    -------
    numpy.ndarray
        ``(n, L)`` float64 whose rows sum to ``total`` (all zeros where a frame's
        weights are all zero).
    """
    w = np.asarray(weights, dtype=np.float64)
    w = np.broadcast_to(w, (len(total), w.shape[-1])) if w.ndim == 1 else w
    sums = w.sum(axis=1, keepdims=True)
    share = np.divide(w, sums, out=np.zeros_like(w), where=sums > 0)
    return share * np.asarray(total, dtype=np.float64)[:, None]
