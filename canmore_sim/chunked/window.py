"""The layer window of a chunked run (``neuron.window_ns: auto``, :mod:`canmore_sim.noc.window`).

One window holds for the whole run, whatever the chunks: it is the largest need over
every frame (a maximum, exact in any order). A run of one chunk derives it inside that
chunk (:func:`canmore_sim.run.pipeline.run`, from the frames it simulates anyway) and
hands the needs back with the chunk's counts; a run of several chunks first runs a
window pass (each chunk's neurons and needs, no replay; each chunk's needs are kept in
``work/window``, so a resumed run derives the window without simulating those frames
again, and its spikes in ``work/spikes`` within a budget, so the run pass does not
simulate its neurons again: :mod:`canmore_sim.chunked.spikes`) and gives every chunk the
number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from canmore_sim.chunked.files import chunk_identity, mapping_digest, write_chunk
from canmore_sim.chunked.runner import ChunkRunner
from canmore_sim.chunked.spikes import SPIKES_BUDGET_BYTES
from canmore_sim.chunked.task import chunk_task, window_task
from canmore_sim.config import ArchConfig
from canmore_sim.mapper.placement import Mapping
from canmore_sim.noc.window import AUTO, window_from_needs, with_window
from canmore_sim.run.provenance import fixed_window
from canmore_sim.utils.progress import stage

__all__ = ["run_early", "settle_window", "window_pass"]


def window_pass(runner: ChunkRunner, config: ArchConfig, mapping: Mapping
                ) -> tuple[ArchConfig, dict[str, Any] | None,
                           tuple[dict[str, Any], list[int]] | None]:
    """``config`` with the window derived over all chunks, its record, and the chunks run
    already (their configuration and indices, for :meth:`ChunkRunner.pass_`), for a run of
    several chunks under ``auto``; ``config``, None and None otherwise (a number, or one
    chunk that derives it itself).

    A chunk none of whose frames is replayed (``run.replay``) counts nothing that
    depends on the window: it runs now, once, under ``auto`` and hands back its needs
    (:func:`run_early`); only the chunks with replayed frames need a window pass
    (their neurons and needs) before they run with the window.
    """
    if config.neuron.window_ns != AUTO or len(runner.chunks) < 2:
        return config, None, None
    replaying = [bool(runner.plan.part(slice(i * runner.size, i * runner.size + len(c)))
                      .replayed.any()) for i, c in enumerate(runner.chunks)]
    # a traffic trace (map --trace) holds the times of the run's window: no early chunks
    early = ([] if runner.trace is not None else
             [i for i, busy in enumerate(replaying) if not busy])
    dumped = config.model_dump(mode="json")
    key = mapping_digest(mapping)
    identities = [chunk_identity(runner.common, kind="window", index=i, ids=chunk,
                                 chunk_frames=runner.size, config=dumped, mapping_key=key)
                  for i, chunk in enumerate(runner.chunks)]
    need = np.zeros(0)
    spikes = _SpikeFiles(runner, identities, keep=config.run.timing == "ideal")
    with stage(runner.progress, "window", len(runner.ids)):
        if early:
            need = run_early(runner, config, mapping, early)
        # each chunk's needs kept in work/window: a resumed run derives the same window
        # without simulating those frames again; its spikes in work/spikes, for the run
        for _, arrays in runner.each_chunk(
                "window", identities, [i for i in range(len(runner.chunks)) if i not in early],
                lambda i: window_task(i, runner.chunks[i], source=runner.source,
                                      model_identity=runner.model_identity, data=runner.data,
                                      config=dumped, mapping=mapping, keep_spikes=spikes.keep),
                keep=spikes.store):
            need = _largest(need, arrays["pair_need_ns"])
    spikes.found([i for i in range(len(runner.chunks)) if i not in early])
    window, record = window_from_needs(need, len(runner.ids), config)
    return with_window(config, window), record, (dumped, early) if early else None


def run_early(runner: ChunkRunner, config: ArchConfig, mapping: Mapping,
              indices: list[int]) -> np.ndarray:
    """Run (or reuse) the run pass's chunks ``indices`` before the others, under
    ``config`` (``neuron.window_ns: auto``: none of their frames is replayed, so nothing
    they count depends on the window, and each derives its frames' largest needs); those
    needs' maximum over the chunks (``(L,)``, ns). Their files are merged by the run
    pass (:meth:`ChunkRunner.pass_` given them as ``early``)."""
    dumped = config.model_dump(mode="json")
    key = mapping_digest(mapping)
    parts, identities = runner.identities("run", [dumped] * len(runner.chunks), key)
    need = np.zeros(0)
    for _, arrays in runner.each_chunk(
            "chunks", identities, indices,
            lambda i: chunk_task(i, runner.chunks[i], source=runner.source,
                                 model_identity=runner.model_identity, data=runner.data,
                                 config=dumped, mapping=mapping, mapping_key=key,
                                 replay=parts[i]), note=True):
        need = _largest(need, arrays["window_need_ns"])
    return need


class _SpikeFiles:
    """The spikes of the window pass's chunks, written to ``work/spikes`` (sealed with the
    chunk's window identity) while they fit :data:`SPIKES_BUDGET_BYTES`, and the files the
    run pass may take (``runner.spikes``). ``keep``: ask the chunks for their spikes (an
    ideal-timing run; a closed loop re-simulates its spikes anyway)."""

    def __init__(self, runner: ChunkRunner, identities: list[dict[str, str]],
                 keep: bool) -> None:
        self.runner, self.identities, self.keep = runner, identities, keep
        self.folder = runner.work / "spikes"
        self.left = SPIKES_BUDGET_BYTES

    def store(self, index: int, value: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Write chunk ``index``'s spikes (if they fit); the rest of ``value``."""
        kept = {k: v for k, v in value.items() if k.startswith("spikes_")}
        size = sum(v.nbytes for v in kept.values())
        if kept and size <= self.left:
            self.left -= size
            self.folder.mkdir(parents=True, exist_ok=True)
            write_chunk(self.folder / f"{index:05d}.npz", kept, self.identities[index])
        return {k: v for k, v in value.items() if not k.startswith("spikes_")}

    def found(self, indices: list[int]) -> None:
        """Offer the run pass every spike file of ``indices`` there is (this pass's, or an
        interrupted run's: verified when a chunk takes it)."""
        if self.keep:
            for i in indices:
                path = self.folder / f"{i:05d}.npz"
                if path.is_file():
                    self.runner.spikes[i] = (path, self.identities[i])


def _largest(need: np.ndarray, part: np.ndarray) -> np.ndarray:
    """The larger needs, layer by layer (an empty array: none yet)."""
    return part if need.size == 0 else need if part.size == 0 else np.maximum(need, part)


def settle_window(config: ArchConfig, record: dict[str, Any] | None,
                  merged: dict[str, Any]) -> tuple[ArchConfig, dict[str, Any]]:
    """The run's configuration with its window as a number, and the window's record: the
    window pass's, the one chunk's derivation (its needs, merged), or a fixed window's."""
    if record is not None:
        return config, record
    if config.neuron.window_ns == AUTO:
        n_frames = len(merged["ids"])
        window, record = window_from_needs(merged["window_need_ns"], n_frames, config)
        return with_window(config, window), record
    return config, fixed_window(config)
