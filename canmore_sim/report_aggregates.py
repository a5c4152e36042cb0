"""Rendering of a report's aggregates (report.json ``aggregates``): terminal lines, the
rows of the page's tables, and classes.csv.

A report.json written before the section existed is aggregated from its ``frames``
when it is rendered (:func:`aggregates_of`), so ``canmore-sim report DIR`` gives
every report the same tables.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from canmore_sim.aggregates import aggregate

__all__ = ["CLASS_COLUMNS", "aggregate_lines", "aggregate_table", "aggregates_of",
           "card_notes", "class_lines", "class_table", "classes_csv", "metric_label"]

#: classes.csv columns, in order (report.json ``aggregates.classes``).
CLASS_COLUMNS = ("label", "frames", "correct", "accuracy", "ci_low", "ci_high",
                 "energy_total_uj", "frame_latency_ns", "latency_mean_ns")
#: Words for the aggregated per-frame figures (energy terms: "energy: TERM").
_LABELS = {"energy_total_uj": "energy per frame", "frame_latency_ns": "frame latency",
           "latency_mean_ns": "packet latency (frame mean)",
           "late_share": "late share (of deliveries)"}


def aggregates_of(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary's ``aggregates``, or (a report from before them) computed from its frames."""
    found = summary.get("aggregates")
    return found if isinstance(found, dict) else aggregate(summary)


def card_notes(summary: dict[str, Any]) -> tuple[str, str]:
    """Short notes for the page's energy and accuracy cards: the energy's +- half-width
    and the accuracy's interval (empty where there is none)."""
    agg = aggregates_of(summary)
    level = f"{agg['confidence']:.0%}"
    energy = agg["metrics"]["energy_total_uj"]
    half = energy["ci_half_width"]
    energy_note = ("" if half is None else
                   f"; +- {half:.4g} {summary['energy_model']['unit']} ({level} CI, "
                   f"{energy['n']} frames)")
    acc = agg["accuracy"]["quantized"]
    acc_note = ("" if acc is None else
                f"; {level} CI {acc['ci_low']:.1%} - {acc['ci_high']:.1%} (Wilson)")
    return energy_note, acc_note


def metric_label(key: str, unit: str) -> str:
    """A per-frame figure in words with its unit (energy in ``unit``: uJ or rel)."""
    if key in _LABELS:
        text = _LABELS[key]
    else:
        text = "  " + key.removeprefix("energy_").removesuffix("_uj")
    if key.startswith("energy_"):
        return f"{text}, {unit}"
    return f"{text}, ns" if key.endswith("_ns") else text


def _format(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "late_share":
        return f"{value:.2%}"
    if key.endswith("_ns"):
        return f"{value:,.1f}"
    return f"{value:,.4f}"


def _interval(low: Any, high: Any, fmt: str = "{:.3f}") -> str:
    return "-" if low is None or high is None else f"[{fmt.format(low)}, {fmt.format(high)}]"


def aggregate_lines(summary: dict[str, Any]) -> list[str]:
    """The terminal's over-the-frames block: one row per figure (mean, +- the half-width
    of its confidence interval, sample std, min, max), then accuracy with its Wilson
    interval."""
    from canmore_sim.report import _grid

    agg = aggregates_of(summary)
    unit = summary["energy_model"]["unit"]
    n, level = agg["frames"], agg["confidence"]
    header = ["over the frames", "n", "mean", f"+- {level:.0%} CI", "std", "min", "max"]
    rows = [[metric_label(k, unit), str(s["n"]),
             *(_format(k, s[f]) for f in ("mean", "ci_half_width", "std", "min", "max"))]
            for k, s in agg["metrics"].items()]
    note = (f"over {n} frames: mean +- half-width of its {level:.0%} confidence interval "
            f"(Student t, {n - 1} degrees of freedom); sample std" if n > 1 else
            "1 frame: no spread and no confidence interval (they need two frames or more)")
    return [note, *_grid(header, rows), _accuracy_line(summary, agg)]


def _accuracy_line(summary: dict[str, Any], agg: dict[str, Any]) -> str:
    acc = agg["accuracy"]
    if acc["quantized"] is None:
        return "accuracy: no labelled frames"
    bits = summary["model"].get("weight_bits", "?")
    parts = []
    timing = summary.get("timing")  # closed loop: the frames' predictions are the chip's
    chip = f"{bits}-bit on chip ({timing['mode']})" if timing else f"{bits}-bit"
    for name, what in (("quantized", chip), ("float", "float")):
        a = acc.get(name)
        if a is not None:
            parts.append(f"{what} {a['value']:.3f} {_interval(a['ci_low'], a['ci_high'])} "
                         f"({a['correct']} of {a['labelled']})")
    return f"accuracy [{agg['confidence']:.0%} Wilson score interval]: " + "; ".join(parts)


def class_lines(summary: dict[str, Any], top: int = 20) -> list[str]:
    """The per-class table of the terminal (the first ``top`` true labels)."""
    from canmore_sim.report import _grid

    agg = aggregates_of(summary)
    classes = agg["classes"]
    if not classes or top <= 0:
        return []
    unit = summary["energy_model"]["unit"]
    head = ["true class", "frames", "correct", "accuracy", f"{agg['confidence']:.0%} interval",
            f"E {unit}", "frame ns", "lat mean ns"]
    cells = [[str(r["label"]), str(r["frames"]), str(r["correct"]), f"{r['accuracy']:.3f}",
              _interval(r["ci_low"], r["ci_high"]),
              *(_format(k, r.get(k)) for k in CLASS_COLUMNS[6:])] for r in classes[:top]]
    more = (f"first {top} of {len(classes)} classes; all" if len(classes) > top else "also")
    return [f"per true class: accuracy and means per frame ({more} in classes.csv)",
            *_grid(head, cells)]


def aggregate_table(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the page's aggregates table (one row per figure, then the
    accuracies)."""
    agg = aggregates_of(summary)
    unit = summary["energy_model"]["unit"]
    level = f"{agg['confidence']:.0%}"
    header = ["figure", "frames with a value", "mean", f"{level} CI low", f"{level} CI high",
              "+- half-width", "std (sample)", "min", "max"]
    rows: list[list[Any]] = [
        [metric_label(k, unit).strip(), s["n"], s["mean"], s["ci_low"], s["ci_high"],
         s["ci_half_width"], s["std"], s["min"], s["max"]] for k, s in agg["metrics"].items()]
    bits = summary["model"].get("weight_bits", "?")
    for name, what in (("quantized", f"accuracy, {bits}-bit weights (Wilson)"),
                       ("float", "accuracy, float weights (Wilson)")):
        a = agg["accuracy"].get(name)
        if a is not None:
            rows.append([what, a["labelled"], a["value"], a["ci_low"], a["ci_high"], None, None,
                         None, None])
    return header, rows


def class_table(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the per-class table (columns :data:`CLASS_COLUMNS`)."""
    agg = aggregates_of(summary)
    unit = summary["energy_model"]["unit"]
    level = f"{agg['confidence']:.0%}"
    header = ["true class", "frames", "correct", "accuracy", f"{level} low", f"{level} high",
              f"energy per frame, {unit}", "frame latency, ns", "packet latency, ns"]
    rows = [[row.get(c) for c in CLASS_COLUMNS] for row in agg["classes"]]
    return header, rows


def classes_csv(summary: dict[str, Any]) -> str:
    """One row per true class (report.json ``aggregates.classes``); only the header when
    no frame is labelled."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CLASS_COLUMNS)
    for row in aggregates_of(summary)["classes"]:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in CLASS_COLUMNS])
    return buffer.getvalue()
