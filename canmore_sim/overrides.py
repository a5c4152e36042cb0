"""Command-line overrides of configuration keys: ``--set key=value`` (repeatable).

A ``--set`` names a dotted key of :class:`~canmore_sim.config.ArchConfig`
(``router.buffer_depth``, ``neuron.window_ns``, ``mesh``) and a value read as a
YAML scalar or flow collection (``8``, ``1.5e4``, ``true``, ``null``, ``[1, 0]``,
``8x8``). The overrides are applied on top of the loaded configuration and the
result is validated by the same models as a YAML file, so a wrong type or an
impossible value is refused with the same message; an unknown key is refused
naming the closest valid dotted key.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from canmore_sim.config import ArchConfig, with_overrides
from canmore_sim.errors import ConfigError
from canmore_sim.yamlio import MAX_INT_DIGITS

__all__ = ["ConfigKey", "apply_overrides", "apply_sets", "config_keys", "parse_sets"]


@dataclass(frozen=True)
class ConfigKey:
    """One settable configuration key: its dotted name, default and description."""

    key: str
    default: Any
    description: str
    section: bool = False


def config_keys() -> list[ConfigKey]:
    """Every dotted key of :class:`ArchConfig` (sections first, then their fields).

    Returns
    -------
    list of ConfigKey
        In declaration order; ``description`` carries the unit where the key has one.
    """
    return list(_walk(ArchConfig, ""))


def _walk(model: type[BaseModel], prefix: str) -> Iterator[ConfigKey]:
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield ConfigKey(dotted, None, annotation.__doc__ or "", section=True)
            yield from _walk(annotation, dotted + ".")
        else:
            yield ConfigKey(dotted, field.default, field.description or "")


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``["router.buffer_depth=8", ...]`` -> ``{"router.buffer_depth": 8, ...}``.

    Values are parsed as YAML (``8`` an int, ``2.5`` a float, ``true`` a bool,
    ``null`` None, ``[1, 0]`` a list; anything else stays a string). A key given
    twice keeps the last value.

    Raises
    ------
    ConfigError
        For an item without ``=``, an empty key, or a key that is not a
        configuration key (naming the closest valid one).
    """
    known = {k.key for k in config_keys()}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item}: expected KEY=VALUE, e.g. router.buffer_depth=8",
                              key=key or None)
        if key not in known:
            raise ConfigError(f"--set {item}: unknown config key {key!r}{_closest(key, known)}",
                              key=key)
        digits = len(text.strip().lstrip("+-"))
        if text.strip().lstrip("+-").isdigit() and digits > MAX_INT_DIGITS:
            raise ConfigError(f"--set {key}=...: an integer of {digits:,} digits; at most "
                              f"{MAX_INT_DIGITS} are read", key=key)
        out[key] = _scalar(text)
    return out


def apply_sets(config: ArchConfig, items: Sequence[str]) -> ArchConfig:
    """``config`` with the ``--set`` items applied and the whole re-validated.

    Parameters
    ----------
    config
        The loaded configuration (a YAML file, the default, or either with other flags).
    items
        ``KEY=VALUE`` strings, applied in order.

    Raises
    ------
    ConfigError
        As :func:`parse_sets`, or the validation error of the value (its key named).
    """
    return apply_overrides(config, parse_sets(items), label="--set")


def apply_overrides(config: ArchConfig, overrides: Mapping[str, Any], *,
                    label: str = "override") -> ArchConfig:
    """``config`` with dotted-key ``overrides`` (``{"router.buffer_depth": 8}``) applied and
    the whole re-validated, checked as ``--set`` checks its items.

    Raises
    ------
    ConfigError
        For a key that is not a configuration key (naming the closest valid one), or the
        validation error of a value; the message starts with ``label`` and the key.
    """
    if not overrides:
        return config
    known = {k.key for k in config_keys()}
    for key in overrides:
        if key not in known:
            raise ConfigError(f"{label} {key}: unknown config key {key!r}{_closest(key, known)}",
                              key=key)
    try:
        return with_overrides(config, overrides)
    except ConfigError as exc:
        key = str(exc.facts.get("key") or "")
        culprit = next((k for k in overrides if key == k or key.startswith(k + ".")), None)
        shown = (f"{culprit}={_text(overrides[culprit])}" if culprit
                 else " ".join(f"{k}={_text(v)}" for k, v in overrides.items()))
        raise ConfigError(f"{label} {shown}: {exc}", **exc.facts) from None


def _scalar(text: str) -> Any:
    """``text`` read as a YAML value, by the same YAML 1.2 rules as config files."""
    from canmore_sim.errors import CanmoreError
    from canmore_sim.yamlio import load_yaml

    if not text.strip():
        return ""
    try:
        return load_yaml(text, "--set")[0]
    except CanmoreError:
        return text


def _text(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _closest(key: str, known: set[str]) -> str:
    leaf = key.rpartition(".")[2]
    close = (difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
             or [k for k in sorted(known) if k.rpartition(".")[2] == leaf][:1])
    if close:
        return f" (did you mean {close[0]!r}?)"
    return " (see the config keys in --help)"
