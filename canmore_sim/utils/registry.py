"""Choosing a plug-in by name from a registry (engines, routings, placements, energy models)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from canmore_sim.errors import CanmoreError, ConfigError

__all__ = ["choose"]

T = TypeVar("T")


def choose(registry: Mapping[str, T], name: str, *, what: str, key: str,
           error: type[CanmoreError] = ConfigError) -> T:
    """``registry[name]``, or an error naming the config ``key`` and listing the valid names.

    Parameters
    ----------
    registry
        Name -> plug-in.
    name
        The name asked for.
    what
        What the plug-ins are, for the message ("NoC engine", "placement"...).
    key
        The configuration key that chose it (``run.engine``...).
    error
        The error class to raise (a :class:`ConfigError` unless the name came from elsewhere).
    """
    try:
        return registry[name]
    except KeyError:
        raise error(f"unknown {what} {name!r}; valid: {', '.join(sorted(registry))}",
                    key=key, value=name) from None
