"""What a run was fed and with what, as the reports record it (issue 26).

:func:`resolve_run_inputs` settles ``data.normalize`` and ``neuron.input_encoding``
against the network and the data (an official-layout state_dict on CIFAR-10 gets what the
official code trains with); :func:`input_notes` are the one-line notes the terminal
prints about it and about any adaptation of the frames; :func:`provenance` is the
record report.json, the HTML title block and the terminal title line show: the model
(path, SHA-256, format, rule) and the data (reader, path, SHA-256, split, frame ids,
shapes, adaptation, normalization, encoding, input values).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.datasets.inputs import Adaptation, InputPlan, resolve_config_inputs
from canmore_sim.models.graph import LayerGraph
from canmore_sim.run.source import ModelSource

__all__ = ["GIVEN_MODEL", "data_record", "fixed_window", "input_notes", "input_values",
           "provenance", "resolve_run_inputs"]

#: The model path the provenance records for a network given in memory (no file).
GIVEN_MODEL = "in memory: a LayerGraph given to canmore_sim.simulate"


def resolve_run_inputs(graph: LayerGraph, config: ArchConfig,
                       data: str | None) -> tuple[ArchConfig, InputPlan]:
    """``config`` with its input settings resolved for ``graph`` on ``data``, and the plan."""
    from canmore_sim.models.loaders import is_official_layout

    return resolve_config_inputs(config, is_official_layout(graph), data)


def input_notes(plan: InputPlan, adaptation: Adaptation, data: str | None) -> list[str]:
    """One line per thing the tool chose or did to the inputs (none when nothing)."""
    lines = [f"note: {plan.note}"] if plan.note else []
    if adaptation.adapted:
        lines.append(f"note: {adaptation.line(data or 'digits')}")
    return lines


def provenance(graph: LayerGraph, source: ModelSource, config: ArchConfig,
               data: dict[str, Any]) -> dict[str, Any]:
    """The run's provenance: ``model`` (path, SHA-256, format, rule; a network ``source``
    gave in memory has the path :data:`GIVEN_MODEL` and no hash) and ``data`` (the record
    of :func:`canmore_sim.datasets.provenance.describe_data`)."""
    from canmore_sim.cores.models import describe_dta_rule, describe_model
    from canmore_sim.models.provenance import describe_model_source, model_format

    rule = (describe_dta_rule(graph, config.neuron)["text"]
            if config.neuron.model == "dta-ttfs" else describe_model(graph, config.neuron))
    model = ({"path": GIVEN_MODEL, "sha256": None, "format": model_format(graph),
              "rule": rule} if source.given else
             describe_model_source(graph, source.model, rule))
    return {"model": model, "data": data}


def data_record(data: str | None, ids: np.ndarray, adaptation: Adaptation, plan: InputPlan,
                positive: np.ndarray, negative: np.ndarray) -> dict[str, Any]:
    """The data part of :func:`provenance` for frames ``ids`` of the test split."""
    from canmore_sim.datasets.provenance import describe_data

    values = {"positive": int(np.sum(positive)), "negative": int(np.sum(negative))}
    return describe_data(data, "test", ids, adaptation, plan, values)


def fixed_window(config: ArchConfig) -> dict[str, Any]:
    """The record of a window set as a number (``neuron.window_ns``)."""
    return {"mode": "fixed", "window_ns": config.neuron.window,
            "rule": "neuron.window_ns set in the configuration"}


def input_values(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Per frame, the positive and negative input values (under ``direct`` encoding the
    positive ones are the input spikes, the negative ones enter the potential only)."""
    flat = np.asarray(frames).reshape(len(frames), -1)
    return {"positive": np.count_nonzero(flat > 0, axis=1).astype(np.int64),
            "negative": np.count_nonzero(flat < 0, axis=1).astype(np.int64)}
