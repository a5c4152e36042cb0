"""The bundled default network: a real trained DTA-TTFS network on real digits."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.cores.neuron import run_network
from canmore_sim.datasets.digits import load_digits_frames
from canmore_sim.errors import DataError
from canmore_sim.models.loaders import load_model
from canmore_sim.models.quantize import quantize_graph


def test_bundled_model_is_accurate_on_held_out_digits() -> None:
    graph = load_model(None)
    assert graph.spec == "32x32x1:16C3-P2-32C3-P2-64C3-P2-10F"
    frames, labels = load_digits_frames("test")
    trace = run_network(quantize_graph(graph, 4), frames, labels)
    assert trace.accuracy() > 0.93
    # the network is active: every hidden layer fires in every frame
    assert (trace.neuron_spikes[:, : graph.depth] > 0).all()


def test_digits_split_is_deterministic_and_disjoint() -> None:
    train, y_train = load_digits_frames("train")
    test, y_test = load_digits_frames("test")
    assert train.shape == (1438, 1, 32, 32) and test.shape == (359, 1, 32, 32)
    assert np.array_equal(test, load_digits_frames("test")[0])
    assert test.min() >= 0.0 and test.max() <= 1.0
    assert set(np.unique(y_test)) == set(range(10))
    flat_train = {row.tobytes() for row in train.reshape(len(train), -1)}
    assert not any(row.tobytes() in flat_train for row in test.reshape(len(test), -1)[:50])


def test_unknown_split() -> None:
    with pytest.raises(DataError, match="train, test, all"):
        load_digits_frames("validation")
