"""The README's Python API example runs as written, and its numbers are the run's."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _api_block() -> str:
    section = README.read_text().split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block under '## Python API'"
    return match.group(1)


def test_python_api_example_runs(capsys) -> None:
    namespace: dict = {}
    exec(compile(_api_block(), "README.md (Python API)", "exec"), namespace)  # noqa: S102
    result, summary, folder = namespace["result"], namespace["summary"], namespace["out"]
    run = result.run
    assert run.n_frames == 2 and run.config.router.buffer_depth == 8
    assert summary["mean"]["energy_total_uj"] == pytest.approx(np.mean(run.energy.total_uj))
    assert list(result.frames["energy_total_uj"]) == list(run.energy.total_uj)
    assert (folder / "report.json").is_file() and (folder / "mapping.json").is_file()
    shutil.rmtree(folder.parent)
    out = capsys.readouterr().out
    assert f"{summary['mean']['energy_total_uj']:.2f} uJ/frame" in out
    after = README.read_text().split("## Python API", 1)[1].split(_api_block(), 1)[1]
    printed = re.search(r"```\n\n```\n(.*?)```", after, re.S)
    assert printed and printed.group(1).strip() == out.strip()  # the README shows this output
