"""Provenance of the data and the model: files hashed, shapes, adaptation, inputs."""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import torch

from canmore_sim.datasets.inputs import resolve_inputs
from canmore_sim.datasets.provenance import describe_data
from canmore_sim.datasets.shaping import frames_adaptation
from canmore_sim.models.loaders import load_model
from canmore_sim.models.provenance import describe_model_source
from canmore_sim.models.spec import weight_shapes


def test_cifar_provenance_names_the_file_its_hash_and_the_inputs(tmp_path) -> None:
    data = np.random.default_rng(0).integers(0, 256, (3, 3072)).astype(np.uint8)
    with open(tmp_path / "test_batch", "wb") as handle:
        pickle.dump({b"data": data, b"labels": [1, 2, 3]}, handle, protocol=2)
    source = f"cifar10:{tmp_path}"
    plan = resolve_inputs(True, source, "auto", "auto")
    record = describe_data(source, "test", np.array([2, 0]),
                           frames_adaptation(data.reshape(-1, 3, 32, 32), (3, 32, 32), source,
                                             "none"), plan, {"positive": 5, "negative": 1,
                                                             "zero": 0})
    expected = hashlib.sha256((tmp_path / "test_batch").read_bytes()).hexdigest()
    assert record["sha256"] == expected and record["files"] == ["test_batch"]
    assert record["reader"] == "cifar10" and record["frame_ids"] == [2, 0]
    assert record["original_shape"] == record["fed_shape"] == [3, 32, 32]
    assert not record["adapted"] and record["encoding"] == "direct"
    assert record["normalization"]["name"] == "cifar10"
    assert "official DTA-TTFS state_dict" in record["chosen_by"]
    assert record["input_values"]["negative"] == 1


def test_model_provenance_hashes_the_file_and_names_its_format(tmp_path) -> None:
    spec = "16x16x3:4C3-P2-10F"
    names = ["conv.0.cnn.weight", "fc.0.linear.weight"]
    state = {n: torch.zeros(s) for n, s in zip(names, weight_shapes(spec), strict=True)}
    path = tmp_path / "m.pt"
    torch.save({"net": state, "epoch": 3}, path)
    graph = load_model(str(path), arch=spec)
    record = describe_model_source(graph, path, "official rule")
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["format"] == "official DTA-TTFS state_dict under key 'net'"
    bundled = describe_model_source(load_model(None), None, "r")
    assert bundled["path"] == "bundled:dta_digits.pt" and len(bundled["sha256"]) == 64
