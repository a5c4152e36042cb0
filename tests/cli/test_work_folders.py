"""The tool's hidden work folders (issue 28): it never follows a symlink out of them, never
blocks on a FIFO in them, and deletes only files it can prove it wrote. Canary files in the
folders a symlink points to must come through every run untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_bad_inputs import one_line_error

TIMEOUT_S = 240


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "canmore_sim.cli", *args, "--quiet"],
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
                          cwd=tmp_path)


def _map(tmp_path: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _run(tmp_path, "map", "--frames", "4", "--set", "run.chunk_frames=2",
                "--workers", "1", "--out", str(out), *extra)


def _sweep(tmp_path: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "s.yaml"
    path.write_text("frames: 1\ngrid:\n  router.buffer_depth: [1, 2]\n")
    return _run(tmp_path, "sweep", str(path), "--workers", "1", "--out", str(out), *extra)


def _canaries(folder: Path) -> dict[str, bytes]:
    """A user's folder with files a careless cleanup would take for its own."""
    folder.mkdir(parents=True, exist_ok=True)
    names = ["00000.npz", "00001.npz", ".00000.npz.abc123de.tmp", "notes.tmp", "0000.json",
             "results.json", "keep.txt"]
    for name in names:
        (folder / name).write_bytes(f"canary {name}".encode())
    return _snapshot(folder)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("command", ["map", "sweep"])
@pytest.mark.parametrize("part", ["work", "items"])
def test_a_work_folder_or_its_part_that_is_a_symlink_is_refused_naming_it(
        tmp_path, command, part) -> None:
    out = tmp_path / "out"
    work = tmp_path / (".out.canmore-map" if command == "map" else ".out.canmore-sweep")
    items = "chunks" if command == "map" else "points"
    user = tmp_path / "users-folder"
    before = _canaries(user)
    if part == "work":
        work.symlink_to(user, target_is_directory=True)
        link = work
    else:
        work.mkdir()
        (work / items).symlink_to(user, target_is_directory=True)
        link = work / items
    run = _map if command == "map" else _sweep
    for extra in (("--resume",), ()):
        proc = run(tmp_path, out, *extra)
        one_line_error(proc, 2, str(link), "symbolic link")
        assert _snapshot(user) == before  # nothing deleted, nothing written, no lock file
    assert link.is_symlink() and not out.exists()


@pytest.mark.parametrize("command", ["map", "sweep"])
def test_a_work_folder_that_is_a_file_is_refused_naming_it(tmp_path, command) -> None:
    work = tmp_path / (".out.canmore-map" if command == "map" else ".out.canmore-sweep")
    work.write_text("not a folder")
    run = _map if command == "map" else _sweep
    one_line_error(run(tmp_path, tmp_path / "out", "--resume"), 2, str(work), "not a folder")
    assert work.read_text() == "not a folder"


def test_a_fifo_in_place_of_a_chunk_file_is_refused_without_blocking(tmp_path) -> None:
    out = tmp_path / "out"
    chunks = tmp_path / ".out.canmore-map" / "chunks"
    chunks.mkdir(parents=True)
    fifo = chunks / "00000.npz"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever (TIMEOUT_S here)
    proc = _map(tmp_path, out, "--resume")
    one_line_error(proc, 2, str(fifo), "not a regular file")
    assert fifo.exists() and not out.exists()


def test_a_symlinked_chunk_file_is_refused_and_its_target_kept(tmp_path) -> None:
    out = tmp_path / "out"
    chunks = tmp_path / ".out.canmore-map" / "chunks"
    chunks.mkdir(parents=True)
    user = tmp_path / "users-folder"
    before = _canaries(user)
    (chunks / "00000.npz").symlink_to(user / "00000.npz")
    proc = _map(tmp_path, out, "--resume")
    one_line_error(proc, 2, str(chunks / "00000.npz"), "symbolic link")
    assert _snapshot(user) == before


def test_the_tools_own_unfinished_writes_are_deleted(tmp_path) -> None:
    out = tmp_path / "out"
    points = tmp_path / ".out.canmore-sweep" / "points"
    points.mkdir(parents=True)
    own_tmp = points / ".0000.json.k3j9x2ab.tmp"  # an interrupted atomic write of its own
    own_tmp.write_bytes(b"half")
    proc = _sweep(tmp_path, out, "--resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not own_tmp.exists() and (out / "sweep.csv").exists()


@pytest.mark.parametrize("command", ["map", "sweep"])
def test_files_the_tool_did_not_write_are_never_deleted(tmp_path, command) -> None:
    out = tmp_path / "out"
    items = (tmp_path / ".out.canmore-map" / "chunks" if command == "map"
             else tmp_path / ".out.canmore-sweep" / "points")
    items.mkdir(parents=True)
    foreign = {"results.json": b"{}", "notes.tmp": b"mine", "0000.json.bak": b"old",
               "1.npz": b"x"}
    for name, data in foreign.items():
        (items / name).write_bytes(data)
    run = _map if command == "map" else _sweep
    for extra in (("--resume",), ()):
        proc = run(tmp_path, out, *extra)
        one_line_error(proc, 2, str(items), "did not write")
        assert _snapshot(items) == foreign
