"""Neuron models by name (``neuron.model``): each turns frames into a SpikeTrace."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

import numpy as np

from canmore_sim.config import NeuronConfig
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.errors import ConfigError, ModelError
from canmore_sim.models.graph import DtaRule, LayerGraph
from canmore_sim.utils.registry import choose

__all__ = ["AUTO", "NEURON_MODELS", "check_encoding", "describe_dta_rule", "describe_model",
           "input_encoding", "resolve_dta_rule", "resolve_model", "simulate_neurons"]

#: ``neuron.model`` value that runs each network on its own model (``graph.native_model``).
AUTO = "auto"

Runner = Callable[[LayerGraph, np.ndarray, "np.ndarray | None", NeuronConfig], SpikeTrace]


def _dta(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
         neuron: NeuronConfig) -> SpikeTrace:
    from canmore_sim.cores.neuron import run_network

    return run_network(graph, frames, labels, rule=resolve_dta_rule(graph, neuron),
                       encoding=input_encoding(neuron))


def input_encoding(neuron: NeuronConfig) -> str:
    """The input encoding a DTA-TTFS run uses: ``neuron.input_encoding``, where ``auto``
    (not resolved against the data by :func:`canmore_sim.datasets.inputs.resolve_inputs`)
    is ``ttfs``."""
    return "ttfs" if neuron.input_encoding == AUTO else neuron.input_encoding


def _runner(module: str, name: str) -> Runner:
    """The runner ``name`` of ``canmore_sim.cores.<module>``, imported on its first call
    (the simulators import torch; naming the models, e.g. for ``--help``, does not)."""
    def run(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
            neuron: NeuronConfig) -> SpikeTrace:
        function: Runner = getattr(import_module(f"canmore_sim.cores.{module}"), name)
        return function(graph, frames, labels, neuron)

    run.__name__ = run.__qualname__ = name
    return run


def resolve_dta_rule(graph: LayerGraph, neuron: NeuronConfig) -> DtaRule:
    """The DTA-TTFS window-edge rule a run uses.

    ``neuron.window_end_spike`` and ``neuron.readout`` set explicitly win; ``auto`` takes
    the network's own (``graph.dta_rule``: what its checkpoint records, the official
    code's rule for an official state_dict or a network that records none).
    """
    own = graph.dta_rule
    end = own.window_end_spike if neuron.window_end_spike == AUTO else bool(
        neuron.window_end_spike)
    point = own.readout if neuron.readout == AUTO else neuron.readout
    return DtaRule(end, point)


def describe_dta_rule(graph: LayerGraph, neuron: NeuronConfig) -> dict[str, object]:
    """What rule a DTA-TTFS run used and where it came from, as plain data for reports.

    Returns
    -------
    dict
        ``window_end_spike``, ``readout`` (the rule that ran), ``network`` (the
        network's own rule and its ``source``), ``overridden`` (the config keys whose
        explicit value differs from the network's) and ``text`` (one line).
    """
    own, used = graph.dta_rule, resolve_dta_rule(graph, neuron)
    overridden = [key for key, a, b in (
        ("neuron.window_end_spike", used.window_end_spike, own.window_end_spike),
        ("neuron.readout", used.readout, own.readout)) if a != b]
    official = used == DtaRule()
    text = (f"DTA-TTFS rule: {used.describe()}"
            f"{' (official DTA-TTFS code)' if official else ''}; ")
    text += (f"set by {', '.join(overridden)} in the config, while the network was trained "
             f"with: {own.describe()} ({graph.dta_rule_source})" if overridden
             else f"the network's own ({graph.dta_rule_source})")
    return {"window_end_spike": used.window_end_spike, "readout": used.readout,
            "official": official,
            "network": {"window_end_spike": own.window_end_spike, "readout": own.readout,
                        "source": graph.dta_rule_source},
            "overridden": overridden, "text": text}


#: Neuron models: DTA-TTFS (papers/004, closed form), TQ-TTFS (papers/001), T2FSNN
#: (papers/002, conversion with kernel-based dynamic threshold), rate-coded IF, and the
#: IF/LIF neurons of imported NIR graphs.
NEURON_MODELS: dict[str, Runner] = {"dta-ttfs": _dta,
                                    "tq-ttfs": _runner("stepped", "run_tq_ttfs"),
                                    "t2fsnn": _runner("t2fsnn", "run_t2fsnn"),
                                    "rate-if": _runner("stepped", "run_rate_if"),
                                    "if-lif": _runner("spiking", "run_if_lif")}


def resolve_model(graph: LayerGraph, model: str) -> str:
    """The neuron model that runs ``graph``: ``model``, or the graph's own for ``auto``.

    Raises
    ------
    ConfigError
        For an unknown model name (listing the valid ones, and ``auto``).
    ModelError
        If the model cannot run this graph (a NIR graph under a TTFS model).
    """
    from canmore_sim.cores.spiking import check_model

    name = graph.native_model if model == AUTO else model
    choose({AUTO: None, **NEURON_MODELS}, name, what="neuron model", key="neuron.model")
    check_model(graph, name)
    return name


def simulate_neurons(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
                     neuron: NeuronConfig) -> SpikeTrace:
    """The spikes of ``graph`` on ``frames`` under the neuron model ``neuron.model``.

    Raises
    ------
    ConfigError
        For an unknown model name (listing the valid ones).
    ModelError
        If the graph's weights were released (:meth:`LayerGraph.release_weights`).
    """
    if graph.weights_released:
        raise ModelError("the network's weights were released (release_weights), so it "
                         "cannot be simulated; simulate it before releasing them")
    name = resolve_model(graph, neuron.model)
    check_encoding(name, neuron)
    return NEURON_MODELS[name](graph, frames, labels, neuron)


def check_encoding(model: str, neuron: NeuronConfig) -> None:
    """Refuse ``direct`` input encoding for a neuron model other than DTA-TTFS.

    Raises
    ------
    ConfigError
        Naming ``neuron.input_encoding`` and the model.
    """
    if neuron.input_encoding == "direct" and model != "dta-ttfs":
        raise ConfigError(f"neuron.input_encoding: direct (the official DTA-TTFS proxy "
                          f"model's) is defined for dta-ttfs only, not {model}; use ttfs",
                          key="neuron.input_encoding")


_DESCRIPTIONS = {
    "dta-ttfs": "DTA-TTFS, closed form (papers/004)",
    "tq-ttfs": "TQ-TTFS over {steps} steps (papers/001)",
    "t2fsnn": "T2FSNN conversion over {steps} steps (papers/002)",
    "rate-if": "rate-coded IF baseline over {steps} steps",
    "if-lif": "IF/LIF simulation of the NIR graph over {steps} steps (dt = {dt:g} from {dt_from}; "
              "rate-coded input), not TTFS",
}


def describe_model(graph: LayerGraph, neuron: NeuronConfig) -> str:
    """One line saying where the spikes of a run come from, for reports."""
    from canmore_sim.cores.spiking import resolve_dt

    name = resolve_model(graph, neuron.model)
    dt, dt_from = resolve_dt(graph, neuron) if name == "if-lif" else (0.0, "")
    return _DESCRIPTIONS[name].format(steps=neuron.steps, dt=dt, dt_from=dt_from)
