"""Pricing of a run's counts: which neuron models are rate coded, when a normalized energy
model needs a rate-IF reference, how that reference is described, the counts priced."""

from __future__ import annotations

from typing import Any

import numpy as np

from canmore_sim.cores.stats import CoreStats
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.energy import EnergyBreakdown, EnergyPreset, FrameCounts
from canmore_sim.energy.area import AreaBreakdown
from canmore_sim.mapper.placement import Mapping
from canmore_sim.models.graph import LayerGraph
from canmore_sim.run.frame_noc import FrameNoc, into_weight_layers

__all__ = ["RATE_CODED", "needs_rate_reference"]


#: Neuron models whose spikes are rate-coded already: a normalized energy model needs no
#: separate rate-coded reference run for them.
RATE_CODED = ("rate-if", "if-lif")


def needs_rate_reference(preset: EnergyPreset, model: str,
                         reference: dict[str, float] | None) -> bool:
    """Whether pricing ``model`` with ``preset`` needs a computed rate-IF reference run: a
    normalized model, no reference given, none in the preset, and a model that is not
    rate-coded itself (:data:`RATE_CODED`)."""
    return (reference is None and preset.model == "normalized" and model not in RATE_CODED
            and not {"latency_ref_ns", "spikes_ref"} <= set(preset.params))


def _describe_reference(energy: EnergyBreakdown, described: dict[str, Any] | None,
                        model: str) -> dict[str, Any]:
    """What priced a normalized run: the given or computed reference, the preset, or itself."""
    if described is not None:
        return described
    latency, spikes = energy.params["latency_ref_ns"], energy.params["spikes_ref"]
    if energy.params.get("reference") == "preset":
        return {"origin": "the preset's latency_ref_ns and spikes_ref",
                "frame_latency_ns": latency, "neurons_fired": spikes}
    return {"origin": f"this run ({model} is rate-coded itself)", "neuron_model": model,
            "frame_latency_ns": latency, "neurons_fired": spikes}


def _counts(graph: LayerGraph, trace: SpikeTrace, cores: CoreStats, noc: FrameNoc,
            frame_latency: np.ndarray, mapping: Mapping, *, skip_zero_weights: bool = False,
            area: AreaBreakdown | None = None) -> FrameCounts:
    """The counts a run is priced from: the SOPs its cores make (only the effective ones
    under ``core.skip_zero_weights``), hops, latency, spikes, and the chip grid's area."""
    depth = graph.depth
    sops, layer_sops = cores.priced_sops(skip_zero_weights)
    return FrameCounts(
        sops=sops, hops=noc.hops, frame_latency_ns=frame_latency,
        spikes=trace.neuron_spikes.sum(axis=1), interchip_hops=noc.interchip_hops,
        layer_spikes=trace.neuron_spikes[:, 1:],
        layer_neurons=np.array([layer.n_neurons for layer in graph.layers]),
        layer_flops=np.array([layer.flops for layer in graph.layers]),
        layer_sops=layer_sops, layer_hops=into_weight_layers(noc.hops_per_layer),
        layer_interchip_hops=into_weight_layers(noc.interchip_per_layer),
        layer_cores=np.bincount(mapping.groups.layer, minlength=depth + 1)[1:depth + 1],
        area=area)
