"""What the chip computes from a run's spike trace (a step of
:func:`canmore_sim.run.pipeline.run`): SOPs per core, the layer window (``neuron.window_ns:
auto`` derived from the traffic), then the NoC replay of the traffic (ideal timing) or the
closed loop (the spikes the chip computes, their traffic and SOPs)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.cores.effective import effective_tables
from canmore_sim.cores.stats import CoreStats, count_sops
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.mapper.placement import Mapping
from canmore_sim.models.graph import LayerGraph
from canmore_sim.noc.stats import NocStats
from canmore_sim.noc.traffic import Traffic
from canmore_sim.noc.window import derive_window
from canmore_sim.run.closed_loop import close_loop
from canmore_sim.run.frame_noc import FrameNoc, simulate_frames
from canmore_sim.run.timing import TimingResult
from canmore_sim.utils.memory import return_free_memory
from canmore_sim.utils.progress import ProgressCallback, stage

__all__ = ["ChipReplay", "ChipRun", "run_on_chip"]


@dataclass(frozen=True)
class ChipReplay:
    """How a run replays its traffic: the NoC engine, who else sees each frame's
    statistics, whether the quantized network's weights may go once SOPs are counted,
    where progress events go, who sees each frame's traffic (ideal timing only), and which
    frames are replayed (None: every frame; the others are counted without a replay)."""

    engine: Callable[..., NocStats]
    observer: Callable[[NocStats], None] | None
    release: bool
    progress: ProgressCallback | None
    traffic_observer: Callable[[int, Traffic], None] | None = None
    replayed: np.ndarray | None = None


@dataclass(frozen=True)
class ChipRun:
    """What the chip computed: the spikes (closed loop: as delivered), SOPs, NoC figures,
    the closed loop's timing and the SOPs of its ideal spikes (None: ideal timing), under
    ``config`` (its ``neuron.window_ns`` derived where it was ``auto``: ``window`` records
    how; None: the window was set as a number)."""

    trace: SpikeTrace
    cores: CoreStats
    noc: FrameNoc
    timing: TimingResult | None
    ideal_cores: CoreStats | None
    config: ArchConfig
    window: dict[str, Any] | None


def run_on_chip(quantized: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
                config: ArchConfig, mapping: Mapping, trace: SpikeTrace, how: ChipReplay
                ) -> ChipRun:
    """Count SOPs and replay the traffic through the NoC (ideal timing), or close the loop
    (the spikes the chip computes, their traffic and SOPs); a window still ``auto`` is
    derived from the traffic first."""
    with stage(how.progress, "sops", trace.n_frames):
        links = [layer_links(quantized, mapping.groups, l) for l in range(quantized.depth)]
        tables = effective_tables(quantized, mapping.groups)  # non-zero weights (NeuroBench)
        cores = count_sops(trace, mapping, links, effective=tables)
        config, window = derive_window(trace, mapping, links, config)  # "auto": from traffic
    if how.release:
        quantized.release_weights()  # what follows needs only the structure
        return_free_memory()
    if config.run.timing == "ideal":
        traffic = how.traffic_observer
        noc = simulate_frames(trace, mapping, links, config,
                              _observed(how.engine, how.observer), how.progress,
                              on_frame=None if traffic is None else (
                                  lambda f, frame_traffic, _stats: traffic(f, frame_traffic)),
                              replayed=how.replayed)
        return ChipRun(trace, cores, noc, None, None, config, window)
    last = _LastReplay(how.engine, trace.n_frames)
    chip_trace, noc, timing = close_loop(quantized, frames, labels, config, trace, mapping,
                                         links, last, how.progress)
    last.hand_to(how.observer)
    chip_cores = count_sops(chip_trace, mapping, links, dropped=timing.dropped,  # lost: no SOPs
                            effective=tables)
    return ChipRun(chip_trace, chip_cores, noc, timing, cores, config, window)


def _observed(engine: Callable[..., NocStats],
              observer: Callable[[NocStats], None] | None) -> Callable[..., NocStats]:
    """``engine``, handing each frame's statistics to ``observer`` too (when given)."""
    if observer is None:
        return engine

    def simulate(*args: Any, **kwargs: Any) -> NocStats:
        stats = engine(*args, **kwargs)
        observer(stats)
        return stats
    return simulate


class _LastReplay:
    """``engine``, keeping the statistics of the latest replay of all ``n_frames`` frames.

    The closed loop replays every frame once per iteration (in frame order); only the last
    replay is the run the chip made, so only its statistics go to a ``noc_observer``.
    """

    def __init__(self, engine: Callable[..., NocStats], n_frames: int) -> None:
        self._engine = engine
        self._last: deque[NocStats] = deque(maxlen=n_frames)

    def __call__(self, *args: Any, **kwargs: Any) -> NocStats:
        stats = self._engine(*args, **kwargs)
        self._last.append(stats)
        return stats

    def hand_to(self, observer: Callable[[NocStats], None] | None) -> None:
        """Give the last replay's statistics, frame by frame, to ``observer``."""
        if observer is not None:
            for stats in self._last:
                observer(stats)
        self._last.clear()
