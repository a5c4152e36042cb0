"""Fuzz-style (seeded, deterministic): malformed configs, mapping files and report.json
files go into the loaders, and only the project's own errors come out.

Each case takes a valid document and damages it at random places: a key dropped, a value
swapped for another type, made huge, negative, NaN or infinite, or nested wrongly.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from canmore_sim.config import default_config, load_config
from canmore_sim.datasets.readers import load_frames
from canmore_sim.errors import CanmoreError
from canmore_sim.mapper.mapping_io import load_mapping, mapping_dict
from canmore_sim.mapper.partition import partition
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.report.summary import read_report, summarize
from canmore_sim.report.text import render_table
from canmore_sim.run.pipeline import map_network, run
from tests.conftest import random_graph

_ODD: list[Any] = [None, True, False, 0, -1, -(10**30), 10**30, 3.7, -0.5, 1e308,
                   float("nan"), float("inf"), -float("inf"), "", "x" * 5000, "8x8", "0x8",
                   [], [1, 2], [[[]]], {}, {"a": {"b": 1}}, [None] * 50]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):  # a few items of each list
            out += _paths(v, (*prefix, i))
    return out


def _damage(doc: Any, rng: np.random.Generator, edits: int) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(edits):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            return doc
        path = paths[int(rng.integers(len(paths)))]
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        key, action = path[-1], int(rng.integers(4))
        if action == 0 and isinstance(parent, dict):
            parent.pop(key)
        elif action == 1:
            parent[key] = [parent[key]]  # nested wrongly
        else:
            parent[key] = copy.deepcopy(_ODD[int(rng.integers(len(_ODD)))])
    return doc


def _only_ours(call: Any) -> str:
    try:
        call()
    except CanmoreError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 700
        return "refused"
    return "accepted"


def test_malformed_configs(tmp_path) -> None:
    rng = np.random.default_rng(18)
    base = default_config().model_dump(mode="json")
    path = tmp_path / "arch.yaml"
    outcomes = []
    for case in range(300):
        doc = _damage(base, rng, 1 + case % 3)
        text = yaml.safe_dump(doc, allow_unicode=True) if case % 7 else json.dumps(doc)
        path.write_text(text)
        outcomes.append(_only_ours(lambda: load_config(path)))
    assert outcomes.count("refused") > 200  # most damage is caught, not silently taken


@pytest.fixture(scope="module")
def small_run() -> Any:
    graph = random_graph()
    config = default_config()
    frames, labels, ids = load_frames(None, graph.input_shape, 1, 0)
    return graph, config, run(graph, frames, labels, config, frame_ids=ids)


def test_malformed_mapping_files(tmp_path, small_run) -> None:
    graph, config, _ = small_run
    quantized = quantize_graph(graph, config.core.weight_bits)
    expected = partition(quantized, config.core)
    base = mapping_dict(map_network(quantized, config), quantized.spec)
    rng = np.random.default_rng(4)
    path = tmp_path / "mapping.json"
    outcomes = []
    for case in range(300):
        path.write_text(json.dumps(_damage(base, rng, 1 + case % 3)))
        outcomes.append(_only_ours(lambda: load_mapping(path, expected, quantized.spec, (8, 8))))
    assert outcomes.count("refused") > 250


def test_malformed_report_json(tmp_path, small_run) -> None:
    *_, result = small_run
    base = json.loads(json.dumps(summarize(result), default=float).replace("NaN", "null"))
    rng = np.random.default_rng(7)
    path = tmp_path / "report.json"
    outcomes = []
    for case in range(300):
        path.write_text(json.dumps(_damage(base, rng, 1 + case % 3)))

        def load_and_render() -> None:
            render_table(read_report(path))
        outcomes.append(_only_ours(load_and_render))
    assert outcomes.count("refused") > 100
    assert math.isfinite(base["mean"]["energy_total_uj"])


def test_the_undamaged_documents_load(tmp_path, small_run) -> None:
    *_, result = small_run
    path = tmp_path / "report.json"
    from canmore_sim.report.summary import write_json

    write_json(summarize(result), path)
    assert render_table(read_report(path))
    assert isinstance(load_config(Path(__file__).parents[2] / "configs/arch/default.yaml"),
                      type(default_config()))
