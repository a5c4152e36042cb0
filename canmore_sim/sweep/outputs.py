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
from canmore_sim.utils.atomic import atomic_write_bytes, atomic_write_text

__all__ = ["accuracy_energy_figure", "accuracy_energy_png", "accuracy_front",
           "has_on_chip_accuracy", "negligible", "pareto_figure", "pareto_front", "sweep_csv",
           "write_sweep_outputs"]

METRICS = ("energy_total_uj", "sops", "hops", "latency_mean_ns", "frame_latency_ns", "late",
           "wait_ns", "cores", "chips", "interchip_hops", "accuracy", "accuracy_on_chip")


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
    """sweep.csv, pareto.png (energy against frame latency), accuracy_energy.png (on-chip
    accuracy against energy, closed-loop timing only) and one PNG per axis."""
    out = Path(out)
    paths = [atomic_write_text(out / "sweep.csv", sweep_csv(results, axes))]
    done = [r for r in results if r["status"] == "done"]
    if not done:
        return paths
    paths.append(atomic_write_bytes(out / "pareto.png", _pareto_png(done)))
    if has_on_chip_accuracy(done):  # closed-loop timing: the accuracy/energy trade-off
        paths.append(atomic_write_bytes(out / "accuracy_energy.png", accuracy_energy_png(done)))
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


#: Relative spread below which a metric does not tell the points apart (no Pareto front).
NEGLIGIBLE_SPREAD = 1e-3


def negligible(values: np.ndarray) -> bool:
    """True when the finite ``values`` differ by less than :data:`NEGLIGIBLE_SPREAD` of
    their magnitude (or there are fewer than two): a front along them means nothing."""
    v = values[np.isfinite(values)]
    if len(v) < 2:
        return True
    scale = float(np.max(np.abs(v))) or 1.0
    return float(np.ptp(v)) / scale < NEGLIGIBLE_SPREAD


def _energy_unit(done: list[dict[str, Any]]) -> str:
    units = sorted({str(r.get("energy_unit", "uJ")) for r in done})
    return units[0] if len(units) == 1 else " or ".join(units) + " (by preset)"


def _pareto_png(done: list[dict[str, Any]]) -> bytes:
    return figure_bytes(pareto_figure(done))


def pareto_figure(done: list[dict[str, Any]]) -> Any:
    """Energy against frame latency of the finished points, the front marked where the
    points differ in both (see :func:`negligible`)."""
    energy = _column(done, "energy_total_uj")
    latency = _column(done, "frame_latency_ns") / 1000.0
    unit = _energy_unit(done)
    flat = [name for name, v in (("frame latency", latency), ("energy", energy))
            if negligible(v)]
    fig = new_figure(7.0, 4.6)
    ax = fig.add_subplot()
    if flat or " or " in unit:
        ax.scatter(latency, energy, color="steelblue", label="sweep point")
        if np.isfinite(energy).any() and " or " not in unit:
            best = int(np.nanargmin(energy))
            ax.scatter([latency[best]], [energy[best]], s=140, marker="*", color="crimson",
                       label="lowest energy", zorder=3)
        spread = ("; ".join(f"{name} spread {_spread(v, u)}" for name, v, u in
                            (("frame latency", latency, "us"), ("energy", energy, unit))))
        why = "mixed energy units" if " or " in unit else f"{' and '.join(flat)} about equal"
        ax.set_title(f"Energy against frame latency: no Pareto front ({why};\n{spread})",
                     fontsize=9)
    else:
        front = pareto_front(energy, latency) & np.isfinite(energy) & np.isfinite(latency)
        ax.scatter(latency[~front], energy[~front], color="grey", label="dominated")
        order = np.argsort(latency[front])
        ax.plot(latency[front][order], energy[front][order], "o-", color="crimson",
                label="Pareto front")
        ax.set_title("Energy against frame latency (lower left is better)", fontsize=9)
    for name, values, setter in (("frame latency", latency, ax.set_xlim),
                                 ("energy", energy, ax.set_ylim)):
        if name in flat:  # widen a flat axis so that its ticks differ without an offset
            centre = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
            half = max(abs(centre) * 0.01, 1e-9)
            setter(centre - half, centre + half)
    for r, x, y in zip(done, latency, energy, strict=True):
        ax.annotate(_label(r), (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("frame latency, us")
    ax.set_ylabel(f"energy per frame, {unit}")
    ax.legend(fontsize=7)
    return fig


def _spread(values: np.ndarray, unit: str) -> str:
    v = values[np.isfinite(values)]
    return f"{np.ptp(v):.3g} {unit}" if len(v) else "no values"


#: Metrics of the axis plots: (metric, scale, title in words, axis unit).
_AXIS_METRICS: tuple[tuple[str, float, str, str], ...] = (
    ("energy_total_uj", 1.0, "energy per frame", "{unit}"),
    ("hops", 1.0, "hops per frame", "hops"),
    ("frame_latency_ns", 1e-3, "frame latency", "us"),
    ("wait_sum_ns", 1e-6, "waiting per frame\n(summed over packets)", "ms"),
)

#: Older names of the axis metrics (point files written before a column was renamed).
_OLD_NAMES = {"wait_sum_ns": "wait_ns"}


def _axis_png(done: list[dict[str, Any]], axis: str) -> bytes:
    unit = _energy_unit(done)
    fig = new_figure(11, 3.2)
    values = [str(r["values"].get(axis)) for r in done]
    categories = list(dict.fromkeys(values))
    for i, (metric, scale, title, axis_unit) in enumerate(_AXIS_METRICS, start=1):
        ax = fig.add_subplot(1, len(_AXIS_METRICS), i)
        for cat_i, cat in enumerate(categories):
            points = [r for r, v in zip(done, values, strict=True) if v == cat]
            name = metric if any(metric in r["metrics"] for r in done) else _OLD_NAMES.get(
                metric, metric)
            ys = _column(points, name)
            ax.scatter([cat_i] * len(ys), ys * scale, s=14, color="steelblue")
        ax.set_xticks(range(len(categories)), categories, fontsize=7, rotation=30)
        ax.set_title(title, fontsize=8)
        ax.set_ylabel(axis_unit.format(unit=unit), fontsize=7)
        ax.set_xlabel(axis, fontsize=7)
    fig.suptitle(f"Sweep metrics against {axis}", fontsize=9)
    fig.tight_layout()
    return figure_bytes(fig)


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
    return figure_bytes(accuracy_energy_figure(done))
