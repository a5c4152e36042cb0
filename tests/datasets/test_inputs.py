"""Inputs as the network was trained on them: layout, value range, adaptation, normalization."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from canmore_sim.datasets.inputs import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    count_inputs,
    resolve_inputs,
    resolve_normalization,
)
from canmore_sim.datasets.readers import load_frames, select_frames
from canmore_sim.datasets.shaping import frames_adaptation, shape_frames
from canmore_sim.errors import CanmoreWarning, ConfigError, DataError

RNG = np.random.default_rng(7)


def _npz(tmp_path: Path, images: np.ndarray, name: str = "x.npz") -> str:
    np.savez(tmp_path / name, x=images, y=np.arange(len(images)) % 10)
    return f"npz:{tmp_path / name}"


def test_channels_last_is_recognised(tmp_path) -> None:
    cf = RNG.integers(0, 256, (3, 3, 16, 16)).astype(np.uint8)
    cl = cf.transpose(0, 2, 3, 1).copy()
    a, _, _ = load_frames(_npz(tmp_path, cf, "cf.npz"), (3, 16, 16), 3, adapt="none")
    b, _, _ = load_frames(_npz(tmp_path, cl, "cl.npz"), (3, 16, 16), 3, adapt="none")
    assert np.array_equal(a, b)
    five = RNG.random((2, 8, 8, 5)).astype(np.float32)  # a 5-channel network, channels-last
    c, _, ids = load_frames(_npz(tmp_path, five, "five.npz"), (5, 8, 8), 2, adapt="none")
    assert np.array_equal(c, five.transpose(0, 3, 1, 2)[ids])


def test_channels_that_cannot_be_told_are_refused_not_misread(tmp_path) -> None:
    data = _npz(tmp_path, RNG.random((2, 32, 32, 5)).astype(np.float32))
    with pytest.raises(DataError, match=r"x\.npz.*\(32, 32, 5\).*channels"):
        load_frames(data, (3, 32, 32), 2, adapt="resize")


def test_other_shape_is_an_error_naming_both_unless_adapt(tmp_path) -> None:
    data = _npz(tmp_path, RNG.integers(0, 256, (4, 64, 64, 3)).astype(np.uint8))
    with pytest.raises(DataError, match=r"x\.npz: frames of 64x64x3 .* input 32x32x3"):
        select_frames(data, (3, 32, 32), 2, adapt="none")
    frames, _, _ = load_frames(data, (3, 32, 32), 2, adapt="resize")
    assert frames.shape == (2, 3, 32, 32)
    plan = frames_adaptation(np.zeros((1, 64, 64, 3), np.uint8), (1, 28, 28), data, "resize")
    assert plan.describe() == {"original_shape": [3, 64, 64], "fed_shape": [1, 28, 28],
                               "adapted": True,
                               "steps": ["resized (bilinear)",
                                         "channels 3 -> 1 (averaged)"]}
    assert plan.line(data).startswith(f"{data}: 64x64x3 frames adapted to the network's "
                                      "28x28x1 input: resized (bilinear)")


def test_the_bundled_digits_are_adapted_to_any_network_and_say_so() -> None:
    frames, _, _ = load_frames(None, (3, 32, 32), 2, adapt="none")
    assert frames.shape == (2, 3, 32, 32)
    plan = frames_adaptation(np.zeros((1, 1, 8, 8)), (3, 32, 32), "digits", "none")
    assert plan.adapted and "channels 1 -> 3 (mean repeated)" in plan.steps


@pytest.mark.parametrize(("images", "words"), [
    (np.full((2, 8, 8), 4000, dtype=np.uint16), r"uint16 images hold values 4000\.\.4000"),
    (np.full((2, 8, 8), -3, dtype=np.int32), r"int32 images hold values -3\.\.-3"),
    (np.full((2, 8, 8), 300, dtype=np.int64), r"int64 .* outside 0\.\.255"),
])
def test_integer_images_outside_0_255_are_errors_naming_the_file(tmp_path, images,
                                                                 words) -> None:
    with pytest.raises(DataError, match=r"x\.npz: " + words):
        load_frames(_npz(tmp_path, images), (1, 8, 8), 2)


def test_uint16_within_0_255_is_read_as_8_bit(tmp_path) -> None:
    images = RNG.integers(0, 256, (2, 8, 8)).astype(np.uint16)
    frames, _, ids = load_frames(_npz(tmp_path, images), (1, 8, 8), 2, adapt="none")
    np.testing.assert_allclose(frames[:, 0], images[ids] / 255.0, rtol=1e-6)


def test_cifar_batch_with_values_above_255_does_not_wrap(tmp_path) -> None:
    data = RNG.integers(0, 256, (3, 3072)).astype(np.int32)
    data[1, 5] = 300  # would wrap to 44 as uint8
    with open(tmp_path / "test_batch", "wb") as handle:
        pickle.dump({b"data": data, b"labels": [1, 2, 3]}, handle, protocol=2)
    with pytest.raises(DataError, match=r"test_batch: int32 images hold values 0\.\.300"):
        load_frames(f"cifar10:{tmp_path}", (3, 32, 32), 3)


def test_cifar10_normalization_is_the_official_one(tmp_path) -> None:
    data = RNG.integers(0, 256, (4, 3072)).astype(np.uint8)
    with open(tmp_path / "test_batch", "wb") as handle:
        pickle.dump({b"data": data, b"labels": [1, 2, 3, 4]}, handle, protocol=2)
    norm = resolve_normalization("cifar10")
    frames, _, ids = load_frames(f"cifar10:{tmp_path}", (3, 32, 32), 4, adapt="none",
                                 normalize=norm, clip=False)
    images = data[ids].reshape(-1, 3, 32, 32) / 255.0  # torchvision ToTensor + Normalize
    expected = (images - np.reshape(CIFAR10_MEAN, (1, 3, 1, 1))) / np.reshape(CIFAR10_STD,
                                                                              (1, 3, 1, 1))
    np.testing.assert_allclose(frames, expected, rtol=1e-5, atol=1e-6)
    counts = count_inputs(frames)
    assert counts["negative"] > 0 and counts["positive"] > 0
    assert sum(counts.values()) == frames.size
    with pytest.raises(DataError, match="3 channel.*the frames have 1"):
        shape_frames(np.zeros((1, 8, 8)), (1, 8, 8), normalize=norm)


def test_real_values_pass_unclipped_without_normalization() -> None:
    values = np.linspace(-2.0, 2.5, 64).reshape(1, 1, 8, 8).astype(np.float32)
    assert np.array_equal(shape_frames(values, (1, 8, 8), adapt="none", clip=False), values)
    with pytest.warns(CanmoreWarning, match="49 of 64 float image values lie outside"):
        clipped = shape_frames(values, (1, 8, 8), adapt="none", clip=True)
    assert clipped.min() == 0.0 and clipped.max() == 1.0


def test_official_state_dict_on_cifar_gets_direct_and_cifar10_and_says_so() -> None:
    plan = resolve_inputs(True, "cifar10:/data", "auto", "auto")
    assert plan.encoding == "direct" and plan.normalize is not None
    assert plan.normalize.name == "cifar10" and "official DTA-TTFS state_dict" in plan.note
    assert resolve_inputs(True, None, "auto", "auto").encoding == "ttfs"
    assert resolve_inputs(False, "cifar10:/d", "auto", "auto").normalize is None
    explicit = resolve_inputs(True, "cifar10:/d", "none", "ttfs")
    assert explicit.normalize is None and explicit.encoding == "ttfs" and explicit.note == ""
    mixed = resolve_inputs(True, "cifar10:/d", {"mean": [0.5], "std": [0.25]}, "auto")
    assert mixed.normalize is not None and mixed.normalize.mean == (0.5,)
    assert mixed.note.endswith("neuron.input_encoding: direct (as the official code trains "
                               "and evaluates it)")
    with pytest.raises(ConfigError, match="neuron.input_encoding"):
        resolve_inputs(False, None, "none", "rate")


def test_selection_says_how_frames_will_be_adapted_and_checks_the_normalization(
        tmp_path) -> None:
    from canmore_sim.datasets.readers import select_frames_adapted

    data = _npz(tmp_path, RNG.integers(0, 256, (4, 16, 16)).astype(np.uint8))
    labels, ids, plan = select_frames_adapted(data, (3, 32, 32), 2, adapt="resize")
    assert len(ids) == 2 and plan.adapted and plan.original == (1, 16, 16)
    with pytest.raises(DataError, match="cifar10 has 3 channel.*input has 1"):
        select_frames_adapted(data, (1, 16, 16), 2, adapt="none",
                              normalize=resolve_normalization("cifar10"))
