"""Reports that answer at a glance, for 8 frames or 10,000 (issue 24).

Every test drives the command line and reads what it rendered: the terminal text, the
page (report.html), layers.csv and report.json. A report of thousands of frames is made
from a real run's report.json by repeating its frames (``canmore-sim report DIR``
renders any report.json).
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from pathlib import Path

import pytest


def _main(argv: list[str]) -> int:
    """``canmore-sim ARGV`` in this process (the console script's entry point)."""
    from canmore_sim.cli.main import main

    return int(main(argv))


def _run(argv: list[str], capsys) -> str:
    capsys.readouterr()
    assert _main(argv) == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The bundled default run (8 frames), as a new user first runs it."""
    out = tmp_path_factory.mktemp("default")
    assert _main(["map", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def loop_run(tmp_path_factory):
    """Closed-loop timing with windows short enough that the chip's answer differs."""
    out = tmp_path_factory.mktemp("loop")
    assert _main(["map", "--frames", "16", "--out", str(out), "--quiet",
                  "--set", "neuron.window_ns=10000", "--set", "run.timing=drop-late"]) == 0
    return out


def many_frames(report: dict, n: int) -> dict:
    """``report`` with its frames repeated to ``n`` (data indices 0..n-1); the aggregates
    are left out, so that rendering computes them from the frames."""
    grown = json.loads(json.dumps(report))
    k = len(report["frames"]["data_index"])
    grown["frames"] = {key: [column[i % k] for i in range(n)]
                       for key, column in report["frames"].items()}
    grown["frames"]["data_index"] = list(range(n))
    grown["frames"]["energy_total_uj"][n // 2] *= 3.0  # one frame stands out
    grown.pop("aggregates", None)
    if "timing" in grown:
        grown["timing"]["ideal_predictions"] = [report["timing"]["ideal_predictions"][i % k]
                                                for i in range(n)]
    return grown


def write_report(folder: Path, report: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report))
    return folder


def _page(folder: Path) -> str:
    return (folder / "report.html").read_text()


def _cards(page: str) -> list[str]:
    """The text of every summary card (tags removed)."""
    cards = re.findall(r'<div class="card(?: \w+)?"[^>]*>(.*?)</div></div>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", " ", c)) for c in cards]


def _frames_header(page: str) -> list[str]:
    table = re.search(r'<table id="frames-table".*?<thead>(.*?)</thead>', page, re.S)
    assert table, "no per-frame table"
    return [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", table.group(1))]


# ----------------------------------------------------------------- the two wrong displays


def test_per_frame_table_has_label_and_prediction_once(default_run) -> None:
    header = _frames_header(_page(default_run))
    assert header.count("label") == 1 and header.count("pred") == 1, header
    assert len(header) == len(set(header)), header


_CARD_INTERVAL = re.compile(r"(\d+\.\d)% \(95% CI (\d+\.\d)% - (\d+\.\d)%")
_LINE_INTERVAL = re.compile(r"(\d\.\d{3}) \[(\d\.\d{3}), (\d\.\d{3})\]")


def _intervals_hold(pattern: re.Pattern[str], text: str) -> int:
    found = pattern.findall(text)
    for value, low, high in found:
        assert float(low) <= float(value) <= float(high), (value, low, high, text)
    return len(found)


def test_closed_loop_never_mixes_ideal_and_on_chip_and_intervals_hold(loop_run, capsys) -> None:
    report = json.loads((loop_run / "report.json").read_text())
    timing = report["timing"]
    assert timing["accuracy_ideal"] != timing["accuracy_on_chip"]  # the case of the issue
    page = _page(loop_run)
    raw = re.findall(r'<div class="card(?: \w+)?"([^>]*)>(.*?)</div></div>', page, re.S)
    cards = {attrs: html.unescape(re.sub(r"<[^>]+>", " ", body)) for attrs, body in raw}
    on_chip = next(t for c, t in cards.items() if 'data-context="on chip"' in c)
    ideal = next(t for c, t in cards.items() if 'data-context="ideal"' in c)
    values = {c: float(re.search(r'data-value="([^"]+)"', body).group(1))
              for c, body in raw if "data-context" in c}
    assert values[next(c for c in values if "on chip" in c)] == timing["accuracy_on_chip"]
    assert values[next(c for c in values if "ideal" in c)] == timing["accuracy_ideal"]
    assert "ideal" not in on_chip and "on chip" not in ideal
    spread = page[page.index('id="aggregates"'):page.index("</section>", page.index(
        'id="aggregates"'))]
    for row in re.findall(r"<tr>(.*?)</tr>", spread):
        assert not ("ideal" in row and "on chip" in row), row
    assert "accuracy on chip (drop-late), 4-bit weights" in spread
    assert sum(_intervals_hold(_CARD_INTERVAL, t) for t in cards.values()) >= 3
    out = _run(["report", str(loop_run)], capsys)
    for line in out.splitlines():
        assert not ("ideal" in line and "on chip" in line), line
    assert _intervals_hold(_LINE_INTERVAL, out) >= 2
    chip_line = next(l for l in out.splitlines() if l.strip().startswith("accuracy on chip"))
    assert f"{timing['accuracy_on_chip']:.3f}" in chip_line
    summary_line = next(l for l in out.splitlines() if l.startswith("  accuracy"))
    assert f"{timing['accuracy_on_chip']:.3f}" in summary_line
    assert f"{timing['accuracy_ideal']:.3f}" not in summary_line
    verbose = _run(["report", str(loop_run), "--verbose"], capsys)
    for line in verbose.splitlines():
        assert not ("ideal" in line and "on chip" in line), line
    assert _intervals_hold(_LINE_INTERVAL, verbose) >= 4


def test_every_interval_holds_its_value_in_the_default_run(default_run, capsys) -> None:
    page = _page(default_run)
    assert sum(_intervals_hold(_CARD_INTERVAL, t) for t in _cards(page)) >= 2
    assert _intervals_hold(_LINE_INTERVAL, _run(["report", str(default_run), "--verbose"],
                                                capsys)) >= 2


# --------------------------------------------------------------- which layer costs most


def test_layer_total_and_shares_in_csv_json_page_and_terminal(default_run, capsys) -> None:
    report = json.loads((default_run / "report.json").read_text())
    terms = report["energy_model"]["terms"]
    rows = list(csv.DictReader(io.StringIO((default_run / "layers.csv").read_text())))
    for row in rows:
        parts = sum(float(row[f"energy_{t}_uj"]) for t in terms)
        assert float(row["energy_total_uj"]) == pytest.approx(parts, rel=1e-12)
    for key, column in (("energy_share", "energy_total_uj"), ("sops_share", "sops"),
                        ("hops_share", "hops_in")):
        total = sum(float(r[column]) for r in rows)
        assert [float(r[key]) for r in rows] == pytest.approx(
            [float(r[column]) / total for r in rows], rel=1e-12)
    assert sum(r["energy_total_uj"] for r in report["layers"]) == pytest.approx(
        report["mean"]["energy_total_uj"])
    page = _page(default_run)
    layers = page[page.index('id="layers"'):page.index('id="frames"')]
    assert "share of energy" in layers and "share of SOPs" in layers and "share of hops" in layers
    top = max(report["layers"], key=lambda r: r["energy_total_uj"])
    assert f"{top['energy_share']:.1%}" in layers
    out = _run(["report", str(default_run)], capsys)
    assert f"costliest layer: {top['name']}" in out and "energy %" in out
    assert f"{top['energy_share']:.0%} of the energy" in out


# --------------------------------------------------------------------- bounded outputs


def _check_screen(out: str, max_lines: int) -> list[str]:
    lines = out.split("\nre-rendered")[0].split("\nwrote ")[0].splitlines()
    too_wide = [line for line in lines if len(line) > 120]
    assert not too_wide, too_wide
    assert len(lines) <= max_lines, len(lines)
    return lines


def test_default_terminal_is_one_screen_within_120_columns(default_run, capsys) -> None:
    out = _run(["report", str(default_run)], capsys)
    lines = _check_screen(out, 40)
    assert "frames.csv holds 8 rows" in out and "--verbose" in out
    assert not any(line.startswith("data idx") for line in lines)  # detail: --verbose only
    assert "top problems:" in out and "summary, mean per frame:" in out
    verbose = _run(["report", str(default_run), "--verbose"], capsys)
    assert any(line.startswith("data idx") for line in verbose.splitlines())
    assert "E_static uJ" in verbose and "busiest cores" in verbose


def test_thousands_of_frames_keep_the_terminal_and_page_bounded(default_run, tmp_path,
                                                                capsys) -> None:
    report = json.loads((default_run / "report.json").read_text())
    big = write_report(tmp_path / "big", many_frames(report, 10_000))
    out = _run(["report", str(big)], capsys)
    small = _run(["report", str(default_run)], capsys)
    assert abs(len(_check_screen(out, 40)) - len(_check_screen(small, 40))) <= 2
    assert "frames.csv holds 10,000 rows" in out
    verbose = _run(["report", str(big), "--verbose"], capsys).splitlines()
    start = next(i for i, line in enumerate(verbose) if line.startswith("data idx"))
    end = next(i for i, line in enumerate(verbose) if line.startswith("mean") and i > start)
    shown = verbose[start + 2:end]
    assert 20 < len(shown) <= 30  # the first 20 and the extremes
    assert any(line.split()[0] == "5000" and line.endswith("most energy") for line in shown)
    assert "frames.csv holds all 10,000 rows" in verbose[start - 1]
    page = _page(big)
    body = page[page.index('<table id="frames-table"'):]
    body = body[:body.index("</table>")]
    assert 20 < body.count("<tr>") - 3 <= 30  # rows shown, without the header and foot
    assert '<a href="frames.csv">frames.csv</a>' in page
    assert len(page) < 3 * len(_page(default_run))
    assert 'href="#layers"' in page and 'id="layers"' in page  # the navigation bar


# ------------------------------------------------------------------------------ severity


def _severities(folder: Path, capsys) -> tuple[list[str], list[str], list[str]]:
    report = json.loads((folder / "report.json").read_text())
    in_json = [n["severity"] for n in report["notices"]]
    in_page = re.findall(r'data-severity="(\w+)"', _page(folder))
    out = _run(["report", str(folder)], capsys)
    in_terminal = [m.lower() for m in re.findall(r"^(INFO|WARNING): ", out, re.M)]
    return in_json, in_page, in_terminal


def test_one_severity_scale_in_terminal_page_and_json(tmp_path, capsys) -> None:
    fixed = ["map", "--frames", "2", "--quiet", "--set", "neuron.window_ns=20000"]
    lenient = tmp_path / "lenient"  # a fixed 20 us window: a few late deliveries
    assert _main([*fixed, "--out", str(lenient)]) == 0
    report = json.loads((lenient / "report.json").read_text())
    assert 0 < report["late_share"] < report["config"]["report"]["late_warn_share"]
    found = _severities(lenient, capsys)
    assert found[0] == found[1] == found[2] == ["info"]
    page = _page(lenient)
    assert 'class="card warning"' not in page and 'class="card info"' in page
    strict = tmp_path / "strict"  # the same late share over a lower threshold: a warning
    assert _main([*fixed, "--out", str(strict), "--set", "report.late_warn_share=0.001"]) == 0
    found = _severities(strict, capsys)
    assert found[0] == found[1] == found[2] == ["warning"]
    assert 'class="card warning"' in _page(strict)
    assert json.loads((strict / "report.json").read_text())["warnings"][0]["severity"] == \
        "warning"


def test_counts_show_as_whole_numbers(default_run) -> None:
    page = _page(default_run)
    late = next(t for t in _cards(page) if "late deliveries" in t)
    assert re.search(r"\b\d[\d,]* of [\d,]+ deliveries", late) and \
        not re.search(r"\d\.\d+ of", late), late
    foot = page[page.index('id="frames-table"'):]
    foot = foot[foot.index("<tfoot>"):foot.index("</tfoot>")]
    header = _frames_header(page)
    mean_row = re.findall(r"<td[^>]*>(.*?)</td>", foot.split("</tr>")[0])
    for name in ("SOPs", "packets", "hops", "late", "sent", "fired"):
        cell = mean_row[header.index(name)]
        assert re.fullmatch(r"[\d,]+", cell), (name, cell)


# ------------------------------------------------------------------------- the paper


@pytest.mark.slow
def test_vgg16_on_cifar10_is_set_against_the_paper(tmp_path, capsys) -> None:
    out_dir = tmp_path / "vgg16"
    out = _run(["map", "--model", "vgg16", "--weights", "synthetic", "--mesh", "8x8",
                "--frames", "1", "--out", str(out_dir), "--quiet"], capsys)
    report = json.loads((out_dir / "report.json").read_text())
    _check_screen(out, 60)  # 16 layers; one tall terminal screen
    block = out[out.index("against the paper"):]
    for text in ("73,000", "71,000,000", "45,400,000", "50.36", "5,964"):
        assert text in block, text
    mean = report["mean"]
    eq12 = mean["sops"] * 20e-6 + mean["hops"] * 100e-6 + 3.52  # papers/004 Eq. 12
    assert f"{eq12:,.0f}" in block and f"{mean['sops']:,.0f}" in block
    assert f"{report['sparsity']['spikes']:,.0f}" in block
    page = _page(out_dir)
    section = page[page.index('id="paper"'):]
    section = section[:section.index("</section>")]
    assert "5,964" in section and "45,400,000" in section and f"{eq12:,.0f}" in section
    assert 'href="#paper"' in page


def test_other_networks_have_no_paper_block(default_run, capsys) -> None:
    assert "against the paper" not in _run(["report", str(default_run)], capsys)
    assert 'id="paper"' not in _page(default_run)


# ------------------------------------------------------------------- smaller items


def test_report_on_a_sweep_folder_says_so_in_one_line(tmp_path, capsys) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text("base: default\nframes: 1\ngrid:\n  router.buffer_depth: [4]\n")
    folder = tmp_path / "sweep"
    assert _main(["sweep", str(spec), "--out", str(folder), "--workers", "1", "--quiet"]) == 0
    capsys.readouterr()
    code = _main(["report", str(folder)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1, err
    assert "is a sweep folder (1 points)" in err and "canmore-sim sweep" in err
    assert "report.json not found" not in err


@pytest.mark.parametrize(("mesh", "sets", "expected"), [
    ("8x8", [], "the 316 cores need 5 chips (a 3x2 grid)"),
    ("32x32", [], "the 316 cores need 1 chip"),
    ("8x8", ["--set", "multichip.overflow=error"], "so 'map' would refuse"),
])
def test_inspect_mesh_says_how_many_chips(capsys, mesh, sets, expected) -> None:
    out = _run(["inspect", "--model", "vgg16", "--mesh", mesh, *sets], capsys)
    cores = int(out.splitlines()[-2].split()[-2].replace(",", ""))  # the total row
    width, height = map(int, mesh.split("x"))
    assert f"need {math.ceil(cores / (width * height))} chip" in out
    assert expected in out.splitlines()[-1]
    assert "chips" not in _run(["inspect", "--model", "vgg16"], capsys).splitlines()[-1]


def test_report_help_lists_only_what_applies(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        _main(["report", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "--verbose" in text and "dir" in text
    for absent in ("registries", "placements", "energy-presets", "config keys", "--set"):
        assert absent not in text, absent
