"""Input frames from the standard file formats, shaped for a network's input.

``--data`` sources:

* ``digits`` (default): scikit-learn's 8x8 digits, held-out split (:mod:`.digits`);
* ``cifar10:DIR``: the CIFAR-10 "python version" batches (``DIR/test_batch``, or
  ``data_batch_N`` with ``cifar10:DIR/data_batch_1``), read with a restricted
  unpickler that only rebuilds numpy arrays, so no code from the file runs;
* ``mnist:DIR`` / ``fashion-mnist:DIR``: IDX files ``t10k-images-idx3-ubyte`` and
  ``t10k-labels-idx1-ubyte``, gzipped (``.gz``) or not;
* ``npy:FILE`` / ``npz:FILE``: an image array (``(N, H, W)``, ``(N, C, H, W)`` or
  ``(N, H, W, C)`` with C in 1..4); an ``.npz`` holds ``x`` (or ``images``) and
  optionally ``y`` (or ``labels``).

Integer images are scaled to [0, 1] (divided by 255); float images are taken as
intensities in [0, 1]. Frames are resized (bilinear) and their channels adapted
(grey repeated, colour averaged) to the network's input, then selected by seed.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from canmore_sim.datasets.digits import load_digits_frames
from canmore_sim.errors import DataError

__all__ = ["READERS", "load_frames", "reader_usage", "shape_frames", "read_idx",
           "read_cifar10_batch", "read_npy"]


def load_frames(source: str | None, input_shape: tuple[int, ...], n_frames: int,
                seed: int = 0, split: str = "test") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames, labels (-1 when unknown) and their indices in the data set.

    Parameters
    ----------
    split
        ``"test"`` (held-out: digits test split, ``t10k-*`` IDX files, CIFAR ``test_batch``)
        or ``"train"`` (digits train split, ``train-*`` IDX files, CIFAR ``data_batch_1..5``);
        .npy/.npz files have no splits.

    Raises
    ------
    DataError
        Unknown source or split, missing or corrupt file, or frames that cannot be shaped.
    """
    if split not in ("test", "train"):
        raise DataError(f"unknown split {split!r}; valid: test, train")
    images, labels = _read(source or "digits", input_shape, split)
    frames = shape_frames(images, input_shape)
    order = np.random.default_rng(seed).permutation(len(frames))[:n_frames]
    return frames[order], labels[order], order


def _read(source: str, input_shape: tuple[int, ...],
          split: str) -> tuple[np.ndarray, np.ndarray]:
    kind, _, where = source.partition(":")
    entry = READERS.get(kind)
    if entry is None:
        raise DataError(f"--data {source!r}: unknown source {kind!r}; valid: "
                        f"{', '.join(READERS)}")
    argument, reader = entry
    if bool(argument) != bool(where):
        raise DataError(f"--data {source!r}: expected {reader_usage()}")
    return reader(where, input_shape, split)


def reader_usage() -> str:
    """The ``--data`` forms of every registered reader, e.g. ``digits, mnist:DIR, ...``."""
    return ", ".join(f"{name}:{arg}" if arg else name for name, (arg, _) in READERS.items())


def _digits(_where: str, input_shape: tuple[int, ...],
            split: str) -> tuple[np.ndarray, np.ndarray]:
    side = input_shape[1] if len(input_shape) == 3 else max(8, int(np.sqrt(input_shape[0])))
    return load_digits_frames(split, size=side)


def _cifar10(where: str, _shape: tuple[int, ...],
             split: str) -> tuple[np.ndarray, np.ndarray]:
    path = Path(where)
    if not path.is_dir():
        return read_cifar10_batch(path)
    if split == "test":
        return read_cifar10_batch(path / "test_batch")
    batches = [read_cifar10_batch(b) for b in sorted(path.glob("data_batch_*"))]
    if not batches:
        raise DataError(f"{path}: no data_batch_* files for the train split")
    return (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))


def _mnist(where: str, _shape: tuple[int, ...],
           split: str) -> tuple[np.ndarray, np.ndarray]:
    path, prefix = Path(where), "t10k" if split == "test" else "train"
    return (read_idx(_idx(path, f"{prefix}-images-idx3-ubyte")),
            read_idx(_idx(path, f"{prefix}-labels-idx1-ubyte")).astype(np.int64))


def _numpy(where: str, _shape: tuple[int, ...],
           _split: str) -> tuple[np.ndarray, np.ndarray]:
    return read_npy(Path(where))


Reader = Callable[[str, tuple[int, ...], str], tuple[np.ndarray, np.ndarray]]

#: ``--data`` readers by name: (what follows ``NAME:``, "" for none; the reader).
READERS: dict[str, tuple[str, Reader]] = {
    "digits": ("", _digits),
    "cifar10": ("DIR", _cifar10),
    "mnist": ("DIR", _mnist),
    "fashion-mnist": ("DIR", _mnist),
    "npy": ("FILE", _numpy),
    "npz": ("FILE", _numpy),
}


def _idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: no {stem} (or {stem}.gz) file")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST format, optionally gzipped) as a numpy array."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    except (OSError, struct.error, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: not a readable IDX file ({exc})") from None
    if zero != 0 or dtype_code != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (magic {zero:#x}/{dtype_code:#x})")
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: IDX header says {dims} but holds {body.size} values")
    return body.reshape(dims)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers only; anything else is refused."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A CIFAR-10 python batch: uint8 images ``(N, 3, 32, 32)`` and int64 labels."""
    try:
        batch = _ArraysOnly(io.BytesIO(path.read_bytes()), encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except FileNotFoundError:
        raise DataError(f"CIFAR-10 batch not found: {path}") from None
    except (OSError, pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a CIFAR-10 python batch ({exc})") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataError(f"{path}: CIFAR-10 data must be (N, 3072) with N labels")
    return data.reshape(-1, 3, 32, 32), labels


def read_npy(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (and labels, -1 if absent) from a .npy or .npz file (no pickles allowed)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"data file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy/.npz file ({exc})") from None
    if isinstance(loaded, np.ndarray):
        images, labels = loaded, None
    else:
        keys = set(loaded.files)
        image_key = next((k for k in ("x", "images") if k in keys), None)
        if image_key is None:
            raise DataError(f"{path}: an .npz needs an 'x' or 'images' array, has {sorted(keys)}")
        label_key = next((k for k in ("y", "labels") if k in keys), None)
        images, labels = loaded[image_key], None if label_key is None else loaded[label_key]
    if labels is None:
        labels = np.full(len(images), -1)
    if len(labels) != len(images):
        raise DataError(f"{path}: {len(images)} images but {len(labels)} labels")
    return images, np.asarray(labels, dtype=np.int64)


def shape_frames(images: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Scale to [0, 1], resize and adapt channels to ``input_shape``; float32 ``(N, *shape)``."""
    x = np.asarray(images)
    if x.ndim == 0 or len(x) == 0:
        raise DataError("no images to use")
    x = x.astype(np.float32) / 255.0 if np.issubdtype(x.dtype, np.integer) else x.astype(np.float32)
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4:
        raise DataError(f"images of shape {images.shape[1:]} are not (H, W), (C, H, W) or "
                        "(H, W, C)")
    flat = len(input_shape) == 1
    channels, side = (1, int(round(np.sqrt(input_shape[0])))) if flat else input_shape[:2]
    if flat and side * side != input_shape[0]:
        raise DataError(f"images cannot feed a flat input of {input_shape[0]} (not a square)")
    if not flat and input_shape[1] != input_shape[2]:
        raise DataError(f"the network input {input_shape} is not square")
    if x.shape[1] != channels:
        x = x.mean(axis=1, keepdims=True) if channels == 1 else np.repeat(
            x.mean(axis=1, keepdims=True), channels, axis=1)
    if x.shape[2:] != (side, side):
        x = F.interpolate(torch.from_numpy(x), size=(side, side), mode="bilinear",
                          align_corners=False).numpy()
    x = np.clip(x, 0.0, 1.0).astype(np.float32)
    return x.reshape(len(x), -1) if flat else x
