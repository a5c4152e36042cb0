"""Per-delivery latencies as exact counts in whole-nanosecond bins, dense and additive.

A run over many frames keeps every delivery's latency without keeping the latencies:
``(2, k)`` int64 arrays of (bin, count) columns, bins ascending, bin ``b`` holding the
latencies in ``[b, b + 1) x LATENCY_BIN_NS``. Bins are counted with ``np.bincount`` over
the span of bins that occur (no sort: a VGG16 frame's 1.5 M deliveries span a few
thousand bins), and sparse arrays are added the same way; a span far wider than the
number of values (a pathological latency) falls back to a sort, with the same result.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LATENCY_BIN_NS", "BinCounts", "bins_histogram", "latency_bins", "merge_bins"]

#: Width of one latency bin, ns.
LATENCY_BIN_NS = 1.0

#: Bins a dense count may span beyond the number of values counted (8 MB of int64).
_DENSE_SLACK = 1 << 20
#: Most bins a running dense count holds (512 MB of int64); beyond, it adds sparsely.
_DENSE_MAX = 1 << 26


def latency_bins(deliver_ns: np.ndarray, inject_ns: np.ndarray) -> np.ndarray:
    """``(2, k)`` int64 (bin, count) of every finite latency ``deliver - inject`` (ns), in
    :data:`LATENCY_BIN_NS` bins: the bins ``floor(latency / LATENCY_BIN_NS)`` that occur,
    ascending, with how many latencies fall in each.

    Computed a chunk of rows at a time, twice (the lowest and highest bin, then the
    counts of a dense array spanning them): no full-size temporary (VGG16's 1.5 M
    deliveries: a few thousand to a million bins, 8 bytes each). Exact: the bins are
    integers computed row by row as one pass computes them (a division by
    ``LATENCY_BIN_NS = 1.0`` changes no float64 value, so it is made only for another
    width), and integer counts add up the same in any order. Bins spread far wider than
    their number are counted by a sort of all of them instead.
    """
    n = len(deliver_ns)
    ranges: list[tuple[int, int]] = []  # lowest and highest bin of each chunk (or none)
    finite = 0
    for part in _chunks(n):
        bins = _bins(deliver_ns[part], inject_ns[part])
        finite += len(bins)
        ranges.append((int(bins.min()), int(bins.max())) if len(bins) else (0, -1))
    if not finite:
        return np.zeros((2, 0), dtype=np.int64)
    low = min(lo for lo, hi in ranges if hi >= lo)
    high = max(hi for lo, hi in ranges if hi >= lo)
    if high - low > finite + _DENSE_SLACK:
        every = np.concatenate([_bins(deliver_ns[part], inject_ns[part]) for part in _chunks(n)])
        return _sorted_counts(every, None)
    counts = np.zeros(high - low + 1, dtype=np.int64)
    for part, (lo, hi) in zip(_chunks(n), ranges, strict=True):
        if hi >= lo:  # each chunk's counts go to the span of its own bins
            bins = _bins(deliver_ns[part], inject_ns[part])
            bins -= lo
            counts[lo - low:hi - low + 1] += np.bincount(bins, minlength=hi - lo + 1)
    occupied = np.flatnonzero(counts)
    return np.stack([occupied.astype(np.int64) + low, counts[occupied]])


#: Rows per chunk of :func:`latency_bins`.
_STEP = 1 << 17


def _chunks(n: int) -> list[slice]:
    return [slice(first, first + _STEP) for first in range(0, n, _STEP)]


def _bins(deliver_ns: np.ndarray, inject_ns: np.ndarray) -> np.ndarray:
    """int64 ``floor((deliver - inject) / LATENCY_BIN_NS)`` of the finite latencies."""
    latency = np.subtract(deliver_ns, inject_ns, dtype=np.float64)
    finite = np.isfinite(latency)
    if not finite.all():
        latency = latency[finite]
    if LATENCY_BIN_NS != 1.0:
        np.divide(latency, LATENCY_BIN_NS, out=latency)
    np.floor(latency, out=latency)
    return latency.astype(np.int64)


def bins_histogram(pairs: np.ndarray, n_bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """``(edges_ns, counts)``: ``n_bins`` equal bins of whole :data:`LATENCY_BIN_NS` bins
    each over the exact counts ``pairs`` (``(2, k)`` (bin, count), as :func:`merge_bins`
    gives), from the lowest bin to past the highest; counts int64, edges float64 ns."""
    if pairs.shape[1] == 0:
        return np.zeros(n_bins + 1), np.zeros(n_bins, dtype=np.int64)
    low, high = int(pairs[0].min()), int(pairs[0].max()) + 1
    width = max(1, -(-(high - low) // n_bins))
    edges = (low + np.arange(n_bins + 1, dtype=np.float64) * width) * LATENCY_BIN_NS
    counts = np.bincount((pairs[0] - low) // width, weights=pairs[1],
                         minlength=n_bins).astype(np.int64)
    return edges, counts


def merge_bins(parts: list[np.ndarray]) -> np.ndarray:
    """Add ``(2, k)`` arrays of (bin, count) columns into one, bins ascending."""
    if not parts:
        return np.zeros((2, 0), dtype=np.int64)
    both = np.concatenate(parts, axis=1)
    return _counted(both[0], both[1])


def _counted(bins: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """The distinct ``bins`` ascending with their number (or summed ``weights``)."""
    if not len(bins):
        return np.zeros((2, 0), dtype=np.int64)
    low, high = int(bins.min()), int(bins.max())
    if high - low > len(bins) + _DENSE_SLACK:
        return _sorted_counts(bins, weights)
    offset = bins - low
    counts = (np.bincount(offset) if weights is None
              else _exact_bincount(offset, weights, high - low + 1))
    occupied = np.flatnonzero(counts)
    return np.stack([occupied.astype(np.int64) + low, counts[occupied].astype(np.int64)])


def _exact_bincount(offset: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """int64 sums of non-negative integer ``weights`` per offset, exact: through float64
    (np.bincount) while every sum stays below 2**53, where float64 holds integers exactly,
    else by integer adds (``np.add.at``, about 20x slower)."""
    weights = weights.astype(np.int64, copy=False)
    if len(weights) and int(weights.min()) >= 0 and int(weights.sum()) < 2**53:
        return np.bincount(offset, weights=weights, minlength=size).astype(np.int64)
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, offset, weights)
    return out


def _sorted_counts(bins: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """As :func:`_counted`, by a sort (for bins spread far wider than their number)."""
    values, where = np.unique(bins, return_inverse=True)
    counts = (np.bincount(where, minlength=len(values)) if weights is None
              else _exact_bincount(where, weights, len(values)))
    return np.stack([values.astype(np.int64), counts.astype(np.int64)])


class BinCounts:
    """A running sum of ``(2, k)`` (bin, count) arrays, held densely from the lowest bin
    seen (a run's parent adds every chunk's bins: VGG16's chunks hold about 3.5 M bins
    each, and adding them to a dense array takes a bincount, not a sort of all of them).
    :meth:`pairs` gives what :func:`merge_bins` of every array added gives."""

    def __init__(self) -> None:
        self.low = 0
        self.counts = np.zeros(0, dtype=np.int64)
        self.sparse: np.ndarray | None = None  # bins spread too wide for a dense array

    def add(self, pairs: np.ndarray) -> None:
        """Add the counts of ``pairs`` (bins ascending or not)."""
        if not pairs.shape[1]:
            return
        if self.sparse is not None:
            self.sparse = merge_bins([self.sparse, pairs])
            return
        low, high = int(pairs[0].min()), int(pairs[0].max())
        if self.counts.size:
            low, high = min(low, self.low), max(high, self.low + len(self.counts) - 1)
        if high - low >= _DENSE_MAX:
            self.sparse = merge_bins([self.pairs(), pairs])
            return
        if not self.counts.size or low < self.low or high >= self.low + len(self.counts):
            grown = np.zeros(high - low + 1, dtype=np.int64)
            grown[self.low - low:self.low - low + len(self.counts)] = self.counts
            self.low, self.counts = low, grown
        self.counts += _exact_bincount(pairs[0] - self.low, pairs[1], len(self.counts))

    def pairs(self) -> np.ndarray:
        """The sum as ``(2, k)`` int64 (bin, count) of the bins with a count, ascending."""
        if self.sparse is not None:
            return self.sparse
        occupied = np.flatnonzero(self.counts)
        return np.stack([occupied.astype(np.int64) + self.low, self.counts[occupied]])
