"""Chunked map runs (canmore_sim.chunked.run): the same numbers whatever the workers or the
executor, per-frame rows equal to one process simulating every frame, one mapping for
the whole run, energy priced over all frames, and chunk files that verify."""

from __future__ import annotations

import json

import numpy as np
import pytest

from canmore_sim.chunked.files import chunk_identity, read_chunk, write_chunk
from canmore_sim.chunked.run import run_map
from canmore_sim.config import default_config, with_overrides
from canmore_sim.datasets.readers import load_frames
from canmore_sim.models.checkpoint import save_checkpoint
from canmore_sim.report.summary import summarize
from canmore_sim.run.pipeline import map_network, run
from canmore_sim.run.source import ModelSource
from tests.conftest import random_graph

#: report.json keys that are a run's whole-run float sums over frames: merged chunk by
#: chunk, so their last bits may differ from one process adding frame after frame.
CHUNK_SUMMED = ("noc",)


def _summary(result) -> dict:
    return json.loads(json.dumps(summarize(result), allow_nan=True))


@pytest.fixture(scope="module")
def bundled():
    source = ModelSource()
    return source, source.load()


def _config(**overrides):
    return with_overrides(default_config(), {"run.frames": 7, "run.chunk_frames": 3,
                                             **overrides})


def test_chunks_give_the_rows_of_one_process_simulating_every_frame(tmp_path, bundled) -> None:
    source, graph = bundled
    config = _config()
    chunked = _summary(run_map(graph, source, config, tmp_path, workers=1))
    frames, labels, ids = load_frames(None, graph.input_shape, 7, 0)
    single = _summary(run(graph, frames, labels, config, frame_ids=ids))
    assert chunked["frames"] == single["frames"]  # every per-frame column, energy included
    for key in set(single) - set(CHUNK_SUMMED):
        assert chunked[key] == single[key], key
    assert chunked["noc"]["direction_flits"] == single["noc"]["direction_flits"]  # int sums
    hist = chunked["noc"]["latency_histogram"]
    assert sum(hist["counts"]) == sum(single["noc"]["latency_histogram"]["counts"])
    assert np.allclose(chunked["noc"]["occupancy_mean"]["east"],
                       single["noc"]["occupancy_mean"]["east"], rtol=1e-12, atol=0)
    assert not list((tmp_path / "chunks").glob("*.tmp"))
    assert len(list((tmp_path / "chunks").glob("*.npz"))) == 3  # 3 + 3 + 1 frames


def test_one_two_and_three_workers_and_a_dask_cluster_give_the_same_numbers(tmp_path,
                                                                           bundled) -> None:
    distributed = pytest.importorskip("distributed")
    source, graph = bundled
    config = _config()
    results = [_summary(run_map(graph, source, config, tmp_path / f"k{k}", workers=k))
               for k in (1, 2, 3)]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        results.append(_summary(run_map(graph, source, config, tmp_path / "dask",
                                        executor="dask", scheduler=cluster.scheduler_address)))
    assert all(r == results[0] for r in results[1:])


def test_measured_placement_weighs_all_frames_the_same_way_for_every_worker_count(
        tmp_path, bundled) -> None:
    source, graph = bundled
    config = _config(**{"run.placement": "anneal", "run.placement_traffic": "measured",
                        "run.placement_iterations": 3000, "run.frames": 5})
    one = run_map(graph, source, config, tmp_path / "one", workers=1)
    two = run_map(graph, source, config, tmp_path / "two", workers=2)
    frames, labels, ids = load_frames(None, graph.input_shape, 5, 0)
    single = run(graph, frames, labels, config, frame_ids=ids)
    # the rule is "the spikes of all frames", as one process simulating every frame has it
    for chunked in (one, two):
        assert np.array_equal(chunked.mapping.router, single.mapping.router)
    assert np.array_equal(map_network(single.quantized, config, single.trace).router,
                          one.mapping.router)


def test_a_normalized_energy_reference_is_a_mean_over_all_frames(tmp_path) -> None:
    graph = random_graph("16x16x1:4C3-P2-8C3-P2-10F", seed=3)
    path = save_checkpoint(graph, tmp_path / "net.pt", dataset="test")
    source = ModelSource(model=str(path))
    config = with_overrides(default_config(), {
        "mesh": "4x4", "run.frames": 5, "run.chunk_frames": 2, "run.energy": "truenorth",
        "neuron.steps": 4})
    chunked = _summary(run_map(source.load(), source, config, tmp_path / "w", workers=1))
    frames, labels, ids = load_frames(None, graph.input_shape, 5, 0)
    single = _summary(run(source.load(), frames, labels, config, frame_ids=ids))
    assert chunked["energy_reference"] == single["energy_reference"]
    assert chunked["frames"]["energy_total_uj"] == single["frames"]["energy_total_uj"]
    assert chunked["energy_model"] == single["energy_model"]


def test_all_frames_takes_the_whole_test_split(tmp_path) -> None:
    images = np.random.default_rng(0).random((5, 16, 16)).astype(np.float32)
    data = tmp_path / "five.npz"
    np.savez(data, x=images, y=np.arange(5) % 10)
    graph = random_graph("16x16x1:4C3-P2-8C3-P2-10F", seed=3)
    path = save_checkpoint(graph, tmp_path / "net.pt", dataset="test")
    source = ModelSource(model=str(path))
    config = with_overrides(default_config(), {"mesh": "4x4", "run.chunk_frames": 2})
    result = run_map(source.load(), source, config, tmp_path / "w", data=f"npz:{data}",
                     frames="all")
    assert result.n_frames == 5 and result.config.run.frames == 5
    assert sorted(result.frame_ids.tolist()) == [0, 1, 2, 3, 4]


def test_chunk_files_are_reused_only_when_identity_and_checksum_match(tmp_path) -> None:
    arrays = {"ids": np.arange(3), "late": np.array([0.5, 1.5, 2.5])}
    common = {"model": "m", "data": "digits", "tool_version": "1"}
    identity = chunk_identity(common, kind="run", index=0, ids=arrays["ids"], chunk_frames=3,
                              config={"run": {"seed": 0, "energy": "truenorth"}})
    path = write_chunk(tmp_path / "00000.npz", arrays, identity)
    back, why = read_chunk(path, identity)
    assert why is None and back is not None and np.array_equal(back["late"], arrays["late"])
    # the energy preset does not determine a chunk (energy is priced after all chunks)
    same = chunk_identity(common, kind="run", index=0, ids=arrays["ids"], chunk_frames=3,
                          config={"run": {"seed": 0, "energy": "canmore-22nm"}})
    assert read_chunk(path, same)[1] is None
    other = chunk_identity(common, kind="run", index=0, ids=arrays["ids"], chunk_frames=3,
                           config={"run": {"seed": 1}})
    assert read_chunk(path, other) == (None, "it was computed with a different configuration")
    moved = chunk_identity(common, kind="run", index=0, ids=arrays["ids"] + 1, chunk_frames=3,
                           config={"run": {"seed": 0}})
    assert "frame selection" in read_chunk(path, moved)[1]
    assert read_chunk(tmp_path / "absent.npz", identity) == (None, None)
    with np.load(path) as loaded:
        meta = loaded["_meta"]
    np.savez(path, ids=arrays["ids"], late=np.array([0.5, 1.5, 9.5]), _meta=meta)  # edited
    assert read_chunk(path, identity) == (
        None, "its file was edited or damaged (checksum does not match)")
    data = write_chunk(path, arrays, identity).read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated
    assert read_chunk(path, identity) == (None, "its file is damaged or not a chunk file")


def test_a_single_in_process_chunk_may_release_the_weights_with_the_same_numbers(
        tmp_path) -> None:
    source = ModelSource()
    config = with_overrides(default_config(), {"run.frames": 3, "run.chunk_frames": 8})
    kept_graph, given_graph = source.load(), source.load()
    kept = _summary(run_map(kept_graph, source, config, tmp_path / "kept"))
    given = _summary(run_map(given_graph, source, config, tmp_path / "given",
                             release_weights=True))
    assert not kept_graph.weights_released  # only when asked
    assert given_graph.weights_released
    assert given == kept
    # a run over several chunks keeps them (every chunk needs them)
    several = source.load()
    run_map(several, source, with_overrides(config, {"run.chunk_frames": 2}),
            tmp_path / "several", release_weights=True)
    assert not several.weights_released


def test_chunks_merge_the_same_in_any_arrival_order_from_memory_or_file(tmp_path) -> None:
    from canmore_sim.chunked.merge import Merger

    source = ModelSource()
    config = _config(**{"run.frames": 6, "run.chunk_frames": 2})
    run_map(source.load(), source, config, tmp_path)
    folder = tmp_path / "chunks"
    identities = []
    for i in range(3):
        with np.load(folder / f"{i:05d}.npz") as data:
            identities.append(json.loads(str(data["_meta"]))["identity"])
    arrays = [read_chunk(folder / f"{i:05d}.npz", identities[i])[0] for i in range(3)]
    merged = []
    for order, buffered, in_memory in (((0, 1, 2), 4, True), ((2, 1, 0), 4, True),
                                       ((2, 1, 0), 0, True), ((1, 2, 0), 4, False)):
        merger = Merger(folder, identities, buffered=buffered)
        for i in order:
            merger.add(i, arrays[i] if in_memory else None)
        merged.append(merger.result())
    for other in merged[1:]:
        assert other.keys() == merged[0].keys()
        for key in merged[0]:
            a, b = np.asarray(other[key]), np.asarray(merged[0][key])
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), key
    incomplete = Merger(folder, identities, buffered=4)
    incomplete.add(1, arrays[1])
    with pytest.raises(Exception, match="merged 0 of 3 chunks"):
        incomplete.result()


def test_chunks_in_this_process_quantize_the_network_once(tmp_path, bundled, monkeypatch) -> None:
    """The run quantizes the network for its mapping; its chunks here reuse that (the
    pipeline's own quantization is never called), with the same numbers."""
    import canmore_sim.run.pipeline as pipeline

    source, graph = bundled
    config = _config()
    expected = _summary(run_map(graph, source, config, tmp_path / "before", workers=1))

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a chunk quantized the network again")

    monkeypatch.setattr(pipeline, "quantize_graph", refuse)
    again = _summary(run_map(graph, source, config, tmp_path / "after", workers=1))
    assert again["frames"] == expected["frames"] and again["layers"] == expected["layers"]


@pytest.mark.parametrize("n", [0, 1, 7, 5000])
def test_latency_bins_are_the_unique_floors_of_the_finite_latencies(n: int) -> None:
    from canmore_sim.noc.bins import LATENCY_BIN_NS, latency_bins

    rng = np.random.default_rng(n)
    inject = rng.uniform(0, 1e5, n)
    deliver = inject + rng.exponential(300.0, n) * rng.integers(0, 3, n)  # ties and zeros
    deliver[::5] = np.nan  # undelivered rows
    latency = deliver - inject
    finite = latency[np.isfinite(latency)]
    bins, counts = np.unique(np.floor(finite / LATENCY_BIN_NS).astype(np.int64),
                             return_counts=True)
    got = latency_bins(deliver, inject)
    assert got.dtype == np.int64 and got.shape == (2, len(bins))
    assert np.array_equal(got, np.stack([bins, counts]))
