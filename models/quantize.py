"""Weight quantization to the core's synaptic precision.

Symmetric uniform quantization: with ``b`` bits the integer levels are
``-(2**(b-1) - 1) .. 2**(b-1) - 1`` (so 4 bits gives 15 levels, -7..7, zero
exactly representable), and ``scale = max|w| / (2**(b-1) - 1)`` taken per layer
(``core.quant_scale: layer``, the default) or per output channel / neuron
(``channel``: every channel keeps its own range, at one scale register per channel).
The simulated network then runs on ``round(w / scale) * scale`` (DESIGN.md:
"the simulated network runs on the quantized weights").
"""

from __future__ import annotations

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
    q, scale = _levels(weight, bits, per_channel)
    if q is weight:  # empty
        return weight.copy()
    np.multiply(q, scale, out=q)
    return q.astype(np.float32, copy=False)


def _levels(weight: np.ndarray, bits: int, per_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    """float32 integer levels ``clip(rint(weight / scale), -L, L)`` and the scale
    (``weight`` itself and 1 for an empty array)."""
    levels = 2 ** (bits - 1) - 1
    if not weight.size:
        return weight, np.ones(())
    axes = tuple(range(1, weight.ndim)) if per_channel and weight.ndim > 1 else None
    peak = np.max(np.abs(weight), axis=axes, keepdims=axes is not None)
    scale = np.where(peak > 0, peak / levels, 1.0)
    # in place on one float32 array: the values of
    # (clip(rint(weight / scale), -levels, levels) * scale).astype(float32) without its
    # four temporaries (a VGG16 dense layer is 64 MiB)
    q = np.divide(weight, scale)
    np.rint(q, out=q)
    np.clip(q, -levels, levels, out=q)
    return q, scale


def _codes(weight: np.ndarray, bits: int, per_channel: bool) -> WeightCodes:
    """The compact form of ``_quantize``: the levels as the smallest signed integers that
    hold them, and the scale (the same values once decoded, see :class:`WeightCodes`)."""
    q, scale = _levels(weight, bits, per_channel)
    levels = 2 ** (bits - 1) - 1
    dtype = np.int8 if levels <= 127 else np.int16 if levels <= 32767 else np.int32
    codes = q.astype(dtype)
    # a negative weight that rounds to level 0 is -0.0 in the float32 weights: it gets the
    # integer type's minimum, which no level uses (levels are symmetric), so it decodes to
    # -0.0 again, bit for bit
    codes[np.signbit(q) & (q == 0)] = np.iinfo(dtype).min
    return WeightCodes(codes, np.asarray(scale))


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
