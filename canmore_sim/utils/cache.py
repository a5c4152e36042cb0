"""A small on-disk cache of derived results (JSON), outside the package directory.

The cache lives in ``$CANMORE_SIM_CACHE`` when set (``off`` or an empty value turns it
off), else in ``$XDG_CACHE_HOME/canmore-sim`` or ``~/.cache/canmore-sim``, so it works
when the installed package is read-only. An entry is only ever a speed-up: one that is
missing, unreadable or for another key reads as absent, and a cache that cannot be
written is skipped without a word (the library never prints).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from canmore_sim.utils.atomic import atomic_write_text

__all__ = ["cache_dir", "read_cached", "write_cached"]


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is turned off."""
    env = os.environ.get("CANMORE_SIM_CACHE")
    if env is not None:
        return None if env.strip() in ("", "off") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "canmore-sim"


def _path(kind: str, key: dict[str, Any]) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return folder / f"{kind}-{digest}.json"


def read_cached(kind: str, key: dict[str, Any]) -> Any | None:
    """The value stored under ``(kind, key)``, or None (absent, unreadable, other key).

    Parameters
    ----------
    kind
        A short name of what is cached (part of the file name).
    key
        Everything the value depends on (JSON-serializable); stored with the value and
        compared on reading, so a hash collision cannot return a wrong value.
    """
    path = _path(kind, key)
    if path is None:
        return None
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != json.loads(json.dumps(key)):
        return None
    return entry.get("value")


def write_cached(kind: str, key: dict[str, Any], value: Any) -> None:
    """Store ``value`` under ``(kind, key)`` atomically; a failure to write is ignored."""
    path = _path(kind, key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"key": key, "value": value}))
    except OSError:
        return
