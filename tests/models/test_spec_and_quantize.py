from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.errors import ConfigError, ModelError
from canmore_sim.models.quantize import quantize_array, quantize_graph
from canmore_sim.models.spec import graph_from_spec, parse_spec, weight_shapes
from tests.conftest import random_graph


def test_spec_shapes_default_network() -> None:
    spec = "32x32x1:16C3-P2-32C3-P2-64C3-P2-10F"
    assert weight_shapes(spec) == [(16, 1, 3, 3), (32, 16, 3, 3), (64, 32, 3, 3), (10, 1024)]
    shape, layers = parse_spec(spec)
    assert shape == (1, 32, 32) and [ls.pool for ls in layers] == [2, 2, 2, 1]


def test_spec_stride_padding() -> None:
    assert weight_shapes("28x28x1:16C5p0-P2-32C5p0-P2-10F")[-1] == (10, 32 * 4 * 4)
    assert weight_shapes("32x32x3:8C3s2p1-10F")[-1] == (10, 8 * 16 * 16)


@pytest.mark.parametrize("spec", ["16C3-10F", "32x32x1:", "32x32x1:P2-10F", "32x32x1:16Q3"])
def test_bad_spec(spec: str) -> None:
    with pytest.raises(ModelError):
        weight_shapes(spec)


def test_weight_shape_mismatch_names_layer_and_shapes() -> None:
    spec = "8x8x1:4C3-10F"
    with pytest.raises(ModelError, match=r"conv1.*\(4, 1, 3, 3\).*\(4, 1, 5, 5\)"):
        graph_from_spec(spec, [np.zeros((4, 1, 5, 5)), np.zeros((10, 256))])


def test_quantize_levels_and_error() -> None:
    w = np.linspace(-1, 1, 101).astype(np.float32)
    q = quantize_array(w, 4)
    assert len(np.unique(q)) == 15  # -7..7
    assert np.max(np.abs(q - w)) <= (1 / 7) / 2 + 1e-6
    assert np.array_equal(quantize_array(np.zeros(3), 4), np.zeros(3))
    with pytest.raises(ConfigError):
        quantize_array(w, 1)


def test_quantize_graph_keeps_shapes() -> None:
    g = random_graph()
    q = quantize_graph(g, 4)
    assert q.meta["weight_bits"] == 4
    for a, b in zip(g.layers, q.layers, strict=True):
        assert a.weight.shape == b.weight.shape
        assert len(np.unique(b.weight)) <= 15


def test_per_channel_scale_keeps_small_channels() -> None:
    w = np.stack([np.linspace(-1, 1, 9), np.linspace(-0.01, 0.01, 9)]).astype(np.float32)
    per_layer = quantize_array(w, 4)
    per_channel = quantize_array(w, 4, per_channel=True)
    assert np.count_nonzero(per_layer[1]) == 0  # the small channel vanishes at one scale
    assert len(np.unique(per_channel[1])) == 9  # its own scale keeps it
    assert np.max(np.abs(per_channel[1] - w[1])) <= 0.01 / 7 / 2 + 1e-7
    g = quantize_graph(random_graph(), 4, per_channel=True)
    assert g.meta["quant_scale"] == "channel"


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_quantized_values_are_level_times_scale_and_leave_the_input(bits: int,
                                                                    per_channel: bool) -> None:
    w = np.random.default_rng(bits).normal(0.0, 0.3, (32, 4, 3, 3)).astype(np.float32)
    before = w.copy()
    q = quantize_array(w, bits, per_channel)
    levels = 2 ** (bits - 1) - 1
    axes = (1, 2, 3) if per_channel else None
    scale = np.max(np.abs(w), axis=axes, keepdims=per_channel) / levels
    expected = (np.clip(np.rint(w / scale), -levels, levels) * scale).astype(np.float32)
    assert q.dtype == np.float32 and np.array_equal(q, expected)
    assert np.array_equal(w, before)  # the input is not touched
