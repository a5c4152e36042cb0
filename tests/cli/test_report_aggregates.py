"""The aggregates in the report files: terminal lines, the page's tables, classes.csv,
energy_hist.png, ``canmore-sim report DIR`` on reports with and without the section, and
report_check on the section."""

from __future__ import annotations

import copy
import csv
import io
import json
import re

import pytest

from canmore_sim.cli.main import main
from canmore_sim.errors import DataError
from canmore_sim.report.aggregate_rows import CLASS_COLUMNS
from canmore_sim.report.schema import check_report
from canmore_sim.report.text import render_table


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("agg-report")
    assert main(["map", "--frames", "4", "--out", str(out), "--quiet"]) == 0
    return out, json.loads((out / "report.json").read_text())


def _rerender(tmp_path, report: dict, capsys) -> tuple[str, str]:
    """Write ``report`` as the only file of a folder, re-render it; terminal output, page."""
    (tmp_path / "report.json").write_text(json.dumps(report))
    capsys.readouterr()
    assert main(["report", str(tmp_path)]) == 0
    return capsys.readouterr().out, (tmp_path / "report.html").read_text()


def test_terminal_shows_mean_and_interval_of_every_aggregate(run) -> None:
    _, report = run
    text = render_table(report)
    agg = report["aggregates"]
    energy = agg["metrics"]["energy_total_uj"]
    line = next(x for x in text.splitlines() if x.startswith("energy per frame, uJ"))
    assert line.split()[4:7] == [str(energy["n"]), f"{energy['mean']:,.4f}",
                                 f"{energy['ci_half_width']:,.4f}"]
    assert "Student t, 3 degrees of freedom" in text and "+- 95% CI" in text
    q = agg["accuracy"]["quantized"]
    assert (f"4-bit {q['value']:.3f} [{q['ci_low']:.3f}, {q['ci_high']:.3f}] "
            f"({q['correct']} of {q['labelled']})") in text
    assert "per true class" in text
    assert max(len(x) for x in text.split("\n\n")[2].splitlines()) <= 110  # fits a terminal


def test_page_has_the_aggregates_and_class_tables_and_the_histogram(run) -> None:
    out, report = run
    page = (out / "report.html").read_text()
    agg = report["aggregates"]
    assert "Over the frames: mean and 95% confidence interval" in page
    assert "Per true class" in page and 'href="classes.csv"' in page
    for stats in agg["metrics"].values():
        for key in ("mean", "ci_low", "ci_high"):
            assert f'data-sort="{stats[key]!r}"' in page
    assert f'data-sort="{agg["accuracy"]["quantized"]["ci_low"]!r}"' in page
    half, q = agg["metrics"]["energy_total_uj"]["ci_half_width"], agg["accuracy"]["quantized"]
    assert f"+- {half:.4g} uJ (95% CI, 4 frames)" in page  # the energy card's note
    assert f"95% CI {q['ci_low']:.1%} - {q['ci_high']:.1%} (Wilson)" in page
    assert re.search(r'<img src="energy_hist.png"[^>]*><figcaption>Energy per frame', page)
    assert (out / "energy_hist.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((out / "canmore-manifest.json").read_text())
    assert {"classes.csv", "energy_hist.png"} <= set(manifest["files"])


def test_classes_csv_holds_the_per_class_rows(run) -> None:
    out, report = run
    rows = list(csv.DictReader(io.StringIO((out / "classes.csv").read_text())))
    classes = report["aggregates"]["classes"]
    assert list(rows[0]) == list(CLASS_COLUMNS) and len(rows) == len(classes)
    for row, want in zip(rows, classes, strict=True):
        assert int(row["label"]) == want["label"] and int(row["frames"]) == want["frames"]
        assert float(row["energy_total_uj"]) == want["energy_total_uj"]
        assert float(row["ci_low"]) == want["ci_low"]
    assert sum(int(r["frames"]) for r in rows) == 4


def test_report_command_renders_an_older_report_without_the_section(run, tmp_path,
                                                                    capsys) -> None:
    out, report = run
    old = copy.deepcopy(report)
    del old["aggregates"]
    del old["frames"]["float_prediction"]
    text, page = _rerender(tmp_path, old, capsys)
    assert "+- 95% CI" in text and "Over the frames" in page
    # computed from the frames: the same tables as the run that wrote the section
    assert (tmp_path / "classes.csv").read_text() == (out / "classes.csv").read_text()
    new_text, _ = _rerender(tmp_path, report, capsys)
    assert new_text.split("\nre-rendered")[0] == text.split("\nre-rendered")[0]


def test_one_frame_renders_without_spread(run, tmp_path, capsys) -> None:
    _, report = run
    one = copy.deepcopy(report)
    one["frames"] = {k: v[:1] for k, v in report["frames"].items()}
    del one["aggregates"]
    text, page = _rerender(tmp_path, one, capsys)
    assert "1 frame: no spread and no confidence interval" in text
    assert "One frame: no spread and no confidence interval" in page
    assert (tmp_path / "energy_hist.png").stat().st_size > 0


def test_no_labels_and_constant_energy_render(run, tmp_path, capsys) -> None:
    _, report = run
    odd = copy.deepcopy(report)
    odd["frames"]["label"] = [-1] * 4
    odd["frames"]["energy_total_uj"] = [40.0] * 4
    del odd["aggregates"]
    text, page = _rerender(tmp_path, odd, capsys)
    assert "accuracy: no labelled frames" in text and "per true class" not in text
    assert "Per true class" not in page
    assert (tmp_path / "classes.csv").read_text() == ",".join(CLASS_COLUMNS) + "\n"
    assert (tmp_path / "energy_hist.png").stat().st_size > 0


def test_report_check_accepts_the_section_and_a_report_without_it(run) -> None:
    _, report = run
    assert check_report(copy.deepcopy(report), "r.json")["aggregates"] == report["aggregates"]
    old = copy.deepcopy(report)
    del old["aggregates"]
    check_report(old, "r.json")


def _set(path: str, value):
    def change(report: dict) -> None:
        *head, last = path.split(".")
        node = report
        for key in head:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is KeyError:
            del node[last]
        else:
            node[last] = value
    return change


@pytest.mark.parametrize(("path", "value", "message"), [
    ("aggregates.confidence", 1.5, "aggregates.confidence"),
    ("aggregates.confidence", KeyError, "aggregates.confidence: Field required"),
    ("aggregates.frames", 3, "aggregates.frames is 3, frames.data_index holds 4"),
    ("aggregates.metrics.energy_total_uj.n", "4", "aggregates.metrics.energy_total_uj.n"),
    ("aggregates.metrics.energy_total_uj.n", 3, "n + missing must be the 4 frames"),
    ("aggregates.metrics.energy_total_uj.ci_low", 1e9, "ci_low is above ci_high"),
    ("aggregates.metrics.late_share.mean", "x", "aggregates.metrics.late_share.mean"),
    ("aggregates.accuracy.quantized.correct", 99, "aggregates.accuracy.quantized: needs"),
    ("aggregates.accuracy.quantized", KeyError, "aggregates.accuracy.quantized"),
    ("aggregates.classes.0.correct", 99, "aggregates.classes.0: 99 correct"),
    ("aggregates.classes.0.label", -2, "aggregates.classes.0.label"),
    ("aggregates.confusion.count", [], "label, prediction and count differ in length"),
    ("aggregates.energy_histogram.edges", [1.0], "one more edge than counts"),
    ("aggregates.energy_histogram.counts", [4, 4], "counts more than the 4 frames"),
    ("aggregates.energy_histogram", KeyError, "aggregates.energy_histogram: Field required"),
    ("aggregates.metrics.energy_total_uj", KeyError, "metrics.energy_total_uj is missing"),
    ("aggregates.energy_histogram.edges", "descending", "edges must be in ascending order"),
])
def test_report_check_refuses_a_damaged_section_naming_the_key(run, path, value,
                                                               message: str) -> None:
    _, report = run
    damaged = copy.deepcopy(report)
    if path == "aggregates.energy_histogram.counts":
        damaged["aggregates"]["energy_histogram"]["edges"] = [1.0, 2.0, 3.0]
    if value == "descending":
        value = damaged["aggregates"]["energy_histogram"]["edges"][::-1]
    _set(path, value)(damaged)
    with pytest.raises(DataError, match="damaged report.json") as info:
        check_report(damaged, "r.json")
    assert message in str(info.value)


def test_report_command_refuses_a_damaged_section_in_one_line(run, tmp_path, capsys) -> None:
    _, report = run
    damaged = copy.deepcopy(report)
    damaged["aggregates"]["frames"] = -1
    (tmp_path / "report.json").write_text(json.dumps(damaged))
    assert main(["report", str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "aggregates.frames" in err and "Traceback" not in err


def test_under_closed_loop_timing_the_accuracy_line_names_the_chip(tmp_path) -> None:
    from canmore_sim.cli.main import main
    from canmore_sim.report.summary import read_report
    from canmore_sim.report.text import render_table

    out = tmp_path / "loop"
    assert main(["map", "--frames", "2", "--out", str(out), "--quiet",
                 "--set", "neuron.window_ns=10000", "--set", "run.timing=drop-late"]) == 0
    summary = read_report(out / "report.json")
    line = next(l for l in render_table(summary).splitlines() if "Wilson score" in l)
    assert "4-bit on chip (drop-late)" in line
    agg = summary["aggregates"]["accuracy"]["quantized"]
    assert agg["value"] == summary["timing"]["accuracy_on_chip"]
