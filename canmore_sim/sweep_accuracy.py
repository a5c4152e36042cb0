"""The trade-off curve of a closed-loop sweep: on-chip accuracy against energy per frame.

Written by a sweep (``accuracy_energy.png``) when any finished point ran under
``run.timing: drop-late`` or ``arrival`` (its ``accuracy_on_chip`` metric). Every point is
one marker, labelled with its swept values; the points no other point beats in both
(higher accuracy at no more energy, or less energy at no lower accuracy) are joined: the
designs an architect chooses from. The ideal accuracy of the same weights on the same
frames (the network's answer when every spike is in time) is the dashed line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from canmore_sim.plots import _figure, _figure_bytes

__all__ = ["accuracy_energy_figure", "accuracy_energy_png", "accuracy_front",
           "has_on_chip_accuracy"]


def has_on_chip_accuracy(done: list[dict[str, Any]]) -> bool:
    """Whether any finished point recorded an on-chip accuracy."""
    return any(r.get("metrics", {}).get("accuracy_on_chip") is not None for r in done)


def accuracy_front(energy: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Boolean mask of the points no other point beats: no more energy and no lower
    accuracy, one of them strictly."""
    front = np.zeros(len(energy), dtype=bool)
    ok = np.isfinite(energy) & np.isfinite(accuracy)
    for i in np.flatnonzero(ok):
        beats = ok & (energy <= energy[i]) & (accuracy >= accuracy[i]) & (
            (energy < energy[i]) | (accuracy > accuracy[i]))
        front[i] = not beats.any()
    return front


def _column(done: list[dict[str, Any]], key: str) -> np.ndarray:
    values = [r["metrics"].get(key) for r in done]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def accuracy_energy_figure(done: list[dict[str, Any]]) -> Any:
    """On-chip accuracy (percent) against energy per frame of the finished points."""
    energy = _column(done, "energy_total_uj")
    on_chip = _column(done, "accuracy_on_chip") * 100.0
    ideal = _column(done, "accuracy") * 100.0
    units = sorted({str(r.get("energy_unit", "uJ")) for r in done})
    fig = _figure(7.0, 4.6)
    ax = fig.add_subplot()
    front = accuracy_front(energy, on_chip)
    ax.scatter(energy[~front], on_chip[~front], color="grey", label="sweep point")
    order = np.argsort(energy[front])
    ax.plot(energy[front][order], on_chip[front][order], "o-", color="crimson",
            label="trade-off front")
    for level in np.unique(ideal[np.isfinite(ideal)]):
        ax.axhline(level, color="steelblue", linestyle="--", linewidth=1,
                   label=f"ideal accuracy {level:.1f} %")
    varied = [k for k in dict.fromkeys(k for r in done for k in r["values"])
              if len({str(r["values"].get(k)) for r in done}) > 1]
    for r, x, y in zip(done, energy, on_chip, strict=True):
        if np.isfinite(x) and np.isfinite(y):
            label = ", ".join(f"{k.split('.')[-1]}={r['values'].get(k)}" for k in varied)
            ax.annotate(label, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(f"energy per frame, {' or '.join(units)}")
    ax.set_ylabel("on-chip accuracy, %")
    ax.set_ylim(-2, 102)
    ax.set_title("On-chip accuracy against energy (late spikes lost; upper left is better)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def accuracy_energy_png(done: list[dict[str, Any]]) -> bytes:
    """:func:`accuracy_energy_figure` as PNG bytes."""
    return _figure_bytes(accuracy_energy_figure(done))
