"""Closed-loop timing through chunked map runs (canmore_sim.chunked.timing): the report's
``timing`` section and the ideal energy survive the chunks, do not depend on the chunking
under drop-late (accumulate) nor on the workers, resume, and price the ideal energy as an
ideal run of the same frames does."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from canmore_sim.chunked.run import run_map
from canmore_sim.chunked.timing import HISTORY_COLUMNS, TimingParts, chunk_arrays
from canmore_sim.config import default_config, with_overrides
from canmore_sim.datasets.readers import load_frames
from canmore_sim.errors import SimulationError
from canmore_sim.report.summary import summarize
from canmore_sim.run.pipeline import run
from canmore_sim.run.source import ModelSource

N_FRAMES = 7
#: 10-us windows: the bundled network's input spikes arrive late and are dropped.
LATE = {"run.frames": N_FRAMES, "neuron.window_ns": 10000, "run.timing": "drop-late"}


@pytest.fixture(scope="module")
def bundled():
    source = ModelSource()
    return source, source.load()


def _config(**overrides):
    return with_overrides(default_config(), {**LATE, "run.chunk_frames": 3, **overrides})


def _summary(result) -> dict:
    return json.loads(json.dumps(summarize(result), allow_nan=True))


@pytest.mark.slow
def test_drop_late_figures_do_not_depend_on_the_chunking(tmp_path, bundled) -> None:
    source, graph = bundled
    short = {"neuron.window_ns": 5000}  # one frame needs a replay more than the others
    runs = {size: _summary(run_map(graph, source, _config(**short, **{"run.chunk_frames": size}),
                                   tmp_path / str(size)))
            for size in (1, 5, N_FRAMES)}  # 7 chunks, 5 + 2 frames, one chunk of all
    replays = {int(np.load(path)["timing_iterations"])
               for path in (tmp_path / "1" / "chunks").glob("*.npz")}
    assert len(replays) > 1  # the chunks stopped after different replays
    frames, labels, ids = load_frames(None, graph.input_shape, N_FRAMES, 0)
    single = _summary(run(graph, frames, labels, _config(**short), frame_ids=ids))
    assert single["timing"]["lost_pairs"] > 100  # the loop really drops pairs
    assert single["timing"]["predictions_changed"] > 0
    assert single["timing"]["iterations"] == max(replays)
    for size, chunked in runs.items():
        assert chunked["frames"] == single["frames"], size  # frames.csv, energy included
        assert chunked["timing"] == single["timing"], size  # iterations and history too
        assert chunked["accuracy"] == single["accuracy"], size


def test_one_and_two_workers_give_the_same_closed_loop(tmp_path, bundled) -> None:
    source, graph = bundled
    one = _summary(run_map(graph, source, _config(), tmp_path / "one", workers=1))
    two = _summary(run_map(graph, source, _config(), tmp_path / "two", workers=2))
    assert "timing" in one and one == two


def test_the_ideal_energy_is_that_of_an_ideal_run_of_the_same_frames(tmp_path,
                                                                     bundled) -> None:
    source, graph = bundled
    small = {"run.frames": 4, "run.chunk_frames": 3}
    for preset in ("canmore-22nm", "spinnaker"):  # spinnaker: a rate-IF reference pass
        loop = run_map(graph, source, _config(**small, **{"run.energy": preset}),
                       tmp_path / preset)
        ideal = run_map(graph, source, _config(**small, **{"run.energy": preset,
                                                           "run.timing": "ideal"}),
                        tmp_path / f"{preset}-ideal")
        assert loop.timing is not None and ideal.timing is None
        assert np.array_equal(loop.timing.ideal_energy_uj, ideal.energy.total_uj), preset
        assert np.array_equal(loop.timing.ideal.predictions, ideal.trace.predictions)
        assert loop.energy_reference == ideal.energy_reference  # ideal-timed reference
        assert not np.array_equal(loop.energy.total_uj, ideal.energy.total_uj)


def test_resume_of_a_closed_loop_run_gives_the_same_report(tmp_path, bundled) -> None:
    source, graph = bundled
    config = _config(**{"run.frames": 5, "run.chunk_frames": 2})  # 3 chunks
    first = _summary(run_map(graph, source, config, tmp_path))
    (tmp_path / "chunks" / "00001.npz").unlink()
    notes: list[str] = []

    def note(text: str) -> None:  # the digits' adaptation note is said on every run
        if "frames adapted to the network's" not in text:
            notes.append(text)

    resumed = _summary(run_map(graph, source, config, tmp_path, resume=True, note=note))
    assert resumed == first and not notes  # a missing file runs again without a note
    changed = with_overrides(config, {"run.timing_max_iterations": 2})
    capped = run_map(graph, source, changed, tmp_path, resume=True, note=note)
    assert len(notes) == 3 and "different configuration" in notes[0]
    assert capped.timing is not None and capped.timing.iterations <= 2


@pytest.mark.slow
def test_arrival_delays_merge_from_per_frame_sums(tmp_path, bundled) -> None:
    source, graph = bundled
    config = _config(**{"run.timing": "arrival", "neuron.window_ns": 30000,
                        "run.timing_substeps": 4, "run.frames": 4, "run.chunk_frames": 2})
    chunked = run_map(graph, source, config, tmp_path)
    frames, labels, ids = load_frames(None, graph.input_shape, 4, 0)
    single = run(graph, frames, labels, config, frame_ids=ids)
    t, s = chunked.timing, single.timing
    assert t is not None and s is not None and s.delay_mean[0] > 0
    assert t.fixed_point and s.fixed_point  # every chunk converged: chunking changes nothing
    assert np.array_equal(t.delay_sum, s.delay_sum)
    assert np.array_equal(t.delay_count, s.delay_count)
    assert np.array_equal(t.delay_mean, s.delay_mean)
    counts = t.delay_count.sum(axis=0)
    assert np.allclose(t.delay_mean * counts, t.delay_sum.sum(axis=0), rtol=1e-12)


def test_merged_history_counts_a_finished_chunk_with_its_last_replay() -> None:
    parts = TimingParts()
    for rows, fixed in (([[5, 0, 0, 2, 3], [4, 5, 1, 1, 3]], True), ([[7, 0, 0, 1, 2]], True)):
        parts.add(_chunk(np.array(rows), fixed, n_frames=3))
    merged = parts.arrays()
    assert merged["timing_iterations"] == 2 and merged["timing_fixed_point"]
    assert merged["timing_history"].tolist() == [[12, 0, 0, 3, 5], [11, 5, 1, 2, 5]]
    assert len(merged["timing_lost"]) == 6


@pytest.mark.parametrize("timed_first", [True, False])
def test_chunks_that_differ_in_run_timing_are_refused(timed_first) -> None:
    timed = _chunk(np.array([[1, 0, 0, 1, 1]]), True, n_frames=1)
    ideal = {"ids": np.zeros(1, dtype=np.int64)}
    parts = TimingParts()
    parts.add(timed if timed_first else ideal)
    with pytest.raises(SimulationError, match="differ in run.timing"):
        parts.add(ideal if timed_first else timed)


def test_a_loop_result_without_ideal_counts_is_refused(bundled) -> None:
    _, graph = bundled
    frames, labels, _ = load_frames(None, graph.input_shape, 1, 0)
    result = run(graph, frames, labels, _config(**{"run.frames": 1}))
    assert result.timing is not None and result.timing.ideal_counts is not None
    broken = replace(result, timing=replace(result.timing, ideal_counts=None))
    with pytest.raises(SimulationError, match="no ideal counts"):
        chunk_arrays(broken)


def _chunk(history: np.ndarray, fixed: bool, n_frames: int) -> dict[str, np.ndarray]:
    """The closed-loop arrays of a chunk of ``n_frames`` frames and two layers."""
    zeros = np.zeros((n_frames, 2), dtype=np.int64)
    assert history.shape[1] == len(HISTORY_COLUMNS)
    return {"ideal_predictions": np.zeros(n_frames, dtype=np.int64),
            "ideal_readout": np.zeros((n_frames, 3)), "ideal_neuron_spikes": zeros,
            "ideal_sent": zeros, "ideal_end_time": np.array(np.nan),
            "timing_lost": zeros, "timing_late_pairs": zeros,
            "timing_delay_sum": zeros.astype(np.float64), "timing_delay_count": zeros,
            "timing_mode": np.array("drop-late"), "timing_update": np.array("accumulate"),
            "timing_iterations": np.array(len(history)), "timing_fixed_point": np.array(fixed),
            "timing_cycle": np.array(0), "timing_history": history,
            "ideal_count_sops": np.zeros(n_frames, dtype=np.int64)}
