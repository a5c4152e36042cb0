"""Compact quantized weights (int codes + scale) hold exactly the values of the float32 ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from canmore_sim.cores.neuron import weight_tensor
from canmore_sim.errors import ModelError
from canmore_sim.models.graph import WeightCodes
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.models.spec import graph_from_spec, weight_shapes


def _graph(seed: int):  # type: ignore[no-untyped-def]
    """A small network whose channels have very different ranges (one all zero)."""
    spec = "16x16x3:8C3-P2-12C3-40F-10F"
    rng = np.random.default_rng(seed)
    weights = []
    for shape in weight_shapes(spec):
        spread = rng.uniform(0.01, 3.0, (shape[0],) + (1,) * (len(shape) - 1))
        w = rng.standard_normal(shape) * spread
        w[0] = 0.0
        weights.append(w.astype(np.float32))
    return graph_from_spec(spec, weights)


@pytest.mark.parametrize("bits", [2, 4, 8, 12])
@pytest.mark.parametrize("per_channel", [False, True])
def test_compact_weights_decode_to_the_same_bits(bits: int, per_channel: bool) -> None:
    graph = _graph(bits)
    full = quantize_graph(graph, bits, per_channel)
    compact = quantize_graph(graph, bits, per_channel, compact=True)
    assert compact.meta == full.meta and not compact.weights_released
    negative_zero = False  # small negative weights round to -0.0, which must survive
    for a, b in zip(full.layers, compact.layers, strict=True):
        negative_zero |= bool(np.any(np.signbit(a.weight) & (a.weight == 0)))
        assert b.codes is not None and b.weight.shape == a.weight.shape
        assert b.codes.codes.dtype == (np.int8 if bits <= 8 else np.int16)
        assert b.codes.codes.nbytes * (2 if bits > 8 else 4) == a.weight.nbytes
        values = b.weight_values()
        assert values.dtype == np.float32 and values.tobytes() == a.weight.tobytes()
        wide = weight_tensor(b, torch.float64)
        assert torch.equal(wide, torch.as_tensor(a.weight, dtype=torch.float64))
        assert wide.numpy().tobytes() == a.weight.astype(np.float64).tobytes()
        assert weight_tensor(b, torch.float32).numpy().tobytes() == a.weight.tobytes()
        assert len(np.unique(values)) > 2  # really quantized to several levels
    assert negative_zero


def test_weight_codes_must_have_the_weight_shape() -> None:
    layer = _graph(0).layers[0]
    codes = WeightCodes(np.zeros((3, 3), dtype=np.int8), np.ones(()))
    with pytest.raises(ModelError, match="weight codes have shape"):
        layer.with_codes(codes)


def test_new_weights_drop_the_codes() -> None:
    layer = quantize_graph(_graph(1), 4, compact=True).layers[1]
    replaced = layer.with_weight(np.ones(layer.weight.shape, dtype=np.float32))
    assert replaced.codes is None and replaced.weight_values().sum() == layer.weight.size
