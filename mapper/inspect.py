"""The layer table of a network: shapes, neurons, synapses, FLOPs, cores, weight memory."""

from __future__ import annotations

from typing import Any

import numpy as np

from canmore_sim.config import CoreConfig
from canmore_sim.mapper.partition import partition
from canmore_sim.models.graph import LayerGraph
from canmore_sim.models.spec import graph_from_spec, weight_shapes

__all__ = ["layer_table", "architecture_only"]


def architecture_only(spec: str) -> LayerGraph:
    """A graph of the spec with zero weights (for counting; no weights needed)."""
    return graph_from_spec(spec, [np.zeros(s, np.float32) for s in weight_shapes(spec)],
                           meta={"weights": "none"})


def layer_table(graph: LayerGraph, core: CoreConfig) -> list[dict[str, Any]]:
    """One row per weight layer plus a ``total`` row.

    Columns: name, kind, input and neuron shapes, neurons, synapses, FLOPs
    (papers/001: ``k^2 W H C_in C_out`` for conv, ``C_in C_out`` for dense), cores needed
    under ``core`` and weight memory at ``core.weight_bits`` (KiB).
    """
    groups = partition(graph, core)
    rows: list[dict[str, Any]] = []
    for l, layer in enumerate(graph.layers, start=1):
        mine = groups.layer == l
        kind = layer.kind if layer.neurons is None else f"{layer.kind}+{layer.neurons.kind}"
        rows.append({"layer": l, "name": layer.name, "kind": kind,
                     "input": "x".join(map(str, layer.in_shape)),
                     "neurons_shape": "x".join(map(str, layer.out_shape)),
                     "pool": (f"{layer.pool} sum" if layer.pool_mode == "sum" else layer.pool),
                     "neurons": layer.n_neurons, "synapses": layer.synapses,
                     "flops": layer.flops, "cores": int(mine.sum()),
                     "weight_kib": float(groups.weight_bits[mine].sum() / 8192)})
    rows.append({"layer": "", "name": "total", "kind": "", "input": "", "neurons_shape": "",
                 "pool": "", **{k: sum(r[k] for r in rows)
                                for k in ("neurons", "synapses", "flops", "cores", "weight_kib")}})
    return rows
