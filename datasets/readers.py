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
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.datasets.arrays import NpzArrays, is_npz, open_npz, open_regular
from canmore_sim.datasets.arrays import read_npy as read_npy_array
from canmore_sim.datasets.digits import load_digits_frames
from canmore_sim.errors import CanmoreWarning, DataError

__all__ = ["MAX_FRAME_VALUES", "READERS", "check_images", "load_frames", "load_selected",
           "read_split", "reader_usage", "select_frames", "shape_frames",
           "read_idx", "read_cifar10_batch", "read_npy"]


#: Default bound on the input values of all frames of a run (``limits.max_frame_values``).
MAX_FRAME_VALUES = 1 << 27
#: Largest image array read from a file, values (1 GiB of bytes).
MAX_IMAGE_VALUES = 1 << 30


def load_frames(source: str | None, input_shape: tuple[int, ...], n_frames: int | None,
                seed: int = 0, split: str = "test", *,
                max_values: int = MAX_FRAME_VALUES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames, labels (-1 when unknown) and their indices in the data set.

    Parameters
    ----------
    source
        ``--data`` (see the module docstring); None is ``digits``.
    input_shape
        The network's input, ``(C, H, W)`` or ``(N,)``.
    n_frames
        Frames to select (by ``seed``); None for all. Asking for more than the data
        holds gives all of them and a :class:`~canmore_sim.errors.CanmoreWarning`.
    split
        ``"test"`` (held-out: digits test split, ``t10k-*`` IDX files, CIFAR ``test_batch``)
        or ``"train"`` (digits train split, ``train-*`` IDX files, CIFAR ``data_batch_1..5``);
        .npy/.npz files have no splits.
    max_values
        Most input values of all selected frames together (frames x H x W x C), checked
        before anything is resized (``limits.max_frame_values``).

    Raises
    ------
    DataError
        Unknown source or split, missing or corrupt file, images that are not finite
        real numbers, labels that are not class indices, as many labels as images, or
        frames that cannot be shaped or would exceed ``max_values``.
    """
    labels, order, images = _selection(source, input_shape, n_frames, seed, split, max_values)
    return shape_frames(images[order], input_shape, source or "digits"), labels[order], order


def select_frames(source: str | None, input_shape: tuple[int, ...], n_frames: int | None,
                  seed: int = 0, split: str = "test", *,
                  max_values: int = MAX_FRAME_VALUES) -> tuple[np.ndarray, np.ndarray]:
    """The labels and data-set indices :func:`load_frames` would return, without the frames.

    The selected images are checked (and warned about) as :func:`load_frames` does;
    :func:`load_selected` then loads any part of the selection. Parameters and errors
    as for :func:`load_frames`.
    """
    labels, order, images = _selection(source, input_shape, n_frames, seed, split, max_values)
    check_images(images[order], source or "digits")
    return labels[order], order


def load_selected(source: str | None, input_shape: tuple[int, ...], indices: np.ndarray,
                  split: str = "test", *,
                  images: tuple[np.ndarray, np.ndarray] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Frames and labels of the data-set ``indices`` (a part of a :func:`select_frames`
    selection), frame for frame equal to :func:`load_frames`'s.

    ``images``: the ``(images, labels)`` of the whole split when already read
    (:func:`read_split`). Warnings about the images are not repeated here.
    """
    images_all, labels_all = read_split(source, input_shape, split) if images is None else images
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CanmoreWarning)
        frames = shape_frames(images_all[indices], input_shape, source or "digits")
    return frames, labels_all[indices]


def read_split(source: str | None, input_shape: tuple[int, ...],
               split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Every image (as stored) and label of a split; errors as for :func:`load_frames`."""
    if split not in ("test", "train"):
        raise DataError(f"unknown split {split!r}; valid: test, train")
    name = source or "digits"
    images, labels = _read(name, input_shape, split)
    if len(labels) != len(images):
        raise DataError(f"--data {name}: {len(images):,} images but {len(labels):,} labels; "
                        "every image needs its label")
    return images, labels


def _selection(source: str | None, input_shape: tuple[int, ...], n_frames: int | None,
               seed: int, split: str,
               max_values: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(all labels, selected indices, all images) of a split."""
    if split not in ("test", "train"):
        raise DataError(f"unknown split {split!r}; valid: test, train")
    if n_frames is not None and n_frames < 1:
        raise DataError(f"frames: need at least one frame, got {n_frames}")
    per_frame = int(np.prod(input_shape, dtype=object))
    name = source or "digits"
    images, labels = read_split(source, input_shape, split)
    if n_frames is not None and n_frames > len(images):
        warnings.warn(f"asked for {n_frames:,} frames but --data {name} ({split} split) holds "
                      f"{len(images):,}; simulating all {len(images):,}", CanmoreWarning,
                      stacklevel=3)
    order = np.random.default_rng(seed).permutation(len(images))[:n_frames]
    _check_values(len(order), per_frame, input_shape, max_values)
    return labels, order, images


def _check_values(n: int, per_frame: int, input_shape: tuple[int, ...], limit: int) -> None:
    if n * per_frame > limit:
        shape = "x".join(str(d) for d in (*input_shape[1:], input_shape[0])) \
            if len(input_shape) == 3 else str(input_shape[0])
        raise DataError(f"{n:,} frames of a {shape} input are {n * per_frame:,} values, more "
                        f"than limits.max_frame_values = {limit:,} (use fewer frames, or raise "
                        "limits.max_frame_values)", needed=n * per_frame, available=limit)


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


def _digits(_where: str, _shape: tuple[int, ...],
            split: str) -> tuple[np.ndarray, np.ndarray]:
    return load_digits_frames(split, size=8)  # 8x8 here; shape_frames resizes the selected frames


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
    images = read_idx(_idx(path, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_idx(path, f"{prefix}-labels-idx1-ubyte"))
    if labels.ndim != 1:
        raise DataError(f"{path}: the labels IDX file holds shape {labels.shape}, expected "
                        "one label per image")
    return images, labels.astype(np.int64)


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
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unzipped:
                raw = unzipped.read(MAX_IMAGE_VALUES + 1024 + 1)
            if len(raw) > MAX_IMAGE_VALUES + 1024:
                raise DataError(f"{path}: unzips to more than {MAX_IMAGE_VALUES:,} values")
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    except (OSError, struct.error, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: not a readable IDX file ({exc})") from None
    if zero != 0 or dtype_code != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (magic {zero:#x}/{dtype_code:#x})")
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims, dtype=object)):
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
    """Images (and labels, -1 if absent) from a .npy or .npz file (no pickles allowed).

    Each array's declared shape is checked against the file's size and
    :data:`MAX_IMAGE_VALUES` before it is allocated (:mod:`canmore_sim.datasets.arrays`).
    """
    with open_regular(path, str(path)) as handle:
        npz = is_npz(handle)
    if not npz:
        images, labels = read_npy_array(path, max_values=MAX_IMAGE_VALUES), None
    else:
        with open_npz(path, max_values=MAX_IMAGE_VALUES) as members:
            images, labels = _npz_arrays(path, members)
    if images.ndim == 0:
        raise DataError(f"{path}: holds a single value, not an array of images")
    if labels is None:
        return images, np.full(len(images), -1, dtype=np.int64)
    if len(labels) != len(images):
        raise DataError(f"{path}: {len(images)} images but {len(labels)} labels")
    return images, _class_labels(labels, path)


def _npz_arrays(path: Path, members: NpzArrays) -> tuple[np.ndarray, np.ndarray | None]:
    keys = set(members.keys)
    image_key = next((k for k in ("x", "images") if k in keys), None)
    if image_key is None:
        raise DataError(f"{path}: an .npz needs an 'x' or 'images' array, has {sorted(keys)}")
    label_key = next((k for k in ("y", "labels") if k in keys), None)
    return members.read(image_key), None if label_key is None else members.read(label_key)


def _class_labels(labels: np.ndarray, path: Path) -> np.ndarray:
    """Labels as int64 class indices >= 0; NaN, fractions, negatives and text are errors."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise DataError(f"{path}: labels have shape {labels.shape}, expected one per image")
    if labels.dtype.kind not in "iuf":
        raise DataError(f"{path}: labels must be integers, got {labels.dtype} values")
    if labels.dtype.kind == "f":
        bad = ~np.isfinite(labels) | (labels != np.round(labels))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path}: label {i} is {labels[i]}, not a class index "
                            f"({int(bad.sum())} such labels)")
    if len(labels) and labels.min() < 0:
        i = int(np.argmin(labels))
        raise DataError(f"{path}: label {i} is {labels[i]}; class indices start at 0")
    return labels.astype(np.int64)


def check_images(images: np.ndarray, source: str = "the data") -> np.ndarray:
    """``images`` as an array, checked: real, finite numbers; float values outside [0, 1]
    give one :class:`~canmore_sim.errors.CanmoreWarning` saying how many (they are clipped
    by :func:`shape_frames`).

    Raises
    ------
    DataError
        No images, or images that are not finite real numbers.
    """
    x = np.asarray(images)
    if x.ndim == 0 or len(x) == 0:
        raise DataError("no images to use")
    if x.dtype.kind not in "biuf":
        raise DataError(f"{source}: images must be real numbers, got {x.dtype} values "
                        f"({_kind_name(x.dtype)})")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = ~np.isfinite(x)
        raise DataError(f"{source}: {int(bad.sum()):,} image values are NaN or infinite (the "
                        f"first in frame {int(np.argwhere(bad)[0][0])}); images must be finite")
    if x.dtype.kind == "f":
        outside = int(np.count_nonzero((x < 0) | (x > 1)))
        if outside:
            warnings.warn(f"{source}: {outside:,} of {x.size:,} float image values lie outside "
                          "[0, 1] and were clipped (float images are intensities in [0, 1])",
                          CanmoreWarning, stacklevel=2)
    return x


def shape_frames(images: np.ndarray, input_shape: tuple[int, ...],
                 source: str = "the data") -> np.ndarray:
    """Scale to [0, 1], resize and adapt channels to ``input_shape``; float32 ``(N, *shape)``.

    Float values outside [0, 1] are clipped, with a
    :class:`~canmore_sim.errors.CanmoreWarning` saying how many.

    Raises
    ------
    DataError
        No images, images that are not real numbers (text, complex, objects) or that
        hold NaN or infinite values, or a shape that cannot feed ``input_shape``.
    """
    import torch  # only to resize: naming the readers needs no torch
    import torch.nn.functional as F

    x = check_images(images, source)
    x = x.astype(np.float32) / 255.0 if x.dtype.kind in "iu" else x.astype(np.float32)
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


def _kind_name(dtype: np.dtype) -> str:
    return {"c": "complex numbers", "U": "text", "S": "bytes", "O": "Python objects",
            "M": "dates", "m": "time spans", "V": "records"}.get(dtype.kind, "not numbers")
