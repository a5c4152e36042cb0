"""Sweep outputs: sweep.csv (one row per point) and PNG plots, written atomically."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.atomic import atomic_write_bytes, atomic_write_text
from canmore_sim.plots import _figure_bytes

__all__ = ["sweep_csv", "pareto_front", "write_sweep_outputs"]

METRICS = ("energy_total_uj", "sops", "packets", "deliveries", "hops", "latency_mean_ns",
           "frame_latency_ns", "late", "late_share", "wait_sum_ns", "wait_mean_ns", "cores",
           "chips", "interchip_hops")


def sweep_csv(results: list[dict[str, Any]], axes: list[str]) -> str:
    """One row per point: the swept values, status, metrics (energy terms included), error."""
    metric_keys = list(dict.fromkeys(
        k for r in results for k in r.get("metrics", {}) if k not in METRICS))
    columns = ["point", *axes, "status", *METRICS, *sorted(metric_keys), "error"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for r in results:
        metrics = r.get("metrics", {})
        row = [r["index"], *(r["values"].get(a, "") for a in axes), r["status"],
               *(metrics.get(k, "") for k in METRICS),
               *(metrics.get(k, "") for k in sorted(metric_keys)), r.get("error", "")]
        writer.writerow(row)
    return buffer.getvalue()


def pareto_front(energy: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """Boolean mask of the points no other point beats in both energy and latency."""
    n = len(energy)
    front = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = ((energy <= energy[i]) & (latency <= latency[i])
                     & ((energy < energy[i]) | (latency < latency[i])))
        front[i] = not dominated.any()
    return front


def write_sweep_outputs(results: list[dict[str, Any]], axes: list[str], out: str | Path
                        ) -> list[Path]:
    """sweep.csv, pareto.png (energy against frame latency) and one PNG per axis."""
    out = Path(out)
    paths = [atomic_write_text(out / "sweep.csv", sweep_csv(results, axes))]
    done = [r for r in results if r["status"] == "done"]
    if not done:
        return paths
    paths.append(atomic_write_bytes(out / "pareto.png", _pareto_png(done)))
    for axis in axes:
        paths.append(atomic_write_bytes(out / f"axis_{_safe(axis)}.png", _axis_png(done, axis)))
    return paths


def _column(done: list[dict[str, Any]], metric: str) -> np.ndarray:
    """One metric of every point as float64; a missing or null (non-finite) value is NaN."""
    values = [r["metrics"].get(metric) for r in done]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _label(r: dict[str, Any]) -> str:
    return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in r["values"].items())


def _pareto_png(done: list[dict[str, Any]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    energy = _column(done, "energy_total_uj")
    latency = _column(done, "frame_latency_ns") / 1000.0
    front = pareto_front(energy, latency) & np.isfinite(energy) & np.isfinite(latency)
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.add_subplot()
    ax.scatter(latency[~front], energy[~front], color="grey", label="dominated")
    order = np.argsort(latency[front])
    ax.plot(latency[front][order], energy[front][order], "o-", color="crimson",
            label="Pareto front")
    for r, x, y in zip(done, latency, energy, strict=True):
        ax.annotate(_label(r), (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("frame latency, us")
    ax.set_ylabel("energy per frame")
    ax.set_title("energy against latency (lower left is better)", fontsize=9)
    ax.legend(fontsize=7)
    return _figure_bytes(fig)


def _axis_png(done: list[dict[str, Any]], axis: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    shown = ("energy_total_uj", "hops", "frame_latency_ns", "wait_sum_ns")
    fig = Figure(figsize=(10, 2.8))
    values = [str(r["values"].get(axis)) for r in done]
    categories = list(dict.fromkeys(values))
    for i, metric in enumerate(shown, start=1):
        ax = fig.add_subplot(1, len(shown), i)
        for cat_i, cat in enumerate(categories):
            ys = _column([r for r, v in zip(done, values, strict=True) if v == cat], metric)
            ax.scatter([cat_i] * len(ys), ys, s=14)
        ax.set_xticks(range(len(categories)), categories, fontsize=7, rotation=30)
        ax.set_title(metric, fontsize=8)
        ax.set_xlabel(axis, fontsize=7)
    fig.tight_layout()
    return _figure_bytes(fig)
