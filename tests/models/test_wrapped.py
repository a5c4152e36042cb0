"""State_dicts wrapped as training scripts save them are found; anything else is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from canmore_sim.errors import ModelError
from canmore_sim.models.loaders import is_official_layout, load_model
from canmore_sim.models.spec import weight_shapes

SPEC = "16x16x3:4C3-P2-8C3-P2-10F"


def _official() -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(3)
    shapes = weight_shapes(SPEC)
    names = [f"conv.{i}.cnn.weight" for i in range(2)] + ["fc.0.linear.weight"]
    return {n: torch.tensor(rng.normal(0, 0.3, s), dtype=torch.float32)
            for n, s in zip(names, shapes, strict=True)}


@pytest.mark.parametrize("key", ["net", "state_dict", "model"])
def test_common_wrappers_are_found_and_the_key_recorded(tmp_path, key: str) -> None:
    state = _official()
    path = tmp_path / "ckpt.pt"
    torch.save({key: state, "acc": 0.91, "epoch": 12}, path)
    graph = load_model(str(path), arch=SPEC)
    assert graph.meta["checkpoint_key"] == key and is_official_layout(graph)
    bare = tmp_path / "bare.pt"
    torch.save(state, bare)
    plain = load_model(str(bare), arch=SPEC)
    assert "checkpoint_key" not in plain.meta and is_official_layout(plain)
    for a, b in zip(graph.layers, plain.layers, strict=True):
        assert np.array_equal(a.weight, b.weight)


def test_data_parallel_prefix_is_dropped(tmp_path) -> None:
    path = tmp_path / "dp.pt"
    torch.save({"net": {f"module.{k}": v for k, v in _official().items()}}, path)
    assert is_official_layout(load_model(str(path), arch=SPEC))


def test_anything_else_lists_the_keys_it_saw(tmp_path) -> None:
    path = tmp_path / "odd.pt"
    torch.save({"weights_here": _official(), "acc": 0.5}, path)
    with pytest.raises(ModelError, match=r"odd\.pt: .*keys seen: 'weights_here', 'acc'"):
        load_model(str(path), arch=SPEC)
    listed = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], listed)
    with pytest.raises(ModelError, match=r"list\.pt: .*a list, not a dict"):
        load_model(str(listed), arch=SPEC)
