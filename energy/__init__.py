"""canmore_sim.energy: turn event counts into joules.

Energy models are small functions registered by name in :data:`ENERGY_MODELS`;
their coefficients come from YAML presets under configs/energy/.
"""

from __future__ import annotations

from collections.abc import Callable

from canmore_sim.energy.canmore import CanmoreParams, EnergyBreakdown, canmore_energy
from canmore_sim.energy.presets import EnergyPreset, load_preset, preset_names
from canmore_sim.errors import ConfigError

__all__ = [
    "ENERGY_MODELS",
    "CanmoreParams",
    "EnergyBreakdown",
    "EnergyPreset",
    "canmore_energy",
    "load_preset",
    "preset_names",
    "price_frames",
]


def _canmore_from_preset(preset: EnergyPreset, counts: dict[str, object]) -> EnergyBreakdown:
    try:
        params = CanmoreParams(**preset.params)
    except TypeError as exc:
        raise ConfigError(f"energy preset {preset.name!r}: {exc}", key="run.energy") from None
    return canmore_energy(counts["sops"], counts["hops"], params)


#: Energy models by name: ``(preset, per-frame counts) -> EnergyBreakdown``.
ENERGY_MODELS: dict[str, Callable[[EnergyPreset, dict[str, object]], EnergyBreakdown]] = {
    "canmore": _canmore_from_preset,
}


def price_frames(preset: EnergyPreset, counts: dict[str, object]) -> EnergyBreakdown:
    """Price per-frame counts (``sops``, ``hops``, ...) with the preset's model.

    Raises
    ------
    ConfigError
        If the preset names an unknown model (listing the valid ones).
    """
    model = ENERGY_MODELS.get(preset.model)
    if model is None:
        raise ConfigError(f"energy preset {preset.name!r} names unknown model {preset.model!r}; "
                          f"valid: {', '.join(sorted(ENERGY_MODELS))}", key="run.energy")
    return model(preset, counts)
