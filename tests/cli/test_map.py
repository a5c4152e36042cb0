from __future__ import annotations

import json

import pytest

from canmore_sim.cli.main import main
from canmore_sim.models.checkpoint import save_checkpoint
from tests.conftest import random_graph


def test_map_default_writes_report(tmp_path, capsys) -> None:
    assert main(["map", "--frames", "2", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "29 cores" in out and "mean" in out and "energy (canmore-22nm" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["mapping"]["cores"] == 29 and len(report["frames"]["data_index"]) == 2
    assert report["config"]["mesh"] == {"width": 8, "height": 8}
    total = report["mean"]["energy_total_uj"]
    terms = sum(report["mean"][f"energy_{t}_uj"] for t in ("sop", "hop", "static"))
    assert abs(total - terms) < 1e-9
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_map_own_checkpoint_on_a_smaller_mesh(tmp_path, capsys) -> None:
    graph = random_graph("32x32x1:4C3-P2-8C3-P2-10F", seed=2)
    path = save_checkpoint(graph, tmp_path / "net.pt", dataset="test")
    code = main(["map", "--model", str(path), "--mesh", "4x4", "--frames", "1",
                 "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["mapping"]["mesh"] == "4x4" and report["mapping"]["cores"] == 4 + 2 + 1


def test_network_too_big_for_one_chip_with_overflow_error(tmp_path, capsys) -> None:
    cfg = tmp_path / "a.yaml"
    cfg.write_text("mesh: 4x4\nmultichip:\n  overflow: error\n")
    out = tmp_path / "out"
    code = main(["map", "--config", str(cfg), "--frames", "1", "--out", str(out), "--quiet"])
    assert code == 4
    err = capsys.readouterr().err.strip()
    assert "needs 29 cores" in err and "has 16" in err and "\n" not in err
    assert not out.exists()


def test_tiles_chips_and_reports_interchip_hops(tmp_path, capsys) -> None:
    code = main(["map", "--mesh", "4x4", "--frames", "1", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["mapping"]["chips"] == 2 and report["mapping"]["chip_grid"] == "2x1"
    assert 0 < report["noc"]["interchip_hops"] < report["mean"]["hops"]
    assert "x 2 chips" in capsys.readouterr().out


def test_mapping_file_round_trip(tmp_path, capsys) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["map", "--frames", "1", "--placement", "anneal", "--out", str(first),
                 "--quiet"]) == 0
    assert (first / "mapping.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["map", "--frames", "1", "--mapping", str(first / "mapping.json"),
                 "--out", str(second), "--quiet"]) == 0
    a = json.loads((first / "report.json").read_text())
    b = json.loads((second / "report.json").read_text())
    assert a["mapping"]["core_xy"] == b["mapping"]["core_xy"]
    assert a["frames"]["hops"] == b["frames"]["hops"]
    capsys.readouterr()
    # the same mapping for another chip size is refused in one line
    assert main(["map", "--frames", "1", "--mesh", "16x16", "--mapping",
                 str(first / "mapping.json"), "--out", str(tmp_path / "c"), "--quiet"]) == 4
    assert "8x8 chips" in capsys.readouterr().err


def test_report_shows_congestion_and_heatmaps(tmp_path, capsys) -> None:
    assert main(["map", "--frames", "1", "--out", str(tmp_path), "--quiet", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "where packets waited" in out and "flits per frame by output direction" in out
    for name in ("wait_heatmap.png", "traffic_heatmap.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    noc = json.loads((tmp_path / "report.json").read_text())["noc"]
    shares = [row["share"] for row in noc["congested_ports"]]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1.0 + 1e-9
    assert noc["direction_flits"]["local"] > 0
    assert "busiest links" in out
    links = noc["busiest_links"]
    assert links and all(0 < link["utilization"] <= 1 for link in links)
    assert [link["flits"] for link in links] == sorted((link["flits"] for link in links),
                                                       reverse=True)
    frames = json.loads((tmp_path / "report.json").read_text())["frames"]
    assert 0 < frames["zero_load_mean_ns"][0] <= frames["latency_mean_ns"][0]


def test_multicast_saves_hops(tmp_path, capsys) -> None:
    cfg = tmp_path / "mc.yaml"
    cfg.write_text("traffic:\n  multicast: true\nrun:\n  frames: 1\n")
    assert main(["map", "--config", str(cfg), "--out", str(tmp_path / "o"), "--quiet",
                 "--verbose"]) == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["noc"]["multicast"] is True
    assert report["mean"]["hops"] < report["noc"]["unicast_equivalent_hops"]
    assert 0.3 < report["noc"]["multicast_saving"] < 1.0
    assert "multicast:" in capsys.readouterr().out


def test_normalized_energy_against_a_reference_run(tmp_path, capsys) -> None:
    base, other = tmp_path / "base", tmp_path / "mc"
    # one fixed window for both (auto would derive a shorter one for multicast)
    assert main(["map", "--frames", "1", "--out", str(base), "--quiet", "--set",
                 "neuron.window_ns=20000"]) == 0
    cfg = tmp_path / "a.yaml"
    cfg.write_text(f"traffic:\n  multicast: true\nneuron:\n  window_ns: 20000\nrun:\n"
                   f"  energy: truenorth\n  energy_reference: {base / 'report.json'}\n")
    assert main(["map", "--frames", "1", "--config", str(cfg), "--out", str(other),
                 "--quiet"]) == 0
    report = json.loads((other / "report.json").read_text())
    assert report["energy_model"]["unit"] == "rel"
    # same frame and spikes, same window-bound latency: relative energy 1.0 against the base
    assert report["mean"]["energy_total_uj"] == pytest.approx(1.0, abs=1e-3)


def test_measured_traffic_placement_is_deterministic(tmp_path, capsys) -> None:
    cfg = tmp_path / "a.yaml"
    cfg.write_text("run:\n  frames: 1\n  placement: anneal\n  placement_traffic: measured\n")
    runs = []
    for name in ("a", "b"):
        assert main(["map", "--config", str(cfg), "--out", str(tmp_path / name), "--quiet"]) == 0
        runs.append(json.loads((tmp_path / name / "report.json").read_text()))
    assert runs[0]["mapping"]["core_xy"] == runs[1]["mapping"]["core_xy"]
    assert main(["map", "--frames", "1", "--out", str(tmp_path / "rm"), "--quiet"]) == 0
    row_major = json.loads((tmp_path / "rm" / "report.json").read_text())["mean"]["hops"]
    assert runs[0]["mean"]["hops"] < 0.95 * row_major  # the same frame's spikes, fewer hops


def test_coding_schemes_compared_on_the_same_chip(tmp_path, capsys) -> None:
    totals = {}
    for model in ("dta-ttfs", "tq-ttfs", "t2fsnn", "rate-if"):
        cfg = tmp_path / f"{model}.yaml"
        cfg.write_text(f"neuron:\n  model: {model}\n  steps: 8\nrun:\n  frames: 1\n")
        assert main(["map", "--config", str(cfg), "--out", str(tmp_path / model),
                     "--quiet"]) == 0
        report = json.loads((tmp_path / model / "report.json").read_text())
        assert report["model"]["neuron"] == model
        totals[model] = report["mean"]
    assert totals["rate-if"]["spikes_sent"] > totals["dta-ttfs"]["spikes_sent"]
    assert totals["rate-if"]["sops"] > totals["tq-ttfs"]["sops"]


def test_map_and_inspect_a_nir_graph_say_the_spikes_come_from_if_lif(tmp_path, capsys) -> None:
    from tests.nir_graphs import small_cnn, write

    path = write(small_cnn(), tmp_path / "net.nir")
    code = main(["map", "--model", str(path), "--frames", "3", "--out", str(tmp_path / "o"),
                 "--quiet", "--verbose"])
    assert code == 0
    out = " ".join(capsys.readouterr().out.split())  # the lines wrapped within 120 columns
    assert "spikes from IF/LIF simulation of the NIR graph" in out and "not TTFS" in out
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["model"]["neuron"] == "if-lif" and report["config"]["neuron"]["model"] == "if-lif"
    # sum pooling sends every spike to its pool: SOPs of fc = spikes of conv1 x 10 neurons
    layers = report["layers"]
    assert layers[1]["sops"] == pytest.approx(layers[0]["neurons_fired"] * 10)
    assert main(["inspect", "--model", str(path)]) == 0
    table = capsys.readouterr().out
    assert "conv+lif" in table and "2 sum" in table and "linear+lif" in table


def test_map_nir_graph_under_a_ttfs_model_is_a_one_line_model_error(tmp_path, capsys) -> None:
    from tests.nir_graphs import small_cnn, write

    path = write(small_cnn(), tmp_path / "net.nir")
    cfg = tmp_path / "a.yaml"
    cfg.write_text("neuron:\n  model: dta-ttfs\n")
    code = main(["map", "--model", str(path), "--config", str(cfg), "--frames", "1",
                 "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 3 and len(err.splitlines()) == 1
    assert "neuron model dta-ttfs cannot run" in err and "if-lif" in err
    assert not (tmp_path / "o").exists()


def _official_state_dict(tmp_path, spec: str):
    import numpy as np
    import torch

    from canmore_sim.models.spec import weight_shapes

    rng = np.random.default_rng(4)
    state, conv, fc = {}, 0, 0
    for shape in weight_shapes(spec):
        if len(shape) == 4:
            key, conv = f"conv.{conv}.cnn.weight", conv + 1
        else:
            key, fc = f"fc.{fc}.linear.weight", fc + 1
        fan_in = int(np.prod(shape[1:]))
        state[key] = torch.tensor(rng.normal(0.1, 1.0, shape) / fan_in ** 0.5,
                                  dtype=torch.float32)
    path = tmp_path / "official.pth"
    torch.save(state, path)
    return path


def test_map_official_state_dict_reports_official_rule_and_sparsity(tmp_path, capsys) -> None:
    spec = "32x32x1:4C3-P2-8C3-P2-10F"
    path = _official_state_dict(tmp_path, spec)
    assert main(["map", "--model", str(path), "--arch", spec, "--mesh", "4x4", "--frames", "3",
                 "--out", str(tmp_path / "out"), "--verbose"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the lines wrapped within 120 columns
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    rule = report["model"]["dta_rule"]
    assert rule["official"] and rule["window_end_spike"] is False
    assert rule["readout"] == "window-start" and rule["overridden"] == []
    assert rule["network"]["source"] == "official DTA-TTFS state_dict"
    assert report["config"]["neuron"]["window_end_spike"] is False
    assert report["config"]["neuron"]["readout"] == "window-start"
    layers = report["layers"]
    neurons = sum(r["neurons"] for r in layers)  # 4096 + 2048 + 10
    hidden = sum(r["neurons_fired"] for r in layers[:-1])
    assert neurons == 6154 and layers[-1]["neurons_fired"] == 0 and 0 < hidden < 6144
    sparsity = report["sparsity"]
    assert sparsity["official"] == pytest.approx((hidden + 10) / neurons)
    assert sparsity["neurons"] == neurons and sparsity["output_neurons"] == 10
    assert report["mean"]["sparsity"] == pytest.approx(sparsity["official"])
    assert f"{sparsity['official']:.4f} per frame" in out and "official DTA-TTFS code" in out
    assert "fired %" in out


def test_config_rule_set_explicitly_wins_and_the_report_says_so(tmp_path, capsys) -> None:
    spec = "32x32x1:4C3-P2-8C3-P2-10F"
    path = _official_state_dict(tmp_path, spec)
    cfg = tmp_path / "a.yaml"
    cfg.write_text("mesh: 4x4\nneuron:\n  window_end_spike: true\n")
    runs = []
    for name, extra in (("auto", []), ("set", ["--config", str(cfg)])):
        assert main(["map", "--model", str(path), "--arch", spec, "--mesh", "4x4", "--frames",
                     "2", "--out", str(tmp_path / name), "--quiet", "--verbose", *extra]) == 0
        runs.append(json.loads((tmp_path / name / "report.json").read_text()))
    out = " ".join(capsys.readouterr().out.split())  # the lines wrapped within 120 columns
    rule = runs[1]["model"]["dta_rule"]
    assert rule["window_end_spike"] is True and rule["readout"] == "window-start"
    assert rule["overridden"] == ["neuron.window_end_spike"] and not rule["official"]
    assert "set by neuron.window_end_spike in the config" in out
    # the window-end rule fires more neurons (those meeting the threshold only at the end)
    assert runs[1]["sparsity"]["official"] > runs[0]["sparsity"]["official"]
