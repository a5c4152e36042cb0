"""What identifies a run's inputs: the model, weights and data files by content hash
(SHA-256), the tool version; used by the sweep's points and the map run's chunks to
refuse stale results on resume."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from canmore_sim import __version__
from canmore_sim.utils.hashing import file_sha256

__all__ = ["common_identity", "digest", "file_sha256", "path_identity", "why_different"]


def digest(value: Any) -> str:
    """SHA-256 (hex) of ``value`` as canonical JSON (sorted keys, no spaces, no NaN)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def path_identity(path: Path) -> str:
    """SHA-256 of a file, or of every file (relative name and content) under a folder."""
    if path.is_file():
        return "sha256:" + file_sha256(path)
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = Path(root) / name
            digest.update(full.relative_to(path).as_posix().encode("utf-8") + b"\0")
            digest.update(file_sha256(full).encode("ascii"))
    return "sha256-tree:" + digest.hexdigest()


def _model_identity(model: str | None, weights: str | None, sparsity: float, seed: int) -> str:
    if model is None:
        from importlib import resources

        from canmore_sim.models.loaders import DEFAULT_MODEL

        ref = resources.files("canmore_sim.models").joinpath(DEFAULT_MODEL)
        with resources.as_file(ref) as bundled:
            return f"bundled:{DEFAULT_MODEL}:sha256:{file_sha256(bundled)}"
    if Path(model).exists():
        return f"file:{path_identity(Path(model))}"
    return f"zoo:{model}:weights={weights}:sparsity={sparsity!r}:seed={seed}"


def _data_identity(data: str | None) -> str:
    kind, _, where = (data or "digits").partition(":")
    if where and Path(where).exists():
        return f"{kind}:{path_identity(Path(where))}"
    return data or "digits"


def common_identity(model: str | None, weights: str | None, sparsity: float, seed: int,
                    data: str | None, *, build_options: str = "") -> dict[str, str]:
    """The part of every point's (or chunk's) identity shared by the whole run: model, data
    and tool version.

    Files are hashed once here, in the parent process. ``build_options`` is appended to
    the model's identity: what else builds the network from the same file (a
    state_dict's ``--arch``, ...; :meth:`canmore_sim.run.source.ModelSource.identity`).
    """
    return {"model": _model_identity(model, weights, sparsity, seed) + build_options,
            "data": _data_identity(data), "tool_version": __version__}


#: How :func:`why_different` names each identity field.
_FIELD_NAMES = {"config_sha256": "configuration", "model": "model", "data": "input data",
                "tool_version": "tool version", "energy_file": "energy preset file",
                "energy_reference_file": "energy reference file",
                "area_file": "area preset file", "mapping_sha256": "mapping",
                "frames_sha256": "frame selection", "chunk_frames": "chunk size",
                "chunk": "chunk index", "kind": "kind of pass"}


def why_different(stored: Any, identity: dict[str, str]) -> str:
    """Why a stored result's identity ``stored`` is not ``identity``: the fields that differ,
    named in words (a sweep point's or a chunk file's), in a few words."""
    if not isinstance(stored, dict):
        return "it records no identity (written by an older version?)"
    differ = [_FIELD_NAMES.get(k, k) for k in sorted(set(stored) | set(identity))
              if stored.get(k) != identity.get(k)]
    return f"it was computed with a different {', '.join(differ)}"
