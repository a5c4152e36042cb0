"""The window pass's spikes taken by the run pass (canmore_sim.chunked.spikes): a run of
several replayed chunks simulates each chunk's quantized neurons once, with the figures of
a run that simulates them twice; spike files within their budget only, none left behind,
an interrupted run's files verified before use."""

from __future__ import annotations

import json

import numpy as np
import pytest

import canmore_sim.chunked.window as window
import canmore_sim.run.pipeline as pipeline
from canmore_sim.chunked.run import run_map
from canmore_sim.chunked.spikes import trace_arrays, trace_from_arrays
from canmore_sim.config import default_config, with_overrides
from canmore_sim.cores.models import simulate_neurons
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.report.summary import summarize
from canmore_sim.run.source import ModelSource
from tests.conftest import random_graph


def _figures(result) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(summarize(result), allow_nan=True, sort_keys=True, default=str)


@pytest.fixture(scope="module")
def bundled():  # type: ignore[no-untyped-def]
    source = ModelSource()
    return source, source.load()


def _config(**overrides: object):  # type: ignore[no-untyped-def]
    return with_overrides(default_config(), {"run.frames": 7, "run.chunk_frames": 3,
                                             "run.replay": "all", **overrides})


def _counting(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """Frames whose quantized neurons the run pass simulates (pipeline.simulate_neurons
    given a network of integer codes)."""
    simulated: list[int] = []
    real = pipeline.simulate_neurons

    def counted(graph, frames, *args, **kwargs):  # type: ignore[no-untyped-def]
        if graph.layers[0].codes is not None:
            simulated.append(len(frames))
        return real(graph, frames, *args, **kwargs)

    monkeypatch.setattr(pipeline, "simulate_neurons", counted)
    return simulated


def test_the_run_pass_takes_the_window_pass_spikes(tmp_path, bundled, monkeypatch) -> None:
    source, graph = bundled
    twice = run_map(graph, source, _config(), tmp_path / "a")  # reference: as it was
    simulated = _counting(monkeypatch)
    monkeypatch.setattr(window, "SPIKES_BUDGET_BYTES", 0)  # no file fits: simulated again
    again = run_map(graph, source, _config(), tmp_path / "b")
    assert sum(simulated) == 7 and _figures(again) == _figures(twice)
    simulated.clear()
    monkeypatch.setattr(window, "SPIKES_BUDGET_BYTES", 1 << 30)
    once = run_map(graph, source, _config(), tmp_path / "c")
    assert simulated == [] and _figures(once) == _figures(twice)
    assert list((tmp_path / "c" / "spikes").iterdir()) == []  # each went with its chunk
    shipped = run_map(graph, source, _config(), tmp_path / "d", workers=2)  # sent to workers
    assert _figures(shipped) == _figures(twice)
    assert list((tmp_path / "d" / "spikes").iterdir()) == []


def test_spike_files_stop_at_their_budget(tmp_path, bundled, monkeypatch) -> None:
    """Chunks keep their spikes, in the order they finish, while the files fit the budget;
    a chunk whose spikes do not fit simulates its neurons again (same figures)."""
    source, graph = bundled
    sizes: dict[int, int] = {}
    real = window._SpikeFiles.store

    def store(self, index, value):  # type: ignore[no-untyped-def]
        before = self.left
        out = real(self, index, value)
        sizes[index] = before - self.left
        return out

    monkeypatch.setattr(window._SpikeFiles, "store", store)
    reference = run_map(graph, source, _config(), tmp_path / "a")  # 3 chunks: 3, 3, 1 frames
    assert all(sizes[i] > 0 for i in range(3)) and sizes[2] < sizes[1]
    monkeypatch.setattr(window, "SPIKES_BUDGET_BYTES", sizes[0] + sizes[2])
    sizes.clear()
    simulated = _counting(monkeypatch)
    result = run_map(graph, source, _config(), tmp_path / "b")
    assert [i for i in range(3) if sizes[i]] == [0, 2] and simulated == [3]
    assert _figures(result) == _figures(reference)


def test_a_damaged_spike_file_is_not_used(tmp_path, bundled, monkeypatch) -> None:
    """A resumed run offers the spike files it finds; one that does not verify is
    ignored (its chunk simulates its neurons), the others are taken."""
    source, graph = bundled
    reference = run_map(graph, source, _config(), tmp_path / "a")
    work = tmp_path / "b"
    real = window._SpikeFiles.found

    def damaged(self, indices):  # type: ignore[no-untyped-def]
        (self.folder / "00001.npz").write_bytes(b"not a chunk")
        real(self, indices)

    monkeypatch.setattr(window._SpikeFiles, "found", damaged)
    simulated = _counting(monkeypatch)
    result = run_map(graph, source, _config(), work)
    assert simulated == [3] and _figures(result) == _figures(reference)


@pytest.mark.parametrize("model", ["dta-ttfs", "tq-ttfs", "rate-if"])
def test_a_trace_comes_back_from_its_arrays_exactly(model: str) -> None:
    graph = quantize_graph(random_graph("12x12x2:6C3-P2-12F-10F", seed=3), 4)
    rng = np.random.default_rng(0)
    frames = rng.uniform(0, 1, size=(3, *graph.input_shape)).astype(np.float32)
    config = with_overrides(default_config(), {"neuron.model": model})
    trace = simulate_neurons(graph, frames, np.array([1, 2, -1]), config.neuron)
    back = trace_from_arrays(trace_arrays(trace))
    assert (back.n_frames, back.tw, back.end_time) == (trace.n_frames, trace.tw, trace.end_time)
    for name in ("neuron_spikes", "readout", "predictions", "labels"):
        a, b = getattr(trace, name), getattr(back, name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    for a, b in zip(trace.layers, back.layers, strict=True):
        for name in ("frame", "neuron", "time", "deadline"):
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None) == (y is None)
            if x is not None:
                assert x.dtype == y.dtype and x.tobytes() == y.tobytes()
