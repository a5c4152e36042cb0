"""Dense latency bins give the values of the sort-based reference (np.unique), exactly."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.noc.bins import LATENCY_BIN_NS, latency_bins, merge_bins


def reference_bins(deliver_ns: np.ndarray, inject_ns: np.ndarray,
                   width: float = LATENCY_BIN_NS) -> np.ndarray:
    """The former definition: np.unique of the floored finite latencies, with counts."""
    latency = deliver_ns - inject_ns
    latency = latency[np.isfinite(latency)]
    bins, counts = np.unique(np.floor(latency / width).astype(np.int64),
                             return_counts=True)
    return np.stack([bins, counts.astype(np.int64)]) if len(bins) else np.zeros((2, 0), np.int64)


def reference_merge(parts: list[np.ndarray]) -> np.ndarray:
    both = np.concatenate(parts, axis=1)
    bins, where = np.unique(both[0], return_inverse=True)
    return np.stack([bins, np.bincount(where, weights=both[1], minlength=len(bins))
                     .astype(np.int64)])


def _latencies(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.integers(0, 3000))
    inject = rng.uniform(0, 500, n)
    scale = float(rng.choice([3.0, 50.0, 1e4, 1e9]))  # 1e9: a span wider than dense bins
    deliver = inject + rng.exponential(scale, n) * rng.choice([1.0, 0.1])
    if n and rng.random() < 0.5:
        deliver[rng.integers(0, n, 3)] = np.nan  # undelivered rows are not counted
        deliver[rng.integers(0, n, 2)] = np.inf
    if n and rng.random() < 0.3:
        deliver[rng.integers(0, n, 5)] -= 600.0  # negative latencies keep their bins
    return deliver, inject


@pytest.mark.parametrize("seed", range(60))
def test_bins_and_merge_equal_the_sorted_reference(seed: int, monkeypatch) -> None:
    """Also counted in chunks of 7 or 100 rows (odd seeds): the same bins."""
    from canmore_sim.noc import bins

    if seed % 2:
        monkeypatch.setattr(bins, "_STEP", (7, 100)[seed % 4 // 2])
    rng = np.random.default_rng(seed)
    parts, expected_parts = [], []
    for _ in range(int(rng.integers(1, 6))):
        deliver, inject = _latencies(rng)
        got, expected = latency_bins(deliver, inject), reference_bins(deliver, inject)
        assert got.dtype == np.int64 and got.shape == expected.shape
        assert np.array_equal(got, expected)
        parts.append(got)
        expected_parts.append(expected)
    merged = merge_bins(parts)
    assert merged.dtype == np.int64
    assert np.array_equal(merged, reference_merge(expected_parts))
    assert np.array_equal(merge_bins([merged, parts[0]]),
                          reference_merge([merged, parts[0]]))


@pytest.mark.parametrize("seed", range(10))
def test_another_bin_width_divides_first(seed: int, monkeypatch) -> None:
    """With bins other than 1 ns the latencies are divided by the width before the floor
    (1 ns skips the division, which changes no float64 value)."""
    from canmore_sim.noc import bins

    monkeypatch.setattr(bins, "LATENCY_BIN_NS", 2.5)
    deliver, inject = _latencies(np.random.default_rng(500 + seed))
    assert np.array_equal(bins.latency_bins(deliver, inject),
                          reference_bins(deliver, inject, 2.5))


def test_histogram_of_bins_spans_whole_bins() -> None:
    """40 equal bins of whole 1-ns bins from the lowest bin past the highest; every count in
    the bin holding it."""
    from canmore_sim.noc.bins import bins_histogram

    edges, counts = bins_histogram(np.array([[-3, 0, 80, 116], [2, 5, 1, 7]]))
    assert edges[0] == -3.0 and edges[1] - edges[0] == 3.0 and len(edges) == 41
    assert counts.dtype == np.int64 and counts.sum() == 15
    assert counts[0] == 2 and counts[1] == 5 and counts[27] == 1 and counts[39] == 7
    empty_edges, empty_counts = bins_histogram(np.zeros((2, 0), np.int64))
    assert len(empty_edges) == 41 and not empty_counts.any()


def test_empty_inputs() -> None:
    assert latency_bins(np.zeros(0), np.zeros(0)).shape == (2, 0)
    assert merge_bins([]).shape == (2, 0)
    assert merge_bins([np.zeros((2, 0), np.int64)]).shape == (2, 0)
    assert latency_bins(np.array([np.nan]), np.array([0.0])).shape == (2, 0)


def test_large_counts_stay_exact() -> None:
    """Counts beyond float64's exact integers add exactly."""
    big = np.array([[3, 7], [2**60, 5]], dtype=np.int64)
    merged = merge_bins([big, np.array([[3], [1]], dtype=np.int64)])
    assert merged.tolist() == [[3, 7], [2**60 + 1, 5]]


@pytest.mark.parametrize("seed", range(20))
def test_running_dense_counts_equal_the_merge(seed: int, monkeypatch) -> None:
    """Adding arrays one by one to BinCounts (growing down and up, and past its dense
    limit) gives merge_bins of them all."""
    from canmore_sim.noc import bins

    if seed % 4 == 3:
        monkeypatch.setattr(bins, "_DENSE_MAX", 50)  # switches to sparse adds midway
    rng = np.random.default_rng(100 + seed)
    running, parts = bins.BinCounts(), []
    for _ in range(int(rng.integers(1, 7))):
        deliver, inject = _latencies(rng)
        part = latency_bins(deliver, inject)
        running.add(part)
        parts.append(part)
        assert np.array_equal(running.pairs(), reference_merge(parts))
    assert running.pairs().dtype == np.int64
