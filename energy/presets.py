"""Energy presets: YAML files under configs/energy/, each naming its model and source."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from canmore_sim.errors import ConfigError
from canmore_sim.yamlio import bundled_names, load_yaml, named_yaml_text

__all__ = ["EnergyPreset", "preset_names", "read_preset"]

Param = float | tuple[float, ...]


@dataclass(frozen=True)
class EnergyPreset:
    """A named set of energy coefficients.

    Attributes
    ----------
    name
        Preset name (the file stem), e.g. ``"canmore-22nm"``.
    model
        Energy model it feeds (a key of :data:`canmore_sim.energy.ENERGY_MODELS`).
    source
        Where the numbers come from.
    params
        The coefficients, keyed with units (``e_sop_pj``...): numbers or lists of numbers.
    """

    name: str
    model: str
    source: str
    params: dict[str, Param]


def preset_names() -> list[str]:
    """Names of the bundled presets."""
    return bundled_names("energy")


def read_preset(name: str) -> EnergyPreset:
    """Read a bundled preset by name, or a preset YAML file by path (``*.yaml``).

    Only the file is checked here; :func:`canmore_sim.energy.load_preset` also checks
    the coefficients against the model.

    Raises
    ------
    ConfigError
        For an unknown name (listing the valid ones), a missing file, or a malformed preset.
    """
    return _parse(*named_yaml_text(name, "energy", "energy preset", "run.energy"))


def _parse(name: str, text: str, filename: str) -> EnergyPreset:
    try:
        data, _ = load_yaml(text, filename)
    except ConfigError as exc:
        raise ConfigError(f"energy preset {name!r} is malformed: {exc}", key="run.energy",
                          file=filename) from None
    if not isinstance(data, dict):
        raise ConfigError(f"energy preset {name!r} is malformed: expected a mapping of "
                          f"coefficients, got {type(data).__name__}", key="run.energy")
    try:
        params = {str(k): _param(k, v) for k, v in data.items() if k not in ("model", "source")}
        return EnergyPreset(name, str(data["model"]), str(data["source"]), params)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"energy preset {name!r} is malformed: {exc}", key="run.energy") from None


def _param(key: object, value: Any) -> Param:
    if isinstance(value, list):
        return tuple(_number(key, v) for v in value)
    return _number(key, value)


def _number(key: object, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{key}: expected a finite number, got {value!r}")
    return float(value)
