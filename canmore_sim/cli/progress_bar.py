"""The terminal progress display of the CLI (only the CLI renders; the library reports
:class:`~canmore_sim.utils.progress.StageEvent` s)."""

from __future__ import annotations

import time
from typing import TextIO

from canmore_sim.utils.progress import STAGES, StageEvent

__all__ = ["ProgressBar"]


def _eta(elapsed: float, done: int, total: int) -> str:
    """Time left at the rate so far, ``"    - s"`` before any progress."""
    return f"{elapsed / done * (total - done):5.1f} s" if done else "    - s"


class ProgressBar:
    """The stages of a run on a terminal, rendered from :class:`StageEvent`s.

    A stage outside the frame loop gets one line with its wall time when it ends; the
    frame loop (traffic building and NoC replay per frame) shares one live line with the
    frames done and their ETA, and during a replay the packets delivered of the frame's
    total with the replay's own ETA. Disabled (``--quiet``, stderr not a terminal), it
    writes nothing.
    """

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream, self.enabled = stream, enabled
        self._began: dict[str, float] = {}
        self._frames_start: float | None = None
        self._noc_start = 0.0
        self._chunk_first: int | None = None
        self._chunk_start = 0.0
        self._width = 0

    def __call__(self, event: StageEvent) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if event.stage == "chunks":
            self._chunks(event, now)
        elif event.frame is None:
            self._stage(event, now)
        else:
            self._frame(event, now)
        self.stream.flush()

    def _stage(self, event: StageEvent, now: float) -> None:
        label = STAGES.get(event.stage, event.stage)
        if event.done == 0:
            self._began[event.stage] = now
            self._line(f"{label} ...")
        elif event.finished:
            took = now - self._began.pop(event.stage, now)
            self._line(f"{label:<28}{took:8.2f} s", end=True)

    def _frame(self, event: StageEvent, now: float) -> None:
        if self._frames_start is None:
            self._frames_start = now
        frame, n = event.frame or 0, event.n_frames
        done = frame + (event.stage == "noc" and event.finished)
        elapsed = now - self._frames_start
        filled = int(30 * done / n)
        text = (f"simulating frames [{'#' * filled}{'.' * (30 - filled)}] {done}/{n}  "
                f"ETA {_eta(elapsed, done, n)}")
        if event.stage == "noc" and not event.finished:
            if event.done == 0:
                self._noc_start = now
            left = _eta(now - self._noc_start, event.done, event.total)
            text += (f"  frame {frame + 1}: NoC replay {event.done:,}/{event.total:,} packets"
                     f"  ETA {left}")
        elif not event.finished:
            text += f"  frame {frame + 1}: {STAGES.get(event.stage, event.stage)}"
        last = done == n and event.stage == "noc"
        if last:
            text += f"  ({elapsed:.2f} s)"
        self._line(text, end=last)

    def _chunks(self, event: StageEvent, now: float) -> None:
        """Frames done of all (chunks finished by the workers), frames/s and ETA."""
        if self._frames_start is not None:
            return  # this process runs the frames itself: the per-frame line says more
        if self._chunk_first is None:
            self._chunk_first, self._chunk_start = event.done, now
        done, n = event.done, event.total
        elapsed = now - self._chunk_start
        fresh = done - self._chunk_first
        rate = fresh / elapsed if elapsed > 0 and fresh else 0.0
        eta = f"{(n - done) / rate:5.1f} s" if rate else "    - s"
        filled = int(30 * done / n) if n else 30
        text = (f"simulating frames [{'#' * filled}{'.' * (30 - filled)}] {done}/{n}  "
                f"{rate:5.1f} frames/s  ETA {eta}")
        if event.finished and fresh:
            text += f"  ({elapsed:.2f} s)"
        self._line(text, end=event.finished and fresh > 0)

    def _line(self, text: str, end: bool = False) -> None:
        """Rewrite the live line with ``text``; ``end`` keeps it and starts a new one."""
        self.stream.write("\r" + text.ljust(self._width) + ("\n" if end else ""))
        self._width = 0 if end else len(text)

    def note(self, text: str) -> None:
        """Write ``text`` on a line of its own, also when disabled (the live line, if any, is
        cleared and redrawn by the next event)."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End a live line left open (an interrupted run)."""
        if self.enabled and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0
