"""Closed-loop timing in the reports: the ideal answer beside what the chip computed.

report.json ``timing`` (absent for ``run.timing: ideal``) holds the mode, the NoC replays
made and whether the fixed point was reached, ideal and on-chip accuracy, the predictions
that changed, the energy of the ideal spikes' run and of the run as the chip really ran it
(the final spikes' SOPs and traffic, which is also what every other energy figure of the
report prices), and per weight layer the (spike, destination core) pairs lost per frame,
the pairs late in the final replay and the mean arrival delay (model time units, Tw = the
window; ``arrival`` only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from canmore_sim.report.accuracy import accuracy_groups, group_text

if TYPE_CHECKING:
    from canmore_sim.run.pipeline import RunResult

__all__ = ["timing_lines", "timing_rows", "timing_summary", "timing_text"]


def timing_summary(result: RunResult) -> dict[str, Any] | None:
    """The report.json ``timing`` section of ``result`` (None for an ideal run)."""
    t = result.timing
    if t is None:
        return None
    known = t.ideal.labels >= 0
    changed = t.ideal.predictions != result.trace.predictions
    names = [layer.name for layer in result.quantized.layers]
    energy_ideal = (None if t.ideal_energy_uj is None
                    else float(np.mean(t.ideal_energy_uj)))
    return {
        "mode": t.mode, "update": t.update, "iterations": t.iterations,
        "max_iterations": result.config.run.timing_max_iterations,
        "fixed_point": t.fixed_point, "cycle": t.cycle,
        "accuracy_ideal": t.ideal.accuracy(), "accuracy_on_chip": result.trace.accuracy(),
        "frames_labelled": int(known.sum()),
        "predictions_changed": int(changed.sum()),
        "predictions_changed_share": float(np.mean(changed)) if len(changed) else 0.0,
        "ideal_predictions": t.ideal.predictions.tolist(),
        "energy_ideal": energy_ideal,
        "energy_on_chip": float(np.mean(result.energy.total_uj)),
        "energy_unit": "rel" if result.energy_preset.model == "normalized" else "uJ",
        "lost_pairs": float(t.lost.sum(axis=1).mean()),
        "layers": [{"layer": l + 1, "name": names[l],
                    "lost_pairs": float(t.lost[:, l].mean()),
                    "late_pairs": float(t.late_pairs[:, l].mean()),
                    "delay_mean_tw": float(t.delay_mean[l])}
                   for l in range(len(names))],
        "history": [{k: v for k, v in h.items()} for h in t.history],
    }


def timing_text(timing: dict[str, Any]) -> str:
    """One line: the mode, the replays and whether the fixed point was reached."""
    cycle = timing.get("cycle") or 0
    point = ("fixed point reached" if timing["fixed_point"] else
             f"NO fixed point: the lost pairs cycle with period {cycle} (the last replay "
             "shown)" if cycle else
             f"NO fixed point within {timing['max_iterations']} replays (the last one shown)")
    return (f"closed-loop timing {timing['mode']} ({timing['update']}): "
            f"{timing['iterations']} NoC replay(s), {point}")


def number_text(value: Any, fmt: str, missing: str = "-") -> str:
    """``value`` in ``fmt``, or ``missing`` for a value that is missing or was not finite
    (null in report.json); the terminal's tables write "-", the timing lines "n/a"."""
    return missing if value is None else fmt.format(value)


def timing_lines(summary: dict[str, Any], *, verbose: bool = False) -> list[str]:
    """Terminal lines of the ``timing`` section (none for an ideal run): what the chip
    computed and the ideal answer on lines of their own, each accuracy with its interval;
    with ``verbose`` the pairs lost and late per layer."""
    timing = summary.get("timing")
    if not timing:
        return []
    unit = timing["energy_unit"]
    n = len(timing["ideal_predictions"])
    groups = {g["context"]: g for g in accuracy_groups(summary)}
    chip = (f"accuracy {group_text(groups['on chip'])}; " if "on chip" in groups
            else f"on chip ({timing['mode']}): ")
    ideal = (f"accuracy {group_text(groups['ideal'])}; " if "ideal" in groups
             else "ideal (every spike on time): ")
    energy = {k: number_text(timing[k], "{:.4g}", "n/a")
              for k in ("energy_on_chip", "energy_ideal")}
    lines = [timing_text(timing),
             f"  {chip}energy {energy['energy_on_chip']} {unit}/frame as run",
             f"  {ideal}energy {energy['energy_ideal']} {unit}/frame",
             f"  predictions changed by the timing: {timing['predictions_changed']} of {n} "
             f"frames; (spike, core) pairs lost {timing['lost_pairs']:,.1f} per frame"]
    if not verbose:
        return lines
    lines.append("  " + "  ".join(f"{h:>{w}}" for h, w in _HEAD))
    for row in timing["layers"]:
        delay = f"{row['delay_mean_tw']:.4f}" if timing["mode"] == "arrival" else "-"
        cells = [row["name"], f"{row['lost_pairs']:,.1f}", f"{row['late_pairs']:,.1f}", delay]
        lines.append("  " + "  ".join(f"{c:>{w}}" for c, (_, w) in zip(cells, _HEAD,
                                                                        strict=True)))
    return lines


_HEAD = (("layer", 8), ("lost pairs/frame", 16), ("late pairs/frame", 16),
         ("mean delay Tw", 13))


def timing_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The page's table: the ideal and on-chip figures side by side, then per layer."""
    timing = summary["timing"]
    rows: list[dict[str, Any]] = [
        {"figure": "accuracy", "ideal": timing["accuracy_ideal"],
         "on chip": timing["accuracy_on_chip"]},
        {"figure": f"energy per frame, {timing['energy_unit']}", "ideal": timing["energy_ideal"],
         "on chip": timing["energy_on_chip"]},
        {"figure": "predictions changed (frames)", "ideal": 0,
         "on chip": timing["predictions_changed"]},
        {"figure": "(spike, core) pairs lost per frame", "ideal": 0,
         "on chip": timing["lost_pairs"]},
    ]
    rows += [{"figure": f"{row['name']}: pairs lost / late per frame, mean delay (Tw)",
              "ideal": 0, "on chip": f"{row['lost_pairs']:,.1f} / {row['late_pairs']:,.1f}, "
                                     f"{row['delay_mean_tw']:.4f}"}
             for row in timing["layers"]]
    return rows
