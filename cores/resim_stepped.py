"""TQ-TTFS and rate-IF re-simulated with what each core really received (closed-loop timing).

The time-stepped models (:mod:`canmore_sim.cores.stepped`) send one spike per (neuron,
step) on a pipelined schedule: a spike of step ``t`` must reach its consumer within the
next step. On the chip each (spike, destination core) pair can be

* **lost**: it never reaches that core's neurons (``drop-late``: it arrived after its step
  closed; ``arrival``: it arrived after the core's last step);
* **shifted** by ``k`` whole steps (``arrival``: a packet without timestamp that arrives
  ``k`` steps late is integrated in step ``t + k``).

The network is stepped layer by layer over the whole spike trains ``(N, T, ...)``; each
core whose input changed is re-simulated from its own trains (the core's channel slice of
the weights, the frames whose input changed); every other neuron keeps the ideal result,
so no changed pair gives the ideal trace bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from canmore_sim.config import NeuronConfig
from canmore_sim.cores.resim import CoreInputs, by_frame
from canmore_sim.cores.stepped import (
    Collector,
    _one_hot,
    _q_of,
    _tq_decision,
    check_frames,
    drive,
    if_rate_spikes,
    rate_encode,
    tq_fire_steps,
)
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.errors import DataError
from canmore_sim.models.graph import Layer, LayerGraph

if TYPE_CHECKING:  # the partition comes from the mapper, a later stage
    from canmore_sim.mapper.partition import CoreGroups

__all__ = ["STEPPED_MODELS", "resimulate_stepped"]

#: The time-stepped models this module re-simulates.
STEPPED_MODELS = ("tq-ttfs", "rate-if")


def resimulate_stepped(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
                       neuron: NeuronConfig, groups: CoreGroups, inputs: CoreInputs, *,
                       batch_size: int = 32) -> SpikeTrace:
    """Every spike of a ``tq-ttfs`` or ``rate-if`` network when each core receives what
    ``inputs`` says (``delay``: whole steps; ``slot``: the spike's step).

    Raises
    ------
    DataError
        If ``inputs`` does not have one entry per source layer or the frames do not fit.
    ValueError
        For a model other than tq-ttfs and rate-if.
    """
    if neuron.model not in STEPPED_MODELS:
        raise ValueError(f"resimulate_stepped runs {', '.join(STEPPED_MODELS)}, "
                         f"not {neuron.model}")
    if len(inputs.layers) != graph.depth:
        raise DataError(f"core inputs for {len(inputs.layers)} source layers, the network "
                        f"has {graph.depth}")
    frames = check_frames(graph, frames)
    return _Stepper(graph, neuron, groups, inputs).run(frames, labels, batch_size)


class _Stepper:
    def __init__(self, graph: LayerGraph, neuron: NeuronConfig, groups: CoreGroups,
                 inputs: CoreInputs) -> None:
        self.graph, self.neuron, self.groups = graph, neuron, groups
        self.steps = neuron.steps
        self.tq = neuron.model == "tq-ttfs"
        self.q = _q_of(neuron, graph.depth) if self.tq else []
        self.pairs = [by_frame(p) for p in inputs.layers]

    def run(self, frames: np.ndarray, labels: np.ndarray | None,
            batch_size: int) -> SpikeTrace:
        collect = Collector(self.graph, len(frames), self.neuron)
        with torch.no_grad():
            for lo in range(0, len(frames), batch_size):
                x = torch.as_tensor(frames[lo:lo + batch_size], dtype=torch.float64)
                trains: torch.Tensor | None = self._encode(collect, x, lo)
                for l, layer in enumerate(self.graph.layers, start=1):
                    assert trains is not None
                    trains = self._layer(collect, layer, l, trains, lo)
        return collect.trace(labels)

    def _encode(self, collect: Collector, x: torch.Tensor, lo: int) -> torch.Tensor:
        if not self.tq:
            spikes = rate_encode(x, self.graph.input_scale, self.steps)
            collect.add_trains(0, lo, spikes, spikes)
            return spikes
        ratio = torch.clamp(x / self.graph.input_scale, max=1.0)
        steps = torch.where(x > 0, torch.round((self.steps - 1) * (1 - ratio)),
                            torch.full_like(x, float("inf")))
        collect.add(0, lo, steps, steps)
        return _one_hot(steps, self.steps)

    def _layer(self, collect: Collector, layer: Layer, l: int, trains: torch.Tensor,
               lo: int) -> torch.Tensor | None:
        """Layer ``l`` on its input trains; returns the trains it sends (None: output)."""
        last = l == self.graph.depth
        fired, value = self._neurons(layer, l, trains, last)
        axis = not self.tq and not last  # rate-IF hidden layers: (N, T, ...) trains
        for core, rows, x in self._core_inputs(l, trains, lo):
            sub = replace(layer, weight=layer.weight[self._channels(core)])
            f_c, v_c = self._neurons(sub, l, x, last)
            self._write(fired, f_c, rows, core, layer, steps_axis=axis)
            if value is not fired:
                self._write(value, v_c, rows, core, layer, steps_axis=axis)
        if last:
            decision = (_tq_decision(fired, value) if self.tq
                        else torch.argmax(value, dim=1))
            collect.readout(lo, value, decision)
            return None
        if self.tq:
            pooled = (-F.max_pool2d(-fired, layer.pool)
                      if layer.kind == "conv" and layer.pool > 1 else fired)
            collect.add(l, lo, fired, pooled)
            return _one_hot(pooled, self.steps)
        pooled = fired
        if layer.kind == "conv" and layer.pool > 1:
            n = fired.shape[0]
            pooled = F.max_pool2d(fired.flatten(0, 1), layer.pool).reshape(
                n, self.steps, *layer.spike_shape)
        collect.add_trains(l, lo, fired, pooled)
        return pooled

    def _neurons(self, layer: Layer, l: int, trains: torch.Tensor,
                 last: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(fire steps or trains, potential) of the layer's neurons on ``trains``."""
        current = drive(layer, trains)
        if self.tq:
            return tq_fire_steps(current, self.q[l - 1], self.neuron.threshold)
        if last:
            potential = current.sum(dim=1)
            return potential, potential
        fired = if_rate_spikes(current, self.neuron.threshold)
        return fired, fired

    def _channels(self, core: int) -> slice:
        return slice(int(self.groups.ch_lo[core]), int(self.groups.ch_hi[core]))

    def _write(self, out: torch.Tensor, sub: torch.Tensor, rows: np.ndarray, core: int,
               layer: Layer, *, steps_axis: bool) -> None:
        index = torch.as_tensor(rows)
        block = out[index]
        ch = self._channels(core)
        lead = (slice(None), slice(None)) if steps_axis else (slice(None),)
        if layer.kind == "conv":
            r = slice(int(self.groups.row_lo[core]), int(self.groups.row_hi[core]))
            block[(*lead, ch, r)] = sub[(*lead, slice(None), r)]
        else:
            block[(*lead, ch)] = sub
        out[index] = block

    def _core_inputs(self, l: int, trains: torch.Tensor,
                     lo: int) -> Iterator[tuple[int, np.ndarray, torch.Tensor]]:
        """``(core, batch rows, trains as the core saw them)`` for every core of layer ``l``
        whose input differs in this batch."""
        frame, neuron, core, lost, delay, slot = self.pairs[l - 1]
        a, b = np.searchsorted(frame, [lo, lo + trains.shape[0]])
        if a == b:
            return
        sel = slice(a, b)
        f_b, n_b, c_b = frame[sel], neuron[sel], core[sel]
        lost_b, d_b, s_b = lost[sel], delay[sel].astype(np.int64), slot[sel]
        flat = trains.flatten(2)
        for c in np.unique(c_b):
            mine = c_b == c
            rows, inverse = np.unique(f_b[mine] - lo, return_inverse=True)
            x = flat[torch.as_tensor(rows)].clone()
            r, n, s = inverse, n_b[mine], s_b[mine]
            np.subtract.at(x.numpy(), (r, s, n), 1.0)  # the spike leaves its own step
            new = s + d_b[mine]
            keep = ~lost_b[mine] & (new < self.steps)
            np.add.at(x.numpy(), (r[keep], new[keep], n[keep]), 1.0)
            yield int(c), rows, x.reshape(len(rows), *trains.shape[1:])
