from __future__ import annotations

import numpy as np
import pytest
import torch

from canmore_sim.cores.synapses import ROW_BLOCK, apply_weights, dense_rows
from canmore_sim.models.graph import Layer


def test_a_row_of_a_dense_product_does_not_depend_on_its_batch() -> None:
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(100, 256, generator=gen, dtype=torch.float64)
    x = torch.randn(3 * ROW_BLOCK + 5, 256, generator=gen, dtype=torch.float64)
    whole = dense_rows(x, weight)
    for n in range(1, len(x) + 1):
        assert torch.equal(dense_rows(x[:n], weight), whole[:n]), n
        assert torch.equal(dense_rows(x[n - 1:n], weight), whole[n - 1:n]), n
    assert torch.allclose(whole, x @ weight.T, rtol=0, atol=1e-12)


def test_dense_rows_keeps_gradients_and_apply_weights_flattens() -> None:
    weight = torch.ones((3, 8), dtype=torch.float64, requires_grad=True)
    x = torch.arange(16, dtype=torch.float64).reshape(2, 2, 2, 2)
    layer = Layer("fc", "linear", np.ones((3, 8), dtype=np.float32), (8,))
    out = apply_weights(layer, x, weight)
    assert out.shape == (2, 3) and out[:, 0].tolist() == [28.0, 92.0]
    out.sum().backward()
    assert weight.grad is not None and weight.grad[0].tolist() == (x[0] + x[1]).flatten().tolist()


@pytest.mark.parametrize("threads", [2, 4])
def test_weighted_sums_do_not_depend_on_the_threads_torch_may_use(threads: int) -> None:
    """Shapes whose sums differ in the last bit between 1 and 2 threads when torch splits
    them (measured on this machine: a single frame's 256-channel convolution, a 4096-input
    dense product): computed on one thread, whatever the setting outside."""
    gen = torch.Generator().manual_seed(3)
    conv_weight = torch.randn(64, 256, 3, 3, generator=gen)
    conv = Layer("c", "conv", conv_weight.numpy(), (256, 8, 8), padding=1)
    cases = [(conv, torch.randn(1, 256, 8, 8, generator=gen), conv_weight),
             (None, torch.randn(5, 4096, generator=gen), torch.randn(100, 4096, generator=gen))]
    before = torch.get_num_threads()
    try:
        for layer, x, weight in cases:
            torch.set_num_threads(1)
            one = dense_rows(x, weight) if layer is None else apply_weights(layer, x, weight)
            torch.set_num_threads(threads)
            many = dense_rows(x, weight) if layer is None else apply_weights(layer, x, weight)
            assert torch.equal(one, many)
            assert torch.get_num_threads() == threads  # the caller's setting is kept
    finally:
        torch.set_num_threads(before)
