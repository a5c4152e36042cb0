"""Chunks none of whose frames is replayed run before the window is known (``neuron.window_ns:
auto``, canmore_sim.chunked.window.run_early): the same window, rows and report as one
process simulating every frame, for 1 and 2 workers, and their files are reused on resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from canmore_sim.chunked.run import run_map
from canmore_sim.config import default_config, with_overrides
from canmore_sim.datasets.readers import load_frames
from canmore_sim.report.summary import summarize
from canmore_sim.run.pipeline import run
from canmore_sim.run.source import ModelSource

#: Whole-run float sums merged chunk by chunk (their last bits may differ from one process).
CHUNK_SUMMED = ("noc",)


def _summary(result) -> dict:
    return json.loads(json.dumps(summarize(result), allow_nan=True))


@pytest.fixture(scope="module")
def bundled():
    source = ModelSource()
    return source, source.load()


@pytest.mark.parametrize("replay", [{"run.replay": "none"},
                                    {"run.replay": "sample", "run.replay_frames": 1}])
def test_early_chunks_give_the_window_and_rows_of_one_process(tmp_path, bundled, replay) -> None:
    source, graph = bundled
    config = with_overrides(default_config(), {"run.frames": 7, "run.chunk_frames": 3,
                                               **replay})
    assert config.neuron.window_ns == "auto"
    notes: list[str] = []
    chunked = run_map(graph, source, config, tmp_path / "one", workers=1, note=notes.append)
    replayed = chunked.noc.replayed
    assert replayed is not None and not replayed[:3].any()  # chunk 0 ran early
    frames, labels, ids = load_frames(None, graph.input_shape, 7, 0)
    single = run(graph, frames, labels, config, frame_ids=ids)
    ours, theirs = _summary(chunked), _summary(single)
    assert ours["window"] == theirs["window"] and ours["window"]["mode"] == "auto"
    assert chunked.config.neuron.window_ns == single.config.neuron.window_ns
    assert ours["frames"] == theirs["frames"]  # every per-frame column, energy included
    for key in set(theirs) - set(CHUNK_SUMMED):
        assert json.dumps(ours[key]) == json.dumps(theirs[key]), key  # NaN as NaN
    two = _summary(run_map(graph, source, config, tmp_path / "two", workers=2))
    assert json.dumps({k: v for k, v in two.items() if k != "execution"}) == \
        json.dumps({k: v for k, v in ours.items() if k != "execution"})
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "one" / "chunks").glob("*.npz")}
    again = run_map(graph, source, config, tmp_path / "one", workers=1, resume=True,
                    note=notes.append)
    assert not [n for n in notes if "running it again" in n]  # every chunk file verified
    assert stamps == {p.name: p.stat().st_mtime_ns
                      for p in (tmp_path / "one" / "chunks").glob("*.npz")}
    assert _summary(again)["frames"] == ours["frames"]
    assert np.array_equal(again.energy.total_uj, chunked.energy.total_uj)
