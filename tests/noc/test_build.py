"""Traffic from spikes: every (spike, destination core) row, in (time, spike, destination) order."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import default_config as _default_config
from canmore_sim.config import with_overrides
from canmore_sim.cores.models import simulate_neurons
from canmore_sim.datasets.readers import load_frames
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.models.loaders import load_model
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.noc.build import build_traffic, io_router_index
from canmore_sim.run.pipeline import map_network


def default_config():  # noqa: ANN201 - the bundled configuration with a fixed 20 us window
    """The default configuration with the window fixed at 20 us (these tests build traffic
    without a run, which is what derives ``neuron.window_ns: auto``)."""
    return with_overrides(_default_config(), {"neuron.window_ns": 20000.0})


def _reference(trace, frame, mapping, links, config) -> dict[str, np.ndarray]:
    """The rows spike by spike and core by core, then one full lexsort."""
    io = io_router_index(config, mapping.width, mapping.height)
    per_unit = config.neuron.window_ns / trace.tw
    rows, spike_id = [], 0
    for l, (spikes, link) in enumerate(zip(trace.layers, links, strict=True)):
        sel = np.flatnonzero(spikes.frame == frame)
        for k in sel:
            counts = link.postsynaptic(spikes.neuron[k:k + 1])[0]
            core = link.src_core[spikes.neuron[k]]
            src = io if core < 0 else mapping.router[core]
            deadline = ((l + 2) * config.neuron.window_ns if spikes.deadline is None
                        else spikes.deadline[k] * per_unit)
            for j, dst_core in enumerate(link.dst_cores):
                if counts[j] > 0:
                    rows.append((spikes.time[k] * per_unit, src, mapping.router[dst_core],
                                 spike_id, l, deadline, counts[j]))
            spike_id += 1
    depth = len(links)
    for core in np.flatnonzero(mapping.groups.layer == depth):
        rows.append((trace.end(depth) * per_unit, mapping.router[core], io, spike_id, depth,
                     np.inf, 0))
        spike_id += 1
    cols = [np.array(c) for c in zip(*rows, strict=True)]
    order = np.lexsort((cols[2], cols[3], cols[0]))
    names = ("time_ns", "src", "dst", "spike", "layer", "deadline_ns", "sops")
    return {name: col[order] for name, col in zip(names, cols, strict=True)}


@pytest.mark.parametrize("overrides", [
    {}, {"mesh": "4x4"}, {"neuron.model": "tq-ttfs", "traffic.multicast": True}])
def test_rows_equal_a_spike_by_spike_construction(overrides) -> None:
    config = with_overrides(default_config(), {"run.frames": 2, **overrides})
    graph = quantize_graph(load_model(None), 4)
    frames, labels, _ = load_frames(None, graph.input_shape, 2, 0)
    mapping = map_network(graph, config)
    trace = simulate_neurons(graph, frames, labels, config.neuron)
    links = [layer_links(graph, mapping.groups, l) for l in range(graph.depth)]
    for frame in range(2):
        traffic = build_traffic(trace, frame, mapping, links, config)
        expected = _reference(trace, frame, mapping, links, config)
        for name, column in expected.items():
            got = getattr(traffic, name)
            assert np.array_equal(got, column), name
        dtypes = [getattr(traffic, n).dtype for n in expected]
        assert dtypes == [np.float64, np.int32, np.int32, np.int64, np.int16, np.float64,
                          np.int64]
        assert traffic.multicast == config.traffic.multicast
        assert (traffic.chip_width > 0) == (mapping.n_chips > 1)


def test_a_frame_out_of_range_is_refused() -> None:
    config = with_overrides(default_config(), {"run.frames": 1})
    graph = quantize_graph(load_model(None), 4)
    frames, labels, _ = load_frames(None, graph.input_shape, 1, 0)
    mapping = map_network(graph, config)
    trace = simulate_neurons(graph, frames, labels, config.neuron)
    links = [layer_links(graph, mapping.groups, l) for l in range(graph.depth)]
    with pytest.raises(ValueError, match="out of range"):
        build_traffic(trace, 1, mapping, links, config)


@pytest.fixture(scope="module")
def bundled_runs() -> dict[str, tuple]:
    """The bundled network's spikes on 3 frames, mapped four ways (one 8x8 chip row-major;
    snake order, so a layer's cores are not in router order; 4x4 chips, tiled; cores of
    256 neurons, which split channels by rows, so a spike reaches only some cores)."""
    graph = quantize_graph(load_model(None), 4)
    frames, labels, _ = load_frames(None, graph.input_shape, 3, 0)
    runs = {}
    for name, overrides in {"row-major": {}, "snake": {"run.placement": "snake"},
                            "tiled": {"mesh": "4x4"},
                            "split": {"core.max_neurons": 256, "mesh": "16x16"}}.items():
        config = with_overrides(default_config(), {"run.frames": 3, **overrides})
        mapping = map_network(graph, config)
        trace = simulate_neurons(graph, frames, labels, config.neuron)
        links = [layer_links(graph, mapping.groups, l) for l in range(graph.depth)]
        runs[name] = (trace, mapping, links, config)
    return runs


def _perturbed(trace, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """``trace`` with some spikes dropped and its times redrawn: on a coarse grid (ties
    within and across layers), shifted into other layers' windows (layers interleave in
    time), or kept; sometimes with per-spike deadlines."""
    from dataclasses import replace

    from canmore_sim.cores.trace import LayerSpikes

    layers = []
    span = (len(trace.layers) + 1) * trace.tw
    mode = rng.choice(["grid", "shift", "keep"])
    for spikes in trace.layers:
        keep = rng.random(len(spikes)) < rng.uniform(0.05, 0.6)
        time = spikes.time[keep].copy()
        if mode == "grid":
            time = np.round(time * 4) / 4
        elif mode == "shift":
            moved = rng.random(len(time)) < 0.3
            time[moved] = rng.integers(0, 8, int(moved.sum())) * span / 8
        deadline = (time + rng.uniform(0.1, 3.0, len(time))) if rng.random() < 0.4 else None
        layers.append(LayerSpikes(spikes.frame[keep], spikes.neuron[keep], time, deadline))
    return replace(trace, layers=tuple(layers))


MAPPINGS = ("row-major", "snake", "tiled", "split")


@pytest.mark.parametrize("seed", range(40))
def test_generated_traces_give_the_spike_by_spike_rows(bundled_runs, seed: int) -> None:
    """Rows of traces whose layers interleave in time or tie across layers, with or
    without deadlines, under three mappings: the reference construction's, in its dtypes
    (the layers-in-order shortcut and the sorting path both)."""
    rng = np.random.default_rng(seed)
    trace, mapping, links, config = bundled_runs[MAPPINGS[seed % 4]]
    if seed % 8 >= 4:
        config = with_overrides(config, {"traffic.multicast": True})
    trace = _perturbed(trace, rng)
    frame = int(rng.integers(0, trace.n_frames))
    traffic = build_traffic(trace, frame, mapping, links, config)
    expected = _reference(trace, frame, mapping, links, config)
    for name, column in expected.items():
        got = getattr(traffic, name)
        assert np.array_equal(got, column.astype(got.dtype)), name
        assert got.dtype == (np.float64, np.int32, np.int32, np.int64, np.int16, np.float64,
                             np.int64)[list(expected).index(name)], name


def test_generated_traces_take_both_paths(bundled_runs) -> None:
    """The generated traces above cover layers in time order and interleaved layers."""
    from canmore_sim.noc import build

    seen = set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        trace, *_ = bundled_runs[MAPPINGS[seed % 4]]
        trace = _perturbed(trace, rng)
        frame = int(rng.integers(0, trace.n_frames))
        times = np.concatenate([np.sort(s.time[s.frame == frame]) for s in trace.layers])
        seen.add(build._ascending(times))
    assert seen == {True, False}
    trace, mapping, links, _ = bundled_runs["split"]  # some spikes miss some cores
    assert any((link.postsynaptic(spikes.neuron) == 0).any()
               for spikes, link in zip(trace.layers, links, strict=True))
    _, mapping, links, _ = bundled_runs["snake"]  # some layer's cores out of router order
    assert any((np.diff(mapping.router[link.dst_cores]) < 0).any() for link in links)
