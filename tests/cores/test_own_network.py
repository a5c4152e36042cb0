"""A user's own network trained as the official code trains it, run on its own data.

The network, the CIFAR-format files and the reference proxy model are made in
:mod:`tests.cores.own_network`, independently of canmore-sim's neuron code; here the tool
loads the bare state_dict and the files, picks the official inputs by itself, and every
hidden spike must equal the reference's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from canmore_sim.config import default_config, with_overrides
from canmore_sim.cores.models import simulate_neurons
from canmore_sim.cores.neuron import network_forward
from canmore_sim.datasets.inputs import count_inputs, resolve_inputs
from canmore_sim.datasets.readers import load_frames
from canmore_sim.errors import ConfigError
from canmore_sim.models.loaders import is_official_layout, load_model
from canmore_sim.models.quantize import quantize_graph
from tests.cores.own_network import (
    SPEC,
    read_normalized,
    reference,
    save_state_dict,
    train,
    write_cifar,
)

TOL = 1e-6


@pytest.fixture(scope="module")
def own(tmp_path_factory) -> tuple[Path, Path, float]:
    """(CIFAR folder, bare state_dict file, training accuracy)."""
    root = tmp_path_factory.mktemp("own")
    folder = write_cifar(root / "cifar")
    net, accuracy = train(folder)
    return folder, save_state_dict(net, root / "dta_vgg_small.pt"), accuracy


def _compare(graph, frames: np.ndarray) -> dict[str, float]:
    weights = [layer.weight for layer in graph.layers]
    ref_times, ref_out = reference(weights, frames)
    fired, _, potential = network_forward(graph, torch.as_tensor(frames, dtype=torch.float64),
                                          encoding="direct")
    rates = []
    for l, (ours, ref) in enumerate(zip(fired[1:], ref_times, strict=True), start=1):
        ours = ours.numpy()
        assert np.array_equal(np.isfinite(ours), np.isfinite(ref)), f"layer {l}: fired sets"
        both = np.isfinite(ref)
        np.testing.assert_allclose(ours[both], ref[both], rtol=0, atol=TOL)
        rates.append(float(both.mean()))
    np.testing.assert_allclose(potential.numpy(), graph.tw * ref_out, rtol=1e-9, atol=1e-9)
    assert np.array_equal(np.argmax(potential.numpy(), 1), np.argmax(ref_out, 1))
    return {"min_rate": min(rates), "max_rate": max(rates)}


def test_own_network_on_its_own_data_matches_the_official_proxy_model(own) -> None:
    folder, path, accuracy = own
    assert accuracy > 0.5  # it learned in its few seconds (10 classes)
    graph = load_model(str(path), arch=SPEC)
    assert is_official_layout(graph)
    plan = resolve_inputs(is_official_layout(graph), f"cifar10:{folder}", "auto", "auto")
    assert plan.encoding == "direct" and plan.normalize is not None
    frames, labels, ids = load_frames(f"cifar10:{folder}", graph.input_shape, 24, adapt="none",
                                      normalize=plan.normalize, clip=False)
    official, official_labels = read_normalized(folder / "test_batch")
    np.testing.assert_allclose(frames, official[ids], rtol=0, atol=1e-6)  # normalized alike
    assert np.array_equal(labels, official_labels[ids])
    counts = count_inputs(frames)
    assert counts["negative"] > 0 and counts["positive"] > 0
    x = frames.astype(np.float64)  # the same normalized inputs for both
    stats = _compare(graph, x)
    assert stats["min_rate"] > 0.01 and stats["max_rate"] < 0.99  # neither dead nor saturated
    quantized = quantize_graph(graph, 4)
    _compare(quantized, x)
    neuron = with_overrides(default_config(), {"neuron.input_encoding": "direct"}).neuron
    trace = simulate_neurons(quantized, frames, labels, neuron)
    ref_times, ref_out = reference([layer.weight for layer in quantized.layers], x)
    assert np.array_equal(trace.predictions, np.argmax(ref_out, 1))
    for l, ref in enumerate(ref_times, start=1):
        assert np.array_equal(trace.neuron_spikes[:, l],
                              np.isfinite(ref).reshape(len(x), -1).sum(1))
    assert np.array_equal(trace.neuron_spikes[:, 0], (frames > 0).reshape(len(x), -1).sum(1))


def test_ttfs_encoding_of_the_same_values_is_not_the_official_model(own) -> None:
    folder, path, _ = own
    graph = load_model(str(path), arch=SPEC)
    plan = resolve_inputs(True, f"cifar10:{folder}", "auto", "auto")
    frames, _, _ = load_frames(f"cifar10:{folder}", graph.input_shape, 8, adapt="none",
                               normalize=plan.normalize, clip=False)
    x = torch.as_tensor(frames, dtype=torch.float64)
    direct = network_forward(graph, x, encoding="direct")[0][1]
    ttfs = network_forward(graph, x, encoding="ttfs")[0][1]
    assert not np.array_equal(np.isfinite(direct.numpy()), np.isfinite(ttfs.numpy()))


def test_direct_encoding_is_for_dta_ttfs_only(own) -> None:
    _, path, _ = own
    graph = load_model(str(path), arch=SPEC)
    neuron = with_overrides(default_config(), {"neuron.input_encoding": "direct",
                                               "neuron.model": "rate-if"}).neuron
    with pytest.raises(ConfigError, match="neuron.input_encoding: direct .* not rate-if"):
        simulate_neurons(graph, np.zeros((1, 3, 32, 32), np.float32), None, neuron)
