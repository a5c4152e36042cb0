"""canmore_sim.energy: turn event counts into joules.

Energy models are registered by name in :data:`ENERGY_MODELS` (an :class:`EnergyModel`:
its pricing function, its coefficients, and which of its terms grow with the frame's
time and the chip's size); each takes a preset (coefficients from configs/energy/*.yaml) and plain
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
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

import numpy as np

from canmore_sim.energy.canmore import CanmoreParams, EnergyBreakdown, canmore_energy, price_canmore
from canmore_sim.energy.counts import FrameCounts, split_by_share
from canmore_sim.energy.leakage import STATIC_TERMS, LeakageParams, price_leakage
from canmore_sim.energy.normalized import NormalizedParams, normalized_energy
from canmore_sim.energy.presets import EnergyPreset, preset_names, read_preset
from canmore_sim.energy.tqttfs import TqttfsParams, tqttfs_energy
from canmore_sim.errors import ConfigError
from canmore_sim.utils.registry import choose

__all__ = [
    "ENERGY_MODELS",
    "CanmoreParams",
    "EnergyBreakdown",
    "EnergyModel",
    "EnergyPreset",
    "FrameCounts",
    "LeakageParams",
    "NormalizedParams",
    "TqttfsParams",
    "canmore_energy",
    "check_preset",
    "load_preset",
    "normalized_energy",
    "preset_names",
    "price_frames",
    "split_by_share",
    "term_dependence",
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


def _leakage(preset: EnergyPreset, counts: FrameCounts, _ref: Reference | None) -> EnergyBreakdown:
    return price_leakage(LeakageParams(**preset.params), counts)


#: What an energy term grows with: "activity" (events of the frame: SOPs, hops, spikes),
#: "time" (the frame's latency) and "size" (the parts of the chip grid).
Depends = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class EnergyModel:
    """A registered energy model.

    Attributes
    ----------
    price
        ``(preset, counts, reference) -> EnergyBreakdown``.
    params
        The coefficient dataclass (its fields are the valid preset keys).
    depends
        ``preset params -> {term: what it grows with}``: for every term the model
        produces, a tuple of ``"activity"``, ``"time"``, ``"size"`` (empty: a constant
        per frame), so a report can say which terms follow the frame's time and the
        chip's size.
    optional
        Keys a preset may omit although the dataclass requires them (filled when pricing).
    """

    price: Callable[[EnergyPreset, FrameCounts, Reference | None], EnergyBreakdown]
    params: type
    depends: Callable[[Mapping[str, Any]], Depends]
    optional: Mapping[str, float] = field(default_factory=dict)


def _canmore_depends(params: Mapping[str, Any]) -> Depends:
    out: Depends = {"sop": ("activity",), "hop": ("activity",)}
    if params.get("e_interchip_hop_pj") is not None:
        out["interchip_hop"] = ("activity",)
    out["static"] = ("time",) if params.get("p_static_mw") is not None else ()
    return out


def _leakage_depends(params: Mapping[str, Any]) -> Depends:
    out: Depends = {"sop": ("activity",), "hop": ("activity",)}
    if params.get("e_interchip_hop_pj") is not None:
        out["interchip_hop"] = ("activity",)
    out.update({term: ("time", "size") for term in STATIC_TERMS})
    return out


#: Energy models by name (``run.energy`` presets name one in their ``model`` key).
ENERGY_MODELS: dict[str, EnergyModel] = {
    "canmore": EnergyModel(_canmore, CanmoreParams, _canmore_depends),
    "canmore-leakage": EnergyModel(_leakage, LeakageParams, _leakage_depends),
    "normalized": EnergyModel(_normalized, NormalizedParams,
                              lambda _p: {"static": ("time",), "dynamic": ("activity",)},
                              {"latency_ref_ns": 1.0, "spikes_ref": 1.0}),
    "tq-ttfs": EnergyModel(_tqttfs, TqttfsParams, lambda _p: {"ac": ("activity",)}),
}


def term_dependence(preset: EnergyPreset) -> Depends:
    """For every term of ``preset``'s model, what it grows with (see :class:`EnergyModel`).

    Raises
    ------
    ConfigError
        For an unknown model.
    """
    check_preset(preset)
    return ENERGY_MODELS[preset.model].depends(preset.params)


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
    cls = ENERGY_MODELS[preset.model].params
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
                and f.name not in ENERGY_MODELS[preset.model].optional]
    if required:
        raise ConfigError(f"{where}: missing key {required[0]!r}",
                          key=f"run.energy.{required[0]}")
    params: dict[str, Any] = {**ENERGY_MODELS[preset.model].optional, **preset.params}
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
        return model.price(preset, counts, reference)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"energy preset {preset.name!r}: {exc}", key="run.energy") from None
