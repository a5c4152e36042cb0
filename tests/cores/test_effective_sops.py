"""Effective SOPs (non-zero weights only) against an independent count over spike maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from canmore_sim.config import with_overrides
from canmore_sim.cores.effective import effective_tables, nonzero_weights
from canmore_sim.cores.models import simulate_neurons
from canmore_sim.cores.stats import count_sops
from canmore_sim.energy import CanmoreParams, canmore_energy
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.models.graph import LayerGraph
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.run.pipeline import map_network
from tests.conftest import random_graph

SPECS = ["16x16x1:8C3-P2-16C3-P2-10F",          # same padding, pooling, dense readout
         "15x15x2:6C3s2p1-12C3p0-20F-10F",       # stride 2, valid padding, two dense layers
         "12x12x3:4C5p0-P2-40-10"]               # 5x5 kernel, dense after pooled conv


def _spike_maps(graph: LayerGraph, trace, l: int) -> np.ndarray:
    """float64 ``(n_frames, *shape)``: spikes of layer ``l`` per position (counts)."""
    shape = graph.input_shape if l == 0 else graph.layers[l - 1].spike_shape
    maps = np.zeros((trace.n_frames, int(np.prod(shape))))
    spikes = trace.layers[l]
    np.add.at(maps, (spikes.frame, spikes.neuron), 1.0)
    return maps.reshape(trace.n_frames, *shape)


def _independent_count(graph: LayerGraph, trace, l: int, mask: np.ndarray) -> np.ndarray:
    """Per frame: sum over postsynaptic neurons of the spikes reaching them through ``mask``
    (a convolution of the spike maps with the 0/1 mask as weights; torch, float64)."""
    layer = graph.layers[l]
    maps = _spike_maps(graph, trace, l)
    if layer.kind == "linear":
        return maps.reshape(len(maps), -1) @ mask.astype(np.float64).sum(axis=0)
    out = torch.nn.functional.conv2d(torch.from_numpy(maps),
                                     torch.from_numpy(mask.astype(np.float64)),
                                     stride=layer.stride, padding=layer.padding)
    return out.sum(dim=(1, 2, 3)).numpy()


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("compact", [False, True])
def test_effective_sops_equal_an_independent_masked_count_per_layer(spec, compact,
                                                                     config) -> None:
    config = with_overrides(config, {"run.frames": 6, "core.max_neurons": 64})
    graph = quantize_graph(random_graph(spec, seed=3), 3, compact=compact)  # many zero codes
    frames = np.random.default_rng(1).random((6, *graph.input_shape),
                                             dtype=np.float32)
    trace = simulate_neurons(graph, frames, None, config.neuron)
    mapping = map_network(graph, config)
    links = [layer_links(graph, mapping.groups, l) for l in range(graph.depth)]
    stats = count_sops(trace, mapping, links, effective=effective_tables(graph, mapping.groups))
    assert stats.effective_sops is not None and stats.effective_sops_per_layer is not None
    zeros_seen = False
    for l, layer in enumerate(graph.layers):
        mask = nonzero_weights(layer)
        assert np.array_equal(mask, layer.weight_values() != 0)
        zeros_seen |= not mask.all()
        expected = _independent_count(graph, trace, l, mask)
        assert np.array_equal(stats.effective_sops_per_layer[:, l], expected.astype(np.int64))
        every = _independent_count(graph, trace, l, np.ones_like(mask))
        assert np.array_equal(stats.sops_per_layer[:, l], every.astype(np.int64))
        cores = mapping.groups.of_layer(l + 1)
        assert np.array_equal(stats.effective_sops[:, cores].sum(axis=1),
                              stats.effective_sops_per_layer[:, l])
    assert zeros_seen
    assert stats.effective_sops.sum() < stats.sops.sum()
    assert np.all(stats.effective_sops <= stats.sops)


def test_skipping_zero_weights_lowers_sop_energy_by_exactly_the_difference(config) -> None:
    graph = quantize_graph(random_graph(seed=5), 3)
    frames = np.random.default_rng(2).random((4, 1, 16, 16), dtype=np.float32)
    trace = simulate_neurons(graph, frames, None, config.neuron)
    mapping = map_network(graph, config)
    links = [layer_links(graph, mapping.groups, l) for l in range(graph.depth)]
    stats = count_sops(trace, mapping, links, effective=effective_tables(graph, mapping.groups))
    params = CanmoreParams(20.0, 100.0, 3.52)
    hops = np.full(4, 10.0)
    every, _ = stats.priced_sops(skip_zero_weights=False)
    skipped, skipped_layers = stats.priced_sops(skip_zero_weights=True)
    assert np.array_equal(skipped_layers, stats.effective_sops_per_layer)
    full = canmore_energy(every, hops, params).terms["sop"]
    lean = canmore_energy(skipped, hops, params).terms["sop"]
    difference = (stats.sops_per_frame - skipped) * params.e_sop_pj / 1e6
    assert np.all(difference > 0)
    assert np.allclose(full - lean, difference, rtol=1e-12, atol=0)
    without = count_sops(trace, mapping, links)
    assert without.effective_sops is None
    with pytest.raises(ValueError, match="skip_zero_weights"):
        without.priced_sops(skip_zero_weights=True)


def test_dropped_pairs_make_no_effective_sops(config) -> None:
    graph = quantize_graph(random_graph(seed=7), 4)
    frames = np.random.default_rng(3).random((3, 1, 16, 16), dtype=np.float32)
    trace = simulate_neurons(graph, frames, None, config.neuron)
    mapping = map_network(graph, config)
    links = [layer_links(graph, mapping.groups, l) for l in range(graph.depth)]
    tables = effective_tables(graph, mapping.groups)
    rng = np.random.default_rng(0)
    dropped = [rng.random((len(s), len(k.dst_cores))) < 0.3
               for s, k in zip(trace.layers, links, strict=True)]
    kept = count_sops(trace, mapping, links, effective=tables)
    lost = count_sops(trace, mapping, links, dropped=dropped, effective=tables)
    assert lost.effective_sops is not None and kept.effective_sops is not None
    assert lost.effective_sops.sum() < kept.effective_sops.sum()
    manual = sum(int(np.where(d, 0, t[:, s.neuron].T).sum())
                 for d, t, s in zip(dropped, tables, trace.layers, strict=True))
    assert lost.effective_sops.sum() == manual
