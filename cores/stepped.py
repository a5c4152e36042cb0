"""Time-stepped neuron models: TQ-TTFS (papers/001) and a rate-coded IF baseline.

Both run the network for ``neuron.steps`` = T discrete steps of integrate-and-fire
neurons without leak (papers/001, "IF neuron model"):

* **tq-ttfs**: TTFS input encoding ``t = round((T - 1) (1 - x / a_max))`` (zero intensity
  sends no spike); each neuron integrates its input spikes until it fires, fires at most
  once, and only at steps where ``(t + 1) % Q_l == 0`` (``neuron.q``, one value or one per
  weight layer); the output decision is the earliest firing output neuron, ties and
  silence broken by the highest membrane potential.
* **rate-if**: inputs are IF-encoded rates (an input of intensity x spikes about x T times),
  hidden neurons integrate, fire when ``V > threshold`` and reset to 0; the output layer
  only integrates (class = highest potential).

Max pooling after a convolution passes the pool's earliest spike (tq-ttfs) or, per step,
a spike if any neuron of the pool spiked (rate-if).

Schedule on the chip: a step lasts ``s = Tw / T`` model units (``window_ns / T`` ns).
Layer ``l`` works on step ``t`` during ``[(t + l) s, (t + l + 1) s]``, one step of pipeline
delay per layer; its spike leaves at ``(t + l + 1) s`` and must reach the next layer
before that layer finishes the step, ``(t + l + 2) s``, or it is late. The frame ends at
``(T + L) s``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from canmore_sim.config import NeuronConfig
from canmore_sim.cores.neuron import weight_tensor
from canmore_sim.cores.synapses import apply_weights
from canmore_sim.cores.trace import LayerSpikes, SpikeTrace
from canmore_sim.errors import ConfigError, DataError
from canmore_sim.models.graph import Layer, LayerGraph

__all__ = ["run_tq_ttfs", "run_rate_if", "tq_fire_steps", "if_rate_spikes", "rate_encode",
           "drive"]


def drive(layer: Layer, spikes: torch.Tensor) -> torch.Tensor:
    """Input current per step: ``(N, T, *in) -> (N, T, *out)``, ``W x S[t] (+ b)``.

    The bias (NIR graphs only) is added at every step.
    """
    n, steps = spikes.shape[:2]
    flat = spikes.reshape(n * steps, *spikes.shape[2:])
    w = weight_tensor(layer, flat.dtype)
    out = apply_weights(layer, flat, w)
    if layer.bias is not None:
        bias = torch.as_tensor(layer.bias, dtype=out.dtype)
        out = out + (bias.reshape(-1, 1, 1) if layer.kind == "conv" else bias)
    return out.reshape(n, steps, *out.shape[1:])


def rate_encode(x: torch.Tensor, a_max: float, steps: int) -> torch.Tensor:
    """IF input encoding: ``(N, ...)`` intensities -> ``(N, T, ...)`` 0/1 spike trains.

    An integrate-and-fire encoder with threshold 1 and input ``x / a_max`` (clipped to
    [0, 1]) per step: an input of intensity x spikes ``floor(T x / a_max)`` times, evenly
    spread, with no randomness.
    """
    ratio = torch.clamp(x / a_max, min=0.0, max=1.0)
    t = torch.arange(steps + 1, dtype=x.dtype).reshape(1, -1, *[1] * (x.ndim - 1))
    counts = torch.floor(t * ratio.unsqueeze(1) + 1e-9)
    return counts[:, 1:] - counts[:, :-1]


def tq_fire_steps(current: torch.Tensor, q: int, threshold: float) -> tuple[torch.Tensor, ...]:
    """TQ-TTFS firing (papers/001): first step with ``V > threshold`` and ``(t+1) % q == 0``.

    Parameters
    ----------
    current
        ``(N, T, ...)`` input per step. A neuron integrates until it fires, then stops
        (it fires at most once), so its potential is the running sum of its input.

    Returns
    -------
    (steps, potential)
        Fire step per neuron (``inf`` = silent) and the final potential ``(N, ...)``.
    """
    potential = torch.cumsum(current, dim=1)
    t = torch.arange(current.shape[1], dtype=current.dtype).reshape(1, -1,
                                                                     *[1] * (current.ndim - 2))
    fire = (potential > threshold) & ((t + 1) % q == 0)
    fired = fire.any(dim=1)
    first = torch.argmax(fire.to(torch.int8), dim=1).to(current.dtype)
    steps = torch.where(fired, first, torch.full_like(first, float("inf")))
    # the potential stops at the firing step
    last = torch.where(fired, first, torch.full_like(first, current.shape[1] - 1)).long()
    return steps, torch.gather(potential, 1, last.unsqueeze(1)).squeeze(1)


def if_rate_spikes(current: torch.Tensor, threshold: float) -> torch.Tensor:
    """IF neurons with reset to 0 after a spike: ``(N, T, ...)`` current -> 0/1 spikes."""
    v = torch.zeros_like(current[:, 0])
    out = torch.zeros_like(current)
    for t in range(current.shape[1]):
        v = v + current[:, t]
        spike = v > threshold
        out[:, t] = spike.to(current.dtype)
        v = torch.where(spike, torch.zeros_like(v), v)
    return out


def _one_hot(steps: torch.Tensor, n_steps: int) -> torch.Tensor:
    """Fire steps ``(N, ...)`` (inf = none) -> spikes ``(N, T, ...)``."""
    t = torch.arange(n_steps, dtype=steps.dtype).reshape(1, -1, *[1] * (steps.ndim - 1))
    return (steps.unsqueeze(1) == t).to(steps.dtype)


def _q_of(neuron: NeuronConfig, depth: int) -> list[int]:
    q = list(neuron.q)
    if len(q) == 1:
        q = q * depth
    if len(q) != depth:
        raise ConfigError(f"neuron.q has {len(q)} values for {depth} weight layers",
                          key="neuron.q")
    return q


def run_tq_ttfs(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
                neuron: NeuronConfig, batch_size: int = 32) -> SpikeTrace:
    """Every spike of a TQ-TTFS network (see the module docstring)."""
    steps_n, q = neuron.steps, _q_of(neuron, graph.depth)
    collect = Collector(graph, len(frames), neuron)
    with torch.no_grad():
        for lo in range(0, len(frames), batch_size):
            x = torch.as_tensor(check_frames(graph, frames)[lo:lo + batch_size],
                                dtype=torch.float64)
            ratio = torch.clamp(x / graph.input_scale, max=1.0)
            steps = torch.where(x > 0, torch.round((steps_n - 1) * (1 - ratio)),
                                torch.full_like(x, float("inf")))
            collect.add(0, lo, steps, steps)
            for l, layer in enumerate(graph.layers, start=1):
                fired, potential = tq_fire_steps(drive(layer, _one_hot(steps, steps_n)),
                                                 q[l - 1], neuron.threshold)
                if l == graph.depth:
                    collect.readout(lo, potential, _tq_decision(fired, potential))
                    break
                pooled = (-F.max_pool2d(-fired, layer.pool)
                          if layer.kind == "conv" and layer.pool > 1 else fired)
                collect.add(l, lo, fired, pooled)
                steps = pooled
    return collect.trace(labels)


def _tq_decision(fired: torch.Tensor, potential: torch.Tensor) -> torch.Tensor:
    """Earliest firing output neuron; ties or silence go to the highest potential."""
    earliest = fired.min(dim=1, keepdim=True).values
    candidates = (fired == earliest) & torch.isfinite(earliest)
    score = torch.where(candidates, potential, torch.full_like(potential, -float("inf")))
    silent = ~torch.isfinite(earliest.squeeze(1))
    score[silent] = potential[silent]
    return torch.argmax(score, dim=1)


def run_rate_if(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
                neuron: NeuronConfig, batch_size: int = 32) -> SpikeTrace:
    """Every spike of a rate-coded IF network (see the module docstring)."""
    steps_n = neuron.steps
    collect = Collector(graph, len(frames), neuron)
    with torch.no_grad():
        for lo in range(0, len(frames), batch_size):
            x = torch.as_tensor(check_frames(graph, frames)[lo:lo + batch_size],
                                dtype=torch.float64)
            spikes = rate_encode(x, graph.input_scale, steps_n)
            collect.add_trains(0, lo, spikes, spikes)
            for l, layer in enumerate(graph.layers, start=1):
                current = drive(layer, spikes)
                if l == graph.depth:
                    potential = current.sum(dim=1)
                    collect.readout(lo, potential, torch.argmax(potential, dim=1))
                    break
                fired = if_rate_spikes(current, neuron.threshold)
                pooled = fired
                if layer.kind == "conv" and layer.pool > 1:
                    n = fired.shape[0]
                    pooled = F.max_pool2d(fired.flatten(0, 1), layer.pool).reshape(
                        n, steps_n, *layer.spike_shape)
                collect.add_trains(l, lo, fired, pooled)
                spikes = pooled
    return collect.trace(labels)


def check_frames(graph: LayerGraph, frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if tuple(frames.shape[1:]) != graph.input_shape:
        raise DataError(f"frames have shape {tuple(frames.shape[1:])} per frame, the network "
                        f"expects {graph.input_shape}")
    return frames


Schedule = Callable[[int, np.ndarray], tuple[np.ndarray, np.ndarray]]


class Collector:
    """Gathers spikes as columnar rows with times and deadlines on a step schedule.

    ``schedule(l, step)`` gives the spike times and deadlines (model time units) of
    layer ``l``'s spikes at fire steps ``step``; ``end_steps`` is when the frame ends,
    in steps. The default is the pipelined schedule of this module.
    """

    def __init__(self, graph: LayerGraph, n: int, neuron: NeuronConfig,
                 schedule: Schedule | None = None, end_steps: float | None = None) -> None:
        self.graph, self.n, self.steps = graph, n, neuron.steps
        self.unit = graph.tw / neuron.steps  # model time units per step
        self.schedule = schedule or self._pipelined
        self.end_steps = neuron.steps + graph.depth if end_steps is None else end_steps
        self.rows: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(graph.depth)]
        self.counts = np.zeros((n, graph.depth + 1), dtype=np.int64)
        self.potentials: list[np.ndarray] = []
        self.decisions: list[np.ndarray] = []

    def add(self, l: int, lo: int, fired: torch.Tensor, pooled: torch.Tensor) -> None:
        """Single-spike layers: fire steps (inf = none)."""
        self.counts[lo:lo + len(fired), l] = torch.isfinite(fired).flatten(1).sum(1).numpy()
        steps = pooled.flatten(1).numpy()
        frame, neuron = np.nonzero(np.isfinite(steps))
        self._rows(l, lo, frame, neuron, steps[frame, neuron])

    def add_trains(self, l: int, lo: int, fired: torch.Tensor, pooled: torch.Tensor) -> None:
        """Multi-spike layers: spike trains ``(N, T, ...)`` of 0/1, or of spike counts
        (sum pooling), one row per spike."""
        self.counts[lo:lo + len(fired), l] = fired.flatten(1).sum(1).numpy().astype(np.int64)
        trains = pooled.flatten(2).numpy()
        frame, step, neuron = np.nonzero(trains > 0)
        reps = np.rint(trains[frame, step, neuron]).astype(np.int64)
        if len(reps) and reps.max() > 1:
            frame, step, neuron = (np.repeat(a, reps) for a in (frame, step, neuron))
        self._rows(l, lo, frame, neuron, step.astype(np.float64))

    def _pipelined(self, l: int, step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        time = (step + l + 1) * self.unit
        return time, time + self.unit

    def _rows(self, l: int, lo: int, frame: np.ndarray, neuron: np.ndarray,
              step: np.ndarray) -> None:
        time, deadline = self.schedule(l, step)
        self.rows[l].append(((frame + lo).astype(np.int32), neuron.astype(np.int64), time,
                             deadline))

    def readout(self, lo: int, potential: torch.Tensor, decision: torch.Tensor) -> None:
        self.potentials.append(potential.numpy().astype(np.float64))
        self.decisions.append(decision.numpy().astype(np.int64))

    def trace(self, labels: np.ndarray | None) -> SpikeTrace:
        layers = []
        for parts in self.rows:
            cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
            order = np.lexsort((cols[1], cols[2], cols[0]))
            layers.append(LayerSpikes(cols[0][order], cols[1][order], cols[2][order],
                                      deadline=cols[3][order]))
        lab = np.full(self.n, -1, dtype=np.int64) if labels is None else np.asarray(labels)
        return SpikeTrace(n_frames=self.n, tw=self.graph.tw, layers=tuple(layers),
                          neuron_spikes=self.counts, readout=np.concatenate(self.potentials),
                          predictions=np.concatenate(self.decisions), labels=lab,
                          end_time=self.end_steps * self.unit)
