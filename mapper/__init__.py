"""canmore_sim.mapper: load a network, quantize it, partition it into cores, place the cores."""

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
