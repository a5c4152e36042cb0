"""Accuracy in the reports, each figure with its own interval and its own context.

Under ideal timing a run has one context: its quantized weights' accuracy and the float
weights'. Under closed-loop timing (``run.timing`` drop-late or arrival) there are two,
never shown in one line or card: *on chip*, what the chip computed with the deliveries
it really got (report.json ``frames.prediction``, ``timing.accuracy_on_chip``), and
*ideal*, every spike on time (``timing.ideal_predictions``, ``timing.accuracy_ideal``,
also report.json ``accuracy.quantized``; the float weights' accuracy belongs here too).
Every interval is the Wilson score interval of the very frames its value counts.
"""

from __future__ import annotations

from typing import Any

from canmore_sim.report.aggregate_rows import aggregates_of
from canmore_sim.report.aggregates import wilson_interval

__all__ = ["accuracy_groups", "group_text"]


def _proportion(correct: int, labelled: int, confidence: float) -> dict[str, Any] | None:
    if labelled <= 0:
        return None
    low, high = wilson_interval(correct, labelled, confidence)
    return {"value": correct / labelled, "correct": correct, "labelled": labelled,
            "ci_low": low, "ci_high": high}


def _ideal(summary: dict[str, Any], confidence: float) -> dict[str, Any] | None:
    """The ideal answer's accuracy, counted from ``timing.ideal_predictions``."""
    labels = summary["frames"]["label"]
    ideal = summary["timing"]["ideal_predictions"]
    known = [(int(l), int(p)) for l, p in zip(labels, ideal, strict=True)
             if l is not None and l >= 0]
    return _proportion(sum(l == p for l, p in known), len(known), confidence)


def accuracy_groups(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One group per context: ``{"context", "where", "label", "key", "items"}``.

    ``context`` is ``"on chip"``, ``"ideal"`` or ``""`` (ideal timing: one context),
    ``where`` its words for a terminal line;
    ``key`` is where the group's first figure stands in report.json; ``items`` are
    ``{"what", "value", "correct", "labelled", "ci_low", "ci_high"}``. No group when no
    frame is labelled.
    """
    agg = aggregates_of(summary)
    acc, level = agg["accuracy"], agg["confidence"]
    bits = summary["model"].get("weight_bits", "?")
    quantized, floating = acc.get("quantized"), acc.get("float")
    if quantized is None:
        return []
    timing = summary.get("timing")
    if not timing:
        items = [{"what": f"{bits}-bit", **quantized}]
        items += [{"what": "float weights", **floating}] if floating else []
        return [{"context": "", "where": "", "label": f"accuracy, {bits}-bit weights",
                 "key": "accuracy.quantized", "items": items}]
    ideal = _ideal(summary, level)
    mode = timing["mode"]
    on_chip = {"context": "on chip", "where": f"on chip ({mode})",
               "label": f"accuracy on chip ({mode}), {bits}-bit weights",
               "key": "timing.accuracy_on_chip", "items": [{"what": f"{bits}-bit", **quantized}]}
    items = [{"what": f"{bits}-bit", **ideal}] if ideal else []
    items += [{"what": "float weights", **floating}] if floating else []
    return [on_chip, {"context": "ideal", "where": "ideal (every spike on time)",
                      "label": f"accuracy ideal (every spike on time), {bits}-bit weights",
                      "key": "timing.accuracy_ideal", "items": items}]


def _item_text(item: dict[str, Any]) -> str:
    return (f"{item['what']} {item['value']:.3f} [{item['ci_low']:.3f}, {item['ci_high']:.3f}]"
            f" ({item['correct']} of {item['labelled']})")


def group_text(group: dict[str, Any]) -> str:
    """A group as one terminal phrase: the context, then each figure with its interval."""
    where = group["where"]
    return f"{where + ': ' if where else ''}" + "; ".join(_item_text(i) for i in group["items"])
