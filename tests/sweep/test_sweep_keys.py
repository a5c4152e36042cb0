"""Sweep files: bundled sweeps by name from any folder, did-you-mean for misspelt keys, the
model and input keys."""

from __future__ import annotations

import pytest

from canmore_sim.errors import ConfigError
from canmore_sim.sweep.run import model_source
from canmore_sim.sweep.spec import find_sweep, load_sweep


def test_a_bundled_sweep_is_found_by_name_from_any_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec, points = load_sweep("placement")
    assert find_sweep("placement").name == "placement.yaml" and len(points) >= 2
    with pytest.raises(ConfigError, match=r"no bundled sweep has that name \(bundled: .*"
                                          r"placement"):
        find_sweep("placemnt")


def test_a_misspelt_sweep_key_gets_did_you_mean(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("modle: vgg16\nframes: 1\n")
    with pytest.raises(ConfigError, match=r"unknown sweep key 'modle' \(did you mean 'model'\?\)"):
        load_sweep(path)


def test_model_and_input_keys_reach_the_points(tmp_path) -> None:
    (tmp_path / "net.pt").write_bytes(b"x")
    path = tmp_path / "s.yaml"
    path.write_text("model: net.pt\narch: vgg16\ntrust_model: false\ndata: cifar10:data\n"
                    "normalization: cifar10\nencoding: direct\nframes: 1\n"
                    "grid:\n  mesh: [4x4, 8x8]\n")
    (tmp_path / "data").mkdir()
    spec, points = load_sweep(path)
    assert spec.model == str(tmp_path / "net.pt") and spec.data == f"cifar10:{tmp_path / 'data'}"
    assert all(p.config.data.normalize == "cifar10" for p in points)
    assert all(p.config.neuron.input_encoding == "direct" for p in points)
    source = model_source(spec)
    assert source.arch == "vgg16" and source.model == str(tmp_path / "net.pt")
    path.write_text("encoding: rate\nframes: 1\n")
    with pytest.raises(ConfigError, match="neuron.input_encoding"):
        load_sweep(path)
