"""T2FSNN (papers/002): TTFS by DNN-to-SNN conversion with kernel-based dynamic threshold.

Conversion: the network's weights are read as a ReLU DNN (no biases) and normalized
layer by layer on the run's frames (data-based normalization, so integrated
potentials lie in [0, 1]): ``w_l <- w_l x lambda_{l-1} / lambda_l`` with ``lambda_l``
the 99.9th percentile of layer l's ReLU activations.

Each layer integrates, then fires, over T = ``neuron.steps`` steps:

* a spike at fire step ``t`` carries the value of the integration kernel
  ``eps(t) = exp(-(t - t_d) / tau)`` (papers/002 Eq. 5, ``neuron.tau``, ``neuron.t_d``;
  with ``neuron.kernel_iterations`` > 0 every layer's kernel is fitted by the paper's
  gradient-based optimization, :mod:`canmore_sim.cores.t2fsnn_kernels`; layer l decodes
  with the fire kernel of layer l - 1, Eq. 8);
* the dynamic threshold ``theta(t) = theta_0 eps(t)`` (Eq. 6, theta_0 = 1) falls during the
  fire phase; a neuron fires once, at the first step with ``u >= theta(t)``, i.e.
  ``t = ceil(-tau ln(u) + t_d)`` (Eq. 7); values below ``eps(T - 1)`` are not sent;
* early firing (``neuron.early_steps`` = E): the fire phase of layer l starts E steps
  before layer l - 1 has finished firing, using only the inputs that arrived by then.

The input is encoded the same way (intensity as u). The output layer only integrates;
the class is the highest potential. Max pooling passes the pool's earliest spike.

Schedule on the chip: a step is ``Tw / T`` model units; layer l fires during steps
``[S_l, S_l + T)`` with ``S_l = l (T - E)``; a spike leaves at the end of its step and
is late if it arrives after its consumer's fire phase ends, ``S_{l+1} + T``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from canmore_sim.config import NeuronConfig
from canmore_sim.cores.neuron import weight_tensor
from canmore_sim.cores.stepped import Collector, _one_hot, check_frames, drive
from canmore_sim.cores.synapses import apply_weights
from canmore_sim.cores.t2fsnn_kernels import fit_kernel
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.errors import ConfigError
from canmore_sim.models.graph import Layer, LayerGraph

__all__ = ["run_t2fsnn", "normalize_weights", "kernel_fire_steps", "layer_kernels"]


def kernel_fire_steps(u: torch.Tensor, tau: float, t_d: float, steps: int) -> torch.Tensor:
    """First fire step ``t`` with ``u(t) >= exp(-(t - t_d)/tau)``; ``u`` is ``(N, T, ...)``.

    Returns fire steps ``(N, ...)``, ``inf`` where the neuron stays silent.
    """
    t = torch.arange(steps, dtype=u.dtype).reshape(1, -1, *[1] * (u.ndim - 2))
    fire = u >= torch.exp(-(t - t_d) / tau)
    first = torch.argmax(fire.to(torch.int8), dim=1).to(u.dtype)
    return torch.where(fire.any(dim=1), first, torch.full_like(first, float("inf")))


def normalize_weights(graph: LayerGraph, frames: np.ndarray,
                      percentile: float = 99.9) -> list[np.ndarray]:
    """Data-based normalization of the ReLU reading of ``graph`` (one array per layer)."""
    return _normalized(graph, frames, percentile)[0]


def layer_kernels(graph: LayerGraph, frames: np.ndarray,
                  neuron: NeuronConfig) -> tuple[list[float], list[float]]:
    """``(tau^l, t_d^l)`` of every spiking layer ``l = 0..L-1`` (the input is layer 0).

    ``neuron.tau`` and ``neuron.t_d`` for all layers, or, with ``neuron.kernel_iterations``
    > 0, each fitted to the values the layer carries (papers/002 Eq. 9-13).
    """
    values = _normalized(graph, frames)[1]
    fitted = [fit_kernel(v, neuron.tau, neuron.t_d, neuron.steps, neuron.kernel_iterations,
                         neuron.kernel_lr) for v in values]
    return [f[0] for f in fitted], [f[1] for f in fitted]


def _normalized(graph: LayerGraph, frames: np.ndarray,
                percentile: float = 99.9) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Normalized weights, and the normalized values each spiking layer 0..L-1 carries."""
    x = torch.as_tensor(frames, dtype=torch.float64) / graph.input_scale
    weights: list[np.ndarray] = []
    values = [torch.clamp(x, 0.0, 1.0).numpy()]
    with torch.no_grad():
        for layer in graph.layers:
            w = weight_tensor(layer, torch.float64)
            a = torch.relu(apply_weights(layer, x, w))
            scale = float(np.percentile(a.numpy(), percentile)) or 1.0
            # x is already the normalized activation of the previous layer, so dividing
            # by this layer's scale gives w_l x lambda_{l-1} / lambda_l in raw terms
            weights.append((layer.weight_values() / scale).astype(np.float64))
            x = a / scale
            if layer.kind == "conv" and layer.pool > 1:
                x = F.max_pool2d(x, layer.pool)
            values.append(x.numpy())
    return weights, values[:graph.depth]


def run_t2fsnn(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
               neuron: NeuronConfig, batch_size: int = 32) -> SpikeTrace:
    """Every spike of the T2FSNN reading of ``graph`` (see the module docstring)."""
    frames = check_frames(graph, frames)
    steps, early = neuron.steps, neuron.early_steps
    if early >= steps:
        raise ConfigError(f"neuron.early_steps ({early}) must be < neuron.steps ({steps})",
                          key="neuron.early_steps")
    weights = normalize_weights(graph, frames)
    taus, t_ds = layer_kernels(graph, frames, neuron)
    layers = [layer.with_weight(w.astype(np.float32)) for layer, w in zip(graph.layers, weights,
                                                                         strict=True)]
    period = steps - early  # fire phases start every T - E steps
    unit, depth = graph.tw / steps, graph.depth

    def schedule(l: int, step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        time = (l * period + step + 1) * unit
        return time, np.full(len(step), ((l + 1) * period + steps) * unit)

    collect = Collector(graph, len(frames), neuron, schedule,
                         end_steps=(depth - 1) * period + steps)
    with torch.no_grad():
        for lo in range(0, len(frames), batch_size):
            x = torch.as_tensor(frames[lo:lo + batch_size], dtype=torch.float64)
            u = torch.clamp(x / graph.input_scale, 0.0, 1.0).unsqueeze(1).expand(
                -1, steps, *x.shape[1:])
            fired = kernel_fire_steps(u, taus[0], t_ds[0], steps)
            collect.add(0, lo, fired, fired)
            for l, layer in enumerate(layers, start=1):
                integrated = _integrate(layer, fired, taus[l - 1], t_ds[l - 1], steps)
                if l == depth:
                    potential = integrated[:, -1]
                    collect.readout(lo, potential, torch.argmax(potential, dim=1))
                    break
                out = kernel_fire_steps(_early_view(integrated, steps, early), taus[l],
                                        t_ds[l], steps)
                pooled = (-F.max_pool2d(-out, layer.pool)
                          if layer.kind == "conv" and layer.pool > 1 else out)
                collect.add(l, lo, out, pooled)
                fired = pooled
    return collect.trace(labels)


def _integrate(layer: Layer, fired: torch.Tensor, tau: float, t_d: float,
               steps: int) -> torch.Tensor:
    """Potential after integrating the inputs of steps 0..k, for every k: ``(N, T, ...)``,
    decoding with the source layer's kernel ``(tau, t_d)`` (Eq. 5, 8)."""
    t = torch.arange(steps, dtype=fired.dtype).reshape(1, -1, *[1] * (fired.ndim - 1))
    values = _one_hot(fired, steps) * torch.exp(-(t - t_d) / tau)  # Eq. 5
    return torch.cumsum(drive(layer, values), dim=1)


def _early_view(integrated: torch.Tensor, steps: int, early: int) -> torch.Tensor:
    """Potential seen at fire step s: inputs of steps < T - E + s (all of them when E = 0)."""
    index = torch.clamp(torch.arange(steps) + steps - early - 1, max=steps - 1)
    return integrated[:, index]
