"""Area presets: YAML files under configs/area/, one source per coefficient.

A preset holds ``coefficients``, each a mapping of ``value`` (a number, its unit in
the key), ``source`` (where it comes from) and ``estimate`` (true when the figure is
an engineering estimate rather than a published number). Loading checks that every
coefficient the area model needs is there, with a source, and nothing else.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

from canmore_sim.errors import ConfigError
from canmore_sim.yamlio import bundled_names, load_yaml, named_yaml_text

__all__ = ["AREA_KEYS", "AreaCoefficient", "AreaPreset", "area_preset_names", "load_area_preset"]

#: Every coefficient of an area preset, with its unit.
AREA_KEYS = {
    "node_nm": "process node of the preset, nm",
    "sram_bitcell_um2": "one SRAM bit cell, um2",
    "sram_array_efficiency": "bit-cell area / SRAM macro area (0..1]",
    "neuron_state_bits": "state bits per neuron, held in the core's SRAM",
    "core_logic_um2": "a core's logic (neuron update, scheduling, network interface), um2",
    "flit_width_bits": "bits of one flit (router datapath width)",
    "ref_router_area_um2": "the published reference router, um2 at its own node",
    "ref_router_node_nm": "process node of the reference router, nm",
    "ref_router_buffer_bits": "input-buffer bits of the reference router",
    "ref_router_flit_bits": "flit width of the reference router, bits",
    "share_buffers": "share of the reference router's area in input buffers",
    "share_crossbar": "share of the reference router's area in the crossbar",
    "share_allocator": "share in route computation and switch allocation",
    "share_link_drivers": "share in link drivers and receivers",
    "interchip_link_um2": "one link between neighbouring chips, um2",
}
_SHARES = ("share_buffers", "share_crossbar", "share_allocator", "share_link_drivers")


@dataclass(frozen=True)
class AreaCoefficient:
    """One priced coefficient and where it comes from."""

    value: float
    source: str
    estimate: bool


@dataclass(frozen=True)
class AreaPreset:
    """A named set of area coefficients (see :data:`AREA_KEYS` for the keys and units)."""

    name: str
    source: str
    coefficients: dict[str, AreaCoefficient]

    def __getitem__(self, key: str) -> float:
        return self.coefficients[key].value

    @property
    def sram_bit_um2(self) -> float:
        """Macro area per SRAM bit, um2 (bit cell / array efficiency)."""
        return self["sram_bitcell_um2"] / self["sram_array_efficiency"]

    @property
    def router_scale(self) -> float:
        """Ideal area scaling of the reference router to this node: ``(node / ref)^2``."""
        return (self["node_nm"] / self["ref_router_node_nm"]) ** 2

    def router_part_um2(self, share: str) -> float:
        """The reference router's area in one part (``share_*`` key), scaled, um2."""
        return self["ref_router_area_um2"] * self.router_scale * self[share]


def area_preset_names() -> list[str]:
    """Names of the bundled area presets."""
    return bundled_names("area")


def load_area_preset(name: str) -> AreaPreset:
    """Load a bundled area preset by name, or an area preset YAML file by path.

    Raises
    ------
    ConfigError
        For an unknown name (listing the valid ones), a missing or malformed file, an
        unknown (with the closest valid key), missing or unsourced coefficient, a value
        that is not a finite positive number, or router shares that do not sum to 1.
    """
    return _parse(*named_yaml_text(name, "area", "area preset", "run.area"))


def _parse(name: str, text: str, filename: str) -> AreaPreset:
    where = f"area preset {name!r}"
    data, _ = load_yaml(text, filename)
    if not isinstance(data, dict) or not isinstance(data.get("coefficients"), dict):
        raise ConfigError(f"{where} is malformed: expected a mapping with 'coefficients'",
                          key="run.area", file=filename)
    coefficients = {str(k): _coefficient(where, str(k), v)
                    for k, v in data["coefficients"].items()}
    missing = [k for k in AREA_KEYS if k not in coefficients]
    if missing:
        raise ConfigError(f"{where}: missing coefficient {missing[0]!r}",
                          key=f"run.area.{missing[0]}", file=filename)
    shares = sum(coefficients[k].value for k in _SHARES)
    if not math.isclose(shares, 1.0, rel_tol=1e-9):
        raise ConfigError(f"{where}: the router shares ({', '.join(_SHARES)}) sum to "
                          f"{shares:g}, not 1", key="run.area", file=filename)
    if coefficients["sram_array_efficiency"].value > 1:
        raise ConfigError(f"{where}: sram_array_efficiency must be in (0, 1]",
                          key="run.area.sram_array_efficiency", file=filename)
    return AreaPreset(name, str(data.get("source", "")), coefficients)


def _coefficient(where: str, key: str, entry: Any) -> AreaCoefficient:
    if key not in AREA_KEYS:
        close = difflib.get_close_matches(key, list(AREA_KEYS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{where}: unknown coefficient {key!r}{hint}", key=f"run.area.{key}")
    if not isinstance(entry, dict) or set(entry) != {"value", "source", "estimate"}:
        raise ConfigError(f"{where}: {key} must be a mapping of value, source and estimate",
                          key=f"run.area.{key}")
    value, source, estimate = entry["value"], entry["source"], entry["estimate"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{where}: {key}.value must be a finite number > 0, got {value!r}",
                          key=f"run.area.{key}")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"{where}: {key} needs a source", key=f"run.area.{key}")
    if not isinstance(estimate, bool):
        raise ConfigError(f"{where}: {key}.estimate must be true or false",
                          key=f"run.area.{key}")
    return AreaCoefficient(float(value), source, estimate)
