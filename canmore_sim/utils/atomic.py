"""Result files: atomic writes (a temporary file in the same folder, then a rename),
so an interrupted run leaves either the previous file or the new one, never a
half-written result; and reading them back with one-line errors.
"""

from __future__ import annotations

import fnmatch
import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from canmore_sim.errors import CanmoreError

__all__ = ["MAX_JSON_BYTES", "FileTooLarge", "atomic_write_bytes", "atomic_write_text",
           "normal_mode", "read_bounded_text", "read_json", "umask"]

#: Test hook: ``"N:MARKER"`` makes the N-th atomic write of this process create the file
#: MARKER and then wait (until a signal ends or interrupts it), so that a test can kill
#: the writer at a known point of its write phase. Unset in normal use.
PAUSE_ENV = "CANMORE_SIM_TEST_PAUSE_AFTER_WRITES"
#: Test hook beside :data:`PAUSE_ENV`: a glob (``fnmatch``) of the written paths that count;
#: unset, every atomic write counts. ``*/points/*.json`` pauses a sweep's worker at its N-th
#: point file, not the parent at its N-th output file.
PAUSE_MATCH_ENV = "CANMORE_SIM_TEST_PAUSE_MATCH"
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


def _pause_hook(path: Path) -> None:
    global _writes
    setting = os.environ.get(PAUSE_ENV)
    if not setting:
        return
    pattern = os.environ.get(PAUSE_MATCH_ENV)
    if pattern and not fnmatch.fnmatch(str(path), pattern):
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
    _pause_hook(path)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


#: Largest JSON file the tool reads back (report.json, mapping.json, manifests, point files,
#: bytes); the largest written so far, VGG16's report.json, is about 220 KB.
MAX_JSON_BYTES = 64 << 20


class FileTooLarge(OSError):
    """A file larger than the bound it is read under (``size`` bytes, ``limit``)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size:,} bytes, more than the {limit:,} bytes read")
        self.size, self.limit = size, limit


def read_bounded_text(path: str | Path, max_bytes: int = MAX_JSON_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` bytes.

    Opened without blocking and checked on the descriptor (a FIFO or a folder is refused,
    not waited on); the size is checked before reading and again while reading.

    Raises
    ------
    FileNotFoundError
        No such file.
    FileTooLarge
        More than ``max_bytes`` bytes.
    OSError, UnicodeDecodeError
        Not a regular file, unreadable, not UTF-8.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"not a regular file: {path}")
        if info.st_size > max_bytes:
            raise FileTooLarge(info.st_size, max_bytes)
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise FileTooLarge(len(raw), max_bytes)
    return raw.decode("utf-8")


def read_json(path: str | Path, error: type[CanmoreError], what: str, *,
              max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file of at most ``max_bytes`` bytes, raising ``error`` with one line
    when missing, too large or unreadable.

    Parameters
    ----------
    path
        The file.
    error
        Error class to raise (a :class:`~canmore_sim.errors.CanmoreError` subclass).
    what
        What the file should be, for the message ("report", "mapping file").
    max_bytes
        Largest file read, bytes.
    """
    path = Path(path)
    try:
        return json.loads(read_bounded_text(path, max_bytes))
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except FileTooLarge as exc:
        raise error(f"{path}: the {what} is {exc.size:,} bytes, more than the {exc.limit:,} "
                    "bytes a JSON file of canmore-sim may have") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise error(f"{path}: not a readable {what} ({exc})") from None
