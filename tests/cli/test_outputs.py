"""Output folders through the CLI: checked before simulating, replaced whole, never half old
and half new (SIGKILL, SIGINT or a write error during the write phase), normal file modes."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import canmore_sim.run.pipeline
from canmore_sim.cli.main import main
from canmore_sim.models import save_checkpoint
from canmore_sim.report.folders import MANIFEST
from canmore_sim.utils.atomic import PAUSE_ENV
from tests.conftest import random_graph

TIMEOUT_S = 240


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small self-describing checkpoint, so that a map run takes a second or two."""
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(random_graph(), path)
    return path


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """An --out problem must be found before the (slow) neuron simulation."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the simulation ran before --out was checked")
    monkeypatch.setattr(canmore_sim.run.pipeline, "simulate_neurons", refuse)


def _map(tiny: Path, out: Path, *extra: str) -> int:
    return main(["map", "--model", str(tiny), "--frames", "2", "--out", str(out), "--quiet",
                 *extra])


def _cli(args: list[str], cwd: Path, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "canmore_sim.cli", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)  # type: ignore[call-overload]


def _entries(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _whole(folder: Path) -> int:
    """Assert ``folder`` holds one whole report; returns its number of frames."""
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["kind"] == "map" and manifest["tool"] == "canmore-sim"
    assert sorted([*manifest["files"], MANIFEST]) == _entries(folder)
    report = json.loads((folder / "report.json").read_text())
    rows = list(csv.DictReader(io.StringIO((folder / "frames.csv").read_text())))
    assert [int(r["hops"]) for r in rows] == report["frames"]["hops"]  # csv and json agree
    mapping = json.loads((folder / "mapping.json").read_text())
    assert len(mapping["cores"]["router"]) == report["mapping"]["cores"]
    return len(rows)


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.canmore")]


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("canmore-sim: error: ")
    assert "Traceback" not in err
    return err


def test_a_second_run_replaces_its_own_report_whole_and_says_so(tiny, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert _map(tiny, out, "--frames", "3") == 0
    assert _whole(out) == 3 and "replacing" not in capsys.readouterr().out
    assert _map(tiny, out) == 0
    printed = capsys.readouterr().out
    assert printed.count(f"replacing the earlier map output in {out}/") == 1
    assert _whole(out) == 2 and not _temporaries(out)


@pytest.mark.parametrize("content", ["notes", "subfolder", "sweep"])
def test_a_folder_of_other_files_is_refused_before_simulating(tmp_path, capsys, no_simulation,
                                                              content) -> None:
    out = tmp_path / "out"
    out.mkdir()
    if content == "notes":
        (out / "notes.txt").write_text("my notes")
        expected = "holds 1 entry canmore-sim did not write (notes.txt)"
    elif content == "subfolder":
        (out / "data").mkdir()
        expected = "holds 1 entry canmore-sim did not write (data/)"
    else:
        (out / "points").mkdir()
        (out / "sweep.csv").write_text("point,status\n")
        (out / MANIFEST).write_text(json.dumps({"tool": "canmore-sim", "kind": "sweep",
                                                "version": "0", "files": ["sweep.csv"]}))
        expected = "holds a canmore-sim sweep output, not a map one"
    before = _entries(out)
    assert main(["map", "--frames", "1", "--out", str(out), "--quiet"]) == 2
    err = _one_line_error(capsys)
    assert expected in err and "--force" in err
    assert _entries(out) == before


def test_force_replaces_a_foreign_folder_whole(tiny, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    assert _map(tiny, out, "--force") == 0
    assert "(--force): removing 1 entry canmore-sim did not write" in capsys.readouterr().out
    _whole(out)
    assert not (out / "notes.txt").exists()


def test_out_that_is_a_file_or_the_current_folder_is_refused(tmp_path, capsys, no_simulation,
                                                             monkeypatch) -> None:
    blocker = tmp_path / "report"
    blocker.write_text("a file")
    assert main(["map", "--out", str(blocker), "--quiet"]) == 2
    assert f"--out {blocker} is a file, not a folder" in _one_line_error(capsys)
    monkeypatch.chdir(tmp_path)
    assert main(["map", "--out", ".", "--quiet"]) == 2
    assert "is the current folder" in _one_line_error(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_out_is_refused_before_simulating(tmp_path, capsys, no_simulation) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["map", "--out", str(locked / "out"), "--quiet"]) == 2
        assert "cannot be written" in _one_line_error(capsys)
    finally:
        locked.chmod(0o700)


def _pause_and_signal(tiny: Path, tmp_path: Path, out: Path, sig: int) -> tuple[int, str]:
    """Start a map run that stops after its 5th file of 12, then send it ``sig``."""
    marker = tmp_path / "paused"
    env = {**os.environ, PAUSE_ENV: f"5:{marker}"}
    proc = _cli(["map", "--model", str(tiny), "--frames", "3", "--out", str(out), "--quiet"],
                tmp_path, env=env)
    deadline = time.monotonic() + TIMEOUT_S
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), proc.communicate()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=TIMEOUT_S)
    return proc.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_a_signal_during_the_write_phase_leaves_the_old_report_whole(tiny, tmp_path,
                                                                     sig) -> None:
    out = tmp_path / "out"
    assert _map(tiny, out) == 0
    before = {name: (out / name).read_bytes() for name in _entries(out)}
    code, err = _pause_and_signal(tiny, tmp_path, out, sig)
    assert _whole(out) == 2
    assert {name: (out / name).read_bytes() for name in _entries(out)} == before
    if sig == signal.SIGINT:
        assert code == 130 and "Traceback" not in err and "interrupted" in err
        # cleaned up on the way out, but for the run's finished chunks (for --resume)
        left = _temporaries(out)
        assert [p.name for p in left] == [".out.canmore-map"]
        assert list((left[0] / "chunks").glob("*.npz")) and not list(left[0].rglob("*.tmp"))
    else:
        assert code == -signal.SIGKILL
    assert _map(tiny, out) == 0  # the next run cleans what a SIGKILL left behind
    assert _whole(out) == 2 and not _temporaries(out)


def test_a_write_error_leaves_the_old_report_whole(tiny, tmp_path, capsys, monkeypatch) -> None:
    import canmore_sim.report.files

    out = tmp_path / "out"
    assert _map(tiny, out, "--frames", "3") == 0
    before = {name: (out / name).read_bytes() for name in _entries(out)}

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device", str(out / "mapping.png"))
    monkeypatch.setattr(canmore_sim.report.files, "write_mapping_plot", disk_full)
    capsys.readouterr()
    assert _map(tiny, out) == 1
    assert "No space left on device" in _one_line_error(capsys)
    assert {name: (out / name).read_bytes() for name in _entries(out)} == before
    # only the run's finished chunks are left beside it, for --resume once there is room
    assert _whole(out) == 3 and [p.name for p in _temporaries(out)] == [".out.canmore-map"]
    monkeypatch.undo()  # room on the disk again
    assert main(["map", "--model", str(tiny), "--frames", "2", "--out", str(out), "--quiet",
                 "--resume"]) == 0
    assert "resuming an interrupted map (1 chunk files)" in capsys.readouterr().out
    assert not _temporaries(out)


@pytest.mark.slow
def test_kills_at_random_moments_always_leave_one_whole_report(tiny, tmp_path) -> None:
    out = tmp_path / "out"
    started = time.monotonic()
    assert _cli(["map", "--model", str(tiny), "--frames", "1", "--out", str(out), "--quiet"],
                tmp_path).wait(timeout=TIMEOUT_S) == 0
    duration = time.monotonic() - started
    rng = random.Random(18)
    seen = set()
    for attempt in range(3):
        frames = 2 + attempt % 2
        proc = _cli(["map", "--model", str(tiny), "--frames", str(frames), "--out", str(out),
                     "--quiet"], tmp_path)
        time.sleep(rng.uniform(0.5, 1.2) * duration)
        proc.kill()
        proc.wait(timeout=TIMEOUT_S)
        seen.add(_whole(out))  # old or new, never a mixture
    assert seen <= {1, 2, 3}


def test_report_command_rewrites_whole_and_keeps_the_users_files(tiny, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert _map(tiny, out) == 0
    (out / "notes.txt").write_text("mine")
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "report.html").exists()
    manifest = json.loads((out / MANIFEST).read_text())
    assert "notes.txt" not in manifest["files"] and "report.html" in manifest["files"]
    assert not _temporaries(out)
    assert _map(tiny, out) == 2  # the user's file now stands in the way of a replacement
    assert "notes.txt" in _one_line_error(capsys)


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_outputs_get_the_mode_the_umask_allows(tiny, tmp_path, mask) -> None:
    out = tmp_path / "out"
    old = os.umask(mask)
    try:
        assert _map(tiny, out) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask
    modes = {stat.S_IMODE((out / name).stat().st_mode) for name in _entries(out)}
    assert modes == {0o666 & ~mask}
