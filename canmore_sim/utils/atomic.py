"""Result files: atomic writes (a temporary file in the same folder, then a rename),
so an interrupted run leaves either the previous file or the new one, never a
half-written result; and reading them back with one-line errors.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from canmore_sim.errors import CanmoreError

__all__ = ["atomic_write_bytes", "atomic_write_text", "normal_mode", "read_json", "umask"]

#: Test hook: ``"N:MARKER"`` makes the N-th atomic write of this process create the file
#: MARKER and then wait (until a signal ends or interrupts it), so that a test can kill
#: the writer at a known point of its write phase. Unset in normal use.
PAUSE_ENV = "CANMORE_SIM_TEST_PAUSE_AFTER_WRITES"
_writes = 0


def umask() -> int:
    """This process's umask (read without changing it where /proc allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: read it by setting it, then put it back
    os.umask(mask)
    return mask


def normal_mode(path: str | Path) -> None:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would: 0o666 (files) or 0o777
    (folders) less the umask (``tempfile`` makes them 0600/0700)."""
    base = 0o777 if Path(path).is_dir() else 0o666
    os.chmod(path, base & ~umask())


def _pause_hook() -> None:
    global _writes
    setting = os.environ.get(PAUSE_ENV)
    if not setting:
        return
    _writes += 1
    count, _, marker = setting.partition(":")
    if count.isdigit() and marker and _writes == int(count):
        Path(marker).write_text(str(os.getpid()))
        while True:  # until the test's signal
            time.sleep(0.05)


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
        normal_mode(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _pause_hook()
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
