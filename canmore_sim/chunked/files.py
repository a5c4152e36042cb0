"""Chunk files of a map run: each finished chunk's arrays written atomically with its
identity and checksum, and read back only when both match (``resume``)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from canmore_sim.datasets.arrays import open_npz
from canmore_sim.errors import DataError
from canmore_sim.run.identity import digest, why_different
from canmore_sim.utils.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from canmore_sim.mapper.placement import Mapping

__all__ = ["chunk_identity", "mapping_digest", "read_chunk", "write_chunk"]


#: 2: closed-loop timing arrays; 3: effective SOPs; 4: input values, derived window
_FORMAT = "canmore-sim map chunk 4"
#: Most values one array of a chunk file may declare (its bytes must also be in the file).
MAX_CHUNK_VALUES = 1 << 31


def chunk_identity(common: dict[str, str], *, kind: str, index: int, ids: np.ndarray,
                   chunk_frames: int, config: dict[str, Any],
                   mapping_key: str = "") -> dict[str, str]:
    """Everything that determines a chunk: the run's model, data and tool version
    (``common``, :func:`canmore_sim.run.identity.common_identity`), the configuration
    (its energy settings excepted: energy is priced after the chunks), the mapping, the
    chunk's index, size and frames."""
    run = {k: v for k, v in config.get("run", {}).items()
           if k not in ("energy", "energy_reference")}
    counted = {**config, "run": run}
    return {**common, "kind": kind, "config_sha256": digest(counted),
            "mapping_sha256": mapping_key, "chunk": str(index),
            "chunk_frames": str(chunk_frames), "frames_sha256": digest(ids.tolist())}


def mapping_digest(mapping: Mapping) -> str:
    """SHA-256 of a mapping: its strategy, chips, routers and every core group's fields."""
    hasher = hashlib.sha256(json.dumps(
        [mapping.strategy, mapping.chip_width, mapping.chip_height, mapping.chips_x,
         mapping.chips_y]).encode())
    arrays = {"router": mapping.router, **{f.name: getattr(mapping.groups, f.name)
                                           for f in dataclasses.fields(mapping.groups)}}
    hasher.update(_array_checksum({k: np.asarray(v) for k, v in arrays.items()}).encode())
    return hasher.hexdigest()


def _array_checksum(arrays: dict[str, np.ndarray]) -> str:
    hasher = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        hasher.update(f"{name}:{value.dtype.str}:{value.shape}".encode())
        hasher.update(value.tobytes())
    return hasher.hexdigest()


def write_chunk(path: Path, arrays: dict[str, np.ndarray], identity: dict[str, str]) -> Path:
    """Write a chunk's arrays and its sealed identity atomically (an ``.npz`` file)."""
    meta = {"format": _FORMAT, "identity": identity, "key": digest(identity),
            "checksum": _array_checksum(arrays)}
    buffer = io.BytesIO()
    named: dict[str, Any] = {**arrays, "_meta": np.array(json.dumps(meta, sort_keys=True))}
    np.savez(buffer, **named)
    return atomic_write_bytes(path, buffer.getvalue())


def read_chunk(path: Path, identity: dict[str, str]
               ) -> tuple[dict[str, np.ndarray] | None, str | None]:
    """A chunk file's arrays when it belongs to this run and is intact.

    Returns
    -------
    (arrays, None)
        Same identity, checksum matches.
    (None, reason)
        It exists but must run again; ``reason`` says why in a few words.
    (None, None)
        There is no such file.
    """
    if not os.path.lexists(path):
        return None, None
    try:  # every array's declared size is checked against the file before it is allocated
        with open_npz(path, max_values=MAX_CHUNK_VALUES) as members:
            arrays = {key: members.read(key) for key in members.keys}
        meta = json.loads(str(arrays.pop("_meta")))
    except (DataError, ValueError, KeyError, TypeError):
        return None, "its file is damaged or not a chunk file"
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        return None, "its file is not a chunk file of this version"
    stored = meta.get("identity")
    if meta.get("key") != digest(identity) or stored != identity:
        return None, why_different(stored, identity)
    if meta.get("checksum") != _array_checksum(arrays):
        return None, "its file was edited or damaged (checksum does not match)"
    return arrays, None

