"""Neuron models by name (``neuron.model``): each turns frames into a SpikeTrace."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from canmore_sim.config import NeuronConfig
from canmore_sim.cores.neuron import run_network
from canmore_sim.cores.stepped import run_rate_if, run_tq_ttfs
from canmore_sim.cores.t2fsnn import run_t2fsnn
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.mapper.graph import LayerGraph
from canmore_sim.registry import choose

__all__ = ["NEURON_MODELS", "simulate_neurons"]

Runner = Callable[[LayerGraph, np.ndarray, "np.ndarray | None", NeuronConfig], SpikeTrace]


def _dta(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
         neuron: NeuronConfig) -> SpikeTrace:
    return run_network(graph, frames, labels)


#: Neuron models: DTA-TTFS (papers/004, closed form), TQ-TTFS (papers/001), T2FSNN
#: (papers/002, conversion with kernel-based dynamic threshold), rate-coded IF.
NEURON_MODELS: dict[str, Runner] = {"dta-ttfs": _dta, "tq-ttfs": run_tq_ttfs,
                                    "t2fsnn": run_t2fsnn, "rate-if": run_rate_if}


def simulate_neurons(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
                     neuron: NeuronConfig) -> SpikeTrace:
    """The spikes of ``graph`` on ``frames`` under the neuron model ``neuron.model``.

    Raises
    ------
    ConfigError
        For an unknown model name (listing the valid ones).
    """
    runner = choose(NEURON_MODELS, neuron.model, what="neuron model", key="neuron.model")
    return runner(graph, frames, labels, neuron)
