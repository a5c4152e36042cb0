"""canmore_sim.energy: turn event counts into joules.

Energy models are small functions registered by name in :data:`ENERGY_MODELS`;
each takes a preset (coefficients from configs/energy/*.yaml) and plain
:class:`FrameCounts`. The Python API (``canmore_energy``, ``normalized_energy``,
``tqttfs_energy``) takes plain numbers, so counts from elsewhere can be priced too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from canmore_sim.energy.canmore import (
    CanmoreParams,
    EnergyBreakdown,
    canmore_energy,
    price_canmore,
)
from canmore_sim.energy.counts import FrameCounts
from canmore_sim.energy.normalized import NormalizedParams, normalized_energy
from canmore_sim.energy.presets import EnergyPreset, load_preset, preset_names
from canmore_sim.energy.tqttfs import TqttfsParams, tqttfs_energy
from canmore_sim.errors import ConfigError
from canmore_sim.registry import choose

__all__ = [
    "ENERGY_MODELS",
    "CanmoreParams",
    "EnergyBreakdown",
    "EnergyPreset",
    "FrameCounts",
    "NormalizedParams",
    "TqttfsParams",
    "canmore_energy",
    "load_preset",
    "normalized_energy",
    "preset_names",
    "price_frames",
    "tqttfs_energy",
]

Reference = Mapping[str, float]


def _canmore(preset: EnergyPreset, counts: FrameCounts, _ref: Reference | None) -> EnergyBreakdown:
    return price_canmore(CanmoreParams(**preset.params), counts)


def _normalized(preset: EnergyPreset, counts: FrameCounts,
                ref: Reference | None) -> EnergyBreakdown:
    params: dict[str, Any] = dict(preset.params)
    source = ref or {}
    params.setdefault("latency_ref_ns", source.get("frame_latency_ns",
                                                   float(np.mean(counts.f64("frame_latency_ns")))))
    params.setdefault("spikes_ref", source.get("spikes", float(np.mean(counts.f64("spikes")))))
    return normalized_energy(NormalizedParams(**params), counts)


def _tqttfs(preset: EnergyPreset, counts: FrameCounts, _ref: Reference | None) -> EnergyBreakdown:
    params: dict[str, Any] = dict(preset.params)
    if "q" in params and not isinstance(params["q"], tuple):
        params["q"] = (params["q"],)
    return tqttfs_energy(TqttfsParams(**params), counts)


#: Energy models by name: ``(preset, counts, reference) -> EnergyBreakdown``.
ENERGY_MODELS: dict[str, Callable[[EnergyPreset, FrameCounts, Reference | None],
                                  EnergyBreakdown]] = {
    "canmore": _canmore,
    "normalized": _normalized,
    "tq-ttfs": _tqttfs,
}


def price_frames(preset: EnergyPreset, counts: FrameCounts,
                 reference: Reference | None = None) -> EnergyBreakdown:
    """Price per-frame counts with the preset's model.

    Parameters
    ----------
    preset
        Coefficients and model name.
    counts
        The run's counts.
    reference
        For normalized models: ``{"frame_latency_ns": ..., "spikes": ...}`` of the
        reference run (default: the preset's keys, else this run itself).

    Raises
    ------
    ConfigError
        For an unknown model (listing the valid ones) or coefficients the model rejects,
        naming the preset.
    """
    model = choose(ENERGY_MODELS, preset.model, what=f"energy model (preset {preset.name!r})",
                   key="run.energy")
    try:
        return model(preset, counts, reference)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"energy preset {preset.name!r}: {exc}", key="run.energy") from None
