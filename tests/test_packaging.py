"""The package builds without setuptools warnings and ships its data folders."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_builds_without_setuptools_warnings_and_holds_the_data(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300,
        check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = proc.stdout + proc.stderr
    assert "BuildBackendWarning" not in log and "SetuptoolsDeprecationWarning" not in log, log
    assert "is absent from the `packages` configuration" not in log
    (wheel,) = tmp_path.glob("canmore_sim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("canmore_sim/models/dta_digits.pt", "canmore_sim/configs/arch/default.yaml",
                 "canmore_sim/configs/energy/canmore-22nm.yaml",
                 "canmore_sim/configs/sweeps/mesh_buffer.yaml"):
        assert data in names, data
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in text
