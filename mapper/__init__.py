"""canmore_sim.mapper: partition a network into cores and place the cores on the chip.

The names below are imported on first use (PEP 562), so importing one submodule
(say ``canmore_sim.mapper.partition``) does not load networkx with the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from canmore_sim.mapper.partition import CoreGroups, partition
    from canmore_sim.mapper.placement import (
        PLACEMENTS,
        Mapping,
        PlacementProblem,
        chip_grid,
        place,
        weighted_hops,
    )

_HOME = {
    "CoreGroups": "partition", "partition": "partition", "PLACEMENTS": "placement",
    "Mapping": "placement", "PlacementProblem": "placement", "chip_grid": "placement",
    "place": "placement", "weighted_hops": "placement",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "PLACEMENTS",
    "CoreGroups",
    "Mapping",
    "PlacementProblem",
    "chip_grid",
    "partition",
    "place",
    "weighted_hops",
]
