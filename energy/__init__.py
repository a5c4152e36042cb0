"""canmore_sim.energy: turn event counts into joules.

Energy models are small functions registered by name in :data:`ENERGY_MODELS`;
each takes a preset (coefficients from configs/energy/*.yaml) and plain
:class:`FrameCounts`. The Python API (``canmore_energy``, ``normalized_energy``,
``tqttfs_energy``) takes plain numbers, so counts from elsewhere can be priced too.

Presets are checked when loaded (:func:`load_preset`), before any simulation: an
unknown model, an unknown or misspelt coefficient (with the closest valid one), a
missing one, or both ``e_static_uj`` and ``p_static_mw`` is a :class:`ConfigError`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields, replace
from typing import Any

import numpy as np

from canmore_sim.energy.canmore import CanmoreParams, EnergyBreakdown, canmore_energy, price_canmore
from canmore_sim.energy.counts import FrameCounts, split_by_share
from canmore_sim.energy.normalized import NormalizedParams, normalized_energy
from canmore_sim.energy.presets import EnergyPreset, preset_names, read_preset
from canmore_sim.energy.tqttfs import TqttfsParams, tqttfs_energy
from canmore_sim.errors import ConfigError
from canmore_sim.utils.registry import choose

__all__ = [
    "ENERGY_MODELS",
    "CanmoreParams",
    "EnergyBreakdown",
    "EnergyPreset",
    "FrameCounts",
    "NormalizedParams",
    "TqttfsParams",
    "canmore_energy",
    "check_preset",
    "load_preset",
    "normalized_energy",
    "preset_names",
    "price_frames",
    "split_by_share",
    "tqttfs_energy",
]

Reference = Mapping[str, float]


def _canmore(preset: EnergyPreset, counts: FrameCounts, _ref: Reference | None) -> EnergyBreakdown:
    return price_canmore(CanmoreParams(**preset.params), counts)


def _normalized(preset: EnergyPreset, counts: FrameCounts,
                ref: Reference | None) -> EnergyBreakdown:
    """Eq. 11; the reference run is, first found: ``ref``, the preset's keys, this run."""
    params: dict[str, Any] = dict(preset.params)
    if ref is not None:
        params["latency_ref_ns"] = float(ref["frame_latency_ns"])
        params["spikes_ref"] = float(ref["spikes"])
        origin = "reference run"
    elif "latency_ref_ns" in params and "spikes_ref" in params:
        origin = "preset"
    else:
        params["latency_ref_ns"] = float(np.mean(counts.f64("frame_latency_ns")))
        params["spikes_ref"] = float(np.mean(counts.f64("spikes")))
        origin = "this run (mean per frame)"
    e = normalized_energy(NormalizedParams(**params), counts)
    return replace(e, params={**e.params, "reference": origin})


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

#: The coefficient dataclass of every model (its fields are the valid preset keys).
_PARAMS: dict[str, type] = {
    "canmore": CanmoreParams,
    "normalized": NormalizedParams,
    "tq-ttfs": TqttfsParams,
}
#: Keys a preset may omit although the dataclass requires them (filled in when pricing).
_OPTIONAL = {"normalized": {"latency_ref_ns": 1.0, "spikes_ref": 1.0}}


def check_preset(preset: EnergyPreset) -> EnergyPreset:
    """Check a preset's model and coefficients without pricing anything.

    Returns
    -------
    EnergyPreset
        The same preset.

    Raises
    ------
    ConfigError
        An unknown model (listing the valid ones), an unknown or misspelt key (naming
        the closest valid one), a missing key, a wrong value, or both/neither of
        ``e_static_uj`` and ``p_static_mw``; the message names the preset and the key.
    """
    try:
        choose(ENERGY_MODELS, preset.model, what="energy model", key="run.energy")
    except ConfigError as exc:
        raise ConfigError(f"energy preset {preset.name!r}: {exc}", key="run.energy",
                          value=preset.model) from None
    cls = _PARAMS[preset.model]
    valid = [f.name for f in fields(cls)]
    where = f"energy preset {preset.name!r} (model {preset.model})"
    for key in preset.params:
        if key not in valid:
            lower = {name.lower(): name for name in valid}
            close = difflib.get_close_matches(key.lower(), list(lower), n=1)
            hint = f"; did you mean {lower[close[0]]!r}?" if close else ""
            raise ConfigError(f"{where}: unknown key {key!r}{hint} (valid: {', '.join(valid)})",
                              key=f"run.energy.{key}")
    required = [f.name for f in fields(cls)
                if f.default is MISSING and f.default_factory is MISSING
                and f.name not in preset.params
                and f.name not in _OPTIONAL.get(preset.model, {})]
    if required:
        raise ConfigError(f"{where}: missing key {required[0]!r}",
                          key=f"run.energy.{required[0]}")
    params: dict[str, Any] = {**_OPTIONAL.get(preset.model, {}), **preset.params}
    if isinstance(params.get("q"), float):
        params["q"] = (params["q"],)
    try:
        cls(**params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}", key="run.energy") from None
    return preset



def load_preset(name: str) -> EnergyPreset:
    """Load and check a bundled preset by name, or a preset YAML file by path.

    Raises
    ------
    ConfigError
        See :func:`~canmore_sim.energy.presets.read_preset` and :func:`check_preset`.
    """
    return check_preset(read_preset(name))


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
        For normalized models: ``{"frame_latency_ns": ..., "spikes": ...}`` (mean per
        frame) of the reference run; it takes precedence over the preset's
        ``latency_ref_ns``/``spikes_ref``; without either the run is its own reference.

    Returns
    -------
    EnergyBreakdown
        Per-frame terms, per-layer terms where the counts allow, and the resolved
        coefficients (``params``).

    Raises
    ------
    ConfigError
        For an unknown model (listing the valid ones) or coefficients the model rejects,
        naming the preset.
    """
    check_preset(preset)
    if reference is not None and not all(
            math.isfinite(float(reference.get(k, math.nan))) for k in ("frame_latency_ns",
                                                                       "spikes")):
        raise ConfigError("the energy reference run needs finite frame_latency_ns and spikes",
                          key="run.energy_reference")
    model = ENERGY_MODELS[preset.model]
    try:
        return model(preset, counts, reference)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"energy preset {preset.name!r}: {exc}", key="run.energy") from None
