"""The part-by-part quantization and decoding equal the whole-array NumPy expressions bit for
bit: ties at .5, zeros, -0.0, subnormals, per layer and per channel, many parts."""

from __future__ import annotations

import numpy as np
import pytest

import canmore_sim.models.graph as graph_module
import canmore_sim.models.quantize as quantize_module
from canmore_sim.models.graph import WeightCodes
from canmore_sim.models.quantize import quantize_array


def _reference(weight: np.ndarray, bits: int, per_channel: bool) -> tuple[np.ndarray, ...]:
    """The straightforward expressions: values, codes (minimum for -0.0) and the scale."""
    top = 2 ** (bits - 1) - 1
    axes = tuple(range(1, weight.ndim)) if per_channel and weight.ndim > 1 else None
    peak = np.max(np.abs(weight), axis=axes, keepdims=axes is not None)
    scale = np.where(peak > 0, peak / top, 1.0)
    q = np.asarray(np.clip(np.rint(weight / scale), -top, top))
    dtype = np.int8 if top <= 127 else np.int16 if top <= 32767 else np.int32
    codes = np.array(q.astype(dtype))
    codes[np.signbit(q) & (q == 0)] = np.iinfo(dtype).min
    return (q * scale).astype(np.float32), codes, np.asarray(scale)


def _awkward(rng: np.random.Generator, shape: tuple[int, ...], bits: int) -> np.ndarray:
    """Random float32 weights with exact ties at level + .5, zeros, -0.0, subnormals, one
    all-zero channel and one of -0.0 and (if it has two or more) one negative value."""
    w = (rng.standard_normal(shape) * rng.uniform(0.01, 3.0, (shape[0],) + (1,) * (len(shape) - 1))
         ).astype(np.float32)
    flat = w.reshape(len(w), -1)
    top = 2 ** (bits - 1) - 1
    peak = np.float32(8.0) * top  # a power of two times L: the scale is exactly 8
    flat[1, 0] = peak
    n = flat.shape[1]
    ties = (rng.integers(-top, top, n) + 0.5).astype(np.float32) * np.float32(8.0)
    flat[1, 1:] = ties[1:]  # exactly at .5 between two levels: rint's half-to-even
    picks = rng.random(flat.shape)
    flat[picks < 0.05] = 0.0
    flat[(picks >= 0.05) & (picks < 0.1)] = -0.0
    flat[(picks >= 0.1) & (picks < 0.12)] = np.float32(-1e-42)  # subnormal
    flat[(picks >= 0.12) & (picks < 0.14)] = np.float32(3e-41)
    flat[0] = 0.0
    flat[2] = -0.0
    if n > 1:
        flat[2, 0] = np.float32(-0.3)
    return w


@pytest.mark.parametrize("chunk", [7, 1 << 16])
@pytest.mark.parametrize("bits", [2, 3, 4, 8, 9, 16, 17])
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("shape", [(9, 5, 3, 3), (13, 40), (6, 1)])
def test_parts_give_the_whole_array_bits(monkeypatch, chunk: int, bits: int, per_channel: bool,
                                         shape: tuple[int, ...]) -> None:
    monkeypatch.setattr(quantize_module, "_CHUNK", chunk)  # one row per part, or all in one
    monkeypatch.setattr(graph_module, "_DECODE_CHUNK", chunk)
    w = _awkward(np.random.default_rng(bits * 31 + len(shape)), shape, bits)
    values, codes, scale = _reference(w, bits, per_channel)
    assert np.any(np.signbit(values) & (values == 0))  # -0.0 is exercised
    got = quantize_array(w, bits, per_channel)
    assert got.dtype == np.float32 and got.tobytes() == values.tobytes()
    compact = quantize_module._codes(w, bits, per_channel)
    assert compact.codes.dtype == codes.dtype and np.array_equal(compact.codes, codes)
    assert compact.scale.dtype == scale.dtype and compact.scale.tobytes() == scale.tobytes()
    assert compact.decode().tobytes() == values.tobytes()
    assert compact.decode(np.float64).tobytes() == values.astype(np.float64).tobytes()


def test_float64_weights_and_non_finite_ones_as_the_whole_array_does() -> None:
    rng = np.random.default_rng(3)
    w64 = rng.standard_normal((5, 7)) * 0.2
    for per_channel in (False, True):
        values, _, _ = _reference(w64.astype(np.float32), 4, per_channel)
        assert quantize_array(w64, 4, per_channel).tobytes() == values.tobytes()
    bad = rng.standard_normal((4, 6)).astype(np.float32)
    bad[1, 2], bad[2, 3] = np.nan, np.inf
    with np.errstate(invalid="ignore"):
        for per_channel in (False, True):
            values, _, _ = _reference(bad, 4, per_channel)
            assert quantize_array(bad, 4, per_channel).tobytes() == values.tobytes()


@pytest.mark.parametrize("value", [0.75, -0.0, -0.01, 0.0])
def test_a_single_value(value: float) -> None:
    w = np.float32(value)
    for per_channel in (False, True):
        values, codes, _ = _reference(np.asarray(w), 4, per_channel)
        got = quantize_array(w, 4, per_channel)
        assert got.shape == () and got.tobytes() == values.tobytes()
        assert np.array_equal(quantize_module._codes(np.asarray(w), 4, per_channel).codes, codes)


def test_empty_weights() -> None:
    empty = np.zeros((0, 3), dtype=np.float32)
    assert quantize_array(empty, 4).shape == (0, 3)
    compact = quantize_module._codes(empty, 4, True)
    assert compact.codes.shape == (0, 3) and compact.decode(np.float64).shape == (0, 3)


@pytest.mark.parametrize("scale", [
    np.asarray(np.float32(0.125)),
    np.asarray(np.float64(0.1)),  # computed in float64, then rounded to float32
    np.asarray(np.float32(0.0)),  # minimum code x 0 is -0.0 anyway
    np.asarray(np.float32(-0.5)),  # negative: multiplying by 0.0 would give +0.0
    np.asarray(np.float32(3e38)),  # the minimum code's product overflows to -inf
    np.asarray(np.float32(np.inf)),
    np.array([[0.5], [1e-45], [2.0]], dtype=np.float32),  # per channel, one subnormal
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the 3e38 scale
def test_decode_equals_the_whole_array_expression(monkeypatch, scale: np.ndarray,
                                                   dtype: type) -> None:
    monkeypatch.setattr(graph_module, "_DECODE_CHUNK", 4)
    codes = np.random.default_rng(1).integers(-128, 128, (3, 9), dtype=np.int8)
    codes[:, :3] = -128
    with np.errstate(over="ignore", invalid="ignore"):
        expected = np.multiply(codes.astype(np.float32), scale).astype(np.float32)
    expected[codes == -128] = -0.0
    got = WeightCodes(codes, scale).decode(dtype)
    assert got.dtype == dtype and got.tobytes() == expected.astype(dtype).tobytes()
