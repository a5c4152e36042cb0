"""``run(..., release_weights=True)``: the weights go before the NoC replay, the rest stays."""

from __future__ import annotations

import json

import numpy as np
import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.cores.models import simulate_neurons
from canmore_sim.datasets.readers import load_frames
from canmore_sim.errors import ModelError
from canmore_sim.models.loaders import load_model
from canmore_sim.report.summary import summarize
from canmore_sim.run.pipeline import run
from tests.conftest import random_graph


def _run(release: bool):  # type: ignore[no-untyped-def]
    graph = load_model(None)
    config = with_overrides(default_config(), {"run.frames": 2})
    frames, labels, ids = load_frames(None, graph.input_shape, 2, 0)
    shapes = [layer.weight.shape for layer in graph.layers]
    result = run(graph, frames, labels, config, frame_ids=ids, release_weights=release)
    return graph, shapes, result


def test_released_run_reports_the_same_numbers_and_keeps_the_structure() -> None:
    _, _, kept = _run(False)
    graph, shapes, released = _run(True)
    assert json.dumps(summarize(kept), sort_keys=True, default=str) == \
        json.dumps(summarize(released), sort_keys=True, default=str)
    assert not kept.graph.weights_released and not kept.quantized.weights_released
    assert released.graph is graph and graph.weights_released
    assert released.quantized.weights_released
    assert [layer.weight.shape for layer in graph.layers] == shapes
    for layer in (*graph.layers, *released.quantized.layers):
        assert not layer.weight.any() and not layer.weight.flags.writeable
        assert layer.weight.dtype == np.float32 and layer.weight.strides == (0,) * layer.weight.ndim


def test_a_released_network_cannot_be_simulated() -> None:
    graph = load_model(None)
    frames, labels, _ = load_frames(None, graph.input_shape, 1, 0)
    graph.release_weights()
    with pytest.raises(ModelError, match="weights were released"):
        simulate_neurons(graph, frames, labels, default_config().neuron)


def test_a_rate_reference_run_keeps_the_weights_it_needs() -> None:
    """A normalized energy model without a reference reruns the network under rate-IF."""
    graph = load_model(None)
    config = with_overrides(default_config(), {"run.frames": 1, "run.energy": "truenorth"})
    frames, labels, ids = load_frames(None, graph.input_shape, 1, 0)
    result = run(graph, frames, labels, config, frame_ids=ids, release_weights=True)
    assert result.energy_reference is not None
    assert not graph.weights_released


def test_a_given_quantized_network_gives_the_same_numbers() -> None:
    """``run(..., quantized=...)``: the caller's quantization (codes) instead of its own."""
    from canmore_sim.models.quantize import quantize_graph

    _, _, own = _run(False)
    graph = load_model(None)
    config = with_overrides(default_config(), {"run.frames": 2})
    frames, labels, ids = load_frames(None, graph.input_shape, 2, 0)
    given = quantize_graph(graph, config.core.weight_bits, compact=True)
    result = run(graph, frames, labels, config, frame_ids=ids, quantized=given,
                 release_weights=True)
    assert result.quantized is given and given.weights_released
    assert json.dumps(summarize(own), sort_keys=True, default=str) == \
        json.dumps(summarize(result), sort_keys=True, default=str)


@pytest.mark.parametrize("problem", ["bits", "scale", "released", "shapes", "codes"])
def test_a_given_quantized_network_that_does_not_fit_is_refused(problem: str) -> None:
    from canmore_sim.models.quantize import quantize_graph

    graph = load_model(None)
    config = with_overrides(default_config(), {"run.frames": 1})
    if problem == "codes":  # a closed loop re-simulates from weight arrays
        config = with_overrides(config, {"run.timing": "drop-late"})
    frames, labels, ids = load_frames(None, graph.input_shape, 1, 0)
    bits = config.core.weight_bits + (1 if problem == "bits" else 0)
    given = quantize_graph(graph, bits, per_channel=problem == "scale", compact=True)
    if problem == "released":
        given.release_weights()
    if problem == "shapes":
        given = quantize_graph(random_graph("32x32x1:8C3-P2-32C3-P2-64C3-P2-10F"), bits,
                               compact=True)
    match = {"bits": "5-bit", "scale": "scale channel", "released": "released",
             "shapes": "weight shapes", "codes": "holds integer codes"}[problem]
    with pytest.raises(ModelError, match=match):
        run(graph, frames, labels, config, frame_ids=ids, quantized=given)
