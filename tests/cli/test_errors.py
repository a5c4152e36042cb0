"""Bad input gives one line on stderr and a non-zero exit status, never a traceback."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from canmore_sim.cli.main import main


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("canmore-sim: error: ")
    assert "Traceback" not in err
    return err


def test_missing_model(capsys, tmp_path) -> None:
    code = main(["map", "--model", str(tmp_path / "missing.pt"), "--out", str(tmp_path)])
    assert code == 3
    assert "model file not found" in _one_line_error(capsys)
    assert not (tmp_path / "report.json").exists()


def test_file_that_is_not_a_checkpoint(capsys, tmp_path) -> None:
    bogus = tmp_path / "notes.pt"
    bogus.write_text("these are my notes, not a network\n")
    assert main(["map", "--model", str(bogus), "--out", str(tmp_path / "out")]) == 3
    assert "not a PyTorch checkpoint" in _one_line_error(capsys)


def test_plain_pickle_is_refused(capsys, tmp_path) -> None:
    path = tmp_path / "obj.pt"
    path.write_bytes(pickle.dumps({"a": 1}))
    assert main(["map", "--model", str(path), "--out", str(tmp_path / "out")]) == 3
    _one_line_error(capsys)


def test_bad_mesh_and_config(capsys, tmp_path) -> None:
    assert main(["map", "--mesh", "8by8", "--out", str(tmp_path)]) == 2
    assert "mesh" in _one_line_error(capsys)
    cfg = tmp_path / "a.yaml"
    cfg.write_text("run:\n  framez: 3\n")
    assert main(["map", "--config", str(cfg), "--out", str(tmp_path / "out")]) == 2
    assert "frames" in _one_line_error(capsys)


def test_console_script_exit_status(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "canmore_sim.cli", "map", "--model", str(tmp_path / "nope.pt")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 3
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


def test_unwritable_output_folder_is_one_line(capsys, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["map", "--frames", "1", "--out", str(blocker / "out"), "--quiet"]) == 2
    err = _one_line_error(capsys)
    assert f"{blocker} is a file, not a folder" in err
