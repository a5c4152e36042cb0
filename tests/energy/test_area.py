"""The area model: counted parts, priced parts, sums up to the grid, monotonicity, sources."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import yaml

from canmore_sim.config import with_overrides
from canmore_sim.energy.area import area_of_config, count_parts, price_area
from canmore_sim.energy.area_preset import AREA_KEYS, area_preset_names, load_area_preset
from canmore_sim.errors import ConfigError
from canmore_sim.run.pipeline import map_network
from tests.conftest import random_graph

PRESET = load_area_preset("canmore-22nm")


def _area(mesh=(8, 8), sram_kib=256.0, neurons=1024, depth=4, chips=(1, 1)):
    parts = count_parts(PRESET, mesh_width=mesh[0], mesh_height=mesh[1], sram_kib=sram_kib,
                        max_neurons=neurons, buffer_depth=depth, chips_x=chips[0],
                        chips_y=chips[1])
    return price_area(parts, PRESET)


def test_parts_are_counted_from_the_architecture() -> None:
    parts = _area(mesh=(4, 3), sram_kib=16, neurons=512, depth=6, chips=(3, 2)).parts
    flit = int(PRESET["flit_width_bits"])
    assert parts.nodes_per_chip == 12 and parts.chips == 6
    assert parts.sram_bits == 16 * 8192
    assert parts.state_bits == 512 * int(PRESET["neuron_state_bits"])
    assert parts.buffer_bits == 5 * 6 * flit  # ports x depth x flit width
    assert parts.crossbar_bits == 25 * flit and parts.allocator_pairs == 25
    assert parts.link_bits == 4 * flit
    # facing router pairs across the 2 vertical and 1 horizontal chip boundaries
    assert parts.interchip_links == 2 * 2 * 3 + 1 * 3 * 4


def test_parts_sum_to_core_router_chip_and_grid() -> None:
    area = _area(mesh=(6, 5), chips=(2, 2))
    units = dict(zip(area.part, area.unit_um2, strict=True))
    core = units["core.sram_weights"] + units["core.neuron_state"] + units["core.logic"]
    router = sum(v for k, v in units.items() if k.startswith("router."))
    assert area.core_um2 == pytest.approx(core, rel=1e-15)
    assert area.router_um2 == pytest.approx(router, rel=1e-15)
    assert area.chip_um2 == pytest.approx(30 * (core + router), rel=1e-12)
    assert area.grid_um2 == pytest.approx(4 * area.chip_um2 + units["grid.interchip_links"],
                                          rel=1e-12)
    assert units["grid.interchip_links"] > 0
    assert area.part_grid_um2().sum() == pytest.approx(area.grid_um2, rel=1e-12)
    report = area.as_dict()
    assert sum(report["parts_mm2"].values()) == pytest.approx(report["grid_mm2"], rel=1e-12)
    assert report["grid_mm2"] == pytest.approx(area.grid_um2 / 1e6)


def test_parts_are_priced_from_the_preset_by_hand() -> None:
    area = _area()
    units = dict(zip(area.part, area.unit_um2, strict=True))
    bit = 0.092 / 0.70  # bit cell / array efficiency, um2
    assert units["core.sram_weights"] == pytest.approx(256 * 8192 * bit)
    scaled_router = 340000 * (22 / 65) ** 2  # published 65 nm router at 22 nm, um2
    assert units["router.input_buffers"] == pytest.approx(
        scaled_router * 0.40 / 6240 * (5 * 4 * 32))
    assert units["router.crossbar"] == pytest.approx(scaled_router * 0.30 / (25 * 39) * 25 * 32)
    assert units["router.allocator"] == pytest.approx(scaled_router * 0.10)
    # a router of the reference's own flit width and buffers would be the scaled reference
    ref = price_area(count_parts(PRESET, mesh_width=1, mesh_height=1, sram_kib=1,
                                 max_neurons=1, buffer_depth=1), PRESET)
    assert ref.router_um2 < scaled_router


def test_area_never_shrinks_when_the_design_grows() -> None:
    meshes, srams, depths, grids = [(2, 2), (4, 4), (4, 8), (8, 8)], [16, 64, 256], \
        [1, 2, 4, 8], [(1, 1), (2, 1), (2, 2), (3, 2)]
    table = {(m, s, d, g): _area(mesh=m, sram_kib=s, depth=d, chips=g).grid_um2
             for m, s, d, g in itertools.product(meshes, srams, depths, grids)}
    for (m, s, d, g), value in table.items():
        if d != depths[-1]:
            assert table[m, s, depths[depths.index(d) + 1], g] > value  # deeper buffers
        if s != srams[-1]:
            assert table[m, srams[srams.index(s) + 1], d, g] > value  # more SRAM
        if m != meshes[-1]:
            assert table[meshes[meshes.index(m) + 1], s, d, g] > value  # larger mesh
        if g != grids[-1]:
            assert table[m, s, d, grids[grids.index(g) + 1]] > value  # more chips
    assert _area(neurons=2048).grid_um2 > _area(neurons=1024).grid_um2


def test_area_of_a_mapped_network_covers_its_chip_grid(config) -> None:
    config = with_overrides(config, {"mesh": "2x2", "core.max_neurons": 128})
    mapping = map_network(random_graph(), config)
    assert mapping.chips_x * mapping.chips_y > 1
    area = area_of_config(config, PRESET, mapping)
    one = area_of_config(config, PRESET)
    assert area.parts.chips == mapping.chips_x * mapping.chips_y
    assert area.grid_um2 > area.parts.chips * one.grid_um2  # chips plus their links
    assert area.chip_um2 == pytest.approx(one.chip_um2)


def test_every_coefficient_of_every_bundled_preset_has_a_source() -> None:
    for name in area_preset_names():
        preset = load_area_preset(name)
        assert set(preset.coefficients) == set(AREA_KEYS)
        for key, coefficient in preset.coefficients.items():
            assert coefficient.source.strip(), key
        assert not preset.coefficients["sram_bitcell_um2"].estimate
        assert preset.coefficients["core_logic_um2"].estimate
        assert preset.source


def _write(tmp_path: Path, change) -> str:
    data = yaml.safe_load((Path(__file__).parents[2] / "configs/area/canmore-22nm.yaml")
                          .read_text())
    change(data["coefficients"])
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c.update(sram_bitcel_um2=c.pop("sram_bitcell_um2")), "did you mean"),
    (lambda c: c["core_logic_um2"].update(source=""), "needs a source"),
    (lambda c: c.pop("flit_width_bits"), "missing coefficient 'flit_width_bits'"),
    (lambda c: c["share_crossbar"].update(value=0.5), "sum to"),
    (lambda c: c["node_nm"].update(value=-1), "finite number > 0"),
])
def test_a_wrong_preset_is_refused_by_name(tmp_path, change, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_area_preset(_write(tmp_path, change))
    with pytest.raises(ConfigError, match="valid: canmore-22nm"):
        load_area_preset("canmore-7nm")


def test_a_preset_file_prices_like_the_bundled_one(tmp_path) -> None:
    mine = load_area_preset(_write(tmp_path, lambda c: None))
    parts = _area().parts
    assert np.array_equal(price_area(parts, mine).unit_um2, price_area(parts, PRESET).unit_um2)
