"""Closed-loop sweeps: on-chip accuracy recorded per point, and the accuracy/energy curve."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from canmore_sim.cli.main import main
from canmore_sim.sweep.outputs import accuracy_front, has_on_chip_accuracy
from canmore_sim.sweep.points import REQUIRED_METRICS
from canmore_sim.sweep.spec import load_sweep

LOOP = """base: default
frames: 2
grid:
  run.timing: [drop-late]
  neuron.window_ns: [7500, 20000]
"""


def test_a_closed_loop_sweep_records_on_chip_accuracy_and_draws_the_curve(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(LOOP)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    rows = list(csv.DictReader(io.StringIO((out / "sweep.csv").read_text())))
    assert [r["neuron.window_ns"] for r in rows] == ["7500", "20000"]
    short, long = (float(r["accuracy_on_chip"]) for r in rows)
    assert {float(r["accuracy"]) for r in rows} == {long}  # nothing is lost at 20 us here
    assert short < long  # 7.5 us windows lose the input spikes that wait at the I/O router
    png = (out / "accuracy_energy.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    point = json.loads(next((out / "points").glob("*.json")).read_text())
    assert set(REQUIRED_METRICS) <= set(point["metrics"])
    assert "accuracy_on_chip" in REQUIRED_METRICS  # --resume re-runs points without it


def test_an_ideal_sweep_draws_no_accuracy_curve(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("base: default\nframes: 1\ngrid:\n  router.buffer_depth: [4]\n")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert not (out / "accuracy_energy.png").exists()
    row = next(csv.DictReader(io.StringIO((out / "sweep.csv").read_text())))
    assert row["accuracy_on_chip"] == "" and row["accuracy"] != ""


def test_the_front_keeps_the_points_nobody_beats() -> None:
    energy = np.array([30.0, 35.0, 40.0, 36.0, np.nan])
    accuracy = np.array([50.0, 90.0, 100.0, 80.0, 100.0])
    assert accuracy_front(energy, accuracy).tolist() == [True, True, True, False, False]
    assert not has_on_chip_accuracy([{"metrics": {"accuracy_on_chip": None}}])


def test_the_bundled_timing_sweep_is_valid() -> None:
    sweep = Path(__file__).parents[2] / "configs" / "sweeps" / "timing.yaml"
    spec, points = load_sweep(sweep)
    assert len(points) == 15 and spec.frames == 64
    assert {p.config.run.timing for p in points} == {"drop-late"}
