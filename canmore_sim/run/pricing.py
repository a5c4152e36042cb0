"""Pricing of a run's counts, the one place both the pipeline
(:func:`canmore_sim.run.pipeline.run`) and the chunked map run price: which neuron models
are rate coded, when a normalized energy model needs a rate-IF reference, how that
reference is run and described, the counts priced (count first, price later)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from canmore_sim.config import ArchConfig, with_overrides
from canmore_sim.cores.stats import CoreStats
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.energy import (
    EnergyBreakdown,
    EnergyPreset,
    FrameCounts,
    load_preset,
    price_frames,
)
from canmore_sim.energy.area import AreaBreakdown
from canmore_sim.energy.area_preset import AreaPreset, load_area_preset
from canmore_sim.mapper.placement import Mapping
from canmore_sim.models.graph import LayerGraph
from canmore_sim.run.frame_noc import FrameNoc, into_weight_layers

__all__ = ["RATE_CODED", "EnergyReference", "RunPresets", "computed_rate_reference",
           "describe_reference", "energy_reference", "frame_counts", "needs_rate_reference",
           "price_run", "rate_reference_config"]


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


@dataclass(frozen=True)
class EnergyReference:
    """The reference run a normalized energy model is priced against.

    ``described`` is what reports say of it (``origin``, ``frame_latency_ns``,
    ``neurons_fired`` and, for a reference the tool ran itself, its ``neuron_model`` and
    ``late_share``); ``means`` what :func:`canmore_sim.energy.price_frames` takes
    (``frame_latency_ns``, ns, and ``spikes``: means per frame). Both None: no reference
    (the preset's own, or none needed).
    """

    described: dict[str, Any] | None = None
    means: dict[str, float] | None = None


@dataclass(frozen=True)
class RunPresets:
    """A run's energy and area presets, loaded (what ``run.energy`` and ``run.area`` name).

    A worker without the client's files runs from the presets the client loaded
    (:func:`canmore_sim.run.pipeline.run`'s ``presets``).
    """

    energy: EnergyPreset
    area: AreaPreset

    @classmethod
    def of(cls, config: ArchConfig) -> RunPresets:
        """The presets ``config`` names (bundled names or preset files).

        Raises
        ------
        ConfigError
            As :func:`canmore_sim.energy.load_preset` and
            :func:`canmore_sim.energy.area_preset.load_area_preset`.
        """
        return cls(load_preset(config.run.energy), load_area_preset(config.run.area))


def rate_reference_config(config: ArchConfig) -> ArchConfig:
    """The configuration of a computed rate-IF reference run: ``config`` under
    ``neuron.model: rate-if``, ideal timing, priced as counts only (papers/004 Table 2 and
    papers/002 Table II normalize to rate coding)."""
    return with_overrides(config, {"neuron.model": "rate-if", "run.timing": "ideal",
                                   "run.energy": "canmore-22nm",
                                   "run.energy_reference": None})


def computed_rate_reference(frame_latency_ns: float, neurons_fired: float,
                            late_share: float) -> dict[str, Any]:
    """How reports describe a rate-IF reference the tool ran itself (means per frame of its
    frame latency, ns, and neurons fired; its share of late deliveries)."""
    return {"origin": "rate-if run of the same network on the same frames and chip "
                      "(run by this tool)",
            "neuron_model": "rate-if", "frame_latency_ns": frame_latency_ns,
            "neurons_fired": neurons_fired, "late_share": late_share}


def energy_reference(preset: EnergyPreset, config: ArchConfig,
                     reference: dict[str, float] | None, reference_label: str,
                     run_rate_reference: Callable[[ArchConfig], dict[str, Any]]
                     ) -> EnergyReference:
    """The reference a run is priced against.

    Parameters
    ----------
    preset
        The run's energy preset.
    config
        The run's configuration (neuron model resolved).
    reference
        A given reference run (``frame_latency_ns``, ``spikes``: means per frame), or None.
    reference_label
        How reports name ``reference``.
    run_rate_reference
        Runs the rate-IF reference under the configuration it is given
        (:func:`rate_reference_config`) and describes it (:func:`computed_rate_reference`);
        called only where one is needed (:func:`needs_rate_reference`).
    """
    if reference is not None:
        return EnergyReference({"origin": reference_label,
                                "frame_latency_ns": float(reference["frame_latency_ns"]),
                                "neurons_fired": float(reference["spikes"])}, reference)
    if needs_rate_reference(preset, config.neuron.model, None):
        described = run_rate_reference(rate_reference_config(config))
        return EnergyReference(described, {"frame_latency_ns": described["frame_latency_ns"],
                                           "spikes": described["neurons_fired"]})
    return EnergyReference()


def price_run(preset: EnergyPreset, counts: FrameCounts, reference: EnergyReference,
              model: str) -> tuple[EnergyBreakdown, dict[str, Any] | None]:
    """Price a run's counts; the energy and what reports say of its reference.

    A normalized model's breakdown names its reference's origin in ``params["reference"]``
    (:func:`describe_reference`); ``model`` is the run's neuron model.
    """
    energy = price_frames(preset, counts, reference.means)
    described = reference.described
    if preset.model == "normalized":
        described = describe_reference(energy, described, model)
        energy = replace(energy, params={**energy.params, "reference": described["origin"]})
    return energy, described


def describe_reference(energy: EnergyBreakdown, described: dict[str, Any] | None,
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


def frame_counts(graph: LayerGraph, trace: SpikeTrace, cores: CoreStats, noc: FrameNoc,
                 frame_latency: np.ndarray, mapping: Mapping, *, skip_zero_weights: bool = False,
                 area: AreaBreakdown | None = None) -> FrameCounts:
    """The counts an energy model prices, per frame and per weight layer: SOPs (only the
    effective ones under ``core.skip_zero_weights``), hops (inter-chip too), neurons fired,
    frame latency (ns, ``frame_latency``), each layer's neurons, FLOPs and cores
    (``graph`` quantized, its ``mapping``), and the chip grid's ``area``."""
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
