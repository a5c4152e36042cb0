"""Issue 26, done when: a user's own network, trained in the test as the official code
trains one, on CIFAR-format files the test writes, through ``map`` and ``sweep``.

The hidden-layer spikes of every frame (neurons fired per frame and layer, through the
quantized network the chip runs) and every prediction must equal an independent
implementation of the official proxy model (:mod:`tests.cores.own_network`) on the same
normalized inputs; the reports record the model's hash, the data, the normalization and
the encoding. (Every neuron's spike time is held against the reference at stage level,
in tests/cores/test_own_network.py.)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from canmore_sim.cli.main import main
from canmore_sim.models.loaders import load_model
from canmore_sim.models.quantize import quantize_graph
from tests.cores.own_network import (
    SPEC,
    read_normalized,
    reference,
    save_state_dict,
    train,
    write_cifar,
)


@pytest.fixture(scope="module")
def own(tmp_path_factory) -> Path:
    """A folder holding ``cifar/`` (the data) and ``dta_vgg_small.pt`` (a bare state_dict)."""
    root = tmp_path_factory.mktemp("own")
    net, accuracy = train(write_cifar(root / "cifar"))
    assert accuracy > 0.5
    save_state_dict(net, root / "dta_vgg_small.pt")
    return root


def _expected(root: Path, ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: hidden neurons fired per layer, the prediction, and the input spikes
    (positive normalized values), of the reference on the 4-bit weights the chip runs."""
    graph = quantize_graph(load_model(str(root / "dta_vgg_small.pt"), arch=SPEC), 4)
    x, _ = read_normalized(root / "cifar" / "test_batch")
    x = x[ids].astype(np.float32).astype(np.float64)  # the tool feeds float32 frames
    times, out = reference([layer.weight for layer in graph.layers], x)
    fired = np.stack([np.isfinite(t).reshape(len(x), -1).sum(1) for t in times], axis=1)
    return fired, np.argmax(out, axis=1), (x > 0).reshape(len(x), -1).sum(1)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_map_runs_the_own_network_as_trained_and_records_what_ran(own, capsys) -> None:
    out = own / "map"
    code = main(["map", "--model", str(own / "dta_vgg_small.pt"), "--arch", SPEC, "--data",
                 f"cifar10:{own / 'cifar'}", "--mesh", "4x4", "--frames", "6", "--out",
                 str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "note: official DTA-TTFS state_dict on CIFAR-10 data: data.normalize: cifar10, " \
           "neuron.input_encoding: direct" in printed
    report = json.loads((out / "report.json").read_text())
    ids = report["frames"]["data_index"]
    fired, predictions, spikes_in = _expected(own, ids)
    assert report["frames"]["prediction"] == predictions.tolist()
    assert report["frames"]["neurons_fired"] == (spikes_in + fired.sum(axis=1)).tolist()
    assert [row["neurons_fired"] for row in report["layers"][:-1]] == pytest.approx(
        fired.mean(axis=0).tolist())
    assert report["provenance"]["data"]["input_values"]["positive"] == int(spikes_in.sum())
    model, data = report["provenance"]["model"], report["provenance"]["data"]
    assert model["sha256"] == _sha(own / "dta_vgg_small.pt")
    assert model["format"] == "official DTA-TTFS state_dict"
    assert data["reader"] == "cifar10" and data["sha256"] == _sha(own / "cifar" / "test_batch")
    assert data["split"] == "test" and data["frame_ids"] == ids and not data["adapted"]
    assert data["normalization"]["name"] == "cifar10" and data["encoding"] == "direct"
    assert data["input_values"]["negative"] > 0
    assert report["config"]["neuron"]["input_encoding"] == "direct"
    assert report["window"]["mode"] == "auto" and report["late_share"] <= 0.01
    page = (out / "report.html").read_text()
    assert model["sha256"] in page and "direct encoding" in page


def test_sweep_runs_the_own_network_from_its_model_keys(own) -> None:
    sweep = own / "own_sweep.yaml"
    sweep.write_text(f"model: dta_vgg_small.pt\narch: '{SPEC}'\ndata: cifar10:cifar\n"
                     "frames: 4\ngrid:\n  traffic.multicast: [false, true]\n")
    out = own / "sweep"
    assert main(["sweep", str(sweep), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    points = [json.loads(p.read_text()) for p in sorted((out / "points").glob("*.json"))]
    assert len(points) == 2 and all(p["status"] == "done" for p in points)
    for point in points:
        prov = point["provenance"]
        assert prov["model"]["sha256"] == _sha(own / "dta_vgg_small.pt")
        assert prov["data"]["encoding"] == "direct"
        assert prov["data"]["normalization"]["name"] == "cifar10"
        ids = prov["data"]["frame_ids"]
        _, predictions, _ = _expected(own, ids)
        labels = read_normalized(own / "cifar" / "test_batch")[1][ids]
        assert point["metrics"]["accuracy"] == pytest.approx(float(np.mean(predictions
                                                                          == labels)))
        assert point["window"]["mode"] == "auto"
