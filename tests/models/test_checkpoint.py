"""The checkpoint records the DTA-TTFS window-edge rule a network was trained with."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from canmore_sim.errors import ModelError
from canmore_sim.models.checkpoint import load_checkpoint, save_checkpoint
from canmore_sim.models.graph import LEGACY_RULE, OFFICIAL_RULE, DtaRule
from canmore_sim.models.loaders import load_model
from canmore_sim.models.spec import weight_shapes
from tests.conftest import random_graph

SPEC = "16x16x1:4C3-P2-8C3-P2-10F"


def _payload(**neuron: object) -> dict[str, object]:
    rng = np.random.default_rng(0)
    return {"format": "canmore-sim-checkpoint", "version": 1, "spec": SPEC,
            "weights": [torch.tensor(rng.normal(0, 0.3, s), dtype=torch.float32)
                        for s in weight_shapes(SPEC)],
            "neuron": {"model": "dta-ttfs", "tw": 1.0, **neuron}, "input": {"scale": 1.0},
            "meta": {}}


@pytest.mark.parametrize("rule", [OFFICIAL_RULE, LEGACY_RULE, DtaRule(True, "window-start")])
def test_rule_round_trips(tmp_path, rule: DtaRule) -> None:
    graph = random_graph(SPEC)
    graph = graph.with_layers(graph.layers, window_end_spike=rule.window_end_spike,
                              readout=rule.readout)
    loaded = load_checkpoint(save_checkpoint(graph, tmp_path / "net.pt"))
    assert loaded.dta_rule == rule and loaded.dta_rule_source == "checkpoint"
    raw = torch.load(tmp_path / "net.pt", weights_only=True)
    assert raw["version"] == 2 and raw["neuron"]["readout"] == rule.readout
    assert "readout" not in raw["meta"] and "dta_rule_source" not in raw["meta"]


def test_a_network_that_records_no_rule_is_saved_with_the_official_one(tmp_path) -> None:
    loaded = load_checkpoint(save_checkpoint(random_graph(SPEC), tmp_path / "net.pt"))
    assert loaded.dta_rule == OFFICIAL_RULE


def test_version_1_checkpoint_without_the_fields_loads_with_the_rule_it_was_trained_with(
        tmp_path) -> None:
    path = tmp_path / "old.pt"
    torch.save(_payload(), path)
    graph = load_checkpoint(path)
    assert graph.dta_rule == LEGACY_RULE and "version 1" in graph.dta_rule_source


@pytest.mark.parametrize(("fields", "message"), [
    ({"window_end_spike": "no", "readout": "window-start"}, "window_end_spike must be true or"),
    ({"window_end_spike": False, "readout": "middle"}, "readout must be one of"),
    ({"window_end_spike": False}, "readout must be one of"),
])
def test_malformed_rule_is_a_model_error(tmp_path, fields: dict[str, object],
                                         message: str) -> None:
    path = tmp_path / "bad.pt"
    torch.save({**_payload(**fields), "version": 2}, path)
    with pytest.raises(ModelError, match=message):
        load_checkpoint(path)


def test_unknown_version_is_refused(tmp_path) -> None:
    path = tmp_path / "future.pt"
    torch.save({**_payload(), "version": 3}, path)
    with pytest.raises(ModelError, match="version 3 is not supported"):
        load_checkpoint(path)


def test_official_state_dict_gets_the_official_rule(tmp_path) -> None:
    rng = np.random.default_rng(0)
    state = {}
    for i, shape in enumerate(weight_shapes(SPEC)):
        key = f"conv.{i}.cnn.weight" if len(shape) == 4 else f"fc.{i}.linear.weight"
        state[key] = torch.tensor(rng.normal(0, 0.3, shape), dtype=torch.float32)
    torch.save(state, tmp_path / "official.pth")
    graph = load_model(str(tmp_path / "official.pth"), arch=SPEC)
    assert graph.dta_rule == OFFICIAL_RULE
    assert graph.dta_rule_source == "official DTA-TTFS state_dict"
    generic = {f"w{i}": v for i, v in enumerate(state.values())}
    torch.save(generic, tmp_path / "generic.pth")
    other = load_model(str(tmp_path / "generic.pth"), arch=SPEC)
    assert other.dta_rule == OFFICIAL_RULE and other.dta_rule_source.startswith("default")


def test_invalid_rule_values_are_model_errors() -> None:
    with pytest.raises(ModelError, match="readout must be one of"):
        DtaRule(False, "middle")  # type: ignore[arg-type]
    graph = random_graph(SPEC)
    bad = graph.with_layers(graph.layers, window_end_spike="yes")
    with pytest.raises(ModelError, match="invalid DTA-TTFS rule"):
        _ = bad.dta_rule


def test_equal_networks_give_equal_files(tmp_path) -> None:
    graph = random_graph(SPEC)
    a = save_checkpoint(graph, tmp_path / "a.pt", seed=0).read_bytes()
    b = save_checkpoint(graph, tmp_path / "sub" / "b.pt", seed=0).read_bytes()
    assert a == b
