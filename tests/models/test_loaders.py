"""Every loading path, each on a real file the test writes."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn

from canmore_sim.cli.main import main
from canmore_sim.errors import ModelError
from canmore_sim.models.loaders import load_model
from canmore_sim.models.spec import weight_shapes

SPEC = "16x16x1:4C3-P2-8C3-P2-10F"


def _official(tmp_path, spec=SPEC):
    rng = np.random.default_rng(0)
    shapes = weight_shapes(spec)
    state, conv, fc = {}, 0, 0
    for shape in shapes:
        if len(shape) == 4:
            key, conv = f"conv.{conv}.cnn.weight", conv + 1
        else:
            key, fc = f"fc.{fc}.linear.weight", fc + 1
        state[key] = torch.tensor(rng.normal(0.05, 0.3, shape), dtype=torch.float32)
    path = tmp_path / "official.pth"
    torch.save(state, path)
    return path, state


def test_official_dta_ttfs_state_dict_with_arch(tmp_path) -> None:
    path, state = _official(tmp_path)
    graph = load_model(str(path), arch=SPEC)
    assert [layer.name for layer in graph.layers] == ["conv.0.cnn", "conv.1.cnn", "fc.0.linear"]
    assert np.array_equal(graph.layers[1].weight, state["conv.1.cnn.weight"].numpy())
    with pytest.raises(ModelError, match="--arch"):
        load_model(str(path))
    with pytest.raises(ModelError, match=r"conv.1.cnn.*\(8, 4, 5, 5\).*\(8, 4, 3, 3\)"):
        load_model(str(path), arch="16x16x1:4C3-P2-8C5-P2-10F")


def test_official_vgg16_keys_by_zoo_name(tmp_path) -> None:
    path, _ = _official(tmp_path, "32x32x3:64C3-64C3-P2-128C3-128C3-P2-256C3-256C3-256C3-P2-"
                        "512C3-512C3-512C3-P2-512C3-512C3-512C3-P2-4096F-4096F-10F")
    graph = load_model(str(path), arch="vgg16")
    assert graph.depth == 16 and graph.layers[-1].channels == 10


def test_bias_is_refused_with_its_key(tmp_path) -> None:
    path = tmp_path / "b.pt"
    torch.save({"fc.0.linear.weight": torch.zeros(10, 4), "fc.0.linear.bias": torch.zeros(10)},
               path)
    with pytest.raises(ModelError, match="fc.0.linear.bias"):
        load_model(str(path), arch="4:10F")


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.classifier = nn.Linear(4 * 8 * 8, 10, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(1)
        self.fc = nn.Linear(256, 10, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.norm(x), 1))


def test_pickled_module_needs_trust_and_is_traced_with_fx(tmp_path, capsys) -> None:
    path = tmp_path / "whole.pt"
    net = Net()
    torch.save(net, path)
    with pytest.raises(ModelError, match="could run code.*pass --trust-model"):
        load_model(str(path))
    graph = load_model(str(path), trust_model=True, input_shape=(1, 16, 16))
    assert graph.spec == "16x16x1:4C3s1p1-P2-10F"
    assert np.array_equal(graph.layers[0].weight, net.features[0].weight.detach().numpy())
    torch.save(Unsupported(), tmp_path / "bn.pt")
    with pytest.raises(ModelError, match="norm.*BatchNorm2d"):
        load_model(str(tmp_path / "bn.pt"), trust_model=True, input_shape=(1, 16, 16))
    code = main(["map", "--model", str(path), "--trust-model", "--input-shape", "16x16x1",
                 "--frames", "1", "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_is_refused_without_running(tmp_path, capsys) -> None:
    marker = tmp_path / "pwned"
    for name, writer in (("zip.pt", lambda p: torch.save({"x": _Payload(str(marker))}, p)),
                         ("raw.pkl", lambda p: p.write_bytes(pickle.dumps(_Payload(str(marker)))))):
        path = tmp_path / name
        writer(path)
        assert main(["map", "--model", str(path), "--out", str(tmp_path / "o")]) == 3
        err = capsys.readouterr().err
        assert err.startswith("canmore-sim: error:") and "\n" not in err.strip()
        assert not marker.exists()
