from __future__ import annotations

import json

import numpy as np
import pytest

from canmore_sim.cli import main
from canmore_sim.cores.neuron import run_network
from canmore_sim.errors import ModelError
from canmore_sim.mapper.spec import weight_shapes
from canmore_sim.mapper.zoo import ZOO, calibration_frames, synthetic_graph, zoo_spec


def test_zoo_architectures() -> None:
    assert weight_shapes(zoo_spec("mnist-cnn")) == [(16, 1, 5, 5), (32, 16, 5, 5), (800, 1568),
                                                   (128, 800), (10, 128)]
    vgg16 = weight_shapes(zoo_spec("vgg16"))
    assert len(vgg16) == 16 and vgg16[12] == (512, 512, 3, 3) and vgg16[-3] == (4096, 512)
    assert len(weight_shapes(zoo_spec("vgg11"))) == 11
    with pytest.raises(ModelError, match="vgg16"):
        zoo_spec("resnet50")


@pytest.mark.parametrize("rate", [0.1, 0.25, 0.5])
def test_synthetic_weights_fire_at_the_chosen_rate(rate: float) -> None:
    graph = synthetic_graph(ZOO["mnist-cnn"], firing_rate=rate, seed=1)
    trace = run_network(graph, calibration_frames(graph.input_shape, n=8, seed=99))
    for l, layer in enumerate(graph.layers[:-1], start=1):
        assert trace.neuron_spikes[:, l].mean() / layer.n_neurons == pytest.approx(rate, abs=0.05)
    assert graph.meta["weights"] == "synthetic"
    again = synthetic_graph(ZOO["mnist-cnn"], firing_rate=rate, seed=1)
    assert all(np.array_equal(a.weight, b.weight)
               for a, b in zip(graph.layers, again.layers, strict=True))


def test_cli_zoo_needs_weights_flag_and_says_synthetic(tmp_path, capsys) -> None:
    assert main(["map", "--model", "mlp", "--out", str(tmp_path)]) == 3
    assert "--weights synthetic" in capsys.readouterr().err
    assert main(["map", "--model", "mlp", "--weights", "synthetic", "--frames", "1",
                 "--out", str(tmp_path), "--quiet"]) == 0
    assert "synthetic weights" in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["model"]["meta"]["weights"] == "synthetic"
