"""End to end on the bundled network: the stages agree on the domain invariants."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.datasets.readers import load_frames
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.models.loaders import load_model
from canmore_sim.noc.build import build_traffic
from canmore_sim.run.pipeline import run


@pytest.fixture(scope="module")
def result():
    graph = load_model(None)
    config = with_overrides(default_config(), {"run.frames": 2})
    frames, labels, ids = load_frames(None, graph.input_shape, 2, 0)
    return run(graph, frames, labels, config, frame_ids=ids)


def test_sops_are_spikes_times_fan_out(result) -> None:
    graph, trace = result.quantized, result.trace
    for l, spikes in enumerate(trace.layers):
        target = graph.layers[l]
        if target.kind == "conv":
            _, h, w = graph.input_shape if l == 0 else graph.layers[l - 1].spike_shape
            fan_out = target.channels * target.fan_out_map()[(spikes.neuron // w) % h,
                                                             spikes.neuron % w]
        else:
            fan_out = np.full(len(spikes), target.channels)
        per_frame = np.bincount(spikes.frame, weights=fan_out, minlength=trace.n_frames)
        assert np.array_equal(result.cores.sops_per_layer[:, l], per_frame.astype(np.int64))
    assert np.array_equal(result.cores.sops.sum(axis=1), result.cores.sops_per_layer.sum(axis=1))


def test_hops_are_manhattan_sum_under_xy_unicast(result) -> None:
    links = [layer_links(result.quantized, result.mapping.groups, l)
             for l in range(result.quantized.depth)]
    for f in range(result.n_frames):
        traffic = build_traffic(result.trace, f, result.mapping, links, result.config)
        assert result.noc.hops[f] == traffic.manhattan().sum()
        assert result.noc.packets[f] == len(traffic)
    assert result.noc.hops.min() > 10_000  # the default network really uses the mesh


def test_energy_is_eq12_of_the_counts(result) -> None:
    e = result.energy
    expected = 20e-6 * result.cores.sops_per_frame + 100e-6 * result.noc.hops + 3.52
    np.testing.assert_allclose(e.total_uj, expected)


def test_same_seed_same_numbers(result) -> None:
    graph = load_model(None)
    frames, labels, ids = load_frames(None, graph.input_shape, 2, 0)
    again = run(graph, frames, labels, result.config, frame_ids=ids)
    assert np.array_equal(again.noc.wait_sum_ns, result.noc.wait_sum_ns)
    assert np.array_equal(again.noc.latency_mean_ns, result.noc.latency_mean_ns)
    assert np.array_equal(again.energy.total_uj, result.energy.total_uj)


def test_progress_events_name_every_stage_and_change_nothing(result) -> None:
    from canmore_sim.utils.progress import STAGES, StageEvent

    events: list[StageEvent] = []
    graph = load_model(None)
    frames, labels, ids = load_frames(None, graph.input_shape, 2, 0)
    again = run(graph, frames, labels, result.config, frame_ids=ids, progress=events.append)
    assert np.array_equal(again.noc.wait_sum_ns, result.noc.wait_sum_ns)
    assert np.array_equal(again.noc.hops, result.noc.hops)
    names = list(dict.fromkeys(e.stage for e in events))
    assert names == ["quantize", "mapping", "neurons", "sops", "traffic", "noc", "energy"]
    assert all(e.stage in STAGES and 0 <= e.done <= e.total for e in events)
    for stage in names:  # every stage starts before it ends, once per frame where per frame
        starts = [e for e in events if e.stage == stage and e.done == 0]
        ends = [e for e in events if e.stage == stage and e.finished]
        assert len(starts) == (2 if stage in ("traffic", "noc") else 1) <= len(ends)
    noc = [e for e in events if e.stage == "noc"]
    assert {e.frame for e in noc} == {0, 1} and all(e.n_frames == 2 for e in noc)
    for f in (0, 1):
        last = [e for e in noc if e.frame == f][-1]
        assert last.done == last.total == result.noc.packets[f]
