"""Result files: atomic writes (a temporary file in the same folder, then a rename),
so an interrupted run leaves either the previous file or the new one, never a
half-written result; and reading them back with one-line errors.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from canmore_sim.errors import CanmoreError

__all__ = ["atomic_write_bytes", "atomic_write_text", "read_json"]


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (parents are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def read_json(path: str | Path, error: type[CanmoreError], what: str) -> Any:
    """Parse a JSON file, raising ``error`` with one line when missing or unreadable.

    Parameters
    ----------
    path
        The file.
    error
        Error class to raise (a :class:`~canmore_sim.errors.CanmoreError` subclass).
    what
        What the file should be, for the message ("report", "mapping file").
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path}: not a readable {what} ({exc})") from None
