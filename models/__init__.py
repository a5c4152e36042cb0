"""canmore_sim.models: bring a network in (checkpoints, state_dicts, NIR, torch.fx, the zoo,
spec strings), as a quantized LayerGraph.

The names below are imported on first use (PEP 562), so importing one submodule
(say ``canmore_sim.models.graph``) does not load torch with the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from canmore_sim.models.checkpoint import load_checkpoint, read_model_file, save_checkpoint
    from canmore_sim.models.graph import Layer, LayerGraph
    from canmore_sim.models.quantize import quantize_array, quantize_graph
    from canmore_sim.models.spec import graph_from_spec, parse_spec

_HOME = {
    "load_checkpoint": "checkpoint", "read_model_file": "checkpoint",
    "save_checkpoint": "checkpoint", "Layer": "graph", "LayerGraph": "graph",
    "quantize_array": "quantize", "quantize_graph": "quantize", "graph_from_spec": "spec",
    "parse_spec": "spec",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "Layer",
    "LayerGraph",
    "graph_from_spec",
    "load_checkpoint",
    "parse_spec",
    "quantize_array",
    "quantize_graph",
    "read_model_file",
    "save_checkpoint",
]
