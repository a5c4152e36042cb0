"""Sweeps through the CLI: --resume reuses a point only when everything that determines it is
the same, damaged point files are run again with a note, any error of one point is recorded,
sweep folders are replaced whole and never mixed, and workers die with their parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import canmore_sim.run.pipeline
from canmore_sim.cli.main import main
from canmore_sim.cli.work_folders import sweep_work_folder
from canmore_sim.models import save_checkpoint
from canmore_sim.report.folders import MANIFEST
from canmore_sim.sweep.points import seal
from canmore_sim.utils.atomic import PAUSE_ENV, PAUSE_MATCH_ENV
from tests.conftest import random_graph

TIMEOUT_S = 240


def _sweep_file(folder: Path, model: Path, frames: int = 1,
                depths: tuple[int, ...] = (1, 4), name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(f"model: {model}\nframes: {frames}\n"
                    f"grid:\n  router.buffer_depth: [{', '.join(map(str, depths))}]\n")
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.pt"
    save_checkpoint(random_graph(), path)
    return path


def _sweep(path: Path, out: Path, *extra: str) -> int:
    return main(["sweep", str(path), "--out", str(out), "--workers", "1", "--quiet", *extra])


def _stamps(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted((out / "points").glob("*.json"))}


def _notes(printed: str) -> list[str]:
    return [line for line in printed.splitlines() if "running it again" in line]


def test_resume_after_a_change_of_frames_or_model_runs_every_point_again(tmp_path, tiny,
                                                                          capsys) -> None:
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    assert _sweep(_sweep_file(tmp_path, tiny, frames=1), out) == 0
    changed = _sweep_file(tmp_path, tiny, frames=2)
    assert _sweep(changed, fresh) == 0
    capsys.readouterr()
    assert _sweep(changed, out, "--resume") == 0
    notes = _notes(capsys.readouterr().out)
    assert len(notes) == 2 and all("different configuration" in n for n in notes)
    assert (out / "sweep.csv").read_text() == (fresh / "sweep.csv").read_text()
    save_checkpoint(random_graph(seed=1), tiny)  # the same file name, other weights
    assert _sweep(changed, out, "--resume") == 0
    notes = _notes(capsys.readouterr().out)
    assert len(notes) == 2 and all("different model" in n for n in notes)
    assert (out / "sweep.csv").read_text() != (fresh / "sweep.csv").read_text()


def _damage(path: Path, how: str) -> str:
    data = json.loads(path.read_text())
    if how == "edited":
        data["metrics"]["energy_total_uj"] *= 0.5
        path.write_text(json.dumps(data))
        return "edited or damaged"
    if how == "list":
        path.write_text(json.dumps([data]))
        return "holds a JSON list, not a point record"
    if how == "no-metrics":
        body = {k: v for k, v in data.items() if k not in ("metrics", "key", "checksum")}
        path.write_text(json.dumps(seal(body, body.pop("identity"))))
        return "has no complete metrics"
    path.write_text(path.read_text()[:40])
    return "not valid JSON"


@pytest.mark.parametrize("how", ["edited", "list", "no-metrics", "truncated"])
def test_a_point_file_that_does_not_verify_is_run_again_with_a_note(tmp_path, tiny, capsys,
                                                                   how) -> None:
    path, out = _sweep_file(tmp_path, tiny), tmp_path / "out"
    assert _sweep(path, out) == 0
    reference = (out / "sweep.csv").read_text()
    stamps = _stamps(out)
    reason = _damage(out / "points" / "0001.json", how)
    capsys.readouterr()
    assert _sweep(path, out, "--resume") == 0
    printed = capsys.readouterr().out
    notes = _notes(printed)
    assert len(notes) == 1 and "Traceback" not in printed
    assert notes[0].startswith("point 1 {'router.buffer_depth': 4}: running it again: its file")
    assert reason in notes[0]
    assert _stamps(out)["0000.json"] == stamps["0000.json"]  # the good point was reused
    assert (out / "sweep.csv").read_text() == reference


def test_an_unexpected_error_of_one_point_is_recorded_and_the_sweep_goes_on(
        tmp_path, tiny, capsys, monkeypatch) -> None:
    real_run = canmore_sim.run.pipeline.run

    def buggy(graph, frames, labels, config, **kwargs):  # a bug that only one point meets
        if config.router.buffer_depth == 1:
            raise ZeroDivisionError("float division by zero")
        return real_run(graph, frames, labels, config, **kwargs)
    monkeypatch.setattr(canmore_sim.run.pipeline, "run", buggy)
    out = tmp_path / "out"
    assert _sweep(_sweep_file(tmp_path, tiny), out) == 1
    captured = capsys.readouterr()
    assert "1 points done, 1 failed" in captured.out and "Traceback" not in captured.err
    assert "point 0 {'router.buffer_depth': 1}: unexpected ZeroDivisionError" in captured.out
    rows = (out / "sweep.csv").read_text().splitlines()
    assert "failed" in rows[1] and "unexpected ZeroDivisionError" in rows[1]
    assert ",done," in rows[2]
    monkeypatch.setattr(canmore_sim.run.pipeline, "run", real_run)
    assert _sweep(_sweep_file(tmp_path, tiny), out, "--resume") == 0  # the failure runs again
    assert "it failed before (unexpected ZeroDivisionError" in capsys.readouterr().out


def test_a_new_sweep_replaces_the_old_one_whole_and_never_mixes(tmp_path, tiny, capsys) -> None:
    out = tmp_path / "out"
    assert _sweep(_sweep_file(tmp_path, tiny, depths=(1, 2, 4)), out) == 0
    assert len(_stamps(out)) == 3
    capsys.readouterr()
    assert _sweep(_sweep_file(tmp_path, tiny, depths=(8, 16)), out) == 0
    printed = capsys.readouterr().out
    assert f"replacing the earlier sweep output in {out}/" in printed
    assert sorted(_stamps(out)) == ["0000.json", "0001.json"]
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["kind"] == "sweep" and "points/0001.json" in manifest["files"]
    assert (out / "sweep.csv").read_text().count("\n") == 3
    assert not sweep_work_folder(out).exists()


def test_outputs_of_another_kind_are_refused_before_any_point_runs(tmp_path, tiny,
                                                                   capsys) -> None:
    report = tmp_path / "report"
    assert main(["map", "--model", str(tiny), "--frames", "1", "--out", str(report),
                 "--quiet"]) == 0
    before = sorted(p.name for p in report.iterdir())
    capsys.readouterr()
    assert _sweep(_sweep_file(tmp_path, tiny), report) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("canmore-sim: error: ") and "\n" not in err
    assert "holds a canmore-sim map output, not a sweep one" in err and "--force" in err
    assert sorted(p.name for p in report.iterdir()) == before
    assert not sweep_work_folder(report).exists()


def test_a_fresh_sweep_discards_an_interrupted_one_and_says_so(tmp_path, tiny, capsys) -> None:
    out = tmp_path / "out"
    stale = sweep_work_folder(out) / "points"
    stale.mkdir(parents=True)
    (stale / "0000.json").write_text('{"index": 0}')
    (stale / "0007.json").write_text('{"index": 7}')
    assert _sweep(_sweep_file(tmp_path, tiny), out, "--resume") == 0
    printed = capsys.readouterr().out
    assert "resuming an interrupted sweep (2 point files)" in printed
    assert "removed 1 point files that are not points of this sweep" in printed
    assert len(_notes(printed)) == 1 and sorted(_stamps(out)) == ["0000.json", "0001.json"]
    stale.mkdir(parents=True)
    assert _sweep(_sweep_file(tmp_path, tiny), out) == 0
    assert "discarded an interrupted sweep's point files" in capsys.readouterr().out


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _wait_for(condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> bool:
    """Poll ``condition`` until it holds or ``timeout_s`` passes; whether it held."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _two_workers(proc: subprocess.Popen, mark: bytes) -> list[int]:
    """The two worker processes of ``proc`` (children whose command line holds ``mark``)."""
    found: list[int] = []

    def look() -> bool:
        found[:] = [c for c in _children(proc.pid)
                    if mark in Path(f"/proc/{c}/cmdline").read_bytes()]
        return len(found) >= 2 or proc.poll() is not None
    _wait_for(look)
    assert len(found) == 2, "the run did not start its two workers"
    return found


def _running_in(folder: Path) -> list[int]:
    """Processes whose working folder is ``folder`` (every process a test's run started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _alive(int(entry.name)):
            try:
                if os.readlink(entry / "cwd") == str(folder):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigkill_of_the_sweep_leaves_no_worker_alive(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("frames: 2\ngrid:\n  router.buffer_depth: [1, 2, 3, 4, 5, 6]\n")
    out = tmp_path / "out"
    marker = tmp_path / "at-work"  # a worker wrote its first point file (and waits there)
    proc = subprocess.Popen([sys.executable, "-m", "canmore_sim.cli", "sweep", str(path),
                             "--workers", "2", "--out", str(out), "--quiet"], cwd=tmp_path,
                            env={**os.environ, PAUSE_ENV: f"1:{marker}",
                                 PAUSE_MATCH_ENV: "*/points/*.json"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = _two_workers(proc, b"spawn_main")
    assert _wait_for(lambda: marker.exists() or proc.poll() is not None), "no point written"
    assert marker.exists(), "the sweep ended before its workers got to work"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _wait_for(lambda: not any(_alive(w) for w in workers), 60)
    # nobody is writing any more: no process of the run is left (they all run in tmp_path)
    assert _wait_for(lambda: not _running_in(tmp_path), 60), _running_in(tmp_path)
    assert not out.exists()


def test_a_killed_sweep_leaves_the_old_one_whole_and_resumes_to_the_same_result(tmp_path,
                                                                              tiny) -> None:

    out, fresh = tmp_path / "out", tmp_path / "fresh"
    assert _sweep(_sweep_file(tmp_path, tiny, depths=(1, 2)), out) == 0
    old = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    new = _sweep_file(tmp_path, tiny, depths=(4, 8, 16), name="new.yaml")
    assert _sweep(new, fresh) == 0
    marker = tmp_path / "paused"
    proc = subprocess.Popen([sys.executable, "-m", "canmore_sim.cli", "sweep", str(new),
                             "--workers", "1", "--out", str(out), "--quiet"], cwd=tmp_path,
                            env={**os.environ, PAUSE_ENV: f"2:{marker}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + TIMEOUT_S
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()
    proc.kill()  # after its second point file
    proc.wait()
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == old
    assert len(list((sweep_work_folder(out) / "points").glob("*.json"))) == 2
    assert _sweep(new, out, "--resume") == 0
    assert (out / "sweep.csv").read_text() == (fresh / "sweep.csv").read_text()
    assert sorted(_stamps(out)) == ["0000.json", "0001.json", "0002.json"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_worker_killed_mid_point_is_recorded_and_the_sweep_goes_on(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("frames: 2\ngrid:\n  router.buffer_depth: [1, 2, 4]\n")
    out = tmp_path / "out"
    marker = tmp_path / "second-point"  # the worker that runs two points waits after the
    proc = subprocess.Popen([sys.executable, "-m", "canmore_sim.cli", "sweep", str(path),
                             "--workers", "2", "--out", str(out), "--quiet"], cwd=tmp_path,
                            env={**os.environ, PAUSE_ENV: f"2:{marker}",  # second's file,
                                 PAUSE_MATCH_ENV: "*/points/*.json"},  # before returning it
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: marker.exists() and marker.read_text().strip().isdigit()
                     or proc.poll() is not None), "no worker reached its second point"
    os.kill(int(marker.read_text()), signal.SIGKILL)  # as the kernel's OOM killer would
    printed, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 1 and "Traceback" not in err
    assert "its worker process ended unexpectedly" in printed
    rows = (out / "sweep.csv").read_text().splitlines()[1:]
    assert len(rows) == 3 and any(",done," in r for r in rows)  # a fresh pool ran the rest
