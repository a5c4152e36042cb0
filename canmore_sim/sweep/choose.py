"""Choosing a design from a sweep: trust, objectives, Pareto fronts, the results table.

A point is *trusted* when it finished and its report raised no warning that its figures
mean something else than they say (:func:`canmore_sim.report.trust.result_warnings`):
more than ``report.late_warn_share`` late deliveries, or an accuracy more than
``report.accuracy_drop_warn`` below the float weights. Fronts are computed from trusted
points only; untrusted ones are drawn, marked, and never recommended.

Objectives: energy per frame, frame latency and area are minimized, accuracy maximized.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["OBJECTIVES", "hypervolume", "objective_matrix", "pareto_mask", "results_table",
           "sort_points", "trust_of"]

#: Objective name -> (point metric, sense: +1 minimize, -1 maximize, column title, scale, unit).
OBJECTIVES: dict[str, tuple[str, int, str, float, str]] = {
    "energy": ("energy_total_uj", 1, "energy", 1.0, "{unit}"),
    "latency": ("frame_latency_ns", 1, "latency", 1e-3, "us"),
    "area": ("area_mm2", 1, "area", 1.0, "mm2"),
    "accuracy": ("accuracy", -1, "accuracy", 100.0, "%"),
}


def trust_of(result: dict[str, Any]) -> tuple[bool, list[str]]:
    """Whether a point's figures can be trusted, and why not.

    Returns
    -------
    tuple
        ``(trusted, reasons)``: reasons are short phrases (``failed``, ``late 19.5 % >
        1 %``, ``accuracy drop 0.31 > 0.10``).
    """
    if result.get("status") != "done":
        return False, ["failed"]
    reasons = list((result.get("trust") or {}).get("reasons", []))
    return not reasons, reasons


def objective_matrix(results: Sequence[dict[str, Any]], names: Sequence[str]) -> np.ndarray:
    """``(n, k)`` float64, every objective turned into one to minimize (accuracy negated);
    NaN where a point has no value (failed, or the metric is missing)."""
    out = np.full((len(results), len(names)), np.nan)
    for i, r in enumerate(results):
        metrics = r.get("metrics") or {}
        for j, name in enumerate(names):
            key, sense = OBJECTIVES[name][:2]
            value = metrics.get(key)
            if value is not None:
                out[i, j] = sense * float(value)
    return out


def pareto_mask(values: np.ndarray, eligible: np.ndarray | None = None) -> np.ndarray:
    """Points no eligible point dominates (all objectives minimized).

    Parameters
    ----------
    values
        ``(n, k)`` objectives; a row with a NaN is never on the front.
    eligible
        Bool ``(n,)``: the points that may be on, or dominate (untrusted points are
        neither). Default: all.

    Returns
    -------
    numpy.ndarray
        Bool ``(n,)``; among equal rows all are on the front.
    """
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    ok = np.all(np.isfinite(values), axis=1)
    if eligible is not None:
        ok &= np.asarray(eligible, dtype=bool)
    front = np.zeros(len(values), dtype=bool)
    candidates = values[ok]
    for i in np.flatnonzero(ok):
        le = np.all(candidates <= values[i], axis=1)
        lt = np.any(candidates < values[i], axis=1)
        front[i] = not np.any(le & lt)
    return front


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Volume dominated by ``points`` (minimized) and bounded by ``reference``.

    Exact, by slicing along the first objective (HSO); fine for the few hundred points
    and up to four objectives of a sweep. Points not strictly better than the reference in
    every objective add nothing.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, len(reference))
    ref = np.asarray(reference, dtype=np.float64)
    pts = pts[np.all(np.isfinite(pts), axis=1) & np.all(pts < ref, axis=1)]
    if not len(pts):
        return 0.0
    pts = pts[pareto_mask(pts)]
    return _hso(pts, ref)


def _hso(pts: np.ndarray, ref: np.ndarray) -> float:
    if pts.shape[1] == 1:
        return float(ref[0] - pts[:, 0].min())
    order = np.argsort(pts[:, 0], kind="stable")
    pts = pts[order]
    volume = 0.0
    for i in range(len(pts)):
        upper = pts[i + 1, 0] if i + 1 < len(pts) else ref[0]
        width = upper - pts[i, 0]
        if width <= 0:
            continue
        rest = pts[: i + 1, 1:]
        rest = rest[pareto_mask(rest)]
        volume += width * _hso(rest, ref[1:])
    return volume


def sort_points(results: Sequence[dict[str, Any]], objective: str) -> list[int]:
    """Indices of ``results`` best first by ``objective``: trusted points before untrusted,
    failed last, ties by point index."""
    column = objective_matrix(results, [objective])[:, 0]

    def key(i: int) -> tuple[int, float, int]:
        trusted, _ = trust_of(results[i])
        value = column[i]
        rank = 0 if trusted else (2 if results[i].get("status") != "done" else 1)
        return rank, value if np.isfinite(value) else np.inf, int(results[i]["index"])

    return sorted(range(len(results)), key=key)


def results_table(results: Sequence[dict[str, Any]], axes: Sequence[str], objective: str,
                  unit: str = "uJ") -> list[str]:
    """The sweep's results as aligned text lines, one row per point, sorted by
    ``objective`` (see :func:`sort_points`): the axes, energy, latency, area, accuracy,
    late share and whether the point is trusted (with the reason when not)."""
    front = pareto_mask(objective_matrix(results, list(OBJECTIVES)),
                        np.array([trust_of(r)[0] for r in results]))
    header = ["point", *(a.split(".")[-1] for a in axes), f"energy {unit}", "latency us",
              "area mm2", "accuracy %", "late %", "trusted", "front"]
    rows = []
    for i in sort_points(results, objective):
        r = results[i]
        m = r.get("metrics") or {}
        trusted, reasons = trust_of(r)
        rows.append([str(r["index"]), *(str(r["values"].get(a, "")) for a in axes),
                     _num(m.get("energy_total_uj")),
                     _num(m.get("frame_latency_ns"), 1e-3, "{:,.2f}"),
                     _num(m.get("area_mm2"), 1.0, "{:,.2f}"),
                     _num(m.get("accuracy"), 100.0, "{:.1f}"),
                     _num(m.get("late_share"), 100.0, "{:.2f}"),
                     "yes" if trusted else "NO: " + "; ".join(reasons),
                     "*" if front[i] else ""])
    widths = [max(len(h), *(len(row[c]) for row in rows)) if rows else len(h)
              for c, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    return lines


def _num(value: Any, scale: float = 1.0, fmt: str | None = None) -> str:
    if value is None or not np.isfinite(float(value)):
        return "-"
    v = float(value) * scale
    if fmt is not None:
        return fmt.format(v)
    return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
