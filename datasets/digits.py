"""scikit-learn's real 8x8 handwritten digits, upsampled for a convolutional network.

The data set (1,797 images of 8x8 pixels, 16 grey levels) ships inside
scikit-learn, so nothing is downloaded. It is read straight from scikit-learn's
data file (``sklearn/datasets/data/digits.csv.gz``, the file ``load_digits`` reads),
located without importing scikit-learn (whose import takes about a second, with
SciPy); where that file is missing, ``sklearn.datasets.load_digits`` is used.
Intensities are scaled to [0, 1] (divided by 16) and upsampled bilinearly to
``size x size``.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from canmore_sim.errors import DataError

__all__ = ["SPLITS", "load_digits_frames", "read_digits"]

SPLITS = ("train", "test", "all")
_TEST_FRACTION = 0.2


def load_digits_frames(
    split: str = "test", *, size: int = 32, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Digits frames and labels.

    Parameters
    ----------
    split
        ``"train"`` (80 %), ``"test"`` (20 %, held out, stratified by class) or ``"all"``.
    size
        Output side, pixels (>= 8).
    seed
        Seed of the deterministic train/test split.

    Returns
    -------
    (frames, labels)
        float32 ``(N, 1, size, size)`` in [0, 1] and int64 ``(N,)``.
    """
    import torch  # only to resize: naming the readers needs no torch
    import torch.nn.functional as F

    if split not in SPLITS:
        raise DataError(f"unknown digits split {split!r}; valid: {', '.join(SPLITS)}")
    if size < 8:
        raise DataError(f"digits size must be >= 8 pixels, got {size}")
    pixels, target = read_digits()
    images = pixels.reshape(-1, 8, 8).astype(np.float32) / 16.0
    labels = target.astype(np.int64)
    index = _split_index(labels, split, seed)
    frames = torch.from_numpy(images[index][:, None])
    if size != 8:
        frames = F.interpolate(frames, size=(size, size), mode="bilinear", align_corners=False)
    return frames.clamp(0.0, 1.0).numpy().astype(np.float32), labels[index]


def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as scikit-learn ships them: float64 pixels ``(1797, 64)``, int labels.

    Raises
    ------
    DataError
        If scikit-learn is not installed.
    """
    path = _digits_file()
    if path is not None:
        with gzip.open(path, "rt") as text:
            data = np.loadtxt(text, delimiter=",")
        return data[:, :-1], data[:, -1].astype(int)
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("the digits data set needs scikit-learn "
                        "(pip install scikit-learn)") from None
    bunch = load_digits()
    return np.asarray(bunch.data), np.asarray(bunch.target)


def _digits_file() -> Path | None:
    """scikit-learn's ``digits.csv.gz``, found without importing scikit-learn (None if absent)."""
    spec = importlib.util.find_spec("sklearn")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    return None


def _split_index(labels: np.ndarray, split: str, seed: int) -> np.ndarray:
    if split == "all":
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    test = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        rng.shuffle(members)
        test.append(members[: int(round(len(members) * _TEST_FRACTION))])
    test_idx = np.sort(np.concatenate(test))
    if split == "test":
        return test_idx
    return np.setdiff1d(np.arange(len(labels)), test_idx)
