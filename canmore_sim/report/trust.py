"""Warnings about figures that should not be trusted, computed from a report summary.

Each warning is plain data, ``{"kind", "message", "value", "threshold", "settings"}``:
``value`` is the figure that crossed ``threshold`` (the config key under ``report``),
``settings`` the config keys that change it. The CLI and the report pages render
``message``; the library never prints.

* ``late``: more than ``report.late_warn_share`` of the deliveries arrived after their
  consumer's integration window closed, so the chip computed something else than the
  spike trace that was priced (docs/explanation/domain-rules.md, "Traffic and NoC").
* ``accuracy_collapse``: the run's accuracy (quantized weights, the run's neuron model)
  is more than ``report.accuracy_drop_warn`` below the float weights under the network's
  own neuron model, on the same frames: a coding scheme the weights were not trained for,
  or a quantization that broke the network.
* ``prediction_change``: quantization changed more than ``report.prediction_change_warn``
  of the predictions.

Accuracy warnings are left out for synthetic weights (their accuracy means nothing) and
for frames without labels.
"""

from __future__ import annotations

from typing import Any

__all__ = ["result_warnings"]


def result_warnings(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The warnings of a report summary (see the module docstring), in a fixed order.

    Parameters
    ----------
    summary
        A report summary with ``config`` (its ``report`` thresholds), ``late_share``,
        ``mean``, ``accuracy``, ``model`` and ``mapping``.

    Returns
    -------
    list of dict
        Empty when every figure is within its threshold.
    """
    limits = summary["config"].get("report", {})
    warnings = []
    late = _late(summary, float(limits.get("late_warn_share", 0.01)))
    if late:
        warnings.append(late)
    if summary["model"].get("meta", {}).get("weights") != "synthetic":
        warnings += _accuracy(summary, float(limits.get("accuracy_drop_warn", 0.10)),
                              float(limits.get("prediction_change_warn", 0.10)))
    return warnings


def _late(summary: dict[str, Any], threshold: float) -> dict[str, Any] | None:
    share = float(summary.get("late_share") or 0.0)
    if not share > threshold:  # NaN: no frame was replayed
        return None
    config, mean = summary["config"], summary["mean"]
    window = config["neuron"]["window_ns"]
    model = summary["model"]["neuron"]
    steps = summary["model"].get("neuron_steps")
    deadline = (f"deadline: the next step, {window / steps:,.0f} ns at {steps} steps per window"
                if steps else "deadline: the end of the consuming layer's window")
    latest = max((v for v in summary["frames"].get("late_max_ns", [])
                  if v is not None and v == v), default=0.0)  # NaN: a frame not replayed
    fixes = ["a longer neuron.window_ns"]
    if not config["traffic"]["multicast"]:
        fixes.append("traffic.multicast: true")
    if config["run"]["placement"] != "anneal":
        fixes.append(f"run.placement: anneal (now {config['run']['placement']})")
    message = (f"{share:.1%} of deliveries were late ({mean['late']:,.0f} of "
               f"{mean['deliveries']:,.0f} per frame, up to {latest:,.0f} ns "
               f"after their deadline; {deadline}): neuron.window_ns = {window:,.0f} ns is too "
               f"short for this traffic under {model}, "
               f"{_consequence(summary)}; try {', '.join(fixes)}")
    return {"kind": "late", "message": message, "value": share, "threshold": threshold,
            "settings": ["neuron.window_ns", "traffic.multicast", "run.placement"]}


def _consequence(summary: dict[str, Any]) -> str:
    """What the late deliveries did to the figures: ignored (ideal) or lost (closed loop)."""
    timing = summary.get("timing")
    if not timing:
        return ("so the energy and accuracy describe spikes the chip would not compute in "
                "time (run.timing: drop-late shows what it does compute)")
    return (f"and run.timing {timing['mode']} removed them from the computation (accuracy "
            f"{_fmt(timing['accuracy_ideal'])} ideal, {_fmt(timing['accuracy_on_chip'])} "
            "on chip)")


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _accuracy(summary: dict[str, Any], drop_limit: float,
              change_limit: float) -> list[dict[str, Any]]:
    acc = summary["accuracy"]
    run_acc, native_acc = acc.get("quantized"), acc.get("native_float")
    model, native = summary["model"]["neuron"], acc.get("native_model", "")
    bits = summary["model"]["weight_bits"]
    n = acc.get("frames_labelled", 0)
    frames = f"{n} frame{'' if n == 1 else 's'}"
    out = []
    if run_acc is not None and native_acc is not None and native_acc - run_acc > drop_limit:
        if model != native:
            cause = (f"under {model} the network reaches {run_acc:.1%} ({bits}-bit weights) "
                     f"against {native_acc:.1%} under its own model {native} (float weights) "
                     f"on the same {frames}: the weights were not trained for this "
                     f"coding scheme; use neuron.model: auto ({native}) or retrain for {model}")
        else:
            cause = (f"{bits}-bit weights reach {run_acc:.1%} against {native_acc:.1%} with "
                     f"float weights on the same {frames}; try more core.weight_bits "
                     "or core.quant_scale: channel")
        out.append({"kind": "accuracy_collapse", "message": f"accuracy collapsed: {cause}",
                    "value": native_acc - run_acc, "threshold": drop_limit,
                    "settings": ["neuron.model", "core.weight_bits", "core.quant_scale"]})
    changed = acc.get("prediction_changed")
    if changed is not None and changed > change_limit:
        out.append({"kind": "prediction_change",
                    "message": f"{bits}-bit quantization changed {changed:.1%} of the "
                               f"predictions (float against quantized weights under {model}); "
                               "try more core.weight_bits or core.quant_scale: channel",
                    "value": changed, "threshold": change_limit,
                    "settings": ["core.weight_bits", "core.quant_scale"]})
    return out
