"""Chunks that carry what they need: workers without the client's files, the network
quantized once per run, and a resumed run that does not redo its placement or window pass."""

from __future__ import annotations

import json
import os
import pickle
from importlib import resources

import numpy as np
import pytest

from canmore_sim.chunked.run import run_map
from canmore_sim.config import default_config, with_overrides
from canmore_sim.datasets.readers import load_frames
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.report.summary import summarize
from canmore_sim.run.source import ModelSource


def _config(**overrides: object):  # type: ignore[no-untyped-def]
    return with_overrides(default_config(), {"run.frames": 6, "run.chunk_frames": 3,
                                             **overrides})


def _figures(result) -> str:  # type: ignore[no-untyped-def]
    """The run's figures as JSON text (NaN as NaN: equal where the figures are)."""
    summary = summarize(result)
    figures = {k: summary[k] for k in ("frames", "noc", "mean", "accuracy", "late_share")}
    return json.dumps(figures, allow_nan=True, sort_keys=True)


@pytest.mark.parametrize("timing", ["ideal", "drop-late"])
def test_dask_workers_in_another_folder_need_none_of_the_clients_files(
        tmp_path, monkeypatch, timing: str) -> None:
    """The model and the frames are files named relative to the client's folder; the
    workers run in another folder, where those names lead nowhere: they can only work
    from what the client sends (closed-loop timing too: its workers re-quantize the
    float network the client sends)."""
    distributed = pytest.importorskip("distributed")
    client_dir, worker_dir = tmp_path / "client", tmp_path / "worker"
    client_dir.mkdir()
    worker_dir.mkdir()
    bundled = resources.files("canmore_sim.models").joinpath("dta_digits.pt")
    (client_dir / "model.pt").write_bytes(bundled.read_bytes())  # the user's own file
    for kind in ("energy", "area"):  # the user's own presets, priced by the client
        preset = resources.files("canmore_sim.configs").joinpath(f"{kind}/canmore-22nm.yaml")
        (client_dir / f"{kind}.yaml").write_text(preset.read_text(encoding="utf-8"))
    monkeypatch.chdir(client_dir)
    source = ModelSource(model="model.pt")
    graph = source.load()
    frames, labels, _ = load_frames(None, graph.input_shape, 12, 0)
    np.savez(client_dir / "frames.npz", x=(frames * 255).round().astype(np.uint8), y=labels)
    monkeypatch.chdir(worker_dir)  # the workers start here
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        monkeypatch.chdir(client_dir)
        config = _config(**{"run.timing": timing, "neuron.window_ns": 10000,
                            "run.energy": "energy.yaml", "run.area": "area.yaml"})
        local = run_map(graph, source, config, tmp_path / "local", data="npz:frames.npz")
        shipped = run_map(graph, source, config, tmp_path / "dask", data="npz:frames.npz",
                          executor="dask", scheduler=cluster.scheduler_address)
        with distributed.Client(cluster) as client:
            folders = set(client.run(os.getcwd).values())
    assert folders == {str(worker_dir)}  # where neither file is
    assert not any((worker_dir / name).exists()
                   for name in ("frames.npz", "model.pt", "energy.yaml", "area.yaml"))
    assert summarize(shipped)["area"] == summarize(local)["area"]
    assert _figures(shipped) == _figures(local)
    if timing != "ideal":  # the loop really ran on the workers and dropped late pairs
        loop = summarize(shipped)["timing"]
        assert loop["iterations"] > 1 and loop["lost_pairs"] > 0
        assert loop == summarize(local)["timing"]


def test_pool_workers_get_the_runs_quantized_network(tmp_path) -> None:
    """Two local workers run from the network the client quantized (not their own), with
    the figures of one process."""
    source = ModelSource(model="vgg11", weights="synthetic")
    graph = source.load()
    config = _config(**{"run.frames": 4, "run.chunk_frames": 2, "mesh": "8x8"})
    one = run_map(graph, source, config, tmp_path / "one", workers=1)
    two = run_map(source.load(), source, config, tmp_path / "two", workers=2)
    # every figure, the per-router waiting and occupancy sums too: the weighted sums run on
    # one torch thread in the client's process as in the workers (cores/synapses.py)
    assert _figures(one) == _figures(two)
    assert one.float_predictions is None  # synthetic weights: no float pass


def test_a_compact_network_pickles_without_its_placeholder_weights() -> None:
    graph = ModelSource(model="vgg11", weights="synthetic").load()
    compact = quantize_graph(graph, 4, compact=True)
    data = pickle.dumps(compact)
    codes = sum(layer.codes.codes.nbytes for layer in compact.layers)
    assert len(data) < 1.1 * codes  # the float32 weights would be 4x the codes more
    back = pickle.loads(data)
    for a, b in zip(compact.layers, back.layers, strict=True):
        assert np.array_equal(a.weight_values(), b.weight_values())
        assert b.weight.shape == a.weight.shape and not any(b.weight.strides)


def test_resume_reuses_the_measured_placement_pass(tmp_path) -> None:
    source = ModelSource()
    config = _config(**{"run.placement": "anneal", "run.placement_traffic": "measured",
                        "run.placement_iterations": 2000})
    work = tmp_path / "work"
    first = run_map(source.load(), source, config, work)
    files = sorted((work / "placement").glob("*.npz"))
    assert len(files) == 2
    stamps = [os.stat(f).st_mtime_ns for f in files]
    again = run_map(source.load(), source, config, work, resume=True)
    assert [os.stat(f).st_mtime_ns for f in files] == stamps  # read, not written again
    assert np.array_equal(first.mapping.router, again.mapping.router)
    (work / "placement" / "00001.npz").write_bytes(b"not a chunk")
    third = run_map(source.load(), source, config, work, resume=True)
    assert os.stat(files[0]).st_mtime_ns == stamps[0]
    assert os.stat(files[1]).st_mtime_ns != stamps[1]  # the damaged one is redone
    assert np.array_equal(first.mapping.router, third.mapping.router)


def test_resume_reuses_the_window_pass(tmp_path) -> None:
    """A run of several chunks, every frame replayed, derives its window in a window pass;
    a resumed run reads each chunk's needs back (a damaged file alone is redone) and
    derives the same window and figures."""
    source = ModelSource()
    config = _config(**{"run.replay": "all", "neuron.window_ns": "auto"})
    work = tmp_path / "work"
    first = run_map(source.load(), source, config, work)
    files = sorted((work / "window").glob("*.npz"))
    assert len(files) == 2
    stamps = [os.stat(f).st_mtime_ns for f in files]
    again = run_map(source.load(), source, config, work, resume=True)
    assert [os.stat(f).st_mtime_ns for f in files] == stamps  # read, not written again
    (work / "window" / "00000.npz").write_bytes(b"not a chunk")
    third = run_map(source.load(), source, config, work, resume=True)
    assert os.stat(files[0]).st_mtime_ns != stamps[0]  # the damaged one is redone
    assert os.stat(files[1]).st_mtime_ns == stamps[1]
    for result in (again, third):
        assert result.extra["window"] == first.extra["window"]
        assert _figures(result) == _figures(first)
