"""NIR files whose nodes the ``nir`` package cannot rebuild: the error names the node and
its type (issue 28: it said ``not a readable NIR graph (AssertionError)``)."""

from __future__ import annotations

from pathlib import Path

import h5py
import nir
import pytest

from canmore_sim.errors import ModelError
from canmore_sim.models.loaders import load_model
from tests.nir_graphs import small_cnn


def _damaged(tmp_path: Path, node: str, change) -> str:
    path = tmp_path / "net.nir"
    nir.write(str(path), small_cnn())
    with h5py.File(path, "a") as handle:
        change(handle[f"node/nodes/{node}"])
    return str(path)


def _retype(kind: bytes):
    def change(group) -> None:
        del group["type"]
        group.create_dataset("type", data=kind)
    return change


@pytest.mark.parametrize(("node", "change", "words"), [
    ("conv1", _retype(b"Mystery"), "node 'conv1' has type 'Mystery', which NIR"),
    ("n1", _retype(b"LayerNorm"), "node 'n1' has type 'LayerNorm'"),
    ("conv1", lambda group: group.__delitem__("weight"),
     "node 'conv1' of type Conv2d cannot be rebuilt (TypeError"),
    ("pool1", lambda group: group.__delitem__("type"), "node 'pool1' has no type"),
])
def test_a_node_nir_cannot_rebuild_is_named_with_its_type(tmp_path, node, change, words) -> None:
    path = _damaged(tmp_path, node, change)
    with pytest.raises(ModelError) as info:
        load_model(path)
    message = str(info.value)
    assert words in message and "AssertionError" not in message, message
    assert message.startswith(f"{path}: not a readable NIR graph (")


def test_an_intact_file_still_reads(tmp_path) -> None:
    path = _damaged(tmp_path, "conv1", lambda group: None)
    assert load_model(path).depth == 2
