"""Where a run's frames came from, as plain data for reports (issue 26: provenance).

:func:`describe_data` records the reader, the path, the SHA-256 of the files read (one
file: its digest; several: the digest of their names and digests), the split, the frame
ids, the original and fed frame shapes, any adaptation, the normalization and the input
encoding, so that two reports can be told apart and a run reproduced.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.datasets.inputs import DEFAULT_SOURCE, Adaptation, InputPlan
from canmore_sim.utils.hashing import file_sha256

__all__ = ["data_files", "describe_data", "sha256_of"]


def sha256_of(files: list[Path]) -> str | None:
    """SHA-256 of one file, or of the names and digests of several (None: no files)."""
    if not files:
        return None
    if len(files) == 1:
        return file_sha256(files[0])
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode("utf-8") + b"\0" + file_sha256(path).encode("ascii"))
    return digest.hexdigest()


def data_files(source: str | None, split: str = "test") -> tuple[str, str, list[Path]]:
    """(reader, path as given, files read) of a ``--data`` source and split."""
    from canmore_sim.datasets.digits import _digits_file

    kind, _, where = (source or DEFAULT_SOURCE).partition(":")
    path = Path(where)
    if kind == DEFAULT_SOURCE:
        found = _digits_file()
        return kind, "scikit-learn digits.csv.gz", [found] if found else []
    if kind == "cifar10":
        if path.is_file():
            return kind, where, [path]
        files = [path / "test_batch"] if split == "test" else sorted(path.glob("data_batch_*"))
        return kind, where, [f for f in files if f.is_file()]
    if kind in ("mnist", "fashion-mnist"):
        prefix = "t10k" if split == "test" else "train"
        files = [path / f"{prefix}-{part}-idx{n}-ubyte{gz}" for part, n in
                 (("images", 3), ("labels", 1)) for gz in ("", ".gz")]
        return kind, where, [f for f in files if f.is_file()]
    return kind, where, [path] if path.is_file() else []


def describe_data(source: str | None, split: str, frame_ids: np.ndarray,
                  adaptation: Adaptation, plan: InputPlan,
                  input_values: dict[str, int] | None = None) -> dict[str, Any]:
    """Plain data saying where a run's frames came from and how they were fed.

    Parameters
    ----------
    source, split
        The ``--data`` source (None: the bundled digits) and split.
    frame_ids
        The frames' indices in the split.
    adaptation
        What was done to the frames' shape (:func:`~.shaping.frames_adaptation`).
    plan
        Normalization and encoding (:func:`~.inputs.resolve_inputs`).
    input_values
        Positive, negative and zero input values over the frames
        (:func:`~.inputs.count_inputs`), or None.
    """
    reader, path, files = data_files(source, split)
    out: dict[str, Any] = {"source": source or DEFAULT_SOURCE, "reader": reader,
                           "path": path, "sha256": sha256_of(files),
                           "files": [f.name for f in files], "split": split,
                           "frame_ids": [int(i) for i in frame_ids],
                           **adaptation.describe(), **plan.describe()}
    if input_values is not None:
        out["input_values"] = dict(input_values)
    return out
