"""Architecture configuration: YAML in, frozen validated models out.

A configuration describes the *hardware and the run*, never runtime state:
one :class:`ArchConfig` can drive many simulations (a sweep). Every section is
a frozen pydantic model that forbids unknown keys (:mod:`canmore_sim.config_sections`);
loading errors become a :class:`~canmore_sim.errors.ConfigError` naming the dotted key,
the closest valid key for a misspelling, and the file and line where the value stands.

Units are part of the key names (``_ns``, ``_pj``, ``_uj``, ``_kib``, ``_bits``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from canmore_sim.config_sections import (
    CoreConfig,
    DataConfig,
    Frozen,
    LimitsConfig,
    MeshConfig,
    MultichipConfig,
    NeuronConfig,
    ReportConfig,
    RouterConfig,
    RunConfig,
    TrafficConfig,
)
from canmore_sim.errors import ConfigError
from canmore_sim.yamlio import load_yaml, read_yaml_text

__all__ = [
    "ArchConfig",
    "CoreConfig",
    "DataConfig",
    "LimitsConfig",
    "MeshConfig",
    "MultichipConfig",
    "NeuronConfig",
    "ReportConfig",
    "RouterConfig",
    "RunConfig",
    "TrafficConfig",
    "default_config",
    "load_config",
    "parse_mesh",
    "suggest",
    "with_overrides",
]


class ArchConfig(Frozen):
    """A whole architecture + run description, as loaded from YAML."""

    mesh: MeshConfig = Field(
        MeshConfig(), description="routers per chip, as a section or a WxH string such as 8x8")
    core: CoreConfig = Field(CoreConfig(), description="one neuromorphic core")
    router: RouterConfig = Field(RouterConfig(), description="one mesh router")
    neuron: NeuronConfig = Field(
        NeuronConfig(), description="the neuron model and the length of its windows on the chip")
    data: DataConfig = Field(
        DataConfig(), description="how input frames are prepared for the network")
    traffic: TrafficConfig = Field(TrafficConfig(), description="how spikes become packets")
    multichip: MultichipConfig = Field(
        MultichipConfig(), description="chips tiled when the network needs more cores")
    run: RunConfig = Field(RunConfig(), description="what to simulate, and how")
    report: ReportConfig = Field(
        ReportConfig(), description="when a report warns that its figures should not be trusted")
    limits: LimitsConfig = Field(
        LimitsConfig(), description="sizes refused before anything large is allocated")

    @field_validator("mesh", mode="before")
    @classmethod
    def _mesh_from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            width, height = parse_mesh(value)
            return {"width": width, "height": height}
        return value

    @model_validator(mode="after")
    def _mesh_within_limits(self) -> ArchConfig:
        routers = self.mesh.width * self.mesh.height
        if routers > self.limits.max_routers:
            raise ConfigError(
                f"mesh: a {self.mesh.width}x{self.mesh.height} mesh has {routers:,} routers, "
                f"more than limits.max_routers = {self.limits.max_routers:,} (raise "
                "limits.max_routers to simulate a mesh this large)", key="mesh",
                limit=self.limits.max_routers)
        return self


_MESH_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_mesh(text: str) -> tuple[int, int]:
    """Parse ``"WxH"`` (for example ``"8x8"``) into ``(width, height)``.

    Raises
    ------
    ConfigError
        If the text is not two positive integers joined by ``x``.
    """
    match = _MESH_RE.match(text)
    if match is None or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise ConfigError(
            f"mesh: expected WIDTHxHEIGHT such as 8x8, got {text!r}", key="mesh", value=text
        )
    return int(match.group(1)), int(match.group(2))


# ----------------------------------------------------------------------------- loading


def default_config() -> ArchConfig:
    """The bundled default architecture (``configs/arch/default.yaml``)."""
    ref = resources.files("canmore_sim.configs").joinpath("arch/default.yaml")
    with resources.as_file(ref) as path:
        return load_config(path)


def load_config(path: str | Path) -> ArchConfig:
    """Load and validate an architecture YAML file.

    Parameters
    ----------
    path
        A YAML file with any of the sections of :class:`ArchConfig`.

    Raises
    ------
    ConfigError
        Missing or unreadable file, invalid YAML, unknown key (with the closest
        valid key), wrong type or impossible value; the message names the key,
        the file and the line.
    """
    path = Path(path)
    text = read_yaml_text(path, "config file")
    data, lines = _parse_yaml(text, str(path))
    return _validate(data, lines, str(path))


def with_overrides(config: ArchConfig, overrides: Mapping[str, Any]) -> ArchConfig:
    """Return a copy of ``config`` with dotted-key overrides applied and re-validated.

    Parameters
    ----------
    config
        The base configuration.
    overrides
        For example ``{"mesh": "4x4", "router.buffer_depth": 2}``.
    """
    data = config.model_dump(mode="python")
    for dotted, value in overrides.items():
        _set_dotted(data, dotted, value)
    return _validate(data, {}, None)


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(
                f"unknown config key {'.'.join(parts[: depth + 1])!r}"
                + _suggest(part, node.keys() if isinstance(node, dict) else []),
                key=dotted,
            )
        node = node[part]
    if not isinstance(node, dict):
        raise ConfigError(f"config key {dotted!r} is not a section", key=dotted)
    node[parts[-1]] = value


def _parse_yaml(text: str, filename: str) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse YAML, returning the data and a map from dotted key to 1-based line."""
    data, root = load_yaml(text, filename)
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{filename}: the top level must be a mapping of sections, got {type(data).__name__}",
            file=filename,
        )
    lines: dict[str, int] = {}
    _collect_lines(root, "", lines)
    return data, lines


def _collect_lines(node: yaml.Node | None, prefix: str, out: dict[str, int]) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        dotted = f"{prefix}{key_node.value}"
        out[dotted] = key_node.start_mark.line + 1
        _collect_lines(value_node, dotted + ".", out)


def _validate(data: dict[str, Any], lines: dict[str, int], filename: str | None) -> ArchConfig:
    try:
        return ArchConfig.model_validate(data)
    except ConfigError as exc:  # raised by a field validator (mesh string)
        raise ConfigError(_where(filename, lines, exc.facts.get("key") or "") + str(exc),
                          **exc.facts) from None
    except ValidationError as exc:
        raise _config_error(exc, lines, filename) from None


def _config_error(exc: ValidationError, lines: dict[str, int], filename: str | None) -> ConfigError:
    err = exc.errors()[0]
    loc = [str(part) for part in err["loc"]]
    dotted = ".".join(loc)
    where = _where(filename, lines, dotted)
    if err["type"] == "extra_forbidden":
        model = _section_model(loc[:-1])
        hint = _suggest(loc[-1], model.model_fields.keys() if model else [])
        message = f"{where}unknown config key {dotted!r}{hint}"
    else:
        cause = err.get("ctx", {}).get("error")
        text = str(cause) if isinstance(cause, ConfigError) else err["msg"]
        message = f"{where}{dotted}: {text} (got {err.get('input')!r})"
    return ConfigError(message, key=dotted, file=filename, line=_line(lines, dotted))


def _section_model(loc: list[str]) -> type[BaseModel] | None:
    model: type[BaseModel] = ArchConfig
    for part in loc:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _line(lines: dict[str, int], dotted: str) -> int | None:
    while dotted:
        if dotted in lines:
            return lines[dotted]
        dotted = dotted.rpartition(".")[0]
    return None


def _where(filename: str | None, lines: dict[str, int], dotted: str) -> str:
    if filename is None:
        return ""
    line = _line(lines, dotted)
    return f"{filename}:{line}: " if line else f"{filename}: "


def suggest(name: str, valid: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``valid`` to ``name``, else the list."""
    return _suggest(name, valid)


def _suggest(name: str, valid: Any) -> str:
    valid = sorted(str(v) for v in valid)
    close = difflib.get_close_matches(name, valid, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (valid keys: {', '.join(valid)})" if valid else ""
