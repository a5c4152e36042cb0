"""Smaller command-line fixes: spec strings with --weights synthetic, a closed pipe, the
refusal of a pickled module naming --trust-model."""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from canmore_sim.cli.main import main

SPEC = "16x16x1:4C3-P2-10F"


def test_spec_string_with_synthetic_weights_maps(tmp_path, capsys) -> None:
    out = tmp_path / "spec"
    assert main(["map", "--model", SPEC, "--weights", "synthetic", "--frames", "1",
                 "--quiet", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["model"]["spec"] == SPEC and report["model"]["meta"]["weights"] == "synthetic"
    assert "SYNTHETIC WEIGHTS" in capsys.readouterr().out


def test_spec_string_without_weights_is_one_line(tmp_path, capsys) -> None:
    assert main(["map", "--model", SPEC, "--out", str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "add --weights synthetic" in err


def test_inspect_takes_a_spec_string(capsys) -> None:
    assert main(["inspect", "--model", SPEC]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "fc1" in out


def test_pickled_module_refusal_names_trust_model(tmp_path, capsys) -> None:
    path = tmp_path / "whole.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(4, 2, bias=False)), path)
    assert main(["map", "--model", str(path), "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--trust-model" in err and "--input-shape" in err


def _inspect(close_stdout: bool) -> tuple[int, bytes, bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "canmore_sim.cli", "inspect", "--model",
                             "vgg16"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    if close_stdout:
        proc.stdout.close()  # like `| head` that has read enough: every write now fails
        out = b""
    else:
        out = proc.stdout.read()
    err = proc.stderr.read()
    return proc.wait(timeout=120), out, err


def test_inspect_into_a_closed_pipe_exits_quietly() -> None:
    status, out, err = _inspect(close_stdout=False)
    assert status == 0 and b"conv13" in out and err == b""  # the command does write
    status, _, err = _inspect(close_stdout=True)
    assert err == b"", err.decode()
    assert status == 0


def test_first_run_says_it_compiles_the_engine_and_the_next_does_not(tmp_path) -> None:
    import os

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}  # a cold cache

    def map_once(out: str) -> str:
        done = subprocess.run([sys.executable, "-m", "canmore_sim.cli", "map", "--frames", "1",
                               "--out", str(tmp_path / out)], capture_output=True, text=True,
                              env=env, timeout=300, check=True)
        return done.stderr

    notice = "compiling the NoC engine"
    assert notice in map_once("first")
    assert notice not in map_once("second")
