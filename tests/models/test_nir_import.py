"""NIR graphs: every supported node, the pooling rules, and one negative test per failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nir
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from canmore_sim.config import NeuronConfig
from canmore_sim.cores.models import simulate_neurons
from canmore_sim.datasets.readers import load_frames
from canmore_sim.errors import ModelError
from canmore_sim.models.checkpoint import save_checkpoint
from canmore_sim.models.loaders import load_model
from canmore_sim.models.nir_import import graph_from_nir
from tests.nir_graphs import affine, chain, conv, if_, lif, pool, small_cnn, write

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_nir.py"


def test_small_cnn_becomes_layers_with_neurons_bias_and_sum_pooling(tmp_path) -> None:
    graph = load_model(str(write(small_cnn(), tmp_path / "net.nir")))
    conv1, fc = graph.layers
    assert graph.input_shape == (1, 8, 8) and graph.native_model == "if-lif"
    assert conv1.kind == "conv" and conv1.padding == 1 and conv1.pool == 2
    assert conv1.pool_mode == "sum" and conv1.spike_shape == (4, 4, 4)
    assert conv1.bias is not None and np.allclose(conv1.bias, 0.05)
    assert conv1.neurons is not None and conv1.neurons.kind == "lif"
    assert conv1.neurons.v_threshold.shape == (4, 8, 8)
    assert fc.in_shape == (64,) and fc.bias is None  # an all-zero bias is no bias
    assert graph.meta["format"] == "nir" and graph.spec.startswith("nir:8x8x1:")


def test_same_padding_if_neurons_and_linear_output_without_neurons(tmp_path) -> None:
    net = chain(("c", conv(2, 1, 8, padding="same")), ("n", if_((2, 8, 8))),
                ("f", nir.Flatten(input_type={"input": np.array([2, 8, 8])}, start_dim=0)),
                ("fc", nir.Linear(weight=np.ones((10, 128)))))
    graph = graph_from_nir(net)
    assert graph.layers[0].padding == 1 and graph.layers[0].neurons.kind == "if"
    assert graph.layers[1].neurons is None and graph.layers[1].bias is None


def test_avg_pool_after_neurons_moves_one_over_k2_into_the_next_weights() -> None:
    fc = affine(10, 64)
    sum_graph = graph_from_nir(chain(("c", conv(4, 1, 8)), ("n", lif((4, 8, 8))),
                                     ("p", pool("sum")), ("fc", fc), ("n2", lif((10,)))))
    avg_graph = graph_from_nir(chain(("c", conv(4, 1, 8)), ("n", lif((4, 8, 8))),
                                     ("p", pool("avg")), ("fc", fc), ("n2", lif((10,)))))
    assert np.allclose(avg_graph.layers[1].weight, sum_graph.layers[1].weight / 4)


@pytest.mark.parametrize(("stride", "kind", "k"), [(1, "sum", 2), (1, "avg", 2), (2, "sum", 2),
                                                    (1, "sum", 3)])
def test_pooling_currents_before_the_neurons_folds_into_an_exact_convolution(stride, kind,
                                                                              k) -> None:
    node = conv(3, 2, 12, padding=1, stride=stride, bias=0.2)
    graph = graph_from_nir(chain(("c", node), ("p", pool(kind, k)), ("n", lif((3, 1, 1))),
                                 shape=(2, 12, 12)))
    layer = graph.layers[0]
    x = torch.randn(5, 2, 12, 12, dtype=torch.float64)
    w, b = torch.as_tensor(node.weight), torch.as_tensor(node.bias)
    want = F.avg_pool2d(F.conv2d(x, w, b, stride=stride, padding=1), k)
    want = want * (k * k if kind == "sum" else 1)
    got = F.conv2d(x, torch.as_tensor(layer.weight, dtype=torch.float64),
                   torch.as_tensor(layer.bias, dtype=torch.float64), stride=layer.stride,
                   padding=layer.padding)
    assert layer.out_shape == tuple(want.shape[1:])
    assert torch.allclose(got, want, atol=1e-5)


def test_trained_lif_network_runs_spike_for_spike_as_in_its_training_code(tmp_path) -> None:
    """examples/train_nir.py trains a LIF CNN in its own PyTorch code (beta form) and
    exports it in snnTorch's convention; canmore-sim reads the file and simulates the NIR
    equations: every prediction and every layer's spike count must agree."""
    out, preds = tmp_path / "digits_lif.nir", tmp_path / "preds.npz"
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--size", "8", "--epochs", "3",
                           "--frames", "120", "--out", str(out), "--predictions", str(preds)],
                          capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ref = np.load(preds)
    graph = load_model(str(out))
    frames, labels, ids = load_frames("digits", graph.input_shape, 120, 0, split="test")
    assert np.array_equal(ids, ref["frame_ids"])
    trace = simulate_neurons(graph, frames, labels, NeuronConfig(model="auto", steps=16))
    assert np.array_equal(trace.predictions, ref["predictions"])
    assert np.array_equal(trace.neuron_spikes[:, 1:], ref["counts"])
    assert trace.accuracy() > 0.8  # a trained network, not noise
    # sum pooling sends every spike, addressed to its pool: rows = spikes fired
    assert len(trace.layers[1]) == int(ref["counts"][:, 0].sum())


# -- failures: one each ------------------------------------------------------------------
def _fails(net, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        graph_from_nir(net)


def test_unsupported_node_is_named_with_the_supported_list() -> None:
    cuba = nir.CubaLIF(tau_syn=np.ones(10), tau_mem=np.ones(10), r=np.ones(10),
                       v_leak=np.zeros(10), v_threshold=np.ones(10))
    _fails(chain(("fc", affine(10, 64)), ("cuba", cuba), shape=(64,)),
           r"node 'cuba': CubaLIF nodes are not supported \(supported: Conv2d")


def test_branches_and_recurrent_subgraphs_are_refused() -> None:
    net = small_cnn()
    net.edges.append(("conv1", "output"))
    _fails(net, "node 'conv1' feeds 2 nodes")
    inner = chain(("fc", affine(10, 64)), ("n", lif((10,))), shape=(64,))
    _fails(chain(("rnn", inner), shape=(64,)), "node 'rnn' is a subgraph")


@pytest.mark.parametrize(("net", "match"), [
    (lambda: chain(("c", conv(2, 1, 8, stride=(1, 2))), ("n", lif((2, 8, 4)))),
     "unequal strides"),
    (lambda: chain(("c", conv(2, 1, 8)), ("n", lif((2, 8, 8))), ("p", pool("sum", 2, 1)),
                   ("fc", affine(10, 98)), ("n2", lif((10,)))), "stride = kernel"),
    (lambda: chain(("c", conv(2, 1, 8)), ("li", nir.LI(tau=np.ones((2, 8, 8)),
                                                       r=np.ones((2, 8, 8)),
                                                       v_leak=np.zeros((2, 8, 8)))),
                   ("fc", affine(10, 128)), ("n2", lif((10,)))), "only the output layer may be LI"),
    (lambda: chain(("fc1", affine(20, 64)), ("fc2", affine(10, 20)), shape=(64,)),
     "followed by another weight layer with no IF/LIF neurons"),
    (lambda: chain(("c", conv(2, 1, 8)), ("n", lif((2, 8, 8))), ("p", pool())),
     "output layer cannot be followed by pooling"),
    (lambda: chain(("fc", affine(10, 64)), ("n", lif((7,))), shape=(64,)),
     "r has 7 values for 10 neurons"),
    (lambda: chain(("n", lif((64,))), ("fc", affine(10, 64)), shape=(64,)),
     "must follow a Conv2d, Affine or Linear node"),
    (lambda: chain(("c", conv(2, 1, 6)), ("n", lif((2, 8, 8)))),
     r"states input \(H, W\) = \(6, 6\)"),
])
def test_shapes_and_orders_that_cannot_be_mapped_name_the_node(net, match) -> None:
    _fails(net(), match)


def test_missing_and_corrupt_files_and_arch_flag(tmp_path) -> None:
    with pytest.raises(ModelError, match="model file not found"):
        load_model(str(tmp_path / "absent.nir"))
    bad = tmp_path / "bad.nir"
    bad.write_text("not hdf5")
    with pytest.raises(ModelError, match="not a readable NIR graph"):
        load_model(str(bad))
    good = write(small_cnn(), tmp_path / "net.h5")
    with pytest.raises(ModelError, match="drop --arch"):
        load_model(str(good), arch="vgg16")
    graph = load_model(str(good))
    with pytest.raises(ModelError, match="cannot be saved as a canmore-sim checkpoint"):
        save_checkpoint(graph, tmp_path / "x.pt")
