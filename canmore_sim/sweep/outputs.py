"""Sweep outputs: sweep.csv (one row per point) and PNG plots (the Pareto fronts and, when a
point ran under closed-loop timing, on-chip accuracy against energy per frame), written
atomically."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.report.figures import figure_bytes, new_figure
from canmore_sim.sweep.choose import OBJECTIVES, objective_matrix, pareto_mask, trust_of
from canmore_sim.sweep.plots import axis_figure, negligible, pareto_figure, place_labels
from canmore_sim.utils.atomic import atomic_write_bytes, atomic_write_text

__all__ = ["accuracy_energy_figure", "accuracy_energy_png", "accuracy_front",
           "has_on_chip_accuracy", "negligible", "pareto_figure", "pareto_front", "sweep_csv",
           "write_sweep_outputs"]

#: sweep.csv's fixed metric columns (means per frame, then the run's figures); the energy
#: terms and the confidence half-widths (``*_ci``) follow, sorted.
METRICS = ("energy_total_uj", "sops", "effective_sops", "hops", "latency_mean_ns",
           "frame_latency_ns", "late", "late_share", "wait_sum_ns", "cores", "chips",
           "area_mm2", "interchip_hops", "accuracy", "accuracy_on_chip")
#: Older names of metrics (point files written before a column was renamed).
_OLD_NAMES = {"wait_sum_ns": "wait_ns"}


def sweep_csv(results: list[dict[str, Any]], axes: list[str]) -> str:
    """One row per point: the swept values, status, whether its figures can be trusted
    (``trusted``: 1 or 0; ``trust``: why not: late share, accuracy drop, failed), whether it
    is on the Pareto front of the trusted points over energy, latency, area and accuracy
    (``front``), the metrics (energy terms and confidence half-widths included) and the
    error of a failed point."""
    metric_keys = sorted(dict.fromkeys(
        k for r in results for k in r.get("metrics", {})
        if k not in METRICS and k not in _OLD_NAMES.values()))
    trust = [trust_of(r) for r in results]
    front = pareto_mask(objective_matrix(results, list(OBJECTIVES)),
                        np.array([t for t, _ in trust], dtype=bool))
    columns = ["point", *axes, "status", "trusted", "trust", "front", *METRICS, *metric_keys,
               "error"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for r, (trusted, reasons), on_front in zip(results, trust, front, strict=True):
        metrics = r.get("metrics", {})
        row = [r["index"], *(r["values"].get(a, "") for a in axes), r["status"],
               int(trusted), "; ".join(reasons), int(on_front),
               *(_metric(metrics, k) for k in METRICS),
               *(metrics.get(k, "") for k in metric_keys), r.get("error", "")]
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def _metric(metrics: dict[str, Any], key: str) -> Any:
    value = metrics.get(key, metrics.get(_OLD_NAMES.get(key, key), ""))
    return "" if value is None else value


def pareto_front(energy: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """Boolean mask of the points no other point beats in both energy and latency."""
    return pareto_mask(np.stack([np.asarray(energy, dtype=np.float64),
                                 np.asarray(latency, dtype=np.float64)], axis=1))


def write_sweep_outputs(results: list[dict[str, Any]], axes: list[str], out: str | Path
                        ) -> list[Path]:
    """sweep.csv, pareto.png (energy against frame latency and area; fronts of trusted
    points), accuracy_energy.png (on-chip accuracy against energy, closed-loop timing
    only) and one PNG per axis (one line per combination of the other axes)."""
    out = Path(out)
    paths = [atomic_write_text(out / "sweep.csv", sweep_csv(results, axes))]
    done = [r for r in results if r["status"] == "done"]
    if not done:
        return paths
    paths.append(atomic_write_bytes(out / "pareto.png", figure_bytes(pareto_figure(done))))
    if has_on_chip_accuracy(done):  # closed-loop timing: the accuracy/energy trade-off
        paths.append(atomic_write_bytes(out / "accuracy_energy.png", accuracy_energy_png(done)))
    for axis in axes:
        paths.append(atomic_write_bytes(out / f"axis_{_safe(axis)}.png",
                                        figure_bytes(axis_figure(done, axis, axes))))
    return paths


def _column(done: list[dict[str, Any]], metric: str) -> np.ndarray:
    """One metric of every point as float64; a missing or null (non-finite) value is NaN."""
    values = [r["metrics"].get(metric) for r in done]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


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


def accuracy_energy_figure(done: list[dict[str, Any]]) -> Any:
    """On-chip accuracy (percent) against energy per frame of the finished points."""
    energy = _column(done, "energy_total_uj")
    on_chip = _column(done, "accuracy_on_chip") * 100.0
    ideal = _column(done, "accuracy") * 100.0
    units = sorted({str(r.get("energy_unit", "uJ")) for r in done})
    fig = new_figure(7.0, 4.6)
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
    ax.set_xlabel(f"energy per frame, {' or '.join(units)}")
    ax.set_ylabel("on-chip accuracy, %")
    ax.set_ylim(-2, 102)
    ax.set_title("On-chip accuracy against energy (late spikes lost; upper left is better)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    # front points first: where labels crowd, those of the front are kept
    first = np.concatenate([np.flatnonzero(front), np.flatnonzero(~front)])
    labels = [", ".join(f"{k.split('.')[-1]}={done[int(i)]['values'].get(k)}" for k in varied)
              for i in first]
    place_labels(fig, ax, np.stack([energy[first], on_chip[first]], axis=1), labels,
                 fontsize=6)
    return fig


def accuracy_energy_png(done: list[dict[str, Any]]) -> bytes:
    """:func:`accuracy_energy_figure` as PNG bytes."""
    return figure_bytes(accuracy_energy_figure(done))
