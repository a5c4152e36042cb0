"""The layer window of a chunked run (``neuron.window_ns: auto``, :mod:`canmore_sim.noc.window`).

One window holds for the whole run, whatever the chunks: it is the largest need over
every frame (a maximum, exact in any order). A run of one chunk derives it inside that
chunk (:func:`canmore_sim.run.pipeline.run`, from the frames it simulates anyway) and
hands the needs back with the chunk's counts; a run of several chunks first runs a
window pass (each chunk's neurons and traffic, no replay) and gives every chunk the
number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from canmore_sim.chunked.runner import ChunkRunner
from canmore_sim.chunked.task import window_task
from canmore_sim.config import ArchConfig
from canmore_sim.mapper.placement import Mapping
from canmore_sim.noc.window import AUTO, window_from_needs, with_window
from canmore_sim.run.provenance import fixed_window
from canmore_sim.utils.progress import stage

__all__ = ["settle_window", "window_pass"]


def window_pass(runner: ChunkRunner, config: ArchConfig, mapping: Mapping
                ) -> tuple[ArchConfig, dict[str, Any] | None]:
    """``config`` with the window derived over all chunks, and its record, for a run of
    several chunks under ``auto``; ``config`` and None otherwise (a number, or one chunk
    that derives it itself)."""
    if config.neuron.window_ns != AUTO or len(runner.chunks) < 2:
        return config, None
    dumped = config.model_dump(mode="json")
    tasks = [window_task(i, chunk, source=runner.source, model_identity=runner.model_identity,
                         data=runner.data, config=dumped, mapping=mapping)
             for i, chunk in enumerate(runner.chunks)]
    need = np.zeros(0)
    with stage(runner.progress, "window", len(runner.ids)):
        for outcome in runner.outcomes(tasks):
            part = outcome.value["pair_need_ns"]
            need = part if need.size == 0 else np.maximum(need, part)
    window, record = window_from_needs(need, len(runner.ids), config)
    return with_window(config, window), record


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
