"""SHA-256 of files, read in bounded pieces (the one place that hashes a file's bytes)."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_sha256"]

#: Bytes read at a time, so that hashing a large file holds little memory.
READ_BYTES = 1 << 20


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of the bytes of the file at ``path``, read 1 MiB at a time.

    Raises
    ------
    OSError
        When the file cannot be opened or read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while piece := handle.read(READ_BYTES):
            digest.update(piece)
    return digest.hexdigest()
