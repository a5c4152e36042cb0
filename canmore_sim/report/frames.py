"""Which per-frame rows a page or a terminal shows: the first few and the extremes.

Every frame is in frames.csv; a report shows a bounded number of rows whatever the frame
count: the first ``first`` frames in run order, then the ``extremes`` frames with the
most energy and those with the most late deliveries (when any was late).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from canmore_sim.report.plots import frame_count

__all__ = ["EXTREME_FRAMES", "FIRST_FRAMES", "shown_frames", "shown_note"]

#: Rows shown in run order, and rows shown per extreme (most energy, most late).
FIRST_FRAMES = 20
EXTREME_FRAMES = 5


def _top(column: Any, count: int, n: int) -> list[int]:
    """The ``count`` frames with the largest positive values (ties: run order)."""
    if column is None:
        return []
    values = np.array([np.nan if v is None else v for v in column], dtype=np.float64)
    order = np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")[:count]
    return [int(i) for i in order if np.isfinite(values[i]) and values[i] > 0 and i < n]


def shown_frames(summary: dict[str, Any], first: int = FIRST_FRAMES,
                 extremes: int = EXTREME_FRAMES) -> list[tuple[int, str]]:
    """``(row, why)`` of every frame to show, in order: ``why`` is ``"first"``,
    ``"most energy"`` or ``"most late"``; a frame appears once (its first reason)."""
    n = frame_count(summary)
    rows = [(i, "first") for i in range(min(first, n))]
    if n <= first:
        return rows
    seen = {i for i, _ in rows}
    frames = summary["frames"]
    for key, why in (("energy_total_uj", "most energy"), ("late", "most late")):
        for i in _top(frames.get(key), extremes, n):
            if i not in seen:
                seen.add(i)
                rows.append((i, why))
    return rows


def shown_note(summary: dict[str, Any], shown: list[tuple[int, str]]) -> str:
    """One sentence: how many rows are shown of how many, and where all of them are."""
    n = frame_count(summary)
    if len(shown) >= n:
        return f"all {n:,} frames (also in frames.csv)"
    first = sum(why == "first" for _, why in shown)
    extra = [f"{sum(w == why for _, w in shown)} with the {why}"
             for why in ("most energy", "most late") if any(w == why for _, w in shown)]
    return (f"{len(shown):,} of {n:,} frames: the first {first}"
            f"{''.join(', ' + e for e in extra)}; frames.csv holds all {n:,} rows")
