"""A sweep file: the base configuration, the swept axes, the points they make."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from canmore_sim.config import ArchConfig, default_config, load_config, with_overrides
from canmore_sim.errors import ConfigError
from canmore_sim.overrides import apply_sets
from canmore_sim.yamlio import load_yaml, read_yaml_text

__all__ = ["SweepPoint", "SweepSpec", "load_sweep"]


class SweepSpec(BaseModel):
    """A sweep file, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: str = "default"
    model: str | None = None
    weights: str | None = None
    data: str | None = None
    sparsity: float = Field(0.25, gt=0, lt=1)
    frames: int = Field(4, ge=1)
    seed: int = Field(0, ge=0)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    zip: dict[str, list[Any]] = Field(default_factory=dict)

    @field_validator("grid", "zip")
    @classmethod
    def _non_empty_lists(cls, axes: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in axes.items():
            if not values:
                raise ValueError(f"axis {key!r} has no values")
        return axes


@dataclass(frozen=True)
class SweepPoint:
    """One point: its index, the swept values, and the configuration they give."""

    index: int
    values: dict[str, Any]
    config: ArchConfig = field(compare=False)

    @property
    def name(self) -> str:
        return f"{self.index:04d}"


def load_sweep(path: str | Path, sets: Sequence[str] = ()) -> tuple[SweepSpec, list[SweepPoint]]:
    """Read a sweep file and build (and validate) every point's configuration.

    Parameters
    ----------
    path
        The sweep YAML.
    sets
        ``KEY=VALUE`` overrides of the base configuration (``--set``), applied before
        the axes (an axis over the same key wins).

    Raises
    ------
    ConfigError
        Missing or invalid file, unknown sweep key, zipped lists of unequal length, an
        axis named in both grid and zip, more points than ``limits.max_sweep_points``
        (counted before any point is built), or an axis key/value the architecture
        configuration rejects (named, with the point).
    """
    path = Path(path)
    # the bounded, strict reader of config files: size, aliases, depth, duplicate keys, YAML 1.2
    data = load_yaml(read_yaml_text(path, "sweep file"), str(path))[0] or {}
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: sweep key {key!r}: {err['msg']}", key=key,
                          file=str(path)) from None
    base = apply_sets(_base_config(spec.base, path.parent), sets)
    _check_size(spec, base, path)
    return spec, _points(spec, base, path)


def _check_size(spec: SweepSpec, base: ArchConfig, path: Path) -> int:
    """Count the points from the axes' lengths alone, before any point is built, and refuse
    a sweep over ``limits.max_sweep_points`` (of the base configuration and ``--set``), an
    axis named in both ``grid`` and ``zip``, or zipped lists of unequal lengths."""
    twice = sorted(set(spec.grid) & set(spec.zip))
    if twice:
        raise ConfigError(f"{path}: axis {twice[0]!r} is named in both grid and zip; give "
                          "each axis once", key=f"zip.{twice[0]}", file=str(path))
    lengths = {len(v) for v in spec.zip.values()}
    if len(lengths) > 1:
        raise ConfigError(f"{path}: the zipped lists must have equal lengths, got "
                          f"{ {k: len(v) for k, v in spec.zip.items()} }", key="zip")
    count = math.prod(len(v) for v in spec.grid.values()) * (lengths.pop() if lengths else 1)
    limit = base.limits.max_sweep_points
    if count > limit:
        shape = " x ".join([*(str(len(v)) for v in spec.grid.values()),
                            *([f"{len(next(iter(spec.zip.values())))} zipped"]
                              if spec.zip else [])])
        raise ConfigError(f"{path}: the sweep has {count:,} points ({shape}), more than "
                          f"limits.max_sweep_points = {limit:,} (raise it in the base "
                          "architecture's limits: section or with --set "
                          "limits.max_sweep_points=N)", key="limits.max_sweep_points",
                          file=str(path), limit=limit)
    return count


def _base_config(base: str, folder: Path) -> ArchConfig:
    if base == "default":
        return default_config()
    candidate = folder / base if not Path(base).is_absolute() else Path(base)
    if candidate.exists():
        return load_config(candidate)
    from importlib import resources

    ref = resources.files("canmore_sim.configs").joinpath(f"arch/{base}.yaml")
    if not ref.is_file():
        raise ConfigError(f"sweep base {base!r} is neither a file nor a bundled architecture",
                          key="base")
    with resources.as_file(ref) as bundled:
        return load_config(bundled)


def _rows(spec: SweepSpec) -> Iterator[dict[str, Any]]:
    columns = zip(*spec.zip.values(), strict=True)
    zipped = [dict(zip(spec.zip, row, strict=True)) for row in columns] if spec.zip else [{}]
    keys = list(spec.grid)
    for combo in itertools.product(*spec.grid.values()):
        for extra in zipped:
            yield {**dict(zip(keys, combo, strict=True)), **extra}


def _points(spec: SweepSpec, base: ArchConfig, path: Path) -> list[SweepPoint]:
    from canmore_sim.energy import load_preset

    points, presets = [], set()
    for index, values in enumerate(_rows(spec)):
        overrides = {**values, "run.frames": spec.frames, "run.seed": spec.seed}
        try:
            config = with_overrides(base, overrides)
            if config.run.energy not in presets:  # a preset axis is checked before any run
                load_preset(config.run.energy)
                presets.add(config.run.energy)
        except ConfigError as exc:
            raise ConfigError(f"{path}: point {index} {values}: {exc}", **exc.facts) from None
        points.append(SweepPoint(index, values, config))
    return points
