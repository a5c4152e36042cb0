"""What a report says about the NoC replay: which frames went through it, and the
figures that come from them (``run.replay``, :mod:`canmore_sim.run.replay`).

Counts (SOPs, packets, deliveries, hops, inter-chip hops, link flits, zero-load latency)
and energy are exact for every frame under deterministic routing; the timing figures
below come from the replayed frames only. A report of a run that did not replay every
frame (or replayed every frame against ``run.replay``) gets a ``replay`` section with
the sample, the estimate of the run's mean of every timing figure with its 95 %
confidence interval (Student's t with the finite-population correction:
:func:`canmore_sim.noc.sample.mean_interval`), and the list of figures that come from
the sample; the terminal and HTML reports mark those figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # a report re-rendered from report.json imports no simulator
    from canmore_sim.run.pipeline import RunResult

__all__ = ["SAMPLED_FIGURES", "TIMED_COLUMNS", "replay_lines", "replay_section", "sampled"]

#: Per-frame columns that need the replay (NaN / null for a frame not replayed).
TIMED_COLUMNS = ("latency_mean_ns", "latency_max_ns", "wait_sum_ns", "wait_mean_ns", "late",
                 "late_share", "late_max_ns", "frame_latency_ns")
#: Every report figure that comes from the replayed frames only when a run samples.
SAMPLED_FIGURES = (*(f"frames.{k}" for k in TIMED_COLUMNS), "late_share",
                   *(f"mean.{k}" for k in TIMED_COLUMNS), *(f"std.{k}" for k in TIMED_COLUMNS),
                   "noc.router_wait_ns", "noc.occupancy_mean", "noc.occupancy_max",
                   "noc.congested_ports", "noc.latency_histogram", "aggregates (timing keys)")


def sampled(result: RunResult) -> bool:
    """Whether some frames of ``result`` were not replayed."""
    return result.noc.sampled


def replay_section(result: RunResult, frames: dict[str, list[Any]]) -> dict[str, Any] | None:
    """The report's ``replay`` section, or None for a run that replayed every frame as
    asked (its report is unchanged)."""
    from canmore_sim.noc.sample import mean_interval

    plan = result.replay
    if plan is None:
        return None
    timed = result.config.run.timing != "ideal"
    if not plan.sampled and not plan.reason.startswith("every frame") and not timed:
        return None
    replayed = np.asarray(plan.replayed, dtype=bool)
    n = len(replayed)
    estimates = {}
    for key in TIMED_COLUMNS:
        values = np.array([np.nan if v is None else v for v in frames[key]], dtype=np.float64)
        mean, half = mean_interval(values[replayed], n)
        estimates[key] = {"mean": mean, "ci95_half_width": half,
                          "ci95_low": mean - half, "ci95_high": mean + half}
    ids = np.asarray(result.frame_ids)
    return {
        "mode": plan.mode, "asked": plan.asked,
        "reason": plan.reason or ("closed-loop timing replays every frame" if timed else ""),
        "frames": n, "frames_replayed": int(replayed.sum()), "seed": result.config.run.seed,
        "replayed_data_index": ids[replayed].tolist(),
        "exact_for_every_frame": ["sops", "packets", "deliveries", "hops", "interchip_hops",
                                  "zero_load_mean_ns", "link flits", "energy"],
        "sampled_figures": list(SAMPLED_FIGURES) if plan.sampled else [],
        "estimates": estimates,
        "interval": "95 % confidence interval of the mean over all the run's frames from "
                    "the replayed ones (Student's t, finite-population correction)",
    }


def replay_lines(summary: dict[str, Any]) -> list[str]:
    """Terminal lines for the ``replay`` section (none without one)."""
    section = summary.get("replay")
    if not section:
        return []
    head = (f"NoC replay: {section['frames_replayed']:,} of {section['frames']:,} frames "
            f"({section['mode']}, run.replay {section['asked']}, seed {section['seed']})")
    if section["reason"]:
        head += f"; {section['reason']}"
    if not section["sampled_figures"]:
        return [head]
    lines = [head + "; hops, flits, SOPs and energy are exact for every frame; latency, "
             "waiting, occupancy and late figures (marked *) come from the replayed frames "
             "only"]
    parts = []
    for key, label in (("latency_mean_ns", "latency mean ns"),
                       ("wait_mean_ns", "wait mean ns"), ("late_share", "late share"),
                       ("frame_latency_ns", "frame latency ns")):
        e = section["estimates"][key]
        if _missing(e["mean"]):
            continue
        half = e["ci95_half_width"]
        spread = "" if _missing(half) else f" +- {half:,.4g}"
        parts.append(f"{label} {e['mean']:,.4g}{spread}")
    if parts:
        lines.append("  estimated mean over all frames (95 % CI): " + ", ".join(parts))
    return lines


def _missing(value: Any) -> bool:
    """None (in a report read back) or NaN (in a fresh summary)."""
    return value is None or value != value
