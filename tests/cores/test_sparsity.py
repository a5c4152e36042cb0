"""Sparsity as the official DTA-TTFS code counts it (papers/004, Table 2)."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.cores.stats import official_sparsity
from canmore_sim.cores.trace import LayerSpikes, SpikeTrace
from canmore_sim.mapper.inspect import architecture_only
from canmore_sim.models.zoo import ZOO


def _trace(neuron_spikes: np.ndarray) -> SpikeTrace:
    n, cols = neuron_spikes.shape
    empty = LayerSpikes(np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0))
    return SpikeTrace(n_frames=n, tw=1.0, layers=(empty,) * (cols - 1),
                      neuron_spikes=neuron_spikes, readout=np.zeros((n, 10)),
                      predictions=np.zeros(n, np.int64), labels=np.full(n, -1))


def test_vgg16_neurons_and_the_papers_spike_count() -> None:
    neurons = np.array([layer.n_neurons for layer in architecture_only(ZOO["vgg16"]).layers])
    assert neurons.sum() == 284_682  # the official code's count for VGG16
    hidden = round(0.2561 * 284_682) - 10  # the paper's 0.073 M spikes, outputs counted
    counts = np.zeros((1, len(neurons) + 1), dtype=np.int64)
    counts[0, 0] = 3072  # input spikes are not counted
    counts[0, 1], counts[0, 2] = hidden - 1000, 1000
    assert official_sparsity(_trace(counts), neurons)[0] == pytest.approx(0.2561, abs=2e-6)


def test_input_is_excluded_and_outputs_always_count() -> None:
    counts = np.array([[500, 30, 5, 0], [0, 0, 0, 0]])
    s = official_sparsity(_trace(counts), np.array([100, 20, 10]))
    assert s.tolist() == [(30 + 5 + 10) / 130, 10 / 130]


def test_neuron_counts_must_match_the_layers() -> None:
    with pytest.raises(ValueError, match="need 3 positive neuron counts"):
        official_sparsity(_trace(np.zeros((1, 4), dtype=np.int64)), np.array([100, 10]))
