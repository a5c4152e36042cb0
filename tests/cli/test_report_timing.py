"""Closed-loop timing through the CLI: report.json section, terminal block, page, checks."""

from __future__ import annotations

import json

import pytest

from canmore_sim.cli.main import main


@pytest.fixture(scope="module")
def loop_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("loop")
    code = main(["map", "--frames", "2", "--out", str(out), "--quiet",
                 "--set", "neuron.window_ns=10000", "--set", "run.timing=drop-late"])
    assert code == 0
    return out


def test_report_json_puts_ideal_and_on_chip_side_by_side(loop_run) -> None:
    report = json.loads((loop_run / "report.json").read_text())
    t = report["timing"]
    assert t["mode"] == "drop-late" and t["update"] == "accumulate"
    assert 1 <= t["iterations"] <= t["max_iterations"] == 10
    assert t["accuracy_ideal"] == report["accuracy"]["quantized"]
    assert t["energy_on_chip"] == pytest.approx(report["mean"]["energy_total_uj"])
    assert t["energy_ideal"] > t["energy_on_chip"]  # lost spikes send and integrate less
    assert t["lost_pairs"] == pytest.approx(sum(r["lost_pairs"] for r in t["layers"]))
    assert t["layers"][0]["lost_pairs"] > 100  # 10 us windows: the input spikes are late
    assert [r["name"] for r in t["layers"]] == ["conv1", "conv2", "conv3", "fc1"]
    changed = sum(a != b for a, b in zip(t["ideal_predictions"],
                                         report["frames"]["prediction"], strict=True))
    assert t["predictions_changed"] == changed
    assert len(t["history"]) == t["iterations"]


def test_terminal_and_page_show_the_closed_loop(loop_run, capsys) -> None:
    capsys.readouterr()
    assert main(["report", str(loop_run)]) == 0
    out = capsys.readouterr().out
    assert "closed-loop timing drop-late (accumulate):" in out
    assert "accuracy ideal" in out and "-> on chip" in out and "lost pairs/frame" in out
    assert "run.timing drop-late removed them from the computation" in out
    page = (loop_run / "report.html").read_text()
    assert "Closed-loop timing: ideal and on chip" in page and "conv1: pairs lost" in page


@pytest.mark.parametrize(("path", "value", "key"), [
    (("timing", "iterations"), "three", "timing.iterations"),
    (("timing", "fixed_point"), None, "timing.fixed_point"),
    (("timing", "ideal_predictions"), [1], "timing.ideal_predictions"),
])
def test_a_damaged_timing_section_is_one_line(loop_run, tmp_path, capsys, path, value,
                                              key) -> None:
    report = json.loads((loop_run / "report.json").read_text())
    report[path[0]][path[1]] = value
    (tmp_path / "report.json").write_text(json.dumps(report))
    assert main(["report", str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip()
    assert key in err and "\n" not in err


def test_an_ideal_run_has_no_timing_section(tmp_path, capsys) -> None:
    assert main(["map", "--frames", "1", "--out", str(tmp_path), "--quiet"]) == 0
    assert "timing" not in json.loads((tmp_path / "report.json").read_text())
    assert "closed-loop timing" not in capsys.readouterr().out


@pytest.mark.parametrize(("sets", "expected"), [
    (["run.timing=late"], "run.timing"),
    (["run.timing=arrival", "neuron.model=t2fsnn"], "neuron model t2fsnn"),
    (["run.timing_max_iterations=0"], "run.timing_max_iterations"),
])
def test_bad_timing_settings_are_one_line(tmp_path, capsys, sets, expected) -> None:
    args = ["map", "--frames", "1", "--out", str(tmp_path / "o"), "--quiet"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("canmore-sim: error:") and expected in err and "\n" not in err


def test_a_report_without_frame_indices_is_one_line(loop_run, tmp_path, capsys) -> None:
    report = json.loads((loop_run / "report.json").read_text())
    del report["frames"]["data_index"]  # (once a KeyError traceback in report_check)
    (tmp_path / "report.json").write_text(json.dumps(report))
    assert main(["report", str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip()
    assert "frames.data_index is missing" in err and "\n" not in err
