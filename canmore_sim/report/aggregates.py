"""Aggregates over the frames of a run: mean, spread, confidence intervals, accuracy,
per-class figures and a histogram of energy per frame.

Everything here is computed from a summary's per-frame columns (report.json
``frames``) and nothing else, so the same call gives the same numbers on a run
summarized in one piece, on the merged summary of a run made of chunks, and on a
report.json read back from disk (older ones included). numpy only.

Formulas (``x_1 .. x_n``: the frames' values of one figure that have a value;
``c``: the confidence level, 0.95)::

    mean          m = (1/n) sum_i x_i
    std           s = sqrt( sum_i (x_i - m)^2 / (n - 1) )           (sample, ddof = 1)
    CI of mean    m -+ t_{(1+c)/2, n-1} s / sqrt(n)                 (Student's t)
    accuracy      p = k / n          (k correct of n labelled frames)
    Wilson CI     (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n),
                  z = Phi^{-1}((1+c)/2)

Why Wilson and not the normal approximation ``p -+ z sqrt(p(1-p)/n)``: test sets of a
few frames and accuracies near 1 are the usual case here, and there the normal
interval collapses to zero width at 0 or n correct (claiming certainty from 8
frames), crosses [0, 1], and covers the true accuracy far less often than c; the
Wilson score interval stays inside [0, 1], is never empty, and keeps close to its
nominal coverage for small n and extreme p (Brown, Cai and DasGupta, Statistical
Science 16(2), 2001).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from canmore_sim.errors import DataError
from canmore_sim.report.quantiles import check_probability, normal_quantile, t_quantile

__all__ = ["CONFIDENCE", "HIST_MAX_BINS", "aggregate", "energy_histogram", "metric_keys",
           "spread", "wilson_interval"]

#: Two-sided confidence level of every interval in the report.
CONFIDENCE = 0.95
#: Most bins of the energy histogram (numpy's "auto" rule can ask for more on a long tail).
HIST_MAX_BINS = 100
#: Per-frame figures that get a mean, spread and interval besides the energy columns.
TIMING_KEYS = ("frame_latency_ns", "latency_mean_ns", "late_share")
#: Columns every summary must hold to be aggregated.
_REQUIRED = ("data_index", "label", "prediction", "energy_total_uj")
#: Largest class number a label or prediction may hold.
_MAX_CLASS = 2 ** 31 - 1


# ----------------------------------------------------------------------------- statistics


def spread(values: Sequence[float | None] | np.ndarray,
           confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Mean, sample standard deviation, Student-t interval of the mean, min and max.

    Parameters
    ----------
    values
        One figure per frame (any unit; the results carry the same unit). ``None`` or
        NaN (a frame where the figure has no value) is left out and counted in
        ``missing``.
    confidence
        Two-sided confidence level, 0 < confidence < 1.

    Returns
    -------
    dict
        ``n`` (frames with a value), ``missing``, ``mean``, ``std`` (ddof = 1),
        ``ci_low``, ``ci_high``, ``ci_half_width`` (t_{(1+c)/2, n-1} std / sqrt(n)),
        ``min``, ``max``. With no value every figure is None; with one value ``std`` and
        the interval are None (one frame says nothing about the spread); with equal
        values the std is 0 and the interval has zero width; a figure that overflows
        float64 (values near 1e308) is None rather than infinite.
    """
    check_probability(confidence, "confidence")
    return _spread(_floats(values, "values"), confidence)


def _spread(column: np.ndarray, confidence: float) -> dict[str, Any]:
    x = column[np.isfinite(column)]
    n = int(x.size)
    out: dict[str, Any] = {"n": n, "missing": int(column.size - n), "mean": None, "std": None,
                           "ci_low": None, "ci_high": None, "ci_half_width": None,
                           "min": None, "max": None}
    if n == 0:
        return out
    low, high = float(x.min()), float(x.max())
    with np.errstate(over="ignore", invalid="ignore"):  # overflow (1e308s): no value
        mean = low if low == high else float(np.mean(x))
        out.update(mean=_finite(mean), min=low, max=high)
        if n == 1 or out["mean"] is None:
            return out
        std = 0.0 if low == high else float(np.std(x, ddof=1))
        half = t_quantile(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)
    if math.isfinite(half):
        out.update(std=std, ci_low=_finite(mean - half), ci_high=_finite(mean + half),
                   ci_half_width=half)
    return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def wilson_interval(correct: int, n: int,
                    confidence: float = CONFIDENCE) -> tuple[float | None, float | None]:
    """The Wilson score interval of a proportion ``correct / n``.

    Parameters
    ----------
    correct
        Successes (frames classified correctly), 0 <= correct <= n.
    n
        Trials (labelled frames), >= 0.
    confidence
        Two-sided confidence level, 0 < confidence < 1.

    Returns
    -------
    (float or None, float or None)
        Lower and upper bound, inside [0, 1]; exactly 0 as the lower bound at 0
        correct and exactly 1 as the upper at ``n`` correct; ``(None, None)`` for n = 0.
    """
    check_probability(confidence, "confidence")
    for name, value in (("correct", correct), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise DataError(f"Wilson interval: {name} must be an integer >= 0, got {value!r}")
    if correct > n:
        raise DataError(f"Wilson interval: {correct} correct of {n} frames is more than all")
    if n == 0:
        return None, None
    z = normal_quantile(0.5 + confidence / 2.0)
    p, z2 = correct / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = 0.0 if correct == 0 else max(0.0, centre - half)
    high = 1.0 if correct == n else min(1.0, centre + half)
    return low, high


def energy_histogram(values: Sequence[float | None] | np.ndarray,
                     unit: str = "uJ") -> dict[str, Any]:
    """A histogram of energy per frame with deterministic bin edges.

    Edges follow numpy's ``"auto"`` rule (the larger bin count of the Sturges and the
    Freedman-Diaconis rules, over the values' range), capped at :data:`HIST_MAX_BINS`
    equal bins over the same range; equal values give one bin of width 1 centred on
    them, and a range float64 cannot split (wider than its largest number, or narrower
    than its resolution) one bin from min to max. Values without a number are left out.

    Parameters
    ----------
    values
        Energy per frame, ``unit`` (uJ, or rel for a normalized model).
    unit
        The values' unit, recorded with the histogram.

    Returns
    -------
    dict
        ``edges`` (``len(counts) + 1`` bin edges, ``unit``), ``counts`` (frames per bin;
        a bin holds its left edge, the last one its right edge too), ``unit``, ``rule``.
        Both lists are empty when no frame has a value.
    """
    return _histogram(_floats(values, "values"), unit)


def _histogram(column: np.ndarray, unit: str) -> dict[str, Any]:
    x = column[np.isfinite(column)]
    rule = (f"numpy 'auto' (max of Sturges and Freedman-Diaconis), at most {HIST_MAX_BINS} "
            "bins; one bin from min to max where float64 cannot split the range")
    if x.size == 0:
        return {"edges": [], "counts": [], "unit": unit, "rule": rule}
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            edges = np.histogram_bin_edges(x, bins="auto")
            if edges.size - 1 > HIST_MAX_BINS:
                edges = np.histogram_bin_edges(x, bins=HIST_MAX_BINS)
    except ValueError:  # a range beyond float64, or below its resolution: one bin
        edges = np.array([x.min(), x.max()])
    if not np.all(np.isfinite(edges)):
        edges = np.array([x.min(), x.max()])
    counts, _ = np.histogram(x, bins=edges)
    return {"edges": edges.tolist(), "counts": counts.tolist(), "unit": unit, "rule": rule}


# ----------------------------------------------------------------------------- the summary


def metric_keys(summary: Mapping[str, Any]) -> list[str]:
    """The per-frame figures the aggregates describe, in report order: the total energy,
    each energy term of the model, frame latency, mean packet latency, late share."""
    frames = summary["frames"]
    terms = (summary.get("energy_model") or {}).get("terms") or []
    energy = [f"energy_{t}_uj" for t in terms if f"energy_{t}_uj" in frames]
    energy += sorted(k for k in frames if k.startswith("energy_") and k.endswith("_uj")
                     and k != "energy_total_uj" and k not in energy)
    return ["energy_total_uj", *energy, *(k for k in TIMING_KEYS if k in frames)]


def aggregate(summary: Mapping[str, Any], *, confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Every aggregate of a run, from its per-frame columns (report.json ``aggregates``).

    Parameters
    ----------
    summary
        A run summary (:func:`canmore_sim.report.summary.summarize`, a merged summary of chunks,
        or a report.json read back): ``frames`` (one list per per-frame column, see
        docs/reference/report-columns.md; ``data_index``, ``label``, ``prediction`` and
        ``energy_total_uj`` are required, ``float_prediction`` and the other columns are
        used where present), and optionally ``energy_model`` (``terms``, ``unit``) and
        ``accuracy`` (``float``, for a report written before ``float_prediction``).
    confidence
        Two-sided confidence level of every interval, 0 < confidence < 1.

    Returns
    -------
    dict
        ``confidence``; ``frames`` (how many); ``metrics`` ({column: :func:`spread`} for
        :func:`metric_keys`, in their units: uJ or rel, ns, share); ``accuracy``
        (``quantized``, the run's on-chip weights, and ``float``: ``labelled``,
        ``correct``, ``value``, ``ci_low``, ``ci_high`` by :func:`wilson_interval`, or
        None where it cannot be computed); ``classes`` (one row per true label:
        ``label``, ``frames``, ``correct``, ``accuracy``, its Wilson ``ci_low`` and
        ``ci_high``, and the class's mean ``energy_total_uj``, ``frame_latency_ns`` and
        ``latency_mean_ns``); ``confusion`` (columnar ``label``, ``prediction``, ``count``
        of every pair that occurs); ``energy_histogram`` (:func:`energy_histogram`).

    Raises
    ------
    DataError
        If the summary has no frames table, a required column is missing, columns differ
        in length, a figure is not a number, a label or prediction is not a whole number,
        or ``confidence`` is not in (0, 1).
    """
    check_probability(confidence, "confidence")
    frames = _frames(summary)
    columns = {k: _floats(frames[k], f"frames.{k}") for k in metric_keys(summary)}
    labels = _classes_of(frames, "label")
    prediction = _classes_of(frames, "prediction")
    unit = str((summary.get("energy_model") or {}).get("unit", "uJ"))
    return {
        "confidence": confidence,
        "frames": int(labels.size),
        "metrics": {k: _spread(v, confidence) for k, v in columns.items()},
        "accuracy": _accuracies(summary, labels, prediction, confidence),
        "classes": _classes(labels, prediction, columns, confidence),
        "confusion": _confusion(labels, prediction),
        "energy_histogram": _histogram(columns["energy_total_uj"], unit),
    }


def _frames(summary: Mapping[str, Any]) -> Mapping[str, Any]:
    frames = summary.get("frames") if isinstance(summary, Mapping) else None
    if not isinstance(frames, Mapping):
        raise DataError("aggregates: the summary has no 'frames' table of per-frame columns")
    for key in _REQUIRED:
        if key not in frames:
            raise DataError(f"aggregates: frames.{key} is missing")
    n = len(frames["data_index"]) if isinstance(frames["data_index"], (list, tuple,
                                                                        np.ndarray)) else -1
    for key, column in frames.items():
        if not isinstance(column, (list, tuple, np.ndarray)) or len(column) != n:
            raise DataError(f"aggregates: frames.{key} must be a list of one value per frame "
                            f"({max(n, 0)} frames in frames.data_index)")
    if n == 0:
        raise DataError("aggregates: the summary holds no frames")
    return frames


def _floats(column: Any, name: str) -> np.ndarray:
    """A float64 array of a column; None -> NaN; anything but a number is an error."""
    if isinstance(column, np.ndarray) and column.ndim == 1 and column.dtype.kind in "iuf":
        return column.astype(np.float64)
    values = column.tolist() if isinstance(column, np.ndarray) else column
    if not isinstance(values, (list, tuple)):
        raise DataError(f"aggregates: {name} must be a flat list of numbers")
    kinds = set(map(type, values))
    if kinds <= {int, float}:  # the usual case, checked at C speed
        return np.array(values, dtype=np.float64)
    if kinds <= {int, float, type(None)}:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    out = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        if value is None:
            out[i] = np.nan
        elif isinstance(value, (int, float, np.integer, np.floating)) \
                and not isinstance(value, (bool, np.bool_)):
            out[i] = value
        elif isinstance(value, (list, tuple, dict)):
            raise DataError(f"aggregates: {name} must be a flat list of numbers ({name}[{i}] "
                            f"is a {type(value).__name__})")
        else:
            raise DataError(f"aggregates: {name}[{i}] is {value!r}, expected a number")
    return out


def _classes_of(frames: Mapping[str, Any], key: str) -> np.ndarray:
    """Labels or predictions as int64 (-1: unknown); a fraction, NaN or non-number fails."""
    values = _floats(frames[key], f"frames.{key}")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values != np.round(values)) | (values < -1) \
            | (values > _MAX_CLASS)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"aggregates: frames.{key}[{i}] is {frames[key][i]!r}, expected a "
                        "class number (-1: unknown)")
    return values.astype(np.int64)


def _proportion(correct: int, n: int, confidence: float) -> dict[str, Any] | None:
    if n == 0:
        return None
    low, high = wilson_interval(correct, n, confidence)
    return {"labelled": n, "correct": correct, "value": correct / n, "ci_low": low,
            "ci_high": high}


def _accuracies(summary: Mapping[str, Any], labels: np.ndarray, prediction: np.ndarray,
                confidence: float) -> dict[str, Any]:
    """Accuracy of the simulated (quantized) network and of the float weights."""
    known = labels >= 0
    n = int(known.sum())
    out = {"quantized": _proportion(int(np.sum(prediction[known] == labels[known])), n,
                                    confidence), "float": None}
    frames = summary["frames"]
    if "float_prediction" in frames:
        float_pred = _classes_of(frames, "float_prediction")
        out["float"] = _proportion(int(np.sum(float_pred[known] == labels[known])), n,
                                   confidence)
    else:  # a report written before float_prediction: its accuracy is k / n exactly
        value = (summary.get("accuracy") or {}).get("float")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and n \
                and 0.0 <= value <= 1.0:
            out["float"] = _proportion(round(value * n), n, confidence)
    return out


def _classes(labels: np.ndarray, prediction: np.ndarray, columns: Mapping[str, np.ndarray],
             confidence: float) -> list[dict[str, Any]]:
    """One row per true label: frames, correct, accuracy (Wilson interval), and the mean
    energy per frame, frame latency and packet latency of its frames (frames without a
    value left out; None when none has one)."""
    known = labels >= 0
    classes, inverse = np.unique(labels[known], return_inverse=True)
    frames = np.bincount(inverse, minlength=classes.size)
    correct = np.bincount(inverse, weights=prediction[known] == labels[known],
                          minlength=classes.size)
    means = {k: _class_means(columns[k][known], inverse, classes.size)
             for k in ("energy_total_uj", "frame_latency_ns", "latency_mean_ns") if k in columns}
    rows = []
    for c in range(classes.size):
        low, high = wilson_interval(int(correct[c]), int(frames[c]), confidence)
        rows.append({"label": int(classes[c]), "frames": int(frames[c]),
                     "correct": int(correct[c]), "accuracy": float(correct[c] / frames[c]),
                     "ci_low": low, "ci_high": high,
                     **{k: v[c] for k, v in means.items()}})
    return rows


def _class_means(values: np.ndarray, inverse: np.ndarray, n: int) -> list[float | None]:
    ok = np.isfinite(values)
    sums = np.bincount(inverse[ok], weights=values[ok], minlength=n)
    counts = np.bincount(inverse[ok], minlength=n)
    return [float(s / k) if k else None for s, k in zip(sums, counts, strict=True)]


def _confusion(labels: np.ndarray, prediction: np.ndarray) -> dict[str, list[int]]:
    """Frames per (true label, prediction) pair that occurs, sorted by label then
    prediction (columnar; a sparse confusion matrix, so 1000 classes stay small)."""
    known = labels >= 0
    if not known.any():
        return {"label": [], "prediction": [], "count": []}
    pairs, counts = np.unique(np.stack([labels[known], prediction[known]], axis=1), axis=0,
                              return_counts=True)
    return {"label": pairs[:, 0].tolist(), "prediction": pairs[:, 1].tolist(),
            "count": counts.tolist()}
