"""``canmore-sim map`` on workers: identical files for any worker count, a run killed with
SIGKILL and resumed gives the files of an uninterrupted one, ``--resume`` re-runs chunks
that do not verify, and bad options are one-line errors."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from canmore_sim.cli.main import main
from canmore_sim.cli.progress_bar import ProgressBar as _ProgressBar
from canmore_sim.cli.work_folders import map_work_folder
from canmore_sim.utils.progress import StageEvent

FILES = ("frames.csv", "layers.csv", "cores.csv", "mapping.json")
#: Wall-clock fields of report.json (the only ones that may differ between runs).
TIMING = ("wall_s", "execution")
TIMEOUT_S = 180


def _map(out: Path, *extra: str, frames: int = 7) -> int:
    return main(["map", "--frames", str(frames), "--set", "run.chunk_frames=3", "--out",
                 str(out), "--quiet", *extra])


def _files(out: Path) -> dict[str, object]:
    found: dict[str, object] = {name: (out / name).read_bytes() for name in FILES}
    report = json.loads((out / "report.json").read_text())
    found["report.json"] = {k: v for k, v in report.items() if k not in TIMING}
    return found


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, object]:
    """The files of an uninterrupted run on one worker."""
    out = tmp_path_factory.mktemp("ref") / "out"
    assert _map(out, "--workers", "1") == 0
    return _files(out)


def test_two_and_three_workers_write_the_same_files_as_one(tmp_path, reference,
                                                           capsys) -> None:
    for workers in (2, 3):
        out = tmp_path / f"k{workers}"
        assert _map(out, "--workers", str(workers)) == 0
        assert _files(out) == reference
        report = json.loads((out / "report.json").read_text())
        assert report["execution"]["workers"] == workers
        assert not map_work_folder(out).exists()  # a finished run leaves no work folder


def _killed_at_write(command: list[str], tmp_path: Path, write: int, name: str) -> None:
    """Run ``command`` until its ``write``-th atomic write is done, then SIGKILL it."""
    from canmore_sim.utils.atomic import PAUSE_ENV

    marker = tmp_path / name
    proc = subprocess.Popen(command, cwd=tmp_path,
                            env={**os.environ, PAUSE_ENV: f"{write}:{marker}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and not marker.exists() and proc.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), f"the run did not reach its atomic write {write}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


#: The window pass's files of :func:`_command`'s run (7 frames in chunks of 3, all replayed):
#: each chunk's needs and its spikes.
WINDOW_FILES = 6


def _command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "canmore_sim.cli", "map", "--frames", "7", "--set",
            "run.chunk_frames=3", "--workers", "1", "--out", str(out), "--quiet", *extra]


def test_a_map_killed_with_sigkill_resumes_to_the_same_files(tmp_path, reference) -> None:
    out = tmp_path / "out"
    chunks = map_work_folder(out) / "chunks"
    # after the window pass's six files (every frame replayed: two per chunk) and two
    # chunk files
    _killed_at_write(_command(out), tmp_path, WINDOW_FILES + 2, "first")
    assert sorted(p.name for p in chunks.glob("*.npz")) == ["00000.npz", "00001.npz"]
    assert not out.exists()
    stamps = {p.name: p.stat().st_mtime_ns for p in chunks.glob("*.npz")}
    # its first write (the window files are read back)
    _killed_at_write(_command(out, "--resume"), tmp_path, 1, "second")
    after = {p.name: p.stat().st_mtime_ns for p in chunks.glob("*.npz")}
    assert set(after) == {"00000.npz", "00001.npz", "00002.npz"}
    assert {k: after[k] for k in stamps} == stamps  # the two done were kept, not redone
    resumed = subprocess.run(_command(out, "--resume"), cwd=tmp_path, capture_output=True,
                             text=True, timeout=TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming an interrupted map (3 chunk files)" in resumed.stdout
    assert "running it again" not in resumed.stdout
    assert _files(out) == reference
    assert not map_work_folder(out).exists()


def _interrupted(tmp_path: Path, name: str) -> Path:
    """An output whose run stopped after its chunks were written (its work folder kept)."""
    out = tmp_path / name
    assert _map(out, "--workers", "1") == 0
    work = map_work_folder(out)
    (work / "chunks").mkdir(parents=True)
    return out


def test_resume_reruns_a_damaged_chunk_and_one_of_another_configuration(tmp_path, reference,
                                                                      capsys) -> None:
    out = tmp_path / "out"
    # an interrupted run of another configuration left two chunks; one is then damaged
    _killed_at_write(_command(out, "--set", "router.buffer_depth=2"), tmp_path,
                     WINDOW_FILES + 2, "paused")
    damaged = map_work_folder(out) / "chunks" / "00001.npz"
    damaged.write_bytes(damaged.read_bytes()[:100])
    assert _map(out, "--workers", "1", "--resume") == 0
    printed = capsys.readouterr().out
    notes = [line for line in printed.splitlines() if "running it again" in line]
    assert len(notes) == 2, printed
    assert notes[0].startswith("chunk 0 (frames 3 from data index")
    assert notes[0].endswith("running it again: it was computed with a different "
                             "configuration")
    assert notes[1].startswith("chunk 1 ") and notes[1].endswith(
        "its file is damaged or not a chunk file")
    assert _files(out) == reference


def test_without_resume_a_new_run_starts_empty(tmp_path, capsys) -> None:
    out = _interrupted(tmp_path, "out")
    assert _map(out, "--workers", "1") == 0
    assert "discarded an interrupted map's chunk files (--resume continues one)" in \
        capsys.readouterr().out


def test_resume_with_nothing_to_resume_says_so_and_runs_every_chunk(tmp_path, reference,
                                                                    capsys) -> None:
    out = tmp_path / "out"
    assert _map(out, "--workers", "1", "--resume") == 0
    assert f"nothing to resume for {out}/: running every chunk" in capsys.readouterr().out
    assert _files(out) == reference


@pytest.mark.parametrize(("args", "words"), [
    (["--workers", "0"], "--workers must be >= 1, got 0"),
    (["--executor", "dask"], "--executor dask needs --scheduler ADDRESS"),
])
def test_bad_worker_options_are_one_line_errors(tmp_path, capsys, args, words) -> None:
    out = tmp_path / "out"
    assert _map(out, *args) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"canmore-sim: error: {words}"
    assert not out.exists() and not map_work_folder(out).exists()


@pytest.mark.parametrize("value", ["0", "many"])
def test_bad_frames_are_refused(tmp_path, capsys, value) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["map", "--frames", value, "--out", str(tmp_path / "o"), "--quiet"])
    assert exit_info.value.code == 2
    assert "argument --frames" in capsys.readouterr().err


def test_progress_of_chunks_shows_frames_rate_and_eta(monkeypatch) -> None:
    import canmore_sim.cli.progress_bar as progress_bar

    clock = iter([100.0, 102.0, 104.0])
    monkeypatch.setattr(progress_bar.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    bar = _ProgressBar(stream, enabled=True)
    bar(StageEvent("chunks", 8, 64, None, 64))  # 8 frames reused from an earlier run
    bar(StageEvent("chunks", 24, 64, None, 64))
    bar(StageEvent("chunks", 64, 64, None, 64))
    lines = stream.getvalue().split("\r")
    assert "8/64" in lines[1] and "ETA     - s" in lines[1]
    assert "24/64" in lines[2] and "8.0 frames/s" in lines[2] and "ETA   5.0 s" in lines[2]
    assert "64/64" in lines[3] and "(4.00 s)" in lines[3] and lines[3].endswith("\n")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigkill_of_a_map_leaves_no_worker_or_fork_server_alive(tmp_path) -> None:
    from tests.sweep.test_resume import _alive, _children, _running_in, _wait_for

    out = tmp_path / "out"
    proc = subprocess.Popen(_command(out, "--frames", "96", "--workers", "2"), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    chunks = map_work_folder(out) / "chunks"
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None and not list(chunks.glob("*.npz")):
        time.sleep(0.05)
    server = [c for c in _children(proc.pid)  # (the other child: multiprocessing's tracker)
              if b"forkserver" in Path(f"/proc/{c}/cmdline").read_bytes()]
    workers = [w for s in server for w in _children(s)]
    assert len(server) == 1 and len(workers) == 2, "the fork server and two workers run"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_alive(p) for p in [*server, *workers]):
        time.sleep(0.1)
    assert not [p for p in [*server, *workers] if _alive(p)]
    # nobody is writing chunks any more: no process of the run is left (all ran in tmp_path)
    assert _wait_for(lambda: not _running_in(tmp_path), 60), _running_in(tmp_path)
    assert not out.exists()
