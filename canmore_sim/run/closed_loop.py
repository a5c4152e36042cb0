"""Closed-loop timing (``run.timing``): what the chip computes when the NoC is late.

``ideal`` (the default) computes the network's answer as if every spike reached every
core in time. The other modes feed the replay back into the neurons:

* ``drop-late``: a (spike, destination core) pair delivered after that core's window
  closed (the NoC's late flag, docs/explanation/domain-rules.md "Traffic and NoC") does not
  reach the core's neurons; they are re-simulated without it
  (:func:`canmore_sim.cores.resim.resimulate_dta`), which changes the next layers' spikes and
  traffic.
* ``arrival``: packets carry no timestamp, so every input takes effect when it arrives:
  its TTFS time plus its network latency, ns converted to model time units by
  ``Tw / window_ns`` (the inverse of the pipeline's ``t_ns = t x window_ns / Tw``); a
  pair delivered after the window is lost as in ``drop-late``.

Since a frame is replayed as a whole, the loop is a fixed-point iteration: replay the
traffic of the current spikes, take the late pairs (and, for ``arrival``, every pair's
latency), re-simulate, replay again, until the pairs the spikes were computed from are
those the replay of these spikes gives (a consistent run of the chip) or
``run.timing_max_iterations`` replays were made. The result is the last iteration's
spikes together with its own replay, so the energy priced is that of the traffic and
SOPs of the spikes reported.

Which pairs are lost in iteration k + 1 (``run.timing_update``):

* ``accumulate`` (default): every pair late in any replay so far. The lost set only
  grows and is bounded by the pairs of the run, so the iteration always terminates (at
  most one replay per newly lost pair, and in practice a few); its fixed point is
  pessimistic: a pair late under the heavier traffic of an early iteration stays lost.
* ``recompute``: exactly the pairs late in replay k. A fixed point is then a
  self-consistent run, the one the chip performs: the pairs lost are exactly the late ones
  of that run's own traffic. A pair late in k and on time in k + 1 reaches its core again.
  Losing spikes usually thins the traffic and so shortens the waits; when it does not
  settle (an oscillation) the cap stops it and the report says no fixed point was reached.

A pair is identified by (source layer, frame, source neuron, destination core), so a
neuron whose spike time moves between iterations keeps its identity.

Chunked map runs (:mod:`canmore_sim.chunked.run`) run the loop on each chunk of
``run.chunk_frames`` frames separately. Frames are independent in the NoC (each is
replayed alone) and in the neurons, so a frame's iterations depend on its own pairs only:

* under ``drop-late`` with ``accumulate`` a frame whose lost set stopped growing is
  unchanged by further iterations, and a frame that does not settle runs to the same cap
  in any chunk, so every per-frame figure does not depend on the chunking (the same as one
  chunk of all frames). The same holds for ``arrival`` with ``accumulate`` when every
  chunk reaches its fixed point (a chunk that stops on a cycle or at the cap stops where
  its own frames' inputs repeat, which depends on which frames share it);
* under ``recompute`` a chunk stops at its first cycle or fixed point, so with
  oscillating frames the results depend on which frames share a chunk. Chunk boundaries
  depend on the frame count and ``run.chunk_frames`` only, so any number of workers still
  gives identical results.

How the whole-run figures of the chunks merge (:mod:`canmore_sim.chunked.timing`): per-frame
rows are concatenated; ``iterations`` is the most any chunk made, ``fixed_point`` whether
every chunk reached its own, ``cycle`` the longest period; ``history[k]`` adds up every
chunk's replay ``k`` (a chunk that stopped earlier counts with its last replay, which
repeats unchanged past a fixed point) and recomputes the accuracy over all frames;
``delay_mean`` is the sum of the per-frame delay sums over the sum of the per-frame
counts. Under ``drop-late`` with ``accumulate`` these equal the one-chunk run's figures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.cores.models import resolve_dta_rule
from canmore_sim.cores.resim import CoreInputs, resimulate_dta
from canmore_sim.cores.resim_stepped import STEPPED_MODELS, resimulate_stepped
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.errors import ConfigError
from canmore_sim.mapper.connectivity import LayerLinks
from canmore_sim.mapper.placement import Mapping
from canmore_sim.models.graph import LayerGraph
from canmore_sim.noc.stats import NocStats
from canmore_sim.noc.traffic import Traffic
from canmore_sim.run.frame_noc import FrameNoc, simulate_frames
from canmore_sim.run.timing import TimingResult, delay_means
from canmore_sim.utils.progress import ProgressCallback

if TYPE_CHECKING:
    pass

__all__ = ["check_timing", "close_loop"]

#: Neuron models the closed loop re-simulates.
SUPPORTED_MODELS = ("dta-ttfs", *STEPPED_MODELS)


def check_timing(config: ArchConfig, model: str) -> None:
    """Refuse a closed-loop mode for a neuron model it cannot re-simulate.

    Raises
    ------
    ConfigError
        Naming the model and the mode (one line).
    """
    mode = config.run.timing
    if mode != "ideal" and model not in SUPPORTED_MODELS:
        raise ConfigError(
            f"run.timing {mode} re-simulates {', '.join(SUPPORTED_MODELS)} only; neuron "
            f"model {model} runs under run.timing: ideal", key="run.timing", value=mode)
    if mode != "ideal" and config.neuron.input_encoding == "direct":
        raise ConfigError(f"run.timing {mode} re-simulates cores from TTFS-encoded inputs; "
                          "neuron.input_encoding: direct runs under run.timing: ideal",
                          key="run.timing", value=mode)


def close_loop(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
               config: ArchConfig, ideal: SpikeTrace, mapping: Mapping,
               links: list[LayerLinks], engine: Callable[..., NocStats],
               progress: ProgressCallback | None = None
               ) -> tuple[SpikeTrace, FrameNoc, TimingResult]:
    """Iterate replay -> lost pairs -> re-simulation to a fixed point (module docstring).

    Parameters
    ----------
    graph
        The network that runs (quantized weights).
    frames, labels
        The run's frames.
    config
        ``run.timing``, ``run.timing_update``, ``run.timing_max_iterations``,
        ``run.timing_substeps`` and the chip.
    ideal
        ``graph``'s ideal trace on ``frames``.
    mapping, links, engine, progress
        As for :func:`~canmore_sim.run.frame_noc.simulate_frames`.

    Returns
    -------
    (trace, noc, timing)
        The final spikes, their replay, and what the loop did.

    Raises
    ------
    ConfigError
        For ``run.timing: ideal`` or an unsupported neuron model.
    """
    if config.run.timing == "ideal":
        raise ConfigError("close_loop needs run.timing drop-late or arrival",
                          key="run.timing", value="ideal")
    check_timing(config, config.neuron.model)
    return _Loop(graph, frames, labels, config, ideal, mapping, links, engine, progress).run()


class _Loop:
    def __init__(self, graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
                 config: ArchConfig, ideal: SpikeTrace, mapping: Mapping,
                 links: list[LayerLinks], engine: Callable[..., NocStats],
                 progress: ProgressCallback | None) -> None:
        self.graph, self.frames, self.labels, self.config = graph, frames, labels, config
        self.ideal, self.mapping, self.links, self.engine = ideal, mapping, links, engine
        self.progress = progress
        self.arrival = config.run.timing == "arrival"
        self.stepped = config.neuron.model in STEPPED_MODELS
        slots = config.neuron.steps if self.stepped else 1  # one spike per neuron in DTA-TTFS
        self.sizes = [slots * int(np.prod(graph.input_shape))] + [
            slots * int(np.prod(layer.spike_shape)) for layer in graph.layers[:-1]]

    def run(self) -> tuple[SpikeTrace, FrameNoc, TimingResult]:
        depth, run = self.graph.depth, self.config.run
        trace = self.ideal
        used: _Inputs = ([np.zeros(0, np.int64) for _ in range(depth)],
                         [(np.zeros(0, np.int64), np.zeros(0)) for _ in range(depth)])
        seen = {_digest(used): 0}  # the inputs each iteration's spikes were computed from
        history: list[dict[str, object]] = []
        fixed, cycle, first = False, 0, None
        for it in range(1, run.timing_max_iterations + 1):
            noc, pairs = self._replay(trace)
            first = noc if first is None else first
            late = [p.key[p.late] for p in pairs]
            lost = ([np.union1d(a, b) for a, b in zip(used[0], late, strict=True)]
                    if run.timing_update == "accumulate" else late)
            shift = [_shifts(p, k) if self.arrival else (np.zeros(0, np.int64), np.zeros(0))
                     for p, k in zip(pairs, lost, strict=True)]
            history.append(self._record(trace, late, used[0]))
            key = _digest((lost, shift))
            fixed = seen.get(key) == it - 1
            if key in seen and not fixed:  # back to the inputs of an earlier iteration
                cycle = it - seen[key]
            if fixed or cycle or it == run.timing_max_iterations:
                break
            seen[key] = it
            trace = self._resimulate(lost, shift)
            used = (lost, shift)
        delay_sum, delay_count = self._delays(pairs, trace.n_frames)
        timing = TimingResult(
            mode=run.timing, update=run.timing_update, iterations=len(history),
            fixed_point=fixed, cycle=cycle, ideal=self.ideal,
            lost=self._per_frame(used[0], trace.n_frames),
            late_pairs=self._per_frame(late, trace.n_frames),
            delay_mean=delay_means(delay_sum, delay_count),
            delay_sum=delay_sum, delay_count=delay_count,
            lost_pairs=tuple(_decode(k, self.sizes[l], self.mapping.n_cores)
                             for l, k in enumerate(used[0])),
            dropped=self._dropped(trace, used[0]),
            ideal_noc=first, history=history)
        return trace, noc, timing

    def _dropped(self, trace: SpikeTrace, lost: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        """Per source layer, bool ``(n_spikes, n_destination_cores)``: the (spike, core)
        pairs of ``trace`` that never reached that core's neurons (they are lost), so
        that the core makes no synaptic operation for them (``count_sops(dropped=)``)."""
        ids = _PairCollector(trace, self.mapping, self.config, self.sizes, self.stepped)
        out = []
        for l, (spikes, link) in enumerate(zip(trace.layers, self.links, strict=True)):
            spike = (spikes.frame.astype(np.int64) * self.sizes[l]
                     + ids.spike_ids(l, np.ones(len(spikes.frame), dtype=bool)))
            cores = np.asarray(link.dst_cores, dtype=np.int64)
            keys = spike[:, None] * self.mapping.n_cores + cores[None, :]
            out.append(np.isin(keys, lost[l]))
        return tuple(out)

    def _record(self, trace: SpikeTrace, late: list[np.ndarray],
                lost: list[np.ndarray]) -> dict[str, object]:
        return {"late": int(sum(len(k) for k in late)),
                "lost": int(sum(len(k) for k in lost)),
                "accuracy": trace.accuracy(),
                "changed": int(np.sum(trace.predictions != self.ideal.predictions))}

    def _replay(self, trace: SpikeTrace) -> tuple[FrameNoc, list[_Pairs]]:
        collect = _PairCollector(trace, self.mapping, self.config, self.sizes, self.stepped)
        noc = simulate_frames(trace, self.mapping, self.links, self.config, self.engine,
                              self.progress, on_frame=collect.add)
        return noc, collect.result()

    def _resimulate(self, lost: list[np.ndarray],
                    shift: list[tuple[np.ndarray, np.ndarray]]) -> SpikeTrace:
        """The spikes when ``lost`` pairs never arrive and ``shift`` pairs arrive late."""
        layers = []
        for l, (gone_keys, (late_keys, delay)) in enumerate(zip(lost, shift, strict=True)):
            keys = np.concatenate([gone_keys, late_keys])
            gone = np.arange(len(keys)) < len(gone_keys)
            delays = np.concatenate([np.zeros(len(gone_keys)), delay])
            frame, neuron, core = _decode(keys, self.sizes[l], self.mapping.n_cores)
            slot, neuron = self._slot(l, neuron)
            layers.append((frame, neuron, core, gone, delays, slot))
        inputs = CoreInputs(tuple(layers))
        if self.stepped:
            return resimulate_stepped(self.graph, self.frames, self.labels, self.config.neuron,
                                      self.mapping.groups, inputs)
        rule = resolve_dta_rule(self.graph, self.config.neuron)
        return resimulate_dta(self.graph, self.frames, self.labels, rule, self.mapping.groups,
                              inputs, substeps=self.config.run.timing_substeps)

    def _slot(self, l: int, spike: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(time step, neuron) of the spike ids ``slot * n_neurons + neuron`` of layer ``l``."""
        slots = self.config.neuron.steps if self.stepped else 1
        return np.divmod(spike, self.sizes[l] // slots)

    def _delays(self, pairs: list[_Pairs], n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """Per frame and layer, the sum and count of the in-time pairs' arrival delays
        (added in key order, which is the same within a frame in any chunk)."""
        total = np.zeros((n_frames, len(pairs)))
        count = np.zeros((n_frames, len(pairs)), dtype=np.int64)
        if not self.arrival:
            return total, count
        for l, p in enumerate(pairs):
            frame, _, _ = _decode(p.key[~p.late], self.sizes[l], self.mapping.n_cores)
            total[:, l] = np.bincount(frame, weights=p.delay[~p.late], minlength=n_frames)
            count[:, l] = np.bincount(frame, minlength=n_frames)
        return total, count

    def _per_frame(self, keys: list[np.ndarray], n_frames: int) -> np.ndarray:
        out = np.zeros((n_frames, len(keys)), dtype=np.int64)
        for l, k in enumerate(keys):
            frame, _, _ = _decode(k, self.sizes[l], self.mapping.n_cores)
            out[:, l] = np.bincount(frame, minlength=n_frames)
        return out


@dataclass(frozen=True, eq=False)
class _Pairs:
    """Every delivered (spike, destination core) pair of one source layer, sorted by key."""

    key: np.ndarray
    late: np.ndarray
    delay: np.ndarray


class _PairCollector:
    """Turns each frame's traffic rows back into (layer, frame, spike, core) pairs.

    A pair's spike id is ``slot * n_neurons + neuron`` (``slot``: the time step of a
    stepped model's spike, 0 for DTA-TTFS). ``late`` marks the pairs this replay loses:
    those delivered after their deadline, except under ``arrival`` for a stepped model,
    whose late pairs are integrated ``delay`` whole steps later and lost only past the
    last step. ``delay`` is the arrival delay in model time units (DTA-TTFS) or steps.
    """

    def __init__(self, trace: SpikeTrace, mapping: Mapping, config: ArchConfig,
                 sizes: list[int], stepped: bool) -> None:
        self.trace, self.sizes, self.n_cores = trace, sizes, mapping.n_cores
        self.depth = len(trace.layers)
        self.stepped, self.arrival = stepped, config.run.timing == "arrival"
        self.steps = config.neuron.steps if stepped else 1
        self.unit_ns = config.neuron.window / trace.tw
        self.step_ns = config.neuron.window / self.steps
        self.core_of_router = np.full(mapping.width * mapping.height, -1, dtype=np.int64)
        self.core_of_router[mapping.router] = np.arange(mapping.n_cores)
        self.parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(self.depth)]

    def add(self, f: int, traffic: Traffic, stats: NocStats) -> None:
        # spike ids follow build_traffic: each layer's spikes of the frame in trace order
        spike_of = np.concatenate([self._spike_ids(l, f) for l in range(self.depth)]
                                  + [np.zeros(0, np.int64)])
        layer = traffic.layer.astype(np.int64)
        keep = layer < self.depth  # readouts go to the I/O port, not to neurons
        spike, layer = traffic.spike[keep], layer[keep]
        core = self.core_of_router[traffic.dst[keep]]
        deliver, late = stats.deliver_ns[keep], stats.late[keep]
        if self.stepped:  # whole steps after the spike's own step
            over = (deliver - traffic.deadline_ns[keep]) / self.step_ns
            delay = np.where(late, np.ceil(over), 0.0)
        else:
            delay = (deliver - traffic.time_ns[keep]) / self.unit_ns
        for l in range(self.depth):
            sel = layer == l
            ids = spike_of[spike[sel]]
            lost = late[sel]
            if self.stepped and self.arrival:
                lost = ids // (self.sizes[l] // self.steps) + delay[sel] >= self.steps
            key = (f * self.sizes[l] + ids) * self.n_cores + core[sel]
            self.parts[l].append((key, lost, delay[sel]))

    def _spike_ids(self, l: int, f: int) -> np.ndarray:
        return self.spike_ids(l, self.trace.layers[l].frame == f)

    def spike_ids(self, l: int, sel: np.ndarray) -> np.ndarray:
        """Spike ids (``slot * n_neurons + neuron``) of the spikes ``sel`` of layer ``l``."""
        spikes = self.trace.layers[l]
        if not self.stepped:
            return spikes.neuron[sel]
        unit = self.trace.tw / self.steps  # pipelined schedule: t = (step + l + 1) unit
        slot = np.rint(spikes.time[sel] / unit).astype(np.int64) - l - 1
        return slot * (self.sizes[l] // self.steps) + spikes.neuron[sel]

    def result(self) -> list[_Pairs]:
        out = []
        for parts in self.parts:
            key, late, delay = (np.concatenate(c) for c in zip(*parts, strict=True)) if parts \
                else (np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0))
            order = np.argsort(key, kind="stable")
            out.append(_Pairs(key[order], late[order], delay[order]))
        return out


def _decode(keys: np.ndarray, size: int, n_cores: int) -> tuple[np.ndarray, ...]:
    """``(frame, neuron, core)`` of pair keys ``(frame * size + neuron) * n_cores + core``."""
    keys = np.asarray(keys, dtype=np.int64)
    spike, core = np.divmod(keys, n_cores)
    frame, neuron = np.divmod(spike, size)
    return frame, neuron, core


def _shifts(pairs: _Pairs, lost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys and delays of the pairs that are not lost and arrive after their TTFS time
    (what an arrival run depends on; a pair without delay is the ideal one)."""
    kept = ~np.isin(pairs.key, lost, assume_unique=True) & (pairs.delay != 0)
    return pairs.key[kept], pairs.delay[kept]


#: What a re-simulation is computed from: lost keys and (keys, delays) of shifted pairs,
#: per source layer.
_Inputs = tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]


def _digest(inputs: _Inputs) -> str:
    """SHA-256 of the inputs (equal digests: the same lost and shifted pairs, bit for bit)."""
    digest = hashlib.sha256()
    for keys in inputs[0]:
        digest.update(b"L" + np.ascontiguousarray(keys, dtype=np.int64).tobytes())
    for keys, delay in inputs[1]:
        digest.update(b"S" + np.ascontiguousarray(keys, dtype=np.int64).tobytes())
        digest.update(b"D" + np.ascontiguousarray(delay, dtype=np.float64).tobytes())
    return digest.hexdigest()
