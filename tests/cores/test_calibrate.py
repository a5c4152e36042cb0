from __future__ import annotations

import json

import numpy as np
import pytest

from canmore_sim.cli.main import main
from canmore_sim.cores.calibrate import synthetic_graph
from canmore_sim.cores.neuron import run_network
from canmore_sim.errors import ModelError
from canmore_sim.models.spec import weight_shapes
from canmore_sim.models.zoo import ZOO, calibration_frames, zoo_spec


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


def _weights(graph) -> list[np.ndarray]:
    return [layer.weight for layer in graph.layers]


def test_cached_calibration_gives_the_same_weights(tmp_path, monkeypatch) -> None:
    from canmore_sim.utils import cache

    monkeypatch.setenv("CANMORE_SIM_CACHE", str(tmp_path))
    first = synthetic_graph(ZOO["mnist-cnn"], firing_rate=0.2, seed=4)
    entries = list(tmp_path.glob("synthetic-offsets-*.json"))
    assert len(entries) == 1
    cached = synthetic_graph(ZOO["mnist-cnn"], firing_rate=0.2, seed=4)
    monkeypatch.setenv("CANMORE_SIM_CACHE", "off")
    assert cache.cache_dir() is None
    uncached = synthetic_graph(ZOO["mnist-cnn"], firing_rate=0.2, seed=4)
    for a, b, c in zip(_weights(first), _weights(cached), _weights(uncached), strict=True):
        assert a.dtype == np.float32 and np.array_equal(a, b) and np.array_equal(a, c)
    # another seed is another entry, not the cached one
    monkeypatch.setenv("CANMORE_SIM_CACHE", str(tmp_path))
    other = synthetic_graph(ZOO["mnist-cnn"], firing_rate=0.2, seed=5)
    assert not np.array_equal(_weights(other)[0], _weights(first)[0])
    assert len(list(tmp_path.glob("synthetic-offsets-*.json"))) == 2


def test_a_corrupt_or_unwritable_cache_is_only_a_slower_run(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CANMORE_SIM_CACHE", str(tmp_path))
    reference = synthetic_graph(ZOO["mlp"], seed=2)
    entry = next(tmp_path.glob("synthetic-offsets-*.json"))
    for bad in ("{not json", json.dumps({"key": {}, "value": [0.5]}),
                json.dumps({"key": json.loads(entry.read_text())["key"], "value": [1e999]})):
        entry.write_text(bad)
        again = synthetic_graph(ZOO["mlp"], seed=2)
        assert all(np.array_equal(a, b)
                   for a, b in zip(_weights(reference), _weights(again), strict=True))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("CANMORE_SIM_CACHE", str(blocker / "cache"))  # cannot be created
    again = synthetic_graph(ZOO["mlp"], seed=2)
    assert np.array_equal(_weights(again)[0], _weights(reference)[0])


def test_chunked_draws_and_arithmetic_are_the_whole_array_numbers(monkeypatch) -> None:
    import canmore_sim.cores.calibrate as zoo

    monkeypatch.setattr(zoo, "_CHUNK", 1000)  # many chunks, one partial
    shape = (7, 3, 11, 13)
    z = zoo._standard_normal(np.random.default_rng(8), shape)
    assert np.array_equal(z, np.random.default_rng(8).standard_normal(shape).astype(np.float32))
    scale = 1.0 / np.sqrt(33)
    for dtype in (np.float32, np.float64):
        assert np.array_equal(zoo._affine(z, 0.3125, scale, dtype),
                              ((z + 0.3125) * scale).astype(dtype))


def _edge_values() -> np.ndarray:
    """float32 values where float32/float64 rounding differs most: -0.0, +0.0, subnormals,
    the largest floats, values near ties of the float32 add, and many random ones."""
    f32 = np.finfo(np.float32)
    special = np.array([0.0, -0.0, f32.smallest_subnormal, -f32.smallest_subnormal,
                        f32.smallest_normal, -f32.smallest_normal, 1e-40, -3e-39, f32.max,
                        -f32.max, f32.eps, 1.0, -1.0, 0.5, -0.3125, 2.0**24, -(2.0**24) - 2],
                       dtype=np.float32)
    rng = np.random.default_rng(12)
    spread = (rng.standard_normal(20000) * 10.0 ** rng.integers(-40, 38, 20000)).astype(np.float32)
    return np.concatenate([special, spread, np.nextafter(spread, np.float32(np.inf))])


@pytest.mark.parametrize("offset", [0.3125, -0.1, 1e-45, 0.0, -0.0, 1e30])
@pytest.mark.parametrize("scale", [1.0 / np.sqrt(4608), np.float64(1e-300), np.float64(3.0)])
def test_chunked_arithmetic_is_the_whole_array_rounding_on_edge_values(monkeypatch, offset: float,
                                                                       scale: np.float64) -> None:
    import canmore_sim.cores.calibrate as zoo

    monkeypatch.setattr(zoo, "_CHUNK", 4096)
    z = _edge_values()
    with np.errstate(over="ignore", under="ignore"):
        for dtype in (np.float32, np.float64):
            expected = ((z + offset) * scale).astype(dtype)
            assert zoo._affine(z, offset, scale, dtype).tobytes() == expected.tobytes()


@pytest.mark.parametrize("offset", [None, 0.40625, -1.5])
def test_weights_straight_from_the_draws_are_the_drawn_arrays_numbers(monkeypatch,
                                                                      offset: float | None) -> None:
    import canmore_sim.cores.calibrate as zoo

    monkeypatch.setattr(zoo, "_CHUNK", 1000)  # many chunks, one partial
    shape, scale = (9, 4, 5, 7), 1.0 / np.sqrt(140)
    rng, reference = np.random.default_rng(21), np.random.default_rng(21)
    for _ in range(2):  # the generator is left where the whole draw leaves it
        got = zoo._synthetic_weight(rng, shape, offset, scale)
        z = reference.standard_normal(shape).astype(np.float32)
        expected = (z * scale if offset is None else (z + offset) * scale).astype(np.float32)
        assert got.dtype == np.float32 and got.tobytes() == expected.tobytes()


def test_synthetic_weights_are_the_whole_array_expression_of_their_offsets(tmp_path,
                                                                           monkeypatch) -> None:
    import canmore_sim.cores.calibrate as zoo
    from canmore_sim.utils import cache

    monkeypatch.setenv("CANMORE_SIM_CACHE", str(tmp_path))
    spec = ZOO["mnist-cnn"]
    first = synthetic_graph(spec, firing_rate=0.3, seed=6)  # calibrates, stores the offsets
    offsets = cache.read_cached("synthetic-offsets", zoo._cache_key(spec, 0.3, 6))
    assert isinstance(offsets, list) and len(offsets) == first.depth - 1
    again = synthetic_graph(spec, firing_rate=0.3, seed=6)  # from the stored offsets
    rng = np.random.default_rng(6)
    for l, (a, b) in enumerate(zip(first.layers, again.layers, strict=True), start=1):
        z = rng.standard_normal(a.weight.shape).astype(np.float32)
        scale = 1.0 / np.sqrt(a.fan_in)
        w = z * scale if l == first.depth else (z + offsets[l - 1]) * scale
        expected = w.astype(np.float32)
        assert a.weight.tobytes() == expected.tobytes() == b.weight.tobytes()
