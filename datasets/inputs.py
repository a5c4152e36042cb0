"""Input frames as the network was trained on them: layout, value range, adaptation,
per-channel normalization, and the choice of input encoding.

* **Layout.** Image arrays are ``(N, H, W)``, ``(N, C, H, W)`` or ``(N, H, W, C)``. An
  array whose frame shape equals the network's input in either order is read in that
  order; otherwise the channel axis is the one of size 1..4 (where both ends qualify, the
  one that leaves a square image). An array where neither end can hold the channels
  (``(N, 32, 32, 5)`` for a 3-channel network) is refused, never misread.
* **Value range.** Integer images are 8-bit intensities 0..255 (divided by 255); an
  integer image with values outside 0..255 (16-bit images, negative values) is an error
  naming the file, never silently scaled or wrapped.
* **Adaptation.** Frames whose shape differs from the network's input are an error naming
  both shapes unless adaptation is asked for (``data.adapt: resize``) or the frames are
  the tool's own default data (the bundled digits); an adaptation is described by an
  :class:`Adaptation` record (one line for the terminal, plain data for report.json).
* **Normalization** (``data.normalize``): ``(x - mean) / std`` per channel on intensities
  in [0, 1]; ``cifar10`` holds the official DTA-TTFS code's values.
* **Encoding** (``neuron.input_encoding``): ``ttfs`` (papers/004 Eq. 1) or ``direct``
  (the official code's proxy model: real values straight into layer 1). ``auto`` picks
  ``direct`` with ``cifar10`` normalization for an official-layout state_dict on CIFAR-10
  data, as the official code trains and evaluates it (:func:`resolve_inputs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from canmore_sim.config import ArchConfig, with_overrides
from canmore_sim.errors import ConfigError, DataError

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "DEFAULT_SOURCE", "Adaptation", "InputPlan",
           "Normalization", "adaptation", "channels_first", "check_integer_range",
           "count_inputs", "frame_options", "normalize_frames", "resolve_config_inputs",
           "resolve_inputs", "resolve_normalization"]

#: The official DTA-TTFS code's CIFAR-10 per-channel mean and std (on intensities in [0, 1]).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2023, 0.1994, 0.2010)
_PRESETS = {"cifar10": (CIFAR10_MEAN, CIFAR10_STD)}
#: The tool's own default data: adapted to any network (the headline keeps working).
DEFAULT_SOURCE = "digits"
ENCODINGS = ("ttfs", "direct")


@dataclass(frozen=True)
class Normalization:
    """Per-channel ``(x - mean) / std`` (unitless; on intensities in [0, 1])."""

    name: str
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def describe(self) -> dict[str, Any]:
        """Plain data for reports."""
        return {"name": self.name, "mean": list(self.mean), "std": list(self.std)}


def resolve_normalization(setting: str | Mapping[Any, Any] | None) -> Normalization | None:
    """``data.normalize`` as a :class:`Normalization`, or None for ``none``.

    Raises
    ------
    ConfigError
        For ``auto`` (resolve it with :func:`resolve_inputs` first) or an unknown preset.
    """
    if setting is None or setting == "none":
        return None
    if isinstance(setting, Mapping):
        return Normalization("mean/std", tuple(float(v) for v in setting["mean"]),
                             tuple(float(v) for v in setting["std"]))
    if setting in _PRESETS:
        mean, std = _PRESETS[setting]
        return Normalization(setting, mean, std)
    raise ConfigError(f"data.normalize: {setting!r} is not none, "
                      f"{', '.join(_PRESETS)} or a mean/std mapping", key="data.normalize")


def normalize_frames(frames: np.ndarray, norm: Normalization | None,
                     source: str = "the data") -> np.ndarray:
    """``(frames - mean) / std`` per channel of float ``(N, C, H, W)`` frames (float32).

    Raises
    ------
    DataError
        If the frames' channels differ from the normalization's.
    """
    if norm is None:
        return frames
    if frames.ndim != 4 or frames.shape[1] != len(norm.mean):
        got = frames.shape[1] if frames.ndim == 4 else "flat"
        raise DataError(f"{source}: data.normalize {norm.name} has {len(norm.mean)} channel(s), "
                        f"the frames have {got}", expected=len(norm.mean), got=got)
    mean = np.asarray(norm.mean, dtype=np.float64).reshape(1, -1, 1, 1)
    std = np.asarray(norm.std, dtype=np.float64).reshape(1, -1, 1, 1)
    return ((frames.astype(np.float64) - mean) / std).astype(np.float32)


def check_integer_range(images: np.ndarray, source: str) -> None:
    """Integer images must be 8-bit intensities 0..255 (they are divided by 255).

    Raises
    ------
    DataError
        Naming ``source``, the dtype and the value range found.
    """
    if images.dtype.kind not in "iu" or images.size == 0:
        return
    low, high = int(images.min()), int(images.max())
    if low < 0 or high > 255:
        raise DataError(f"{source}: {images.dtype} images hold values {low}..{high}, outside "
                        "0..255; integer images are read as 8-bit intensities (scale them "
                        "to 0..255, or give floats in [0, 1])", got=(low, high))


def channels_first(images: np.ndarray, input_shape: tuple[int, ...],
                   source: str) -> np.ndarray:
    """``images`` as ``(N, C, H, W)`` (a view; grey ``(N, H, W)`` gets ``C = 1``).

    Raises
    ------
    DataError
        For an array that is not 3-D or 4-D, or whose channel axis cannot be told.
    """
    if images.ndim == 3:
        return images[:, None]
    if images.ndim != 4:
        raise DataError(f"{source}: images of shape {images.shape[1:]} are not (H, W), "
                        "(C, H, W) or (H, W, C)", got=images.shape[1:])
    frame = tuple(images.shape[1:])
    if len(input_shape) == 3 and frame == tuple(input_shape):
        return images
    if len(input_shape) == 3 and frame == (*input_shape[1:], input_shape[0]):
        return images.transpose(0, 3, 1, 2)
    first, last = 1 <= frame[0] <= 4, 1 <= frame[2] <= 4
    if first and last:  # e.g. (3, 4, 4) or (4, 4, 3): the reading that leaves a square image
        first, last = frame[1] == frame[2], frame[0] == frame[1]
    if first != last:
        return images if first else images.transpose(0, 3, 1, 2)
    raise DataError(f"{source}: cannot tell which axis of frames shaped {frame} holds the "
                    "channels (channels-first needs 1..4 channels on the first axis, "
                    "channels-last on the last); reshape the array to (N, C, H, W)",
                    got=frame)


@dataclass(frozen=True)
class Adaptation:
    """What was done to frames to feed the network: resized and/or channels changed.

    ``original`` and ``fed`` are frame shapes ``(C, H, W)`` (or ``(n,)`` flat).
    """

    original: tuple[int, ...]
    fed: tuple[int, ...]
    steps: tuple[str, ...]

    @property
    def adapted(self) -> bool:
        return bool(self.steps)

    def line(self, source: str) -> str:
        """One line for the terminal (empty when nothing was adapted)."""
        if not self.steps:
            return ""
        return (f"{source}: {_shape(self.original)} frames adapted to the network's "
                f"{_shape(self.fed)} input: {'; '.join(self.steps)}")

    def describe(self) -> dict[str, Any]:
        """Plain data for report.json."""
        return {"original_shape": list(self.original), "fed_shape": list(self.fed),
                "adapted": self.adapted, "steps": list(self.steps)}


def _shape(shape: tuple[int, ...]) -> str:
    if len(shape) == 3:
        return f"{shape[1]}x{shape[2]}x{shape[0]}"
    return "x".join(str(d) for d in shape)


def adaptation(frame_shape: tuple[int, ...], input_shape: tuple[int, ...], source: str,
               adapt: str) -> Adaptation:
    """The adaptation from channels-first ``frame_shape`` ``(C, H, W)`` to ``input_shape``.

    Parameters
    ----------
    adapt
        ``data.adapt``: ``none`` refuses any change (except for :data:`DEFAULT_SOURCE`),
        ``resize`` allows a bilinear resize and a channel change.

    Raises
    ------
    DataError
        Shapes that differ under ``adapt: none`` (naming both), or a flat input that
        is not a square image.
    ConfigError
        An unknown ``adapt`` value.
    """
    if adapt not in ("none", "resize"):
        raise ConfigError(f"data.adapt: {adapt!r} is not none or resize", key="data.adapt")
    flat = len(input_shape) == 1
    side = int(round(np.sqrt(input_shape[0]))) if flat else 0
    if flat and side * side != input_shape[0]:
        raise DataError(f"images cannot feed a flat input of {input_shape[0]} (not a square)")
    target = (1, side, side) if flat else tuple(input_shape)
    if target[1] != target[2]:
        raise DataError(f"the network input {input_shape} is not square")
    steps = []
    if frame_shape[1:] != target[1:]:
        steps.append("resized (bilinear)")
    if frame_shape[0] != target[0]:
        steps.append(f"channels {frame_shape[0]} -> {target[0]} "
                     f"({'averaged' if target[0] == 1 else 'mean repeated'})")
    if flat:
        steps.append(f"flattened to {input_shape[0]}")
    shape_changed = frame_shape != target
    if shape_changed and adapt == "none" and source.split(":")[0] != DEFAULT_SOURCE:
        raise DataError(f"{source}: frames of {_shape(frame_shape)} do not fit the network's "
                        f"input {_shape(tuple(input_shape))}; give data of that shape, or set "
                        "data.adapt: resize to resize them and adapt their channels",
                        expected=tuple(input_shape), got=frame_shape)
    if flat and not shape_changed:
        steps = []  # a square image simply laid out flat is not adapted
    return Adaptation(tuple(int(d) for d in frame_shape), tuple(input_shape), tuple(steps))


@dataclass(frozen=True)
class InputPlan:
    """How a run's inputs are prepared: normalization, encoding and why (a note)."""

    normalize: Normalization | None
    encoding: str
    note: str = ""
    chosen_by: str = "configuration"

    def describe(self) -> dict[str, Any]:
        """Plain data for reports."""
        return {"normalization": None if self.normalize is None else self.normalize.describe(),
                "encoding": self.encoding, "chosen_by": self.note or self.chosen_by}


def resolve_inputs(official_layout: bool, data_source: str | None,
                   normalize: str | Mapping[Any, Any] | None, encoding: str) -> InputPlan:
    """``data.normalize`` and ``neuron.input_encoding`` with every ``auto`` resolved.

    An official-layout DTA-TTFS state_dict (``conv.{i}.cnn.weight``,
    ``fc.{i}.linear.weight``) on CIFAR-10 data gets what the official code trains and
    evaluates with: ``cifar10`` normalization and ``direct`` encoding (the plan's note
    says so); anything else gets no normalization and ``ttfs`` encoding.

    Parameters
    ----------
    official_layout
        Whether the network came from an official-layout state_dict.
    data_source
        The ``--data`` source (None: the bundled digits).
    """
    normalize_setting, encoding_setting = normalize, encoding
    cifar = (data_source or DEFAULT_SOURCE).split(":")[0] == "cifar10"
    official = official_layout and cifar
    if encoding not in ("auto", *ENCODINGS):
        raise ConfigError(f"neuron.input_encoding: {encoding!r} is not auto, ttfs or direct",
                          key="neuron.input_encoding")
    chosen = []
    if normalize == "auto":
        normalize = "cifar10" if official else "none"
        if official:
            chosen.append("data.normalize: cifar10")
    if encoding == "auto":
        encoding = "direct" if official else "ttfs"
        if official:
            chosen.append("neuron.input_encoding: direct")
    note = (f"official DTA-TTFS state_dict on CIFAR-10 data: {', '.join(chosen)} (as the "
            "official code trains and evaluates it)" if chosen else "")
    by = ("auto: not an official DTA-TTFS state_dict on CIFAR-10 data" if "auto" in
          (normalize_setting, encoding_setting) and not chosen else "configuration")
    return InputPlan(resolve_normalization(normalize), encoding, note, by)


def count_inputs(frames: np.ndarray) -> dict[str, int]:
    """Positive, negative and zero input values over all ``frames`` (direct encoding:
    the positive ones are the input spikes, the negative ones enter the potential only)."""
    x = np.asarray(frames)
    positive, negative = int(np.count_nonzero(x > 0)), int(np.count_nonzero(x < 0))
    return {"positive": positive, "negative": negative,
            "zero": int(x.size) - positive - negative}


def resolve_config_inputs(config: ArchConfig, official_layout: bool,
                          data_source: str | None) -> tuple[ArchConfig, InputPlan]:
    """``config`` with ``data.normalize`` and ``neuron.input_encoding`` resolved
    (:func:`resolve_inputs`), and the plan (its note says what ``auto`` chose)."""
    plan = resolve_inputs(official_layout, data_source, config.data.normalize,
                          config.neuron.input_encoding)
    resolved: dict[str, Any] = {}
    if config.data.normalize == "auto":
        resolved["data.normalize"] = plan.normalize.name if plan.normalize else "none"
    if config.neuron.input_encoding == "auto":
        resolved["neuron.input_encoding"] = plan.encoding
    return (with_overrides(config, resolved) if resolved else config), plan


def frame_options(config: ArchConfig) -> dict[str, Any]:
    """Keyword arguments of the frame loaders (``adapt``, ``normalize``, ``clip``) for a
    configuration: ``data.adapt``, ``data.normalize`` (``auto``: none) and, under
    ``direct`` encoding, real values left unclipped."""
    setting = config.data.normalize
    return {"adapt": config.data.adapt,
            "normalize": resolve_normalization("none" if setting == "auto" else setting),
            "clip": config.neuron.input_encoding != "direct"}
