"""Sweep files (issue 28): the number of points is counted before any point is built and
refused over ``limits.max_sweep_points``; an axis named twice is an error; every
``limits.*`` key applies inside a point as it does on the command line; integers of
thousands of digits are one line, not Python's conversion error."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_bad_inputs import one_line_error

TIMEOUT_S = 120


def _sweep(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return subprocess.run([sys.executable, "-m", "canmore_sim.cli", "sweep", str(path),
                           "--out", str(tmp_path / "out"), "--quiet", "--workers", "1", *args],
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
                          cwd=tmp_path)


def test_a_billion_points_are_refused_before_any_is_built(tmp_path) -> None:
    # 12 KB, three 1,000-value axes: 10^9 points (it ran out of memory after 37 s)
    values = ", ".join(str(v) for v in range(1, 1001))
    text = ("frames: 1\ngrid:\n"
            f"  router.buffer_depth: [{values}]\n  router.flits_per_packet: [{values}]\n"
            f"  core.max_neurons: [{values}]\n")
    started = time.monotonic()
    proc = _sweep(tmp_path, text)
    assert time.monotonic() - started < 60
    one_line_error(proc, 2, "1,000,000,000 points", "limits.max_sweep_points", "50,000")
    assert not (tmp_path / "out").exists()


def test_the_sweep_bound_is_raised_like_every_limit(tmp_path) -> None:
    text = "frames: 1\ngrid:\n  router.buffer_depth: [1, 2, 3]\n  mesh: [8x8, 9x9]\n"
    one_line_error(_sweep(tmp_path, text, "--set", "limits.max_sweep_points=5"), 2,
                   "6 points", "limits.max_sweep_points = 5")


@pytest.mark.parametrize("text", [
    "frames: 1\ngrid:\n  router.buffer_depth: [1, 2]\nzip:\n  router.buffer_depth: [4]\n",
    "frames: 1\ngrid:\n  mesh: [8x8]\nzip:\n  mesh: [4x4]\n  router.buffer_depth: [2]\n",
])
def test_an_axis_named_in_grid_and_zip_is_an_error(tmp_path, text) -> None:
    # it ran only the zip values and wrote two columns of the same name
    key = "router.buffer_depth" if "grid:\n  router" in text else "mesh"
    one_line_error(_sweep(tmp_path, text), 2, f"axis {key!r} is named in both grid and zip")


def test_a_limits_axis_applies_to_the_frames_of_its_point(tmp_path) -> None:
    # the bundled network reads 32x32 frames: 2 frames are 2,048 input values
    text = "frames: 2\ngrid:\n  limits.max_frame_values: [1000, 100000]\n"
    proc = _sweep(tmp_path, text)
    assert proc.returncode == 1, proc.stderr[-2000:]
    rows = (tmp_path / "out" / "sweep.csv").read_text().splitlines()
    assert ",failed," in rows[1] and "limits.max_frame_values" in rows[1]
    assert ",done," in rows[2]


@pytest.mark.parametrize("where", ["sweep", "set"])
def test_an_integer_of_thousands_of_digits_is_one_line(tmp_path, where) -> None:
    huge = "9" * 5000
    if where == "sweep":
        proc = _sweep(tmp_path, f"frames: 1\ngrid:\n  router.buffer_depth: [{huge}]\n")
    else:
        proc = _sweep(tmp_path, "frames: 1\ngrid:\n  router.buffer_depth: [1]\n",
                      "--set", f"router.buffer_depth={huge}")
    one_line_error(proc, 2, "5,000 digits")
