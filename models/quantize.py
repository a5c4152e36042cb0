"""Weight quantization to the core's synaptic precision.

Symmetric uniform quantization: with ``b`` bits the integer levels are
``-(2**(b-1) - 1) .. 2**(b-1) - 1`` (so 4 bits gives 15 levels, -7..7, zero
exactly representable), and ``scale = max|w| / (2**(b-1) - 1)`` taken per layer
(``core.quant_scale: layer``, the default) or per output channel / neuron
(``channel``: every channel keeps its own range, at one scale register per channel).
The simulated network then runs on ``round(w / scale) * scale`` (CanMore, papers/004
section 4.4.2; docs/explanation/domain-rules.md, "Hardware mapping": "the simulated network
runs on the quantized weights").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from canmore_sim.errors import ConfigError
from canmore_sim.models.graph import LayerGraph, WeightCodes

__all__ = ["quantize_array", "quantize_graph"]


def quantize_array(weight: np.ndarray, bits: int, per_channel: bool = False) -> np.ndarray:
    """Quantize one weight array to ``bits`` bits (symmetric, per-tensor scale).

    Parameters
    ----------
    weight
        Float weights, any shape.
    bits
        Bits per weight, >= 2 (1-bit symmetric quantization has no non-zero level).
    per_channel
        One scale per output channel (first axis) instead of one per array.

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape holding the de-quantized values.
    """
    if bits < 2:
        raise ConfigError(f"core.weight_bits must be >= 2 for signed weights, got {bits}",
                          key="core.weight_bits", value=bits)
    return _quantize(np.asarray(weight, dtype=np.float32), bits, per_channel)


def _quantize(weight: np.ndarray, bits: int, per_channel: bool = False) -> np.ndarray:
    """float32 ``clip(rint(weight / scale), -L, L) * scale`` with the scale of
    :func:`_scale`, a part at a time (:func:`_each_part`)."""
    if weight.ndim == 0:  # one value: as a 1-element array
        return _quantize(weight.reshape(1), bits, per_channel).reshape(())
    out = np.empty(weight.shape, dtype=np.float32)
    if not weight.size:
        return out
    scale = _scale(weight, bits, per_channel)

    def store(levels: np.ndarray, part: slice, step: np.ndarray) -> None:
        np.multiply(levels, step, out=out[part])  # float32 levels times the float32 scale

    _each_part(weight, bits, scale, store)
    return out


def _top(bits: int) -> int:
    """L, the largest level of ``bits``-bit symmetric quantization."""
    return int(2 ** (bits - 1) - 1)


def _scale(weight: np.ndarray, bits: int, per_channel: bool) -> np.ndarray:
    """``where(peak > 0, peak / L, 1)`` with ``peak = max|weight|`` over the layer (0-d) or
    per output channel (keeping the dimensions), float32 for float32 weights.

    ``max|w|`` is read as ``max(max w, -min w)`` (the same value, exactly), without an
    array of ``|w|``.
    """
    axes = tuple(range(1, weight.ndim)) if per_channel and weight.ndim > 1 else None
    if axes is None:
        peak = np.maximum(np.max(weight), -np.min(weight))
    else:
        rows = weight.reshape(len(weight), -1)
        shape = (len(weight),) + (1,) * (weight.ndim - 1)
        peak = np.maximum(rows.max(axis=1), -rows.min(axis=1)).reshape(shape)
    return np.asarray(np.where(peak > 0, peak / _top(bits), 1.0))


#: Weights quantized per part (elements): the part's float32 buffer stays in the CPU cache.
_CHUNK = 1 << 16

#: The bits of float32 -0.0 read as an int32.
_NEGATIVE_ZERO_BITS = np.array(-0.0, dtype=np.float32).view(np.int32)


def _part_rows(weight: np.ndarray) -> int:
    """Output channels per part of :func:`_each_part` (at least 1, at most all)."""
    return min(len(weight), max(1, _CHUNK // max(1, int(np.prod(weight.shape[1:])))))


def _each_part(weight: np.ndarray, bits: int, scale: np.ndarray,
               store: Callable[[np.ndarray, slice, np.ndarray], None]) -> None:
    """``store(levels, part, scale)`` for consecutive parts (slices of output channels) of
    ``weight``, with ``levels`` the float32 ``clip(rint(weight[part] / scale), -L, L)`` of
    the part in one reused buffer: elementwise the operations (and so the values) of the
    whole-array ``np.clip(np.rint(weight / scale), -L, L)``."""
    top = _top(bits)
    step = _part_rows(weight)
    per_channel = scale.ndim > 0
    buffer = np.empty((step, *weight.shape[1:]), dtype=np.result_type(weight, scale))
    for first in range(0, len(weight), step):
        part = slice(first, first + step)
        part_scale = scale[part] if per_channel else scale
        q = buffer[:len(weight[part])]
        np.divide(weight[part], part_scale, out=q)
        np.rint(q, out=q)
        np.clip(q, -top, top, out=q)
        store(q, part, part_scale)


def _codes(weight: np.ndarray, bits: int, per_channel: bool) -> WeightCodes:
    """The compact form of ``_quantize``: the levels as the smallest signed integers that
    hold them, and the scale (the same values once decoded, see :class:`WeightCodes`)."""
    if weight.ndim == 0:  # one value: as a 1-element array
        one = _codes(weight.reshape(1), bits, per_channel)
        return WeightCodes(one.codes.reshape(()), one.scale)
    levels = _top(bits)
    dtype = np.int8 if levels <= 127 else np.int16 if levels <= 32767 else np.int32
    codes = np.empty(weight.shape, dtype=dtype)
    if not weight.size:
        return WeightCodes(codes, np.ones(()))
    scale = _scale(weight, bits, per_channel)
    # a negative weight that rounds to level 0 is -0.0 in the float32 weights: it gets the
    # integer type's minimum, which no level uses (levels are symmetric), so it decodes to
    # -0.0 again, bit for bit. Its code is 0 after the cast, so adding minimum x mask sets
    # it (a masked copy is 50x slower on a mask this irregular).
    minimum = dtype(np.iinfo(dtype).min)
    mask = np.empty((_part_rows(weight), *weight.shape[1:]), dtype=bool)
    offset = np.empty(mask.shape, dtype=dtype)

    def store(q: np.ndarray, part: slice, _: np.ndarray) -> None:
        target = codes[part]
        target[...] = q  # the cast of q.astype(dtype)
        negative_zero, add = mask[:len(q)], offset[:len(q)]
        if q.dtype == np.float32:  # -0.0 is the one float32 with these bits
            np.equal(q.view(np.int32), _NEGATIVE_ZERO_BITS, out=negative_zero)
        else:
            np.logical_and(np.signbit(q), q == 0, out=negative_zero)
        np.multiply(negative_zero, minimum, out=add)
        np.add(target, add, out=target)

    _each_part(weight, bits, scale, store)
    return WeightCodes(codes, scale)


def quantize_graph(graph: LayerGraph, bits: int, per_channel: bool = False, *,
                   compact: bool = False) -> LayerGraph:
    """Every layer of ``graph`` quantized to ``bits`` bits (``meta['weight_bits']`` set).

    With ``compact``, each layer holds its weights as integer codes and a scale
    (:attr:`Layer.codes`; read the values with :meth:`Layer.weight_values`): a quarter of
    the memory at 4 bits, the same values.
    """
    if bits < 2:
        raise ConfigError(f"core.weight_bits must be >= 2 for signed weights, got {bits}",
                          key="core.weight_bits", value=bits)
    if compact:
        layers = tuple(layer.with_codes(_codes(layer.weight, bits, per_channel))
                       for layer in graph.layers)
    else:
        layers = tuple(layer.with_weight(_quantize(layer.weight, bits, per_channel))
                       for layer in graph.layers)
    return graph.with_layers(layers, weight_bits=bits,
                             quant_scale="channel" if per_channel else "layer")
