"""How many chips a network needs on chips of a given mesh (``canmore-sim inspect --mesh``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from canmore_sim.config import ArchConfig

__all__ = ["chips_line"]


def chips_line(cores: int, config: ArchConfig) -> str:
    """One line: ``cores`` cores on chips of ``config.mesh``: how many chips, in what grid
    (the mapper's own rule, :func:`canmore_sim.mapper.placement.chip_grid`), and whether
    ``multichip.overflow: error`` would refuse it."""
    from canmore_sim.mapper.placement import chip_grid

    width, height = config.mesh.width, config.mesh.height
    chips_x, chips_y = chip_grid(cores, width, height, "tile")
    per_chip = width * height
    chips = max(1, -(-cores // per_chip))
    line = (f"on {width}x{height} chips ({per_chip:,} routers, one core each): the {cores:,} "
            f"cores need {chips:,} chip{'' if chips == 1 else 's'}")
    if chips > 1:
        line += f" (a {chips_x}x{chips_y} grid)"
        if config.multichip.overflow == "error":
            line += "; multichip.overflow is 'error', so 'map' would refuse this network"
    return line
