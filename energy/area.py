"""Chip area: the parts counted from the architecture, then priced by an area preset.

Count first (:func:`count_parts`, plain integers from the architecture and the chip
grid of the mapping), price later (:func:`price_area`, with the coefficients of an
:class:`~canmore_sim.energy.area_preset.AreaPreset`), like energy.

Parts (DESIGN.md "Traffic and NoC": a router has five ports, each with an input FIFO of
``buffer_depth`` flits, route computation, a switch allocator and a crossbar; one core
per router):

* per core: weight SRAM (``sram_kib`` x 8192 bits), neuron state (``max_neurons`` x
  ``neuron_state_bits``, in SRAM), the core's logic;
* per router: input buffers (ports x depth x flit width bits), crossbar (ports^2 x flit
  width), allocator (ports^2 request-grant pairs), link drivers (4 mesh ports x flit
  width);
* per chip: ``width x height`` cores and routers;
* per grid: ``chips_x x chips_y`` chips (the whole tiled grid the NoC simulates, idle
  chips included) and the links between neighbouring chips.

The router parts are priced by splitting a published router's area (scaled to the
preset's node) by its part shares, per unit of what each part scales with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from canmore_sim.energy.area_preset import AreaPreset

if TYPE_CHECKING:
    from canmore_sim.config import ArchConfig
    from canmore_sim.mapper.placement import Mapping

__all__ = ["ROUTER_PORTS", "AreaBreakdown", "ChipParts", "area_of_config", "count_parts",
           "price_area"]

#: Router ports: local, north, east, south, west (DESIGN.md).
ROUTER_PORTS = 5
#: Ports with a link to a neighbouring router.
MESH_PORTS = 4
_BITS_PER_KIB = 8192
_UM2_PER_MM2 = 1e6


@dataclass(frozen=True)
class ChipParts:
    """What a chip grid is made of (counted, not priced).

    Attributes
    ----------
    mesh_width, mesh_height
        One chip's mesh, routers (one core per router).
    chips_x, chips_y
        The chip grid.
    sram_bits, state_bits
        Weight SRAM and neuron-state bits of one core.
    buffer_bits
        Input-buffer bits of one router (ports x depth x flit width).
    crossbar_bits
        Crossbar size of one router, ports^2 x flit width.
    allocator_pairs
        Request-grant pairs of one router's allocator, ports^2.
    link_bits
        Link-driver bits of one router (4 mesh ports x flit width).
    interchip_links
        Links between neighbouring chips of the grid (one per pair of facing routers).
    """

    mesh_width: int
    mesh_height: int
    chips_x: int
    chips_y: int
    sram_bits: int
    state_bits: int
    buffer_bits: int
    crossbar_bits: int
    allocator_pairs: int
    link_bits: int
    interchip_links: int

    @property
    def nodes_per_chip(self) -> int:
        """Cores (= routers) of one chip."""
        return self.mesh_width * self.mesh_height

    @property
    def chips(self) -> int:
        return self.chips_x * self.chips_y


def count_parts(preset: AreaPreset, *, mesh_width: int, mesh_height: int, sram_kib: float,
                max_neurons: int, buffer_depth: int, chips_x: int = 1,
                chips_y: int = 1) -> ChipParts:
    """Count the parts of a chip grid.

    Parameters
    ----------
    preset
        Supplies the design's bit widths (``flit_width_bits``, ``neuron_state_bits``).
    mesh_width, mesh_height
        Routers of one chip along x and y.
    sram_kib
        Weight memory per core, KiB (8192 bits).
    max_neurons
        Neurons per core.
    buffer_depth
        Input FIFO depth per router port, flits.
    chips_x, chips_y
        The chip grid.
    """
    flit = int(preset["flit_width_bits"])
    links = ((chips_x - 1) * chips_y * mesh_height + (chips_y - 1) * chips_x * mesh_width)
    return ChipParts(
        mesh_width=mesh_width, mesh_height=mesh_height, chips_x=chips_x, chips_y=chips_y,
        sram_bits=int(round(sram_kib * _BITS_PER_KIB)),
        state_bits=max_neurons * int(preset["neuron_state_bits"]),
        buffer_bits=ROUTER_PORTS * buffer_depth * flit,
        crossbar_bits=ROUTER_PORTS * ROUTER_PORTS * flit,
        allocator_pairs=ROUTER_PORTS * ROUTER_PORTS,
        link_bits=MESH_PORTS * flit,
        interchip_links=links)


@dataclass(frozen=True, eq=False)
class AreaBreakdown:
    """Priced area, one row per part (columnar).

    Attributes
    ----------
    part
        Part names: ``core.sram_weights``, ``core.neuron_state``, ``core.logic``,
        ``router.input_buffers``, ``router.crossbar``, ``router.allocator``,
        ``router.link_drivers``, ``grid.interchip_links``.
    owner
        ``core``, ``router`` or ``grid``: what one unit of the part belongs to.
    unit_um2
        float64: the part's area in one owner (one core, one router, or the whole grid
        for grid parts), um2.
    per_chip
        int64: owners of the part on one chip (cores or routers per chip; 0 for grid parts).
    parts, preset
        What was counted, and the coefficients that priced it.
    """

    part: tuple[str, ...]
    owner: tuple[str, ...]
    unit_um2: np.ndarray
    per_chip: np.ndarray
    parts: ChipParts
    preset: AreaPreset

    def _sum(self, owner: str) -> float:
        rows = np.array([o == owner for o in self.owner])
        return float(self.unit_um2[rows].sum())

    @property
    def core_um2(self) -> float:
        """One core (SRAM, neuron state, logic), um2."""
        return self._sum("core")

    @property
    def router_um2(self) -> float:
        """One router, um2."""
        return self._sum("router")

    @property
    def chip_um2(self) -> float:
        """One chip: its cores and routers, um2."""
        return float(np.sum(self.unit_um2 * self.per_chip))

    @property
    def grid_um2(self) -> float:
        """The whole chip grid: every chip and the links between chips, um2."""
        return self.chip_um2 * self.parts.chips + self._sum("grid")

    @property
    def grid_mm2(self) -> float:
        return self.grid_um2 / _UM2_PER_MM2

    @property
    def chip_mm2(self) -> float:
        return self.chip_um2 / _UM2_PER_MM2

    def part_grid_um2(self) -> np.ndarray:
        """float64 per part: its area over the whole grid, um2 (sums to :attr:`grid_um2`)."""
        grid = np.array([o == "grid" for o in self.owner])
        return np.where(grid, self.unit_um2, self.unit_um2 * self.per_chip * self.parts.chips)

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers for a report: totals in mm2 and um2, and one entry per part."""
        return {
            "preset": self.preset.name,
            "chips": self.parts.chips,
            "grid_mm2": self.grid_mm2,
            "chip_mm2": self.chip_mm2,
            "core_um2": self.core_um2,
            "router_um2": self.router_um2,
            "parts_mm2": {p: float(a) / _UM2_PER_MM2
                          for p, a in zip(self.part, self.part_grid_um2(), strict=True)},
            "estimates": sorted(k for k, c in self.preset.coefficients.items() if c.estimate),
        }


def price_area(parts: ChipParts, preset: AreaPreset) -> AreaBreakdown:
    """Price counted parts with an area preset (see the module docstring)."""
    ref_flit = preset["ref_router_flit_bits"]
    per_buffer_bit = preset.router_part_um2("share_buffers") / preset["ref_router_buffer_bits"]
    per_crossbar_bit = (preset.router_part_um2("share_crossbar")
                        / (ROUTER_PORTS * ROUTER_PORTS * ref_flit))
    per_pair = preset.router_part_um2("share_allocator") / (ROUTER_PORTS * ROUTER_PORTS)
    per_link_bit = preset.router_part_um2("share_link_drivers") / (MESH_PORTS * ref_flit)
    nodes = parts.nodes_per_chip
    rows = [
        ("core.sram_weights", "core", parts.sram_bits * preset.sram_bit_um2, nodes),
        ("core.neuron_state", "core", parts.state_bits * preset.sram_bit_um2, nodes),
        ("core.logic", "core", preset["core_logic_um2"], nodes),
        ("router.input_buffers", "router", parts.buffer_bits * per_buffer_bit, nodes),
        ("router.crossbar", "router", parts.crossbar_bits * per_crossbar_bit, nodes),
        ("router.allocator", "router", parts.allocator_pairs * per_pair, nodes),
        ("router.link_drivers", "router", parts.link_bits * per_link_bit, nodes),
        ("grid.interchip_links", "grid", parts.interchip_links * preset["interchip_link_um2"], 0),
    ]
    return AreaBreakdown(
        part=tuple(r[0] for r in rows), owner=tuple(r[1] for r in rows),
        unit_um2=np.array([r[2] for r in rows], dtype=np.float64),
        per_chip=np.array([r[3] for r in rows], dtype=np.int64), parts=parts, preset=preset)


def area_of_config(config: ArchConfig, preset: AreaPreset,
                   mapping: Mapping | None = None) -> AreaBreakdown:
    """The priced area of ``config``'s chip, tiled as ``mapping`` tiles it (one chip without)."""
    chips_x, chips_y = (1, 1) if mapping is None else (mapping.chips_x, mapping.chips_y)
    parts = count_parts(preset, mesh_width=config.mesh.width, mesh_height=config.mesh.height,
                        sram_kib=config.core.sram_kib, max_neurons=config.core.max_neurons,
                        buffer_depth=config.router.buffer_depth, chips_x=chips_x,
                        chips_y=chips_y)
    return price_area(parts, preset)
