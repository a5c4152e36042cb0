"""Choosing from a sweep: Pareto fronts of trusted points, hypervolume, the results table."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from canmore_sim.sweep.choose import (
    hypervolume,
    objective_matrix,
    pareto_mask,
    results_table,
    sort_points,
    trust_of,
)


def _brute_front(values: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values), dtype=bool)
    for i in range(len(values)):
        if not eligible[i] or not np.isfinite(values[i]).all():
            continue
        out[i] = not any(eligible[j] and np.isfinite(values[j]).all()
                         and all(values[j] <= values[i]) and any(values[j] < values[i])
                         for j in range(len(values)))
    return out


@pytest.mark.parametrize("seed", range(25))
def test_pareto_mask_is_the_brute_force_front_of_eligible_points(seed) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 5))
    values = rng.integers(0, 5, size=(int(rng.integers(1, 30)), k)).astype(float)
    values[rng.random(values.shape) < 0.05] = np.nan
    eligible = rng.random(len(values)) < 0.7
    mask = pareto_mask(values, eligible)
    assert np.array_equal(mask, _brute_front(values, eligible))
    assert not (mask & ~eligible).any()


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_hypervolume_counts_the_dominated_unit_cells(k) -> None:
    rng = np.random.default_rng(k)
    for _ in range(10):
        pts = rng.integers(0, 5, size=(int(rng.integers(1, 10)), k)).astype(float)
        ref = np.full(k, 5.0)
        cells = sum(bool(np.any(np.all(pts <= np.array(c, dtype=float), axis=1)))
                    for c in itertools.product(range(5), repeat=k))
        assert hypervolume(pts, ref) == pytest.approx(cells)
    assert hypervolume(np.array([[6.0, 1.0]]), np.array([5.0, 5.0])) == 0.0


def _result(index, values, energy, latency, area, accuracy, late, reasons=(), status="done"):
    r = {"index": index, "values": values, "status": status}
    if status == "done":
        r["metrics"] = {"energy_total_uj": energy, "frame_latency_ns": latency,
                        "area_mm2": area, "accuracy": accuracy, "late_share": late}
        r["trust"] = {"trusted": not reasons, "reasons": list(reasons)}
    return r


RESULTS = [
    _result(0, {"mesh": "4x4", "router.buffer_depth": 1}, 10.0, 9000.0, 5.0, 0.9, 0.20,
            ["late 20.0 % > 1.0 %"]),
    _result(1, {"mesh": "4x4", "router.buffer_depth": 4}, 12.0, 5000.0, 5.5, 0.9, 0.0),
    _result(2, {"mesh": "8x8", "router.buffer_depth": 1}, 20.0, 4000.0, 20.0, 0.9, 0.0),
    _result(3, {"mesh": "8x8", "router.buffer_depth": 4}, 25.0, 4500.0, 22.0, 0.9, 0.0),
    {"index": 4, "values": {"mesh": "2x2", "router.buffer_depth": 4}, "status": "failed",
     "error": "boom"},
]


def test_untrusted_and_failed_points_never_lead_the_table_or_join_the_front() -> None:
    assert trust_of(RESULTS[0]) == (False, ["late 20.0 % > 1.0 %"])
    assert trust_of(RESULTS[4]) == (False, ["failed"])
    order = sort_points(RESULTS, "energy")
    assert order == [1, 2, 3, 0, 4]  # point 0 has the lowest energy, but is untrusted
    assert sort_points(RESULTS, "latency")[:3] == [2, 3, 1]
    trusted = np.array([trust_of(r)[0] for r in RESULTS])
    front = pareto_mask(objective_matrix(RESULTS, ["energy", "latency"]), trusted)
    assert front.tolist() == [False, True, True, False, False]
    lines = results_table(RESULTS, ["mesh", "router.buffer_depth"], "energy")
    assert len(lines) == 1 + len(RESULTS)
    header = lines[0].split()
    for column in ("point", "mesh", "buffer_depth", "energy", "latency", "area", "accuracy",
                   "late", "trusted"):
        assert column in header
    assert lines[1].split()[0] == "1" and lines[-1].split()[0] == "4"
    assert "NO: late 20.0 % > 1.0 %" in lines[-2] and "NO: failed" in lines[-1]
    assert lines[1].rstrip().endswith("*")  # point 1 is on the front
    assert objective_matrix(RESULTS, ["accuracy"])[1, 0] == -0.9  # maximized
