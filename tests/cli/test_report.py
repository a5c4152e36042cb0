"""Report files, re-rendering with `canmore-sim report DIR`, and the progress bar."""

from __future__ import annotations

import csv
import io
import json

import pytest

from canmore_sim.cli.main import main
from canmore_sim.cli.progress_bar import ProgressBar as _ProgressBar
from canmore_sim.utils.progress import StageEvent

FILES = ("report.json", "mapping.json", "frames.csv", "layers.csv", "cores.csv", "classes.csv",
         "report.html", "energy_layers.png", "sops_spikes_layers.png", "wait_heatmap.png",
         "traffic_heatmap.png", "latency_hist.png", "energy_hist.png", "mapping.png")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["map", "--frames", "2", "--out", str(out), "--quiet"]) == 0
    return out


def test_map_writes_every_report_file(run_dir) -> None:
    for name in FILES:
        assert (run_dir / name).stat().st_size > 0, name
    report = json.loads((run_dir / "report.json").read_text())
    frames = list(csv.DictReader(io.StringIO((run_dir / "frames.csv").read_text())))
    assert len(frames) == 2
    assert [int(r["hops"]) for r in frames] == report["frames"]["hops"]
    total = report["frames"]["energy_total_uj"][0]
    assert float(frames[0]["energy_total_uj"]) == pytest.approx(total)
    layers = list(csv.DictReader(io.StringIO((run_dir / "layers.csv").read_text())))
    assert [r["name"] for r in layers] == ["conv1", "conv2", "conv3", "fc1"]
    assert sum(float(r["energy_sop_uj"]) for r in layers) == pytest.approx(
        report["mean"]["energy_sop_uj"])
    page = (run_dir / "report.html").read_text()
    assert page.count("<img ") == 8 and "frames.csv" in page and "core_sops_heatmap.png" in page
    assert report["config"]["run"]["engine"] == "fast" and "NoC engine fast" in page


def test_report_command_rerenders_from_json(run_dir, capsys) -> None:
    map_output = capsys.readouterr().out
    rendered = [n for n in FILES if n not in ("report.json", "mapping.json")]
    before = {n: (run_dir / n).read_text()
              for n in ("frames.csv", "layers.csv", "cores.csv", "classes.csv", "report.html")}
    for name in rendered:
        (run_dir / name).unlink()
    assert main(["report", str(run_dir)]) == 0
    for name in rendered:
        assert (run_dir / name).stat().st_size > 0, name
    for name, text in before.items():
        assert (run_dir / name).read_text() == text, name
    out = capsys.readouterr().out
    assert "mean" in out and "E_static uJ" in out
    assert map_output == "" or out.split("\nre-rendered")[0] in map_output


def test_cores_csv_adds_up_to_the_frame_totals(run_dir) -> None:
    report = json.loads((run_dir / "report.json").read_text())
    rows = list(csv.DictReader(io.StringIO((run_dir / "cores.csv").read_text())))
    assert len(rows) == report["mapping"]["cores"] + 1 and rows[-1]["core"] == "io"
    mean = report["mean"]

    def total(column: str) -> float:
        return sum(float(r[column]) for r in rows if r[column] != "")

    assert total("sops") == pytest.approx(mean["sops"])
    assert total("spikes_out") == pytest.approx(mean["spikes_sent"])
    assert total("packets_injected") == pytest.approx(mean["packets"])
    assert total("packets_ejected") == pytest.approx(mean["deliveries"])
    assert total("weight_kib") == pytest.approx(sum(r["weight_kib"] for r in report["layers"]))
    cores = report["cores"]  # the same figures as per-core arrays with x, y (heatmaps)
    assert [float(r["sops"]) for r in rows[:-1]] == pytest.approx(cores["sops"])
    assert [(int(r["x"]), int(r["y"])) for r in rows[:-1]] == [
        tuple(xy) for xy in report["mapping"]["core_xy"]]
    for row in report["layers"]:  # and per layer: the layer's cores
        mine = [r for r in rows[:-1] if int(r["layer"]) == row["layer"]]
        assert sum(float(r["sops"]) for r in mine) == pytest.approx(row["sops"])
        assert sum(float(r["packets_ejected"]) for r in mine) == pytest.approx(
            row["deliveries_in"] - (report["io_port"]["packets_ejected"]
                                    if row is report["layers"][-1] else 0.0))


def test_default_run_is_trusted_and_names_its_columns(run_dir) -> None:
    report = json.loads((run_dir / "report.json").read_text())
    # the bundled network delivers a few packets late on its most crowded frames (0.3 %),
    # below the 1 % warning threshold: the share is stated, no warning is raised
    assert report["warnings"] == [] and 0.0 <= report["late_share"] < 0.01
    frames = report["frames"]
    assert {"data_index", "label", "prediction", "neurons_fired", "spikes_sent", "packets",
            "deliveries", "wait_sum_ns", "wait_mean_ns", "late_share"} <= set(frames)
    assert not {"label", "prediction", "data_index"} & set(report["mean"])
    assert frames["neurons_fired"][0] > frames["spikes_sent"][0]  # pooling: fewer travel
    assert frames["wait_mean_ns"][0] == pytest.approx(
        frames["wait_sum_ns"][0] / frames["deliveries"][0])
    flits = report["noc"]["router_flits"]
    assert list(flits) == ["local", "north", "east", "south", "west"]
    assert sum(flits["local"]) == pytest.approx(report["mean"]["deliveries"])
    header = (run_dir / "frames.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["data_index", "label", "prediction"]


def test_energy_per_layer_adds_up(run_dir) -> None:
    report = json.loads((run_dir / "report.json").read_text())
    per_layer, mean = report["energy_per_layer"], report["mean"]
    assert set(per_layer) == {*report["energy_model"]["terms"], "total"}
    for term in report["energy_model"]["terms"]:  # static included: split by core share
        assert sum(per_layer[term]) == pytest.approx(mean[f"energy_{term}_uj"])
    assert sum(per_layer["total"]) == pytest.approx(mean["energy_total_uj"])
    cores = [row["cores"] for row in report["layers"]]
    static = per_layer["static"]
    assert [s / sum(static) for s in static] == pytest.approx([c / sum(cores) for c in cores])
    assert report["energy_model"]["resolved"]["e_interchip_hop_pj"] == 1000.0
    assert report["tool"]["version"] and report["config"]["run"]["energy"] == "canmore-22nm"


def test_report_json_is_strict_json_without_nan(run_dir, tmp_path) -> None:
    from canmore_sim.report.summary import read_report, write_json
    from canmore_sim.report.text import render_table

    def strict(text: str) -> object:
        def refuse(token: str) -> None:
            raise ValueError(f"not JSON: {token}")
        return json.loads(text, parse_constant=refuse)

    summary = read_report(run_dir / "report.json")
    summary["mean"]["latency_mean_ns"] = float("nan")
    summary["frames"]["energy_total_uj"][0] = float("inf")
    summary["noc"]["router_wait_ns"]["local"][0] = float("-inf")
    path = write_json(summary, tmp_path / "report.json")
    data = strict(path.read_text())
    assert isinstance(data, dict)
    assert data["mean"]["latency_mean_ns"] is None
    assert data["frames"]["energy_total_uj"][0] is None
    table = render_table(read_report(path))  # a missing figure renders as "-"
    mean_row = next(line for line in table.splitlines() if line.startswith("mean"))
    assert " - " in mean_row
    assert main(["report", str(tmp_path)]) == 0


@pytest.mark.parametrize("content", ["{broken", '{"tool": {"name": "other"}}', None])
def test_report_command_bad_input_is_one_line(tmp_path, capsys, content) -> None:
    if content is not None:
        (tmp_path / "report.json").write_text(content)
    assert main(["report", str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("canmore-sim: error:") and "\n" not in err


def test_report_of_an_older_version_is_one_line(run_dir, tmp_path, capsys) -> None:
    report = json.loads((run_dir / "report.json").read_text())
    report["frames"]["frame"] = report["frames"].pop("data_index")  # the earlier format
    del report["cores"]
    (tmp_path / "report.json").write_text(json.dumps(report))
    assert main(["report", str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip()
    assert "older canmore-sim" in err and "canmore-sim map" in err and "\n" not in err


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_shows_eta_only_when_enabled() -> None:
    stream = _Tty()
    bar = _ProgressBar(stream, enabled=True)
    bar(StageEvent("noc", 0, 10, 0, 4))
    bar(StageEvent("noc", 10, 10, 0, 4))
    bar(StageEvent("noc", 10, 10, 3, 4))
    bar.close()
    assert "1/4" in stream.getvalue() and "4/4" in stream.getvalue() and "ETA" in stream.getvalue()
    silent = io.StringIO()
    quiet = _ProgressBar(silent, enabled=False)
    quiet(StageEvent("noc", 0, 10, 0, 4))
    quiet.close()
    assert silent.getvalue() == ""


def test_map_is_silent_on_stderr_when_not_a_terminal(tmp_path, capsys) -> None:
    assert main(["map", "--frames", "1", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""  # pytest's capture is not a terminal


@pytest.mark.parametrize(("tty", "quiet", "shown"), [
    (True, False, True), (True, True, False), (False, False, False)])
def test_map_progress_bar_only_on_a_terminal_without_quiet(monkeypatch, tmp_path, tty: bool,
                                                           quiet: bool, shown: bool) -> None:
    import sys

    import canmore_sim.run.pipeline

    def fake_run(*_args, progress, **_kwargs):
        progress(StageEvent("noc", 0, 10, 0, 4))
        progress(StageEvent("noc", 10, 10, 3, 4))
        raise KeyboardInterrupt  # stop before the real work: only the wiring is under test

    stream = _Tty() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(canmore_sim.run.pipeline, "run", fake_run)
    argv = ["map", "--frames", "4", "--out", str(tmp_path), *(["--quiet"] if quiet else [])]
    assert main(argv) == 130
    assert ("simulating frames" in stream.getvalue()) is shown
    assert ("ETA" in stream.getvalue()) is shown


def test_map_on_a_terminal_shows_each_stage_and_the_replay(monkeypatch, tmp_path) -> None:
    import sys

    stream = _Tty()
    monkeypatch.setattr(sys, "stderr", stream)
    assert main(["map", "--frames", "2", "--out", str(tmp_path)]) == 0
    text = stream.getvalue()
    lines = [line.rsplit("\r", 1)[-1] for line in text.split("\n") if line.strip()]
    for label in ("model build", "frames loading", "partition + placement", "energy",
                  "report files"):
        assert any(line.startswith(label) and line.rstrip().endswith(" s") for line in lines), label
    assert "frame 1: NoC replay 0/" in text and " packets" in text
    # the neuron simulation runs chunk by chunk, inside the frame loop: on the frame line
    assert text.index("frame 1: neuron simulation") < text.index("frame 1: NoC replay")
    assert any("simulating frames" in line and "2/2" in line for line in lines)


def test_progress_bar_replay_eta_from_delivered_packets(monkeypatch) -> None:
    import canmore_sim.cli.progress_bar as progress_bar

    clock = iter([0.0, 10.0])
    monkeypatch.setattr(progress_bar.time, "perf_counter", lambda: next(clock))
    stream = _Tty()
    bar = _ProgressBar(stream, enabled=True)
    bar(StageEvent("noc", 0, 4_000, 0, 1))
    bar(StageEvent("noc", 1_000, 4_000, 0, 1))  # a quarter in 10 s: 30 s to go
    assert "NoC replay 1,000/4,000 packets  ETA  30.0 s" in stream.getvalue()


def test_terminal_output_starts_with_a_summary_before_the_tables(run_dir) -> None:
    from canmore_sim.report.summary import read_report
    from canmore_sim.report.text import render_table

    report = read_report(run_dir / "report.json")
    lines = render_table(report).splitlines()
    table = next(i for i, line in enumerate(lines) if line.startswith("data idx"))
    head = lines[:table]
    assert len(head) <= 12 and all(len(line) <= 250 for line in head)  # one screen
    start = head.index("summary, mean per frame:")
    energy, chip, accuracy = head[start + 1:start + 4]
    assert f"{report['mean']['energy_total_uj']:.4g} uJ/frame" in energy
    assert all(f"{t} " in energy for t in report["energy_model"]["terms"])
    assert f"{report['mapping']['cores']} cores on {report['mapping']['chips']} chip(s)" in chip
    assert f"{report['mean']['hops']:,.0f} hops" in chip
    assert f"{report['accuracy']['quantized']:.3f}" in accuracy and "late deliveries" in accuracy
