"""canmore_sim.mapper: load a network, quantize it, partition it into cores, place the cores.

The names below are imported on first use (PEP 562), so importing one submodule
(say ``canmore_sim.mapper.graph``) does not load torch or networkx with the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from canmore_sim.mapper.checkpoint import load_checkpoint, read_model_file, save_checkpoint
    from canmore_sim.mapper.graph import Layer, LayerGraph
    from canmore_sim.mapper.partition import CoreGroups, partition
    from canmore_sim.mapper.placement import (
        PLACEMENTS,
        Mapping,
        PlacementProblem,
        chip_grid,
        place,
        weighted_hops,
    )
    from canmore_sim.mapper.quantize import quantize_array, quantize_graph
    from canmore_sim.mapper.spec import graph_from_spec, parse_spec

_HOME = {
    "load_checkpoint": "checkpoint", "read_model_file": "checkpoint",
    "save_checkpoint": "checkpoint", "Layer": "graph", "LayerGraph": "graph",
    "CoreGroups": "partition", "partition": "partition", "PLACEMENTS": "placement",
    "Mapping": "placement", "PlacementProblem": "placement", "chip_grid": "placement",
    "place": "placement", "weighted_hops": "placement", "quantize_array": "quantize",
    "quantize_graph": "quantize", "graph_from_spec": "spec", "parse_spec": "spec",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "PLACEMENTS",
    "CoreGroups",
    "Layer",
    "LayerGraph",
    "Mapping",
    "PlacementProblem",
    "chip_grid",
    "weighted_hops",
    "graph_from_spec",
    "load_checkpoint",
    "parse_spec",
    "partition",
    "place",
    "quantize_array",
    "quantize_graph",
    "read_model_file",
    "save_checkpoint",
]
