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
