"""Normalized theoretical energy (papers/004 Eq. 11, after papers/002 Table II).

    E = E_static x latency / latency_ref + E_dynamic x spikes / spikes_ref

a relative energy: 1.0 is the reference run. ``latency`` is the frame latency
and ``spikes`` the spikes fired by all neurons, input encoding included.

Latency: papers/004 counts it in time steps; here it is the simulated frame
latency in ns (the later of the last packet delivered and the end of the output
layer's window), because the chip is asynchronous and has no time step. Only the
ratio latency/latency_ref enters, so the reference must be measured the same way:
``--energy-reference report.json`` takes the mean ``frame_latency_ns`` and
``neuron_spikes`` of an earlier run of this tool, and preset keys
``latency_ref_ns``/``spikes_ref`` must be given in the same units. Presets:
TrueNorth (E_static, E_dynamic) = (0.6, 0.4), SpiNNaker (0.36, 0.64).

Per layer (when the counts carry them): the static term is split by the layers'
share of the cores, the dynamic term by the spikes each layer fired, the input
encoding's spikes counted in layer 1 (the layer they drive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from canmore_sim.energy.canmore import EnergyBreakdown
from canmore_sim.energy.counts import FrameCounts, split_by_share

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
    """Eq. 11 of papers/004 on per-frame counts.

    Parameters
    ----------
    params
        Coefficients and the reference run.
    counts
        Per-frame ``frame_latency_ns`` and ``spikes`` (optionally ``layer_cores`` and
        ``layer_spikes`` for the per-layer split).

    Returns
    -------
    EnergyBreakdown
        Terms ``static`` and ``dynamic``, dimensionless (1.0 = the reference run).
    """
    terms = {
        "static": params.e_static * counts.f64("frame_latency_ns") / params.latency_ref_ns,
        "dynamic": params.e_dynamic * counts.f64("spikes") / params.spikes_ref,
    }
    layers: dict[str, np.ndarray] = {}
    if counts.layer_cores is not None:
        layers["static"] = split_by_share(terms["static"], counts.layer_cores)
    if counts.layer_spikes is not None:
        fired = np.array(counts.layer_spikes, dtype=np.float64, ndmin=2)
        fired[:, 0] += np.maximum(counts.f64("spikes") - fired.sum(axis=1), 0.0)  # input
        layers["dynamic"] = split_by_share(terms["dynamic"], fired)
    return EnergyBreakdown(terms, layers or None, dict(vars(params)))
