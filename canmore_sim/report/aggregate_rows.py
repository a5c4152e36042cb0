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

from canmore_sim.report.aggregates import aggregate

__all__ = ["CLASS_COLUMNS", "aggregate_table", "aggregates_of",
           "card_notes", "class_table", "classes_csv", "metric_label"]

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


def format_figure(key: str, value: Any) -> str:
    """One aggregate figure as table text: a share in %, a time in ns to 0.1, anything else
    to 4 decimals; "-" where it is missing (null)."""
    if value is None:
        return "-"
    if key == "late_share":
        return f"{value:.2%}"
    if key.endswith("_ns"):
        return f"{value:,.1f}"
    return f"{value:,.4f}"


def interval_text(low: Any, high: Any, fmt: str = "{:.3f}") -> str:
    """A confidence interval as ``[low, high]`` (each in ``fmt``); "-" where either end is
    missing (null)."""
    return "-" if low is None or high is None else f"[{fmt.format(low)}, {fmt.format(high)}]"


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
    timing = summary.get("timing")  # closed loop: the frames' predictions are the chip's
    chip = f" on chip ({timing['mode']})" if timing else ""
    ideal = ", ideal timing" if timing else ""
    for name, what in (("quantized", f"accuracy{chip}, {bits}-bit weights (Wilson)"),
                       ("float", f"accuracy, float weights{ideal} (Wilson)")):
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
