"""The output-folder swap without RENAME_EXCHANGE, and recovery of a swap cut short."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import canmore_sim.report.folders as outdir
from canmore_sim.errors import OutputError
from canmore_sim.report.folders import MANIFEST, prepare_output, staged


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write(plan: outdir.OutputPlan, text: str) -> None:
    with staged(plan) as folder:
        (folder / "report.json").write_text(json.dumps({"tool": {"name": "canmore-sim"},
                                                        "text": text}))


def _text(out: Path) -> str:
    return str(json.loads((out / "report.json").read_text())["text"])


def test_the_two_rename_swap_replaces_whole(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    _write(prepare_output(out, "map"), "old")
    plan = prepare_output(out, "map")
    assert plan.state == "own"
    _write(plan, "new")
    assert _text(out) == "new" and sorted(p.name for p in out.iterdir()) == [MANIFEST,
                                                                             "report.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("left", ["new", "old", "both"])
def test_a_swap_cut_between_its_renames_is_completed_by_the_next_run(tmp_path, left) -> None:
    out = tmp_path / "out"
    _write(prepare_output(out, "map"), "old")
    pid = _dead_pid()
    if left in ("old", "both"):
        aside = tmp_path / f".out.canmore-old-{pid}-abc"
        out.rename(aside)
    if left in ("new", "both"):
        _write(prepare_output(tmp_path / "next", "map"), "new")
        (tmp_path / "next").rename(tmp_path / f".out.canmore-new-{pid}-def")
        if left == "new":
            import shutil
            shutil.rmtree(out)
    plan = prepare_output(out, "map")  # the complete new folder wins over the old one
    assert plan.state == "own" and _text(out) == ("old" if left == "old" else "new")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_live_runs_temporary_folder_is_left_alone(tmp_path) -> None:
    out = tmp_path / "out"
    _write(prepare_output(out, "map"), "old")
    mine = tmp_path / f".out.canmore-new-{__import__('os').getpid()}-xyz"
    mine.mkdir()
    prepare_output(out, "map")
    assert mine.exists()


def test_an_unknown_kind_and_a_damaged_manifest(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"^unknown output kind 'plot'$"):
        prepare_output(tmp_path / "x", "plot")
    out = tmp_path / "out"
    _write(prepare_output(out, "map"), "old")
    (out / MANIFEST).write_text("{not json")
    (out / "report.json").write_text("[]")
    with pytest.raises(OutputError, match="2 entries canmore-sim did not write"):
        prepare_output(out, "map")
