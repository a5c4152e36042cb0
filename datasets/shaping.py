"""Image arrays checked and shaped into the frames a network takes (rules: :mod:`.inputs`)."""

from __future__ import annotations

import warnings

import numpy as np

from canmore_sim.datasets.inputs import (
    Adaptation,
    Normalization,
    adaptation,
    channels_first,
    check_integer_range,
    normalize_frames,
)
from canmore_sim.errors import CanmoreWarning, DataError

__all__ = ["check_images", "frames_adaptation", "shape_frames"]


def check_images(images: np.ndarray, source: str = "the data", *,
                 warn_outside: bool = True) -> np.ndarray:
    """``images`` as an array, checked: real, finite numbers, integers within 0..255; with
    ``warn_outside``, float values outside [0, 1] give one
    :class:`~canmore_sim.errors.CanmoreWarning` saying how many (they are clipped by
    :func:`shape_frames`).

    Raises
    ------
    DataError
        No images, images that are not finite real numbers, or integer images with
        values outside 0..255 (naming ``source``).
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
    check_integer_range(x, source)
    if x.dtype.kind == "f" and warn_outside:
        outside = int(np.count_nonzero((x < 0) | (x > 1)))
        if outside:
            warnings.warn(f"{source}: {outside:,} of {x.size:,} float image values lie outside "
                          "[0, 1] and were clipped (float images are intensities in [0, 1])",
                          CanmoreWarning, stacklevel=2)
    return x


def frames_adaptation(images: np.ndarray, input_shape: tuple[int, ...], source: str,
                      adapt: str = "none") -> Adaptation:
    """What :func:`shape_frames` does to ``images`` to feed ``input_shape`` (checked first).

    Raises
    ------
    DataError
        As for :func:`~canmore_sim.datasets.inputs.adaptation` and
        :func:`~canmore_sim.datasets.inputs.channels_first`.
    """
    layout = channels_first(np.asarray(images)[:1], input_shape, source)
    return adaptation(tuple(layout.shape[1:]), input_shape, source, adapt)


def shape_frames(images: np.ndarray, input_shape: tuple[int, ...],
                 source: str = "the data", *, adapt: str = "none",
                 normalize: Normalization | None = None, clip: bool = True) -> np.ndarray:
    """Scale to [0, 1], adapt to ``input_shape``, normalize; float32 ``(N, *shape)``.

    Parameters
    ----------
    adapt
        ``data.adapt``: ``none`` refuses frames of another shape (except the bundled
        digits), ``resize`` resizes them (bilinear) and adapts their channels.
    normalize
        Per-channel normalization applied last, or None.
    clip
        Clip float values to [0, 1] (with a warning saying how many were outside); off
        for real-valued inputs fed as they are (``direct`` encoding, no normalization).

    Raises
    ------
    DataError
        No images, images that are not real numbers (text, complex, objects) or that
        hold NaN or infinite values, integers outside 0..255, a layout whose channels
        cannot be told, or a shape that cannot (or may not) feed ``input_shape``.
    """
    import torch  # only to resize: naming the readers needs no torch
    import torch.nn.functional as F

    raw = check_images(images, source, warn_outside=clip or normalize is not None)
    plan = frames_adaptation(raw, input_shape, source, adapt)
    x = channels_first(raw, input_shape, source)
    x = x.astype(np.float32) / 255.0 if x.dtype.kind in "iu" else x.astype(np.float32)
    flat = len(input_shape) == 1
    channels, side = (1, int(round(np.sqrt(input_shape[0])))) if flat else plan.fed[:2]
    if x.shape[1] != channels:
        x = x.mean(axis=1, keepdims=True) if channels == 1 else np.repeat(
            x.mean(axis=1, keepdims=True), channels, axis=1)
    if x.shape[2:] != (side, side):
        x = F.interpolate(torch.from_numpy(x), size=(side, side),
                          mode="bilinear", align_corners=False).numpy()
    if clip or normalize is not None:
        x = np.clip(x, 0.0, 1.0)
    x = normalize_frames(x.astype(np.float32), normalize, source)
    return x.reshape(len(x), -1) if flat else x


def _kind_name(dtype: np.dtype) -> str:
    return {"c": "complex numbers", "U": "text", "S": "bytes", "O": "Python objects",
            "M": "dates", "m": "time spans", "V": "records"}.get(dtype.kind, "not numbers")
