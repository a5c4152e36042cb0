"""Progress of long work, as plain events: which stage runs, and how far it is.

The library reports progress by calling a :data:`ProgressCallback` with a
:class:`StageEvent`; it never prints. The CLI renders the events (a live line on a
terminal, nothing with ``--quiet`` or when stderr is not a terminal). This module
imports nothing heavy, so the CLI can use it before any stage is loaded.

Every stage sends a start event (``done == 0``) and an end event (``done == total``);
the NoC replay also sends events in between, ``done`` = packets (traffic rows)
delivered of ``total``, in chunks of the engine's choosing (no per-packet cost). A
chunked map run (:mod:`canmore_sim.chunked.run`) sends ``chunks`` events: ``done`` = frames
finished (reused ones included) of ``total``, after every chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["STAGES", "ProgressCallback", "StageEvent", "stage"]

#: Stage names and their labels, in the order a ``map`` run passes through them
#: (``model``, ``frames`` and ``report`` are the CLI's own stages; the rest are the
#: pipeline's; ``traffic`` and ``noc`` repeat once per frame).
STAGES: dict[str, str] = {
    "model": "model build",
    "frames": "frames loading",
    "quantize": "weight quantization",
    "mapping": "partition + placement",
    "neurons": "neuron simulation",
    "sops": "connectivity + SOP counts",
    "traffic": "traffic building",
    "noc": "NoC replay",
    "chunks": "simulating frames",
    "energy": "energy",
    "report": "report files",
}


@dataclass(frozen=True)
class StageEvent:
    """How far one stage of a run is.

    Attributes
    ----------
    stage
        A key of :data:`STAGES`.
    done, total
        Units of work done and in all (``0, 1`` at the start and ``1, 1`` at the end of
        most stages; packets delivered of the frame's packets for ``noc``).
    frame
        0-based frame of a per-frame stage (``traffic``, ``noc``), else None.
    n_frames
        Frames of the run.
    """

    stage: str
    done: int
    total: int
    frame: int | None = None
    n_frames: int = 1

    @property
    def finished(self) -> bool:
        """Whether this is the stage's end event."""
        return self.done >= self.total


#: What the pipeline calls with every event.
ProgressCallback = Callable[[StageEvent], None]


@contextmanager
def stage(progress: ProgressCallback | None, name: str, n_frames: int,
           frame: int | None = None) -> Iterator[None]:
    """Send the start and end events of stage ``name`` around its work."""
    if progress is not None:
        progress(StageEvent(name, 0, 1, frame, n_frames))
    yield
    if progress is not None:
        progress(StageEvent(name, 1, 1, frame, n_frames))
