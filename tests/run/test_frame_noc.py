"""Multicast accounting: every per-layer and per-core figure adds up to its frame total.

On the bundled network, under unicast on one 8x8 chip and under multicast on two 4x4
chips (so inter-chip hops and their own price enter too).
"""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.datasets.readers import load_frames
from canmore_sim.models.loaders import load_model
from canmore_sim.run.frame_noc import into_weight_layers
from canmore_sim.run.pipeline import RunResult, run

CASES = {"unicast": {"run.frames": 2},
         "multicast": {"run.frames": 2, "traffic.multicast": True, "mesh": "4x4"}}


@pytest.fixture(scope="module", params=list(CASES))
def result(request) -> RunResult:
    graph = load_model(None)
    config = with_overrides(default_config(), CASES[request.param])
    frames, labels, ids = load_frames(None, graph.input_shape, 2, 0)
    return run(graph, frames, labels, config, frame_ids=ids)


def test_per_layer_figures_add_up_to_frame_totals(result) -> None:
    noc = result.noc
    assert np.array_equal(noc.hops_per_layer.sum(axis=1), noc.hops)
    assert np.array_equal(noc.interchip_per_layer.sum(axis=1), noc.interchip_hops)
    assert np.array_equal(noc.packets_per_layer.sum(axis=1), noc.packets)
    assert np.array_equal(noc.deliveries_per_layer.sum(axis=1), noc.deliveries)
    assert np.array_equal(into_weight_layers(noc.hops_per_layer).sum(axis=1), noc.hops)


def test_per_core_figures_add_up_to_frame_totals(result) -> None:
    noc, cores = result.noc, result.cores
    assert np.array_equal(noc.core_injected.sum(axis=1) + noc.io_injected, noc.packets)
    assert np.array_equal(noc.core_ejected.sum(axis=1) + noc.io_ejected, noc.deliveries)
    assert np.array_equal(noc.core_ejected, cores.spikes_in)  # one delivery per spike in
    input_spikes = result.trace.layers[0].counts(result.n_frames)
    assert np.array_equal(cores.spikes_out.sum(axis=1) + input_spikes, result.spikes)
    assert np.array_equal(cores.sops.sum(axis=1), _sops_from_spikes(result))
    output_cores = int(np.sum(result.mapping.groups.layer == result.quantized.depth))
    assert (noc.io_ejected == output_cores).all()  # one readout per output core


def _sops_from_spikes(result: RunResult) -> np.ndarray:
    """SOPs per frame counted from the spikes and the layers' shapes alone (not the cores):
    an SOP is one incoming spike at one postsynaptic neuron, so a layer's SOPs are its
    input spikes convolved with an all-ones kernel (padding sends nothing), or for a dense
    layer its input spikes times its neurons."""
    import torch

    sops = np.zeros(result.n_frames, dtype=np.int64)
    for spikes, layer in zip(result.trace.layers, result.quantized.layers, strict=True):
        fired = np.zeros((result.n_frames, int(np.prod(layer.in_shape))))
        np.add.at(fired, (spikes.frame, spikes.neuron), 1.0)
        if layer.kind == "linear":
            sops += (fired.sum(axis=1) * layer.channels).astype(np.int64)
            continue
        ones = torch.ones(layer.channels, layer.in_shape[0], layer.kernel, layer.kernel,
                          dtype=torch.float64)
        reached = torch.nn.functional.conv2d(
            torch.from_numpy(fired.reshape(result.n_frames, *layer.in_shape)), ones,
            stride=layer.stride, padding=layer.padding)
        sops += reached.sum(dim=(1, 2, 3)).numpy().astype(np.int64)
    return sops


def test_per_layer_hop_energy_is_its_own_hops_at_their_price(result) -> None:
    layer = result.energy.layer_terms
    hops = into_weight_layers(result.noc.hops_per_layer)
    inter = into_weight_layers(result.noc.interchip_per_layer)
    np.testing.assert_allclose(layer["hop"], (hops - inter) * 100e-6, rtol=1e-12)
    np.testing.assert_allclose(layer["interchip_hop"], inter * 1000e-6, rtol=1e-12, atol=1e-15)
    for term, values in layer.items():
        np.testing.assert_allclose(values.sum(axis=1), result.energy.terms[term], rtol=1e-12)


def test_packets_and_deliveries_are_separate_figures(result) -> None:
    noc = result.noc
    output_cores = int(np.sum(result.mapping.groups.layer == result.quantized.depth))
    if result.config.traffic.multicast:
        # one packet per spike that travels (every spike has a destination), plus readouts
        assert np.array_equal(noc.packets, result.spikes + output_cores)
        assert (noc.packets < noc.deliveries).all()
        assert (noc.hops < noc.unicast_hops).all()  # shared tree links are one hop
        assert (noc.interchip_hops > 0).all()
    else:
        assert np.array_equal(noc.packets, noc.deliveries)
        assert np.array_equal(noc.hops, noc.unicast_hops)


def test_multicast_delivers_what_unicast_delivers() -> None:
    graph = load_model(None)
    frames, labels, _ = load_frames(None, graph.input_shape, 1, 0)
    base = with_overrides(default_config(), {"run.frames": 1})
    uni = run(graph, frames, labels, base)
    multi = run(graph, frames, labels, with_overrides(base, {"traffic.multicast": True}))
    assert np.array_equal(uni.noc.deliveries_per_layer, multi.noc.deliveries_per_layer)
    assert np.array_equal(uni.noc.core_ejected, multi.noc.core_ejected)
    assert (multi.noc.packets_per_layer <= uni.noc.packets_per_layer).all()
    assert multi.noc.hops_per_layer[0, 0] < uni.noc.hops_per_layer[0, 0]


def test_into_weight_layers_refuses_a_flat_array() -> None:
    with pytest.raises(ValueError, match="L \\+ 1"):
        into_weight_layers(np.zeros(4))


@pytest.mark.parametrize("replay", ["all", "sample"])
def test_latency_bins_are_the_replayed_frames_exact_bins(replay: str) -> None:
    """The run's latency bins are every replayed delivery's exact 1-ns bin (the frames'
    bins merged, those of frames not replayed left out), and its histogram is the one a
    map run merged from chunks reports (:func:`bins_histogram` of them)."""
    from canmore_sim.noc.bins import bins_histogram, latency_bins, merge_bins

    graph = load_model(None)
    frames, labels, ids = load_frames(None, graph.input_shape, 3, 0)
    config = with_overrides(default_config(), {"run.frames": 3, "run.replay": replay,
                                               "run.replay_frames": 2})
    seen: list[np.ndarray] = []
    result = run(graph, frames, labels, config, frame_ids=ids,
                 noc_observer=lambda stats: seen.append(latency_bins(stats.deliver_ns,
                                                                     stats.inject_ns)))
    noc = result.noc
    replayed = np.ones(3, bool) if noc.replayed is None else noc.replayed
    assert len(seen) == int(replayed.sum()) == (3 if replay == "all" else 2)
    expected = merge_bins(seen)
    assert noc.latency_bins is not None and np.array_equal(noc.latency_bins, expected)
    assert int(expected[1].sum()) == int(noc.deliveries[replayed].sum())
    edges, counts = noc.latency_hist_ns
    ref_edges, ref_counts = bins_histogram(expected)
    assert np.array_equal(edges, ref_edges) and np.array_equal(counts, ref_counts)
    assert int(counts.sum()) == int(noc.deliveries[replayed].sum())
