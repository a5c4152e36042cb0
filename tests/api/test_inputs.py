"""The Python API with the inputs of issue 26: ``canmore_sim.simulate`` resolves the input
encoding and normalization against the network and the data as ``canmore-sim map`` does,
adapts frames of another shape when asked, derives the layer window, and records all of
it (report.json's ``provenance`` and ``window``, ``Result.provenance``, ``Result.window``,
``Result.notes``), the same records as the command's, key for key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import canmore_sim
from canmore_sim.cli.main import main
from canmore_sim.errors import DataError, ModelError
from canmore_sim.report.text import render_table
from canmore_sim.run.provenance import GIVEN_MODEL
from canmore_sim.run.source import ModelSource
from tests.cores.own_network import SPEC, save_state_dict, train, write_cifar


def _timeless(value: Any) -> Any:
    """report.json without its wall times (``wall_s`` and every ``*_s`` timing key)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items()
                if "wall" not in k and not k.endswith("_s")}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _note_lines(printed: str) -> list[str]:
    return [line for line in printed.splitlines() if line.startswith("note: ")]


@pytest.fixture(scope="module")
def own(tmp_path_factory) -> Path:
    """A folder holding ``cifar/`` (CIFAR-format files) and ``net.pt``: a bare state_dict
    in the official layout (a few training steps: what matters here is the format)."""
    root = tmp_path_factory.mktemp("own")
    net, _ = train(write_cifar(root / "cifar", n_train=64, n_test=8), steps=3)
    save_state_dict(net, root / "net.pt")
    return root


def _own_run(own: Path, tmp: Path, capsys, sets: dict[str, str],
             overrides: dict[str, Any]) -> tuple[dict[str, Any], list[str], canmore_sim.Result]:
    """The command's report.json and notes, and the API's result, for the same run."""
    out = tmp / "cli"
    args = ["map", "--model", str(own / "net.pt"), "--arch", SPEC, "--data",
            f"cifar10:{own / 'cifar'}", "--mesh", "4x4", "--frames", "4", "--workers", "1",
            "--quiet", "--out", str(out)]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    capsys.readouterr()
    assert main(args) == 0
    notes = _note_lines(capsys.readouterr().out)
    result = canmore_sim.simulate(own / "net.pt", arch=SPEC, data=f"cifar10:{own / 'cifar'}",
                                  mesh="4x4", frames=4, workers=1, **overrides)
    return json.loads((out / "report.json").read_text()), notes, result


def test_auto_inputs_of_an_official_state_dict_are_the_command_s(own, tmp_path,
                                                                 capsys) -> None:
    report, notes, result = _own_run(own, tmp_path, capsys, {}, {})
    assert _timeless(result.summary) == _timeless(report)
    assert result.provenance == report["provenance"] and result.window == report["window"]
    assert list(result.notes) == notes
    assert any("data.normalize: cifar10, neuron.input_encoding: direct" in n for n in notes)
    data, model = result.provenance["data"], result.provenance["model"]
    assert data["encoding"] == "direct" and data["normalization"]["name"] == "cifar10"
    assert data["input_values"]["negative"] > 0  # normalized values below the mean
    assert model["format"] == "official DTA-TTFS state_dict" and model["sha256"]
    assert model["path"] == str(own / "net.pt")
    assert result.window["mode"] == "auto"
    assert result.run.config.neuron.window_ns == result.window["window_ns"]  # derived
    assert result.run.config.neuron.input_encoding == "direct"


def test_inputs_set_as_keywords_are_run_and_recorded(own, tmp_path, capsys) -> None:
    mean_std = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    report, notes, result = _own_run(
        own, tmp_path, capsys,
        {"neuron.input_encoding": "ttfs", "data.normalize": json.dumps(mean_std),
         "neuron.window_ns": "50000"},
        {"neuron__input_encoding": "ttfs", "data__normalize": mean_std,
         "neuron__window_ns": 50000})
    assert _timeless(result.summary) == _timeless(report)
    assert list(result.notes) == notes == []  # nothing chosen for the user, nothing adapted
    data = result.provenance["data"]
    assert data["encoding"] == "ttfs"
    assert data["normalization"]["mean"] == mean_std["mean"]
    assert data["normalization"]["std"] == mean_std["std"]
    assert result.window == {**result.window, "mode": "fixed", "window_ns": 50000.0}
    assert result.summary["config"]["data"]["normalize"] == mean_std


def test_frames_of_another_shape_are_adapted_when_asked(tmp_path) -> None:
    images = np.random.default_rng(0).random((3, 16, 16))
    np.savez(tmp_path / "frames.npz", x=images, y=np.array([1, 2, 3]))
    data = f"npz:{tmp_path / 'frames.npz'}"
    with pytest.raises(DataError, match=r"16x16"):
        canmore_sim.simulate(data=data, frames=3, workers=1)
    result = canmore_sim.simulate(data=data, frames=3, workers=1, data__adapt="resize")
    recorded = result.provenance["data"]
    assert recorded["adapted"] and recorded["reader"] == "npz"
    assert recorded["original_shape"] == [1, 16, 16]
    assert recorded["fed_shape"] == list(result.run.graph.input_shape)
    assert len(result.notes) == 1 and "adapted" in result.notes[0]
    assert "16x16" in result.notes[0]


def test_a_network_given_in_memory_is_recorded_as_such(tmp_path) -> None:
    graph = ModelSource().load()
    result = canmore_sim.simulate(graph, frames=2)
    model = result.provenance["model"]
    assert model["path"] == GIVEN_MODEL and model["sha256"] is None
    assert model["format"] == "canmore-sim checkpoint"
    assert result.provenance["data"]["reader"] == "digits"
    folder = result.write(tmp_path / "out")
    report = json.loads((folder / "report.json").read_text())
    assert report["provenance"] == result.provenance
    assert "model no file hash (canmore-sim checkpoint)" in render_table(report)
    with pytest.raises(ModelError, match="in memory"):
        ModelSource(given=True).load()  # nothing to load: never the bundled network instead
