"""IF / LIF neurons of imported NIR graphs, integrated step by step (``neuron.model: if-lif``).

NIR (the Neuromorphic Intermediate Representation) states its neurons as continuous-time
equations (see :class:`canmore_sim.models.graph.SpikingNeurons`). This module integrates
them with forward Euler at a step of ``dt`` (the graph's time unit), the reference
discretization of the NIR paper:

* IF:  ``v[t+1] = v[t] + dt R I[t]``;
* LIF: ``v[t+1] = v[t] + (dt / tau) (v_leak - v[t] + R I[t])``;
* LI:  as LIF, never firing (output layer only);

then ``z = v > v_threshold`` and ``v = v_reset`` where ``z``. ``I[t] = W s[t] + b`` is the
weighted sum of the spikes (or spike counts, after sum pooling) that arrive in step ``t``
plus the bias. Potentials start at rest (``v_leak``; 0 for IF).

``dt`` is ``neuron.dt`` when set. Otherwise it is read from the graph: the ratio
``tau / R`` when every LIF population states the same one (snnTorch's export writes
``tau = dt / (1 - beta)`` and ``R = tau / dt``, so each spike adds its weight to ``v``),
else 1 (sinabs' IF export: ``R = 1``, one unit of time per step).

Input frames are IF-encoded (:func:`canmore_sim.cores.stepped.rate_encode`), the layers
run on the pipelined step schedule of :mod:`canmore_sim.cores.stepped`. The decision is
the output neuron with most spikes (ties: highest potential), or, for a non-spiking
readout (LI, or a final weight layer without neurons), the highest mean potential.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from canmore_sim.config import NeuronConfig
from canmore_sim.cores.stepped import Collector, check_frames, drive, rate_encode
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.errors import ConfigError, ModelError
from canmore_sim.models.graph import Layer, LayerGraph, SpikingNeurons

__all__ = ["resolve_dt", "integrate", "run_if_lif"]


def resolve_dt(graph: LayerGraph, neuron: NeuronConfig) -> tuple[float, str]:
    """The Euler step of the IF/LIF simulation and where it came from.

    Returns
    -------
    (dt, source)
        ``dt`` in the graph's time unit; ``source`` is ``"neuron.dt"``, ``"tau/r"`` or
        ``"default"``.

    Raises
    ------
    ConfigError
        If a LIF population would get ``dt > tau`` (forward Euler overshoots the rest
        potential and the simulation means nothing), naming the layer.
    """
    leaky = [layer.neurons for layer in graph.layers
             if layer.neurons is not None and layer.neurons.kind != "if"]
    if neuron.dt is not None:
        dt, source = float(neuron.dt), "neuron.dt"
    else:
        ratios = np.unique(np.concatenate([np.ravel(n.tau / n.r) for n in leaky])) if leaky \
            else np.array([])
        unit_gain = len(ratios) == 1 and np.isfinite(ratios[0]) and ratios[0] > 0 and not all(
            np.all(n.r == 1.0) for n in leaky)
        dt, source = (float(ratios[0]), "tau/r") if unit_gain else (1.0, "default")
    for n in leaky:
        if dt > float(np.min(n.tau)):
            raise ConfigError(
                f"neuron.dt = {dt:g} exceeds the smallest tau {float(np.min(n.tau)):g} of "
                f"NIR node {n.source!r}; Euler steps would overshoot: set neuron.dt to at most "
                "tau", key="neuron.dt", value=dt)
    return dt, source


def integrate(current: torch.Tensor, neurons: SpikingNeurons,
              dt: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Step one population through its input currents (see the module docstring).

    Parameters
    ----------
    current
        ``(N, T, *out_shape)`` input current per step.
    neurons
        The population's parameters.
    dt
        Euler step, the graph's time unit.

    Returns
    -------
    (spikes, final, mean)
        0/1 spikes ``(N, T, ...)``, the potential after the last step and the mean
        potential over the steps, ``(N, ...)``.
    """
    p = {k: torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=current.dtype)
         for k, v in neurons.arrays().items()}
    v = torch.zeros_like(current[:, 0]) + p["v_leak"]
    spikes = torch.zeros_like(current)
    total = torch.zeros_like(v)
    for t in range(current.shape[1]):
        if neurons.kind == "if":
            v = v + dt * p["r"] * current[:, t]
        else:
            v = v + (dt / p["tau"]) * (p["v_leak"] - v + p["r"] * current[:, t])
        total = total + v
        fire = v > p["v_threshold"]
        spikes[:, t] = fire.to(current.dtype)
        v = torch.where(fire, p["v_reset"].expand_as(v), v)
    return spikes, v, total / current.shape[1]


def run_if_lif(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
               neuron: NeuronConfig, batch_size: int = 32) -> SpikeTrace:
    """Every spike of an IF/LIF network (a NIR graph) over ``neuron.steps`` steps.

    Raises
    ------
    ConfigError
        If a hidden layer has no IF/LIF parameters (the graph did not come from NIR).
    """
    _check_graph(graph)
    dt, _ = resolve_dt(graph, neuron)
    collect = Collector(graph, len(frames), neuron)
    frames = check_frames(graph, frames)
    with torch.no_grad():
        for lo in range(0, len(frames), batch_size):
            x = torch.as_tensor(frames[lo:lo + batch_size], dtype=torch.float64)
            spikes = rate_encode(x, graph.input_scale, neuron.steps)
            collect.add_trains(0, lo, spikes, spikes)
            for l, layer in enumerate(graph.layers, start=1):
                current = drive(layer, spikes)
                if l == graph.depth:
                    _readout(collect, l, lo, layer, current, dt)
                    break
                fired, _, _ = integrate(current, _hidden_neurons(layer), dt)
                spikes = _pool(layer, fired)
                collect.add_trains(l, lo, fired, spikes)
    return collect.trace(labels)


def _check_graph(graph: LayerGraph) -> None:
    for layer in graph.layers[:-1]:
        _hidden_neurons(layer)


def _hidden_neurons(layer: Layer) -> SpikingNeurons:
    """A hidden layer's IF/LIF neurons, or a ConfigError naming the layer."""
    if layer.neurons is None or not layer.neurons.spiking:
        raise ConfigError(
            f"neuron.model if-lif needs IF or LIF neurons on every hidden layer (a NIR "
            f"graph); layer {layer.name} has "
            f"{'none' if layer.neurons is None else 'LI (non-spiking) neurons'}",
            key="neuron.model", value="if-lif")
    return layer.neurons


def _pool(layer: Layer, fired: torch.Tensor) -> torch.Tensor:
    """Spikes that leave the core per step: pooled by max (any spike) or by sum (counts)."""
    if layer.kind != "conv" or layer.pool == 1:
        return fired
    n, steps = fired.shape[:2]
    flat = fired.flatten(0, 1)
    k = layer.pool
    pooled = (F.avg_pool2d(flat, k) * (k * k) if layer.pool_mode == "sum"
              else F.max_pool2d(flat, k))
    return torch.round(pooled).reshape(n, steps, *layer.spike_shape)


def _readout(collect: Collector, l: int, lo: int, layer: Layer, current: torch.Tensor,
             dt: float) -> None:
    """Output layer: spike counts (spiking neurons) or mean potential (LI / none)."""
    if layer.neurons is None:
        potential = current.mean(dim=1)
        collect.readout(lo, potential, torch.argmax(potential, dim=1))
        return
    fired, final, mean = integrate(current, layer.neurons, dt)
    if not layer.neurons.spiking:
        collect.readout(lo, mean, torch.argmax(mean, dim=1))
        return
    counts = fired.sum(dim=1)
    collect.counts[lo:lo + len(fired), l] = counts.flatten(1).sum(1).numpy().astype(np.int64)
    top = counts == counts.max(dim=1, keepdim=True).values
    score = torch.where(top, final, torch.full_like(final, -float("inf")))
    collect.readout(lo, counts, torch.argmax(score, dim=1))


def check_model(graph: LayerGraph, model: str) -> None:
    """Refuse to run a NIR graph (biases, sum pooling, IF/LIF) under a TTFS model.

    Raises
    ------
    ModelError
        Naming the layer and the model to use instead.
    """
    if model == "if-lif" or not graph.has_nir_features:
        return
    layer = next(x for x in graph.layers
                 if x.bias is not None or x.neurons is not None or x.pool_mode == "sum")
    raise ModelError(
        f"layer {layer.name} has biases, sum pooling or IF/LIF neurons (an imported NIR "
        f"graph), which neuron model {model} cannot run; use neuron.model if-lif (or auto)",
        layer=layer.name)
