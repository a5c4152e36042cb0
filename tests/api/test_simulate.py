"""The Python API: ``canmore_sim.simulate`` computes what ``canmore-sim map`` computes, its
tables are the report's CSVs as DataFrames, ``Result.write`` writes the command's folder,
and configuration keys are checked as ``--set`` checks them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import canmore_sim
from canmore_sim.cli.main import main
from canmore_sim.errors import ConfigError, MissingDependencyError
from canmore_sim.report.folders import MANIFEST
from canmore_sim.run.source import ModelSource

FILES = ("frames.csv", "layers.csv", "cores.csv", "classes.csv", "mapping.json")


def _timeless(value: Any) -> Any:
    """report.json without its wall times (``wall_s`` and every ``*_s`` timing key)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items()
                if "wall" not in k and not k.endswith("_s")}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> tuple[Path, Path, canmore_sim.Result]:
    """The bundled default network on 3 frames: the command's folder and the API's."""
    root = tmp_path_factory.mktemp("api")
    cli_out, api_out = root / "cli", root / "api"
    assert main(["map", "--frames", "3", "--workers", "1", "--quiet", "--out",
                 str(cli_out)]) == 0
    result = canmore_sim.simulate("default", frames=3, workers=1)
    assert result.write(api_out) == api_out
    return cli_out, api_out, result


def test_simulate_writes_the_command_s_report_folder(both) -> None:
    cli_out, api_out, result = both
    cli_report = json.loads((cli_out / "report.json").read_text())
    api_report = json.loads((api_out / "report.json").read_text())
    assert _timeless(api_report) == _timeless(cli_report)
    assert _timeless(result.summary) == _timeless(cli_report)
    for name in FILES:
        assert (api_out / name).read_bytes() == (cli_out / name).read_bytes(), name
    assert sorted(p.name for p in api_out.iterdir()) == sorted(p.name for p in cli_out.iterdir())
    assert json.loads((api_out / MANIFEST).read_text())["kind"] == "map"
    # what ran on what, and how the window was set (issue 26), recorded as the command does
    assert result.provenance == cli_report["provenance"] and result.provenance["model"]
    assert result.window == cli_report["window"] and result.window["mode"] == "auto"
    assert result.notes == ("note: digits: 8x8x1 frames adapted to the network's 32x32x1 "
                            "input: resized (bilinear)",)


def test_the_command_re_renders_the_api_s_folder(both, capsys) -> None:
    _, api_out, _ = both
    before = (api_out / "frames.csv").read_bytes()
    (api_out / "frames.csv").unlink()
    assert main(["report", str(api_out)]) == 0
    assert (api_out / "frames.csv").read_bytes() == before
    assert "re-rendered" in capsys.readouterr().out


def test_the_tables_are_the_report_s_csv_files(both) -> None:
    _, api_out, result = both
    frames = pd.read_csv(api_out / "frames.csv")
    pd.testing.assert_frame_equal(result.frames, frames, check_dtype=False)
    cores = pd.read_csv(api_out / "cores.csv")
    pd.testing.assert_frame_equal(result.cores, cores[cores["core"] != "io"].astype(
        result.cores.dtypes.to_dict()), check_dtype=False)
    assert len(result.layers) == len(result.run.quantized.layers)
    assert list(result.layers["sops"]) == [row["sops"] for row in result.summary["layers"]]
    assert result.frames["sops"].tolist() == result.run.cores.sops_per_frame.tolist()


def test_overrides_as_keywords_or_a_dict_are_the_same_config() -> None:
    graph = ModelSource().load()
    keywords = canmore_sim.simulate(graph, frames=1, router__buffer_depth=2, mesh=(6, 6))
    mapping = canmore_sim.simulate(graph, frames=1, mesh="6x6",
                                   overrides={"router.buffer_depth": 2})
    assert keywords.run.config == mapping.run.config
    assert keywords.run.config.router.buffer_depth == 2
    assert (keywords.run.config.mesh.width, keywords.run.config.mesh.height) == (6, 6)
    assert _timeless(keywords.summary) == _timeless(mapping.summary)
    assert not graph.weights_released  # a network given as a LayerGraph keeps its weights


def test_a_bad_key_or_value_is_one_line_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"router\.buffer_dept: unknown config key "
                                          r".*did you mean 'router\.buffer_depth'"):
        canmore_sim.simulate(router__buffer_dept=2)
    with pytest.raises(ConfigError, match=r"router\.buffer_depth=-1"):
        canmore_sim.simulate(overrides={"router.buffer_depth": -1})
    with pytest.raises(ConfigError, match="workers=2"):
        canmore_sim.simulate(ModelSource().load(), workers=2)


def test_the_tables_without_pandas_say_how_to_install_it(both, monkeypatch) -> None:
    _, _, result = both
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
    with pytest.raises(MissingDependencyError, match=r"canmore-sim\[pandas\]"):
        _ = result.frames
    assert result.summary["mean"]["sops"] > 0  # the rest of the result needs no pandas
