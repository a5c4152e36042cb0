from __future__ import annotations

import json

import numpy as np
import pytest

from canmore_sim.config import CoreConfig
from canmore_sim.errors import MappingError
from canmore_sim.mapper.mapping_io import load_mapping, save_mapping
from canmore_sim.mapper.partition import partition
from canmore_sim.mapper.placement import (
    PLACEMENTS,
    PlacementProblem,
    chip_grid,
    place,
    weighted_hops,
)
from canmore_sim.mapper.traffic_graph import IO, core_traffic, to_networkx
from tests.conftest import random_graph

SPEC = "32x32x1:16C3-P2-32C3-P2-64C3-P2-10F"


@pytest.fixture(scope="module")
def problem() -> PlacementProblem:
    graph = random_graph(SPEC)
    groups = partition(graph, CoreConfig())
    return PlacementProblem(groups, 8, 8, traffic=core_traffic(graph, groups),
                            iterations=20_000)


@pytest.mark.parametrize("name", sorted(PLACEMENTS))
def test_every_strategy_gives_a_valid_deterministic_placement(problem, name: str) -> None:
    a, b = place(problem, name), place(problem, name)
    assert len(np.unique(a.router)) == len(problem.groups)
    assert a.router.min() >= 0 and a.router.max() < 64
    assert np.array_equal(a.router, b.router)


def test_fill_orders() -> None:
    groups = partition(random_graph("8x8x1:4C3-P2-10F"), CoreConfig(max_neurons=16))
    p = PlacementProblem(groups, 5, 4)  # 4 channels x 4 bands of 16 neurons + 1 fc core
    assert place(p, "row-major").router.tolist()[:6] == [0, 1, 2, 3, 4, 5]
    assert place(p, "snake").router.tolist()[:7] == [0, 1, 2, 3, 4, 9, 8]
    hilbert = place(p, "hilbert").router
    xy = np.stack([hilbert % 5, hilbert // 5], axis=1)
    # the first 16 points cover a 4x4 quadrant in unit steps; cells outside the mesh are skipped
    assert (np.abs(np.diff(xy[:16], axis=0)).sum(axis=1) == 1).all()
    assert set(hilbert.tolist()) <= set(range(20))


def test_anneal_beats_row_major_on_traffic_weighted_hops(problem) -> None:
    base = weighted_hops(place(problem, "row-major").router, problem.traffic, 8, 0)
    best = weighted_hops(place(problem, "anneal").router, problem.traffic, 8, 0)
    assert best < 0.9 * base


def test_traffic_graph_matches_connectivity(problem) -> None:
    traffic = problem.traffic
    g = to_networkx(traffic)
    # every layer-1 core receives from the I/O port; every output core sends its readout
    layer1 = problem.groups.of_layer(1)
    assert all(g.has_edge(IO, int(c)) for c in layer1)
    assert g.has_edge(int(problem.groups.of_layer(4)[0]), IO)
    # conv1 core -> conv2 core: 0.25 x its pooled spikes (1 channel x 16 x 16 = 256)
    assert g[int(layer1[0])][int(problem.groups.of_layer(2)[0])]["weight"] == pytest.approx(64)


def test_chip_grid_and_overflow() -> None:
    assert chip_grid(29, 8, 8) == (1, 1)
    assert chip_grid(300, 8, 8) == (3, 2)
    assert chip_grid(29, 4, 4) == (2, 1)
    with pytest.raises(MappingError) as info:
        chip_grid(300, 8, 8, overflow="error")
    assert (info.value.facts["needed"], info.value.facts["available"]) == (300, 64)


def test_multichip_fill_keeps_chips_whole() -> None:
    groups = partition(random_graph(SPEC), CoreConfig())
    mapping = place(PlacementProblem(groups, 4, 4, 2, 1))
    assert mapping.width == 8 and mapping.height == 4
    assert mapping.chip[:16].tolist() == [0] * 16 and set(mapping.chip[16:].tolist()) == {1}
    assert mapping.chips_used == 2


def test_mapping_round_trip_and_mismatch(problem, tmp_path) -> None:
    mapping = place(problem, "anneal")
    path = save_mapping(mapping, SPEC, tmp_path / "m.json")
    back = load_mapping(path, problem.groups, SPEC, (8, 8))
    assert np.array_equal(back.router, mapping.router) and back.strategy == "anneal"
    with pytest.raises(MappingError, match="network"):
        load_mapping(path, problem.groups, "8x8x1:10F", (8, 8))
    with pytest.raises(MappingError, match="cores"):
        load_mapping(path, partition(random_graph(SPEC), CoreConfig(max_neurons=512)), SPEC,
                     (8, 8))
    data = json.loads(path.read_text())
    data["cores"]["router"][1] = data["cores"]["router"][0]
    (tmp_path / "dup.json").write_text(json.dumps(data))
    with pytest.raises(MappingError, match="own router"):
        load_mapping(tmp_path / "dup.json", problem.groups, SPEC, (8, 8))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(MappingError, match="not a readable"):
        load_mapping(tmp_path / "bad.json", problem.groups, SPEC, (8, 8))
    with pytest.raises(MappingError, match="not found"):
        load_mapping(tmp_path / "none.json", problem.groups, SPEC, (8, 8))
