"""count_sops (per-frame sums of the separable counts, :meth:`LayerLinks.frame_sums`, and
of the effective tables) equals the former column-by-column bincount of every spike's
postsynaptic counts, bit for bit.

A differential test over generated cases: real networks (the bundled one and seeded random
ones), real spike traces of 1-4 frames under several neuron models (spikes in frame order,
and shuffled), placements on meshes that tile chips or not, closed-loop ``dropped`` masks
and the effective-SOP tables.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.cores.effective import effective_tables
from canmore_sim.cores.models import simulate_neurons
from canmore_sim.cores.stats import CoreStats, count_sops
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.models.graph import LayerGraph
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.run.pipeline import map_network
from tests.conftest import random_graph

CASES = 100
SPECS = ("16x16x1:8C3-P2-16C3-P2-10F", "12x12x2:6C3-P2-12F-10F", "8x8x1:4C3-8C3-P2-10F",
         "15x13x2:6C5s2p1-8C3p0-P2-10F")
MODELS = ("dta-ttfs", "tq-ttfs", "rate-if")


def _reference(trace, mapping, links, dropped=None, effective=None) -> CoreStats:
    """count_sops as it was (one float bincount per destination core)."""
    n_frames, n_cores = trace.n_frames, mapping.n_cores
    sops = np.zeros((n_frames, n_cores), dtype=np.int64)
    spikes_in = np.zeros((n_frames, n_cores), dtype=np.int64)
    spikes_out = np.zeros((n_frames, n_cores), dtype=np.int64)
    per_layer = np.zeros((n_frames, len(links)), dtype=np.int64)
    eff = None if effective is None else np.zeros((n_frames, n_cores), dtype=np.int64)
    eff_layer = None if effective is None else np.zeros((n_frames, len(links)), dtype=np.int64)

    def add(per_core, layer_cols, l, frame, made, dst_cores) -> None:  # noqa: ANN001
        for j, core in enumerate(dst_cores):
            per_core[:, core] += np.bincount(frame, weights=made[:, j],
                                             minlength=n_frames).astype(np.int64)
        layer_cols[:, l] = np.bincount(frame, weights=made.sum(axis=1),
                                       minlength=n_frames).astype(np.int64)

    for l, (spikes, link) in enumerate(zip(trace.layers, links, strict=True)):
        if l > 0:
            np.add.at(spikes_out, (spikes.frame, link.src_core[spikes.neuron]), 1)
        counts = link.postsynaptic(spikes.neuron)
        made = counts if dropped is None else np.where(dropped[l], 0, counts)
        for j, core in enumerate(link.dst_cores):
            spikes_in[:, core] += np.bincount(spikes.frame, weights=counts[:, j] > 0,
                                              minlength=n_frames).astype(np.int64)
        add(sops, per_layer, l, spikes.frame, made, link.dst_cores)
        if effective is not None:
            reached = np.asarray(effective[l])[:, spikes.neuron].T.astype(np.int64)
            if dropped is not None:
                reached = np.where(dropped[l], 0, reached)
            add(eff, eff_layer, l, spikes.frame, reached, link.dst_cores)
    return CoreStats(sops, spikes_in, spikes_out, per_layer, mapping.groups.weight_bits.copy(),
                     eff, eff_layer)


@cache
def _network(which: int) -> LayerGraph:
    if which == 0:
        from canmore_sim.models.loaders import load_model

        return quantize_graph(load_model(None), 4)
    return quantize_graph(random_graph(SPECS[which - 1], seed=which), 4)


def _shuffled(trace: SpikeTrace, rng: np.random.Generator) -> SpikeTrace:
    layers = []
    for s in trace.layers:
        order = rng.permutation(len(s))
        layers.append(replace(s, frame=s.frame[order], neuron=s.neuron[order],
                              time=s.time[order],
                              deadline=None if s.deadline is None else s.deadline[order]))
    return replace(trace, layers=tuple(layers))


@pytest.mark.parametrize("seed", range(CASES))
def test_count_sops_equals_the_column_by_column_count(seed: int) -> None:
    rng = np.random.default_rng(seed)
    which = int(rng.integers(0, len(SPECS) + 1))
    graph = _network(which)
    config = with_overrides(default_config(), {
        "neuron.model": str(rng.choice(MODELS)),
        "mesh": f"{int(rng.integers(2, 9))}x{int(rng.integers(2, 9))}",
        "run.placement": str(rng.choice(["row-major", "snake", "hilbert"])), "run.seed": seed})
    n_frames = int(rng.integers(1, 5))
    frames = rng.uniform(0.0, 1.0, size=(n_frames, *graph.input_shape)).astype(np.float32)
    trace = simulate_neurons(graph, frames, None, config.neuron)
    if rng.random() < 0.3:
        trace = _shuffled(trace, rng)
    mapping = map_network(graph, config)
    links = [layer_links(graph, mapping.groups, l) for l in range(graph.depth)]
    dropped = ([rng.random((len(s), len(k.dst_cores))) < 0.3
                for s, k in zip(trace.layers, links, strict=True)]
               if rng.random() < 0.4 else None)
    effective = effective_tables(graph, mapping.groups) if rng.random() < 0.6 else None
    ours = count_sops(trace, mapping, links, dropped=dropped, effective=effective)
    theirs = _reference(trace, mapping, links, dropped=dropped, effective=effective)
    assert int(theirs.sops.sum()) > 0
    for name in ("sops", "spikes_in", "spikes_out", "sops_per_layer", "effective_sops",
                 "effective_sops_per_layer"):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name


@pytest.mark.parametrize("seed", range(40))
def test_frame_sums_equal_the_summed_postsynaptic_rows(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    which = int(rng.integers(0, len(SPECS) + 1))
    graph = _network(which)
    config = with_overrides(default_config(), {
        "mesh": f"{int(rng.integers(2, 9))}x{int(rng.integers(2, 9))}",
        "core.max_neurons": int(rng.choice([64, 256, 1024]))})
    mapping = map_network(graph, config)
    layer = int(rng.integers(0, graph.depth))
    link = layer_links(graph, mapping.groups, layer)
    n_frames = int(rng.integers(1, 6))
    size = len(link.src_core)
    n = int(rng.integers(0, 3 * size))  # repeats and empty frames included
    frame, neuron = rng.integers(0, n_frames, n), rng.integers(0, size, n)
    made, arrived = link.frame_sums(frame, neuron, n_frames)
    rows = link.postsynaptic(neuron)
    for f in range(n_frames):
        assert made[f].tolist() == rows[frame == f].sum(axis=0).tolist()
        assert arrived[f].tolist() == (rows[frame == f] > 0).sum(axis=0).tolist()
    assert made.dtype == arrived.dtype == np.int64
