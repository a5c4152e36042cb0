"""A layer refuses NaN and infinite weights and biases; finite ones pass, whatever their sum."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.errors import ModelError
from canmore_sim.models.graph import Layer


def _layer(weight: np.ndarray, bias: np.ndarray | None = None) -> Layer:
    return Layer(name="fc1", kind="linear", weight=weight, in_shape=(weight.shape[1],),
                 bias=bias)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_weight_is_refused_with_its_count_and_first_index(bad: float) -> None:
    w = np.ones((4, 5), dtype=np.float32)
    w[2, 3] = bad
    w[3, 1] = bad
    with pytest.raises(ModelError, match=r"fc1: weight has 2 values that are NaN or infinite "
                                         r"\(the first at index \(2, 3\)"):
        _layer(w)


def test_infinities_of_both_signs_are_refused() -> None:
    w = np.zeros((2, 2), dtype=np.float32)
    w[0, 0], w[1, 1] = np.inf, -np.inf  # their sum is NaN
    with pytest.raises(ModelError, match="2 values"):
        _layer(w)


def test_finite_weights_whose_sum_overflows_are_accepted() -> None:
    big = np.full((3, 4), 3e38, dtype=np.float32)  # the float32 sum is inf
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.sum(big))
    assert _layer(big).weight is big
    mixed = big.copy()
    mixed[1] = -3e38
    assert _layer(mixed).fan_in == 4


def test_a_broadcast_weight_is_checked_by_its_one_value() -> None:
    zeros = np.broadcast_to(np.float32(0), (4096, 25088))  # holds one value
    assert _layer(zeros).weight.shape == (4096, 25088)
    nan = np.broadcast_to(np.float32(np.nan), (3, 4))
    with pytest.raises(ModelError, match="12 values"):  # counted over the whole array
        _layer(nan)
    row = np.broadcast_to(np.array([0.0, np.inf, 1.0, 2.0], dtype=np.float32), (3, 4))
    with pytest.raises(ModelError, match=r"3 values .*index \(0, 1\)"):
        _layer(row)


def test_a_non_finite_bias_is_refused() -> None:
    w = np.ones((3, 2), dtype=np.float32)
    assert _layer(w, np.zeros(3, dtype=np.float32)).bias is not None
    with pytest.raises(ModelError, match="fc1: bias has 1 values"):
        _layer(w, np.array([0.0, np.nan, 1.0], dtype=np.float32))


def test_integer_weights_are_finite() -> None:
    assert _layer(np.ones((2, 3), dtype=np.int8)).fan_in == 3
