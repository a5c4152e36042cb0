"""Ctrl-C during ``map --workers 2`` (issue 28): the terminal sends SIGINT to the whole
process group, workers included; they shut down quietly and only the parent prints its one
line (idle fork-server workers printed ``KeyboardInterrupt`` tracebacks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TIMEOUT_S = 240


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("frames", [64, 96])
def test_sigint_to_the_process_group_is_one_line_from_the_parent(tmp_path, frames) -> None:
    from tests.sweep.test_resume import _alive, _children

    out = tmp_path / "out"
    # 40-frame chunks: with 64 frames one worker is idle waiting for work when Ctrl-C comes
    proc = subprocess.Popen([sys.executable, "-m", "canmore_sim.cli", "map", "--frames",
                             str(frames), "--set", "run.chunk_frames=40", "--workers", "2",
                             "--out", str(out), "--quiet"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, as in a terminal
    deadline = time.monotonic() + TIMEOUT_S
    workers: list[int] = []
    while time.monotonic() < deadline and proc.poll() is None and len(workers) < 2:
        servers = [c for c in _children(proc.pid)
                   if b"forkserver" in Path(f"/proc/{c}/cmdline").read_bytes()]
        workers = [w for s in servers for w in _children(s)]
        time.sleep(0.05)
    assert len(workers) == 2, "the fork server's two workers did not start"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 130, err[-2000:]
    assert err.strip() == "canmore-sim: interrupted", err[-3000:]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)]
