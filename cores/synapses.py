"""A layer's weighted input sums, the same for a frame whatever batch it is computed in
and however many threads the machine gives torch.

A BLAS matrix product may choose its kernel by the number of rows: with MKL on AVX-512, a
product of fewer than 16 rows takes another path than a larger one and its sums differ in
the last bit. A frame's spikes must not depend on how many frames share its batch (a run
over chunks of frames equals one over all of them, bit for bit), so dense layers multiply
in blocks of exactly :data:`ROW_BLOCK` rows, the last one padded with zeros: every row is
then computed by the same kernel on the same shape.

Nor may they depend on the number of threads: split over threads, a dense product of 4096
inputs, or a convolution of 256 input channels on a single frame, sums in another order
(measured: 1 and 2 threads differ in the last bit, so a run in one process differed from
the same run on worker processes, which use one thread). Every weighted sum is therefore
computed on one intra-op thread (:func:`one_thread`); the workers of a run supply the
parallelism.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from canmore_sim.models.graph import Layer

__all__ = ["ROW_BLOCK", "apply_weights", "dense_rows", "one_thread"]

#: Rows per matrix product of a dense layer (any batch is cut or padded to it).
ROW_BLOCK = 32


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch's operators on one intra-op thread inside the block (the setting before
    is restored after it)."""
    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
        ``(N, fan_out)``; row ``i`` depends only on ``x[i]`` and ``weight``, not on the
        batch nor on the threads torch may use.
    """
    n = x.shape[0]
    pad = (-n) % ROW_BLOCK
    if pad:
        x = torch.cat([x, x.new_zeros((pad, *x.shape[1:]))])
    with one_thread():
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
        with one_thread():
            return F.conv2d(x, weight, stride=layer.stride, padding=layer.padding)
    return dense_rows(x.flatten(1), weight)
