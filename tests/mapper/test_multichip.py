"""Neuron ranges, VGG16 partition, multi-chip tiling and analytic inter-chip hops."""

from __future__ import annotations

import json

import numpy as np
import pytest

from canmore_sim.config import CoreConfig, default_config, with_overrides
from canmore_sim.errors import MappingError
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.mapper.mapping_io import load_mapping, save_mapping
from canmore_sim.mapper.partition import partition
from canmore_sim.mapper.placement import (
    PLACEMENTS,
    PlacementProblem,
    chip_grid,
    interchip_hops,
    place,
)
from canmore_sim.mapper.traffic_graph import IO, core_traffic, core_traffic_graph
from canmore_sim.models.spec import graph_from_spec, weight_shapes
from canmore_sim.models.zoo import ZOO
from canmore_sim.noc.engine import simulate
from canmore_sim.noc.traffic import Traffic
from tests.conftest import random_graph

SPEC = "32x32x1:16C3-P2-32C3-P2-64C3-P2-10F"


def _vgg16():
    spec = ZOO["vgg16"]
    return graph_from_spec(spec, [np.zeros(s, np.float32) for s in weight_shapes(spec)])


def test_neuron_ranges_tile_every_layer() -> None:
    g = random_graph("64x64x1:4C3-P2-6C3-P2-12F-10F")  # row bands, whole channels, dense
    groups = partition(g, CoreConfig(sram_kib=2))  # 12F: 6144 bits per neuron, 2 per core
    assert np.array_equal(groups.neuron_hi - groups.neuron_lo, groups.neurons)
    for l, layer in enumerate(g.layers, start=1):
        cores = groups.of_layer(l)
        lo, hi = groups.neuron_lo[cores], groups.neuron_hi[cores]
        assert lo[0] == 0 and hi[-1] == layer.n_neurons and np.array_equal(lo[1:], hi[:-1])
    assert np.bincount(groups.layer)[1:].tolist() == [16, 6, 6, 1]


def test_vgg16_fc_layers_are_split_by_weight_memory() -> None:
    groups = partition(_vgg16(), CoreConfig())  # 256 KiB, 4-bit weights
    fc2 = groups.of_layer(15)  # 4096 -> 4096: 16 Kbit per neuron, 128 neurons per core
    assert len(fc2) == 32 and (groups.neurons[fc2] == 128).all()
    assert (groups.weight_bits <= 256 * 8192).all() and (groups.neurons <= 1024).all()
    assert len(groups) == 316
    assert chip_grid(len(groups), 8, 8) == (3, 2)


def test_vgg16_anneal_uses_fewest_chips_and_beats_row_major() -> None:
    g = _vgg16()
    groups = partition(g, CoreConfig())
    traffic = core_traffic(g, groups)
    problem = PlacementProblem(groups, 8, 8, 3, 2, traffic, iterations=20_000)
    assert problem.chips_needed == 5 and len(problem.usable_routers()) == 5 * 64
    from canmore_sim.mapper.placement import weighted_hops

    costs = {}
    for name in sorted(PLACEMENTS):
        mapping = place(problem, name)
        assert mapping.chips_used == 5 and mapping.n_chips == 6
        costs[name] = weighted_hops(mapping.router, traffic, mapping.width, 0)
    assert costs["anneal"] < 0.9 * costs["row-major"]


def test_anneal_is_seeded() -> None:
    g = random_graph(SPEC)
    groups = partition(g, CoreConfig())
    traffic = core_traffic(g, groups)
    runs = [place(PlacementProblem(groups, 4, 4, 2, 1, traffic, seed=s, iterations=5_000),
                  "anneal").router for s in (3, 3, 4)]
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])


def test_traffic_graph_is_networkx_with_expected_packets() -> None:
    g = random_graph(SPEC)
    groups = partition(g, CoreConfig())
    dg = core_traffic_graph(g, groups, spike_rate=0.5)
    # the input frame (1 x 32 x 32) at 50 %: 512 packets to every conv1 core
    assert all(dg[IO][int(c)]["weight"] == pytest.approx(512) for c in groups.of_layer(1))
    with pytest.raises(ValueError, match="spike_rate"):
        core_traffic(g, groups, spike_rate=1.5)


def test_interchip_hops_match_the_engine() -> None:
    rng = np.random.default_rng(1)
    width, height, chip = 8, 6, (4, 3)
    src, dst = rng.integers(0, width * height, (2, 300))
    n = len(src)
    traffic = Traffic(width, height, np.sort(rng.uniform(0, 500, n)), src.astype(np.int32),
                      dst.astype(np.int32), np.arange(n, dtype=np.int64),
                      np.zeros(n, dtype=np.int16), np.full(n, 1e12), False, *chip)
    expected = interchip_hops(src, dst, width, *chip)
    assert expected.sum() == simulate(traffic, default_config()).interchip_hops
    # router 3 -> 4 crosses the x boundary; 3 -> 27 (x=3, y=3) crosses the y boundary
    assert interchip_hops(np.array([3, 3, 0]), np.array([4, 27, 18]), width, *chip).tolist() \
        == [1, 1, 0]
    assert interchip_hops(src, dst, width, 0, 0).sum() == 0


def test_spare_chip_is_refused(monkeypatch) -> None:
    groups = partition(random_graph(SPEC), CoreConfig())  # 29 cores: 2 of 3 4x4 chips
    problem = PlacementProblem(groups, 4, 4, 3, 1)
    monkeypatch.setitem(PLACEMENTS, "last", lambda p: np.arange(48 - len(p.groups), 48))
    with pytest.raises(MappingError, match="spare chip"):
        place(problem, "last")


def test_overflow_error_refuses_a_multichip_mapping_file(tmp_path) -> None:
    groups = partition(random_graph(SPEC), CoreConfig())
    mapping = place(PlacementProblem(groups, 4, 4, 2, 1), "snake")
    path = save_mapping(mapping, SPEC, tmp_path / "m.json")
    assert load_mapping(path, groups, SPEC, (4, 4)).chips_used == 2
    with pytest.raises(MappingError, match="overflow") as info:
        load_mapping(path, groups, SPEC, (4, 4), overflow="error")
    assert info.value.facts["needed"] == 29
    data = json.loads(path.read_text())
    data["version"] = 1
    (tmp_path / "old.json").write_text(json.dumps(data))
    with pytest.raises(MappingError, match="version"):
        load_mapping(tmp_path / "old.json", groups, SPEC, (4, 4))


def test_pipeline_refuses_overflow_naming_cores(tmp_path) -> None:
    from canmore_sim.run.pipeline import map_network

    config = with_overrides(default_config(), {"mesh": "4x4", "multichip.overflow": "error"})
    with pytest.raises(MappingError, match="needs 29 cores") as info:
        map_network(random_graph(SPEC), config)
    assert (info.value.facts["needed"], info.value.facts["available"]) == (29, 16)
    tiled = map_network(random_graph(SPEC), with_overrides(config, {"multichip.overflow": "tile"}))
    assert (tiled.chips_x, tiled.chips_y, tiled.width, tiled.height) == (2, 1, 8, 4)
    links = layer_links(random_graph(SPEC), tiled.groups, 0)
    assert len(links.dst_cores) == 16


def test_unknown_placement_is_refused_before_any_simulation() -> None:
    from canmore_sim.errors import ConfigError
    from canmore_sim.run.pipeline import run

    config = with_overrides(default_config(), {"run.placement": "spiral",
                                               "run.placement_traffic": "measured"})
    with pytest.raises(ConfigError, match="anneal, hilbert, row-major, snake"):
        run(random_graph(SPEC), np.zeros((1, 1, 32, 32), np.float32), None, config)
