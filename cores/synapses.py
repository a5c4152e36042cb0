"""A layer's weighted input sums, the same for a frame whatever batch it is computed in.

A BLAS matrix product may choose its kernel by the number of rows: with MKL on AVX-512, a
product of fewer than 16 rows takes another path than a larger one and its sums differ in
the last bit. A frame's spikes must not depend on how many frames share its batch (a run
over chunks of frames equals one over all of them, bit for bit), so dense layers multiply
in blocks of exactly :data:`ROW_BLOCK` rows, the last one padded with zeros: every row is
then computed by the same kernel on the same shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from canmore_sim.models.graph import Layer

__all__ = ["ROW_BLOCK", "apply_weights", "dense_rows"]

#: Rows per matrix product of a dense layer (any batch is cut or padded to it).
ROW_BLOCK = 32


def dense_rows(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x @ weight.T`` in blocks of :data:`ROW_BLOCK` rows (differentiable).

    Parameters
    ----------
    x
        ``(N, fan_in)`` inputs.
    weight
        ``(fan_out, fan_in)`` weights.

    Returns
    -------
    torch.Tensor
        ``(N, fan_out)``; row ``i`` depends only on ``x[i]`` and ``weight``.
    """
    n = x.shape[0]
    pad = (-n) % ROW_BLOCK
    if pad:
        x = torch.cat([x, x.new_zeros((pad, *x.shape[1:]))])
    blocks = [x[lo:lo + ROW_BLOCK] @ weight.T for lo in range(0, n + pad, ROW_BLOCK)]
    out = blocks[0] if len(blocks) == 1 else torch.cat(blocks)
    return out[:n]


def apply_weights(layer: Layer, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The layer's synaptic sums of ``x``: a convolution, or a dense product by rows.

    Parameters
    ----------
    layer
        The layer (its kind, stride and padding).
    x
        ``(N, C, H, W)`` for a conv layer, ``(N, ...)`` (flattened here) for a dense one.
    weight
        The layer's weight tensor, in ``x``'s dtype.
    """
    if layer.kind == "conv":
        return F.conv2d(x, weight, stride=layer.stride, padding=layer.padding)
    return dense_rows(x.flatten(1), weight)
