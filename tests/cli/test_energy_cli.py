"""Energy on the command line: --energy presets, --energy-reference, errors before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import canmore_sim.run.pipeline
from canmore_sim.cli.main import main


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("canmore-sim: error: ")
    return err


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad energy setting must be reported before the (slow) neuron simulation."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the simulation ran before the energy preset was checked")
    monkeypatch.setattr(canmore_sim.run.pipeline, "simulate_neurons", refuse)


def test_unknown_preset_is_one_line_before_any_work(tmp_path, capsys, no_simulation) -> None:
    assert main(["map", "--energy", "canmore-7nm", "--out", str(tmp_path), "--quiet"]) == 2
    err = _one_line_error(capsys)
    assert "canmore-7nm" in err and "canmore-22nm" in err
    assert not (tmp_path / "report.json").exists()


@pytest.mark.parametrize(("body", "needle"), [
    ("model: magic\nsource: t\n", "unknown energy model 'magic'"),
    ("model: canmore\nsource: t\ne_sop_pj: 1\ne_hop_pj: 1\n", "e_static_uj and p_static_mw"),
    ("model: canmore\nsource: t\ne_sop_pj: 1\ne_static_uj: 1\n", "missing key 'e_hop_pj'"),
    ("model: canmore\nsource: t\ne_sop_pj: 1\ne_hop_pj: 1\ne_static_uj: 1\ne_stat_uj: 2\n",
     "unknown key 'e_stat_uj'; did you mean 'e_static_uj'"),
])
def test_bad_preset_file_is_one_line_before_any_work(tmp_path, capsys, no_simulation,
                                                    body: str, needle: str) -> None:
    preset = tmp_path / "lab.yaml"
    preset.write_text(body)
    assert main(["map", "--energy", str(preset), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert needle in _one_line_error(capsys)


def test_corrupt_reference_is_one_line_before_any_work(tmp_path, capsys, no_simulation) -> None:
    ref = tmp_path / "ref.json"
    ref.write_text('{"tool": {"name": "canmore-sim"}, "mean": ')
    assert main(["map", "--energy", "truenorth", "--energy-reference", str(ref),
                 "--out", str(tmp_path / "o"), "--quiet"]) == 3
    assert "ref.json" in _one_line_error(capsys)


def test_normalized_energy_against_a_reference_run(tmp_path, capsys) -> None:
    base = tmp_path / "base"
    assert main(["map", "--frames", "1", "--out", str(base), "--quiet"]) == 0
    # the same frames priced with Eq. 11 against the run itself, read from its report.json:
    # mean latency / latency_ref = mean spikes / spikes_ref = 1, so E = 0.6 + 0.4
    again = tmp_path / "tn"
    assert main(["map", "--frames", "1", "--energy", "truenorth", "--energy-reference",
                 str(base / "report.json"), "--out", str(again), "--quiet"]) == 0
    report = json.loads((again / "report.json").read_text())
    energy = report["energy_model"]
    assert energy["model"] == "normalized" and energy["unit"] == "rel"
    assert energy["resolved"]["reference"] == f"reference run {base / 'report.json'}"
    assert report["energy_reference"]["origin"] == energy["resolved"]["reference"]
    base_mean = json.loads((base / "report.json").read_text())["mean"]
    assert energy["resolved"]["latency_ref_ns"] == base_mean["frame_latency_ns"]
    assert energy["resolved"]["spikes_ref"] == base_mean["neurons_fired"]
    assert report["mean"]["energy_static_uj"] == pytest.approx(0.6)
    assert report["mean"]["energy_dynamic_uj"] == pytest.approx(0.4)
    per_layer = report["energy_per_layer"]
    assert sum(per_layer["total"]) == pytest.approx(1.0)
    assert f"1 rel = reference run {base / 'report.json'}" in capsys.readouterr().out
    assert Path(again / "report.html").exists()


def test_interchip_hops_are_priced_at_their_own_coefficient(tmp_path) -> None:
    # the bundled network's 29 cores on 4x4 chips: two chips, packets cross between them
    assert main(["map", "--mesh", "4x4", "--frames", "1", "--out", str(tmp_path), "--quiet"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    mean, inter = report["mean"], report["noc"]["interchip_hops"]
    assert report["mapping"]["chips"] == 2 and inter > 0
    assert mean["energy_interchip_hop_uj"] == pytest.approx(inter * 1000e-6)  # 1000 pJ
    assert mean["energy_hop_uj"] == pytest.approx((mean["hops"] - inter) * 100e-6)  # 100 pJ
    assert mean["energy_total_uj"] == pytest.approx(
        mean["sops"] * 20e-6 + (mean["hops"] - inter) * 100e-6 + inter * 1000e-6 + 3.52)
