from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import CoreConfig
from canmore_sim.errors import ConfigError, MappingError
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.mapper.partition import partition
from canmore_sim.mapper.placement import PlacementProblem, place
from tests.conftest import random_graph

DEFAULT_SPEC = "32x32x1:16C3-P2-32C3-P2-64C3-P2-10F"


def test_feature_partition_of_default_network() -> None:
    g = random_graph(DEFAULT_SPEC)
    groups = partition(g, CoreConfig())
    # floor(1024 / (H*W)) channels per core: 1 @32x32, 4 @16x16, 16 @8x8; fc 10 neurons
    assert np.bincount(groups.layer)[1:].tolist() == [16, 8, 4, 1]
    assert (groups.neurons <= 1024).all()
    assert groups.neurons.sum() == sum(layer.n_neurons for layer in g.layers)
    assert groups.synapses.sum() == sum(layer.synapses for layer in g.layers)


def test_groups_are_equal_sized() -> None:
    g = random_graph("8x8x1:40C3-10F")  # 16 channels per core -> 3 groups of 14/13/13
    groups = partition(g, CoreConfig())
    sizes = (groups.ch_hi - groups.ch_lo)[groups.layer == 1]
    assert sizes.max() - sizes.min() <= 1 and sizes.sum() == 40


def test_channel_larger_than_core_is_split_into_row_bands() -> None:
    g = random_graph("64x64x1:4C3-P2-10F")  # a 64x64 channel = 4096 neurons > 1024
    groups = partition(g, CoreConfig())
    conv = groups.layer == 1
    assert conv.sum() == 4 * 4
    assert (groups.neurons[conv] == 1024).all()
    assert ((groups.row_hi - groups.row_lo)[conv] % 2 == 0).all()  # bands keep pooling local


def test_weight_memory_splits_groups_further() -> None:
    g = random_graph("4x4x1:8F-10F")  # dense, fan-in 16
    groups = partition(g, CoreConfig(weight_bits=4, sram_kib=16 * 4 * 2 / 8192))  # 2 neurons/core
    assert (groups.weight_bits <= 16 * 4 * 2).all()
    assert np.sum(groups.layer == 1) == 4


def test_layer_that_cannot_fit_memory_is_an_error_with_facts() -> None:
    g = random_graph("8x8x1:8C3-10F")
    with pytest.raises(MappingError) as info:
        partition(g, CoreConfig(sram_kib=0.001))
    assert info.value.facts["layer"] == "conv1"
    assert info.value.facts["needed"] == 9 * 4 and info.value.facts["available"] == 8


def test_mesh_too_small_names_needed_and_available() -> None:
    groups = partition(random_graph(DEFAULT_SPEC), CoreConfig())
    with pytest.raises(MappingError) as info:
        place(PlacementProblem(groups, 4, 4))
    assert (info.value.facts["needed"], info.value.facts["available"]) == (29, 16)


def test_unknown_placement_lists_valid() -> None:
    groups = partition(random_graph(), CoreConfig())
    with pytest.raises(ConfigError, match="anneal, hilbert, row-major, snake"):
        place(PlacementProblem(groups, 8, 8), "spiral-of-doom")


def test_postsynaptic_counts_sum_to_fan_out() -> None:
    """SOPs = spikes x fan-out: per-core counts add up to the layer's fan-out map."""
    g = random_graph("64x64x1:4C3-P2-6C3-10F")
    groups = partition(g, CoreConfig())
    for l in range(g.depth):
        links = layer_links(g, groups, l)
        shape = g.input_shape if l == 0 else g.layers[l - 1].spike_shape
        neurons = np.arange(int(np.prod(shape)))
        counts = links.postsynaptic(neurons)
        target = g.layers[l]
        if target.kind == "conv":
            _, h, w = shape
            expected = target.channels * target.fan_out_map()[(neurons // w) % h, neurons % w]
        else:
            expected = np.full(len(neurons), target.channels)
        assert np.array_equal(counts.sum(axis=1), expected)
        if l > 0:
            assert (links.src_core >= 0).all()
            assert set(np.unique(groups.layer[links.src_core])) == {l}
