from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from canmore_sim.cli.main import main
from canmore_sim.cli.work_folders import sweep_work_folder
from canmore_sim.errors import ConfigError
from canmore_sim.run.identity import common_identity
from canmore_sim.sweep.outputs import pareto_front, sweep_csv, write_sweep_outputs
from canmore_sim.sweep.points import point_identity
from canmore_sim.sweep.run import run_sweep
from canmore_sim.sweep.spec import load_sweep

SWEEP = """base: default
frames: 1
grid:
  router.buffer_depth: [1, 4]
zip:
  mesh: [8x8, 6x6]
  traffic.multicast: [false, true]
"""


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_points_are_grid_times_zip_and_validated(tmp_path) -> None:
    spec, points = load_sweep(_write(tmp_path, SWEEP))
    assert len(points) == 4
    assert points[1].values == {"router.buffer_depth": 1, "mesh": "6x6", "traffic.multicast": True}
    assert points[1].config.mesh.width == 6 and points[1].config.run.frames == 1


@pytest.mark.parametrize(("text", "match"), [
    ("grid:\n  router.bufer_depth: [1]\n", "buffer_depth"),
    ("grid:\n  router.buffer_depth: [1, -3]\n", "router.buffer_depth"),
    ("zip:\n  mesh: [4x4]\n  router.buffer_depth: [1, 2]\n", "equal lengths"),
    ("frame: 3\n", "frame"),
    ("grid:\n  mesh: []\n", "no values"),
    ("grid:\n  run.energy: [canmore-22nm, truenorht]\n", "truenorht"),
])
def test_invalid_sweeps_fail_before_anything_runs(tmp_path, text, match) -> None:
    with pytest.raises(ConfigError, match=match):
        load_sweep(_write(tmp_path, text))
    out = tmp_path / "out"
    assert main(["sweep", str(_write(tmp_path, text)), "--out", str(out)]) == 2
    assert not out.exists()


def test_interrupted_sweep_resumes_to_the_same_csv(tmp_path) -> None:
    path = _write(tmp_path, SWEEP)
    spec, points = load_sweep(path)
    axes = [*spec.grid, *spec.zip]
    reference = sweep_csv(run_sweep(spec, points, tmp_path / "ref", workers=2), axes)
    out = tmp_path / "interrupted"
    work = sweep_work_folder(out) / "points"
    proc = subprocess.Popen([sys.executable, "-m", "canmore_sim.cli", "sweep", str(path),
                             "--workers", "1", "--out", str(out), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(work.glob("*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = sorted(work.glob("*.json"))
    assert 2 <= len(finished) < 4 and not out.exists()  # nothing half-done appears as output
    stamps = {p.name: p.stat().st_mtime_ns for p in finished}
    assert main(["sweep", str(path), "--workers", "2", "--out", str(out), "--resume",
                 "--quiet"]) == 0
    after = {p.name: (out / "points" / p.name).stat().st_mtime_ns for p in finished}
    assert after == stamps  # skipped, not redone
    assert (out / "sweep.csv").read_text() == reference
    assert not [p for p in (out / "points").iterdir() if p.name.endswith(".tmp")]
    assert not sweep_work_folder(out).exists()


def test_an_energy_preset_axis_is_checked_up_front(tmp_path) -> None:
    _, points = load_sweep(_write(tmp_path, "grid:\n  run.energy: [canmore-22nm, tq-ttfs]\n"))
    assert [p.config.run.energy for p in points] == ["canmore-22nm", "tq-ttfs"]


def test_a_points_identity_holds_the_preset_files_it_names(tmp_path, monkeypatch) -> None:
    """An edited energy or area preset file makes its points run again on --resume."""
    from importlib import resources

    from canmore_sim.run.identity import why_different

    monkeypatch.chdir(tmp_path)
    for kind in ("energy", "area"):
        preset = resources.files("canmore_sim.configs").joinpath(f"{kind}/canmore-22nm.yaml")
        (tmp_path / f"{kind}.yaml").write_text(preset.read_text(encoding="utf-8"))
    _, points = load_sweep(_write(tmp_path, "grid:\n  run.energy: [energy.yaml]\n"
                                            "  run.area: [area.yaml]\n"))
    config = points[0].config.model_dump(mode="json")
    common = common_identity(None, None, 0.25, 0, None)
    first = point_identity(common, config)
    for kind in ("energy", "area"):
        path = tmp_path / f"{kind}.yaml"
        path.write_text(path.read_text() + "\n# edited\n")
        edited = point_identity(common, config)
        assert edited != first and f"{kind} preset file" in why_different(first, edited)
        first = edited


def test_point_files_are_strict_json_even_with_non_finite_metrics(tmp_path, monkeypatch) -> None:
    import json

    import canmore_sim.sweep.point as point
    import canmore_sim.sweep.run as sweep

    spec, points = load_sweep(_write(tmp_path, "frames: 1\ngrid:\n  mesh: [8x8]\n"))
    monkeypatch.setattr(point, "_metrics", lambda summary: {"energy_total_uj": float("nan"),
                                                            "hops": float("inf")})
    identity = point_identity(common_identity(None, None, 0.25, 0, None),
                              points[0].config.model_dump(mode="json"))
    task = sweep._task(spec, points[0], tmp_path, identity)
    point.run_point(task)
    text = Path(task["out"]).read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert data["status"] == "done" and data["metrics"] == {"energy_total_uj": None, "hops": None}
    written = write_sweep_outputs([data], ["mesh"], tmp_path / "out")  # plots skip the nulls
    assert [p.name for p in written] == ["sweep.csv", "pareto.png", "axis_mesh.png"]


def test_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path, capsys) -> None:
    text = "frames: 1\ngrid:\n  mesh: [2x2, 8x8]\n  multichip.overflow: [error]\n"
    out = tmp_path / "out"
    assert main(["sweep", str(_write(tmp_path, text)), "--out", str(out), "--workers", "1",
                 "--quiet"]) == 1
    printed = capsys.readouterr().out
    assert "1 points done, 1 failed" in printed and "needs 29 cores" in printed
    rows = (out / "sweep.csv").read_text().splitlines()
    assert rows[1].split(",")[3] == "failed" and rows[2].split(",")[3] == "done"
    assert (out / "pareto.png").exists() and (out / "axis_mesh.png").exists()


def test_pareto_front() -> None:
    import numpy as np

    mask = pareto_front(np.array([1.0, 2.0, 3.0, 1.0]), np.array([3.0, 2.0, 1.0, 4.0]))
    assert mask.tolist() == [True, True, True, False]


def test_dask_cluster_gives_the_same_results(tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    path = _write(tmp_path, SWEEP)
    spec, points = load_sweep(path)
    axes = [*spec.grid, *spec.zip]
    local = sweep_csv(run_sweep(spec, points[:2], tmp_path / "local", workers=1), axes)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        results = run_sweep(spec, points[:2], tmp_path / "dask", executor="dask",
                            scheduler=cluster.scheduler_address)
    assert sweep_csv(results, axes) == local
    with pytest.raises(ConfigError, match="scheduler"):
        run_sweep(spec, points, tmp_path / "x", executor="dask")


def test_sweep_points_are_priced_against_the_energy_reference_they_name(tmp_path) -> None:
    """A normalized energy model priced against the run's own report.json gives 0.6 + 0.4
    = 1 rel per frame (TrueNorth, Eq. 11): the point reads the reference it names, locally
    and shipped to a worker (the client reads it), instead of running its own rate-IF
    reference (which gives another figure)."""
    from canmore_sim.sweep.point import run_point
    from canmore_sim.sweep.run import _task
    from canmore_sim.sweep.shipped import ShippedPoints, run_shipped_point

    base = tmp_path / "base"
    assert main(["map", "--frames", "1", "--out", str(base), "--quiet"]) == 0
    reference = base / "report.json"
    spec, points = load_sweep(_write(tmp_path, "frames: 1\ngrid:\n  run.energy: [truenorth]\n"
                                               f"  run.energy_reference: ['{reference}', null]\n"))
    common = common_identity(None, None, 0.25, 0, None)
    tasks = [_task(spec, p, tmp_path, point_identity(common, p.config.model_dump(mode="json")))
             for p in points]
    local = [run_point(task)["metrics"]["energy_total_uj"] for task in tasks]
    shipped = ShippedPoints(tasks)
    remote = [run_shipped_point({**shipped.shared(), **shipped[i]})["metrics"]
              ["energy_total_uj"] for i in range(len(tasks))]
    assert local[0] == pytest.approx(1.0) and remote[0] == local[0]
    assert local[1] != pytest.approx(1.0) and remote[1] == local[1]  # its own rate-IF run
