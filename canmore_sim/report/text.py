"""The terminal text of a report: the summary table, the layer, core and NoC tables, the
aggregate and class lines, and the ``inspect`` table.

By default :func:`render_table` keeps to one screen within 120 columns whatever the
frame count (:mod:`canmore_sim.report.glance`); ``verbose`` adds the detail tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from canmore_sim.report.accuracy import accuracy_groups, group_text
from canmore_sim.report.aggregate_rows import (
    CLASS_COLUMNS,
    aggregates_of,
    format_figure,
    interval_text,
    metric_label,
)
from canmore_sim.report.frames import shown_frames, shown_note
from canmore_sim.report.glance import footer_lines, layer_glance, notice_lines, problem_lines
from canmore_sim.report.grid import grid as _grid
from canmore_sim.report.grid import wrap
from canmore_sim.report.layers import with_shares
from canmore_sim.report.paper import paper_lines
from canmore_sim.report.provenance import title_tag
from canmore_sim.report.replay import TIMED_COLUMNS, replay_lines
from canmore_sim.report.summary import IDENTITY, frame_table_columns
from canmore_sim.report.timing import number_text, timing_lines

__all__ = ["aggregate_lines", "class_lines", "core_table", "render_inspect", "render_table",
           "trust_lines"]


def render_table(summary: dict[str, Any], *, verbose: bool = False, max_frames: int = 20,
                 top_cores: int = 8) -> str:
    """Format a summary for a terminal.

    By default one screen within 120 columns, whatever the frame count: the title, the
    notices (``WARNING:`` / ``INFO:``), the summary lines, the closed-loop timing (if
    any), the paper's figures (VGG16 on CIFAR-10), a short per-layer table, the top
    problems and how many rows frames.csv holds. With ``verbose`` the detail follows the
    summary: per frame (the first ``max_frames`` and the extremes, with the mean), the
    figures over the frames (see :mod:`canmore_sim.report.aggregate_rows`), per class, the
    whole per-layer table, the busiest ``top_cores`` cores, the NoC and the energy line.
    """
    rule = (summary["model"].get("dta_rule") or {}).get("text")
    tag = title_tag(summary)
    lines = [*wrap(_title(summary)), *(wrap(tag) if tag else []), *notice_lines(summary),
             *(wrap(rule) if rule and verbose else []),
             *(w for line in [*_summary_lines(summary), *replay_lines(summary),
                               *timing_lines(summary, verbose=verbose)]
               for w in wrap(line))]
    paper = paper_lines(summary)
    lines += ["", *paper] if paper else []
    if not verbose:
        problems = problem_lines(summary)
        lines += ["", *layer_glance(summary), *([""] if problems else []), *problems, "",
                  *footer_lines(summary, verbose=False)]
        return "\n".join(lines)
    classes = class_lines(summary)
    lines += ["", *_frame_rows(summary, max_frames), "", *aggregate_lines(summary), "",
              *classes, *([""] if classes else []),
              *_layer_table(with_shares(summary["layers"], summary["energy_model"]["terms"]),
                            summary["energy_model"]),
              *_sparsity_lines(summary.get("sparsity"))]
    lines += ["", *core_table(summary, top_cores)]
    lines += ["", *_noc_lines(summary["noc"]), "", _energy_line(summary)]
    lines += ["", *notice_lines(summary)] if summary.get("warnings") else []
    lines += ["", *footer_lines(summary, verbose=True)]
    return "\n".join(lines)


def _frame_rows(summary: dict[str, Any], max_frames: int) -> list[str]:
    """The per-frame table: the first ``max_frames`` frames and the extremes, the mean."""
    frames = summary["frames"]
    columns = frame_table_columns(summary)
    shown = shown_frames(summary, first=max_frames)
    marked = set(TIMED_COLUMNS) if (summary.get("replay") or {}).get("sampled_figures") else set()
    header = ["data idx"] + [h + ("*" if k in marked else "") for k, h, _ in columns] + ["shown"]
    rows = [[str(frames["data_index"][i])]
            + [number_text(frames[k][i], fmt) for k, _, fmt in columns] + [why]
            for i, why in shown]
    rows.append(["mean"] + ["" if k in IDENTITY else number_text(summary["mean"][k], fmt)
                            for k, _, fmt in columns] + ["all"])
    return [f"per frame: {shown_note(summary, shown)}", *_grid(header, rows)]


def trust_lines(summary: dict[str, Any]) -> list[str]:
    """Every notice, warnings first, one ``WARNING:`` or ``INFO:`` line each (wrapped)."""
    return notice_lines(summary)


def core_table(summary: dict[str, Any], top: int = 8) -> list[str]:
    """The ``top`` busiest cores by SOPs (per frame), with the I/O port's share below."""
    cores = summary.get("cores")
    if not cores or not cores["core"] or top <= 0:
        return []
    sops = np.array(cores["sops"], dtype=np.float64)
    order = np.argsort(-np.nan_to_num(sops), kind="stable")[:top]
    total = float(np.nansum(sops)) or 1.0
    header = ["busiest cores", "layer", "router", "SOPs", "share", "spikes in", "spikes out",
              "pkts injected", "pkts ejected", "weights KiB"]
    body = [[f"core {cores['core'][i]}", str(cores["layer_name"][i]),
             f"({cores['x'][i]},{cores['y'][i]})", number_text(cores["sops"][i], "{:,.0f}"),
             number_text(sops[i] / total, "{:.1%}"), number_text(cores["spikes_in"][i], "{:,.0f}"),
             number_text(cores["spikes_out"][i], "{:,.0f}"),
             number_text(cores["packets_injected"][i], "{:,.0f}"),
             number_text(cores["packets_ejected"][i], "{:,.0f}"),
             number_text(cores["weight_kib"][i], "{:,.1f}")] for i in order]
    io = summary.get("io_port")
    if io:
        body.append(["I/O port", "", f"({io['x']},{io['y']})", "", "", "",
                     *(number_text(io.get(k), "{:,.0f}")  # optional in report.json
                       for k in ("spikes_out", "packets_injected", "packets_ejected")), ""])
    shown = f"top {len(order)} of {len(cores['core'])} cores by SOPs per frame; all in cores.csv"
    return [shown, *_grid(header, body)]


def _noc_lines(noc: dict[str, Any]) -> list[str]:
    flits = ", ".join(f"{k} {v:,.0f}" for k, v in noc["direction_flits"].items())
    lines = [f"flits per frame by output direction: {flits}"]
    if noc["multicast"]:
        lines.append(f"multicast: {noc['unicast_equivalent_hops']:,.0f} unicast hops become "
                     f"tree hops, saving {noc['multicast_saving']:.1%}; one packet per spike, "
                     "copied to every destination core (deliveries)")
    if noc["interchip_hops"]:
        lines.append(f"inter-chip hops per frame: {noc['interchip_hops']:,.0f}")
    header = ["where packets waited", "input port", "wait ns/frame", "share", "max flits"]
    rows = [[f"router ({r['x']},{r['y']})", r["port"], f"{r['wait_ns']:,.0f}",
             f"{r['share']:.1%}", str(r["max_occupancy"])] for r in noc["congested_ports"]]
    lines += ["", *_grid(header, rows)] if rows else ["no packet waited"]
    links = [[f"router ({r['x']},{r['y']})", r["direction"], f"{r['flits']:,.0f}",
              f"{r['utilization']:.1%}"] for r in noc.get("busiest_links", [])]
    if links:
        lines += ["", *_grid(["busiest links", "direction", "flits/frame", "utilization"],
                             links)]
    return lines


def _title(summary: dict[str, Any]) -> str:
    m = summary["mapping"]  # accuracy: the summary lines, with its interval
    chips = (f" x {m['chips']} chips ({m['chip_grid']} grid, "
             f"{m.get('interchip_hops', 0):,.0f} inter-chip hops/frame)" if m["chips"] > 1 else "")
    spikes = summary["model"].get("spikes_from", "")
    spikes_text = f"; spikes from {spikes}" if summary["model"]["neuron"] != "dta-ttfs" else ""
    engine = f", NoC engine {summary.get('config', {}).get('run', {}).get('engine', '?')}"
    n_frames = len(summary["frames"]["data_index"])
    frames = f"{n_frames:,} frame{'' if n_frames == 1 else 's'}"
    if summary["model"]["meta"].get("weights") == "synthetic":
        return (f"{summary['model']['spec']} ({summary['model']['meta'].get('zoo', '')}, "
                f"synthetic weights) on {m['mesh']} mesh{chips}: {m['cores']} cores, "
                f"placement {m['placement']}{engine}, {frames}"
                f"{spikes_text}")
    return (f"{summary['model']['spec']} on {m['mesh']} mesh{chips}: {m['cores']} cores, "
            f"placement {m['placement']}{engine}, {frames}"
            f"{spikes_text}")


def _layer_table(layers: list[dict[str, Any]], energy: dict[str, Any]) -> list[str]:
    terms = [t for t in energy["terms"] if any(f"energy_{t}_uj" in r for r in layers)]
    unit = energy["unit"]
    header = ["layer", "shape", "neurons", "cores", "weights KiB", "fired", "fired %", "sent",
              "SOPs", "SOPs %", "packets in", "deliveries in", "hops in", "hops %",
              *(f"E_{t} {unit}" for t in terms), f"E {unit}", "E %"]
    rows = [[f"{r['layer']} {r['name']}", "x".join(map(str, r["shape"])), f"{r['neurons']:,}",
             str(r["cores"]), f"{r['weight_kib']:.1f}", f"{r['neurons_fired']:,.0f}",
             number_text(r.get("fired_fraction"), "{:.1%}"),
             f"{r['spikes_sent']:,.0f}", f"{r['sops']:,.0f}",
             number_text(r.get("sops_share"), "{:.0%}"),
             f"{r['packets_in']:,.0f}", f"{r['deliveries_in']:,.0f}", f"{r['hops_in']:,.0f}",
             number_text(r.get("hops_share"), "{:.0%}"),
             *(number_text(r.get(f"energy_{t}_uj"), "{:,.4f}") for t in terms),
             number_text(r.get("energy_total_uj"), "{:,.4f}"),
             number_text(r.get("energy_share"), "{:.0%}")]
            for r in layers]
    return _grid(header, rows)


def _sparsity_lines(sparsity: dict[str, Any] | None) -> list[str]:
    """The official-definition sparsity under the per-layer table (absent in old reports)."""
    if not sparsity or sparsity.get("official") is None:
        return []
    return [f"sparsity (official DTA-TTFS definition: hidden spikes + "
            f"{sparsity['output_neurons']:,} output neurons, over {sparsity['neurons']:,} "
            f"neurons): {sparsity['official']:.4f} per frame (std {sparsity['std']:.4f}; "
            f"{sparsity['spikes']:,.0f} spikes)"]


def _summary_lines(summary: dict[str, Any]) -> list[str]:
    """The figures read first (means per frame), a few lines above the detail tables."""
    mean, m = summary["mean"], summary["mapping"]
    groups = accuracy_groups(summary)  # closed loop: on chip here, ideal in the timing block
    accuracy = group_text(groups[0]) if groups else "no labelled frames"
    changed = summary["accuracy"].get("prediction_changed")
    if groups and not groups[0]["context"] and changed is not None:
        accuracy += f"; quantization changed {changed:.1%} of the predictions"
    late = summary.get("late_share")
    extra = [f"  {line}" for line in (depends_text(summary), area_text(summary),
                                       effective_text(summary)) if line]
    star = "*" if (summary.get("replay") or {}).get("sampled_figures") else ""  # a sample's
    counts = {k: number_text(mean[k], "{:,.0f}")
              for k in ("sops", "packets", "deliveries", "hops", "frame_latency_ns")}
    return ["summary, mean per frame:",
            f"  {_energy_line(summary)}",
            f"  {m['cores']} cores on {m['chips']} chip(s) of {m['mesh']} routers; "
            f"{counts['sops']} SOPs, {counts['packets']} packets, {counts['deliveries']} "
            f"deliveries, {counts['hops']} hops; frame latency{star} "
            f"{counts['frame_latency_ns']} ns",
            f"  accuracy {accuracy}; late deliveries{star} {number_text(late, '{:.1%}')}",
            *extra]


def depends_text(summary: dict[str, Any]) -> str:
    """Which energy terms grow with the frame's time and the chip's size, in words (empty
    for a report without ``energy_model.depends``)."""
    depends = summary["energy_model"].get("depends")
    if not depends:
        return ""
    groups: dict[str, list[str]] = {}
    for term, what in depends.items():
        words = (" and ".join("frame time" if w == "time" else "chip size" if w == "size"
                              else w for w in what) if what else "nothing: constant per frame")
        groups.setdefault(words, []).append(term)
    return "energy terms grow with: " + "; ".join(
        f"{', '.join(terms)}: {words}" for words, terms in groups.items())


def area_text(summary: dict[str, Any]) -> str:
    """The chip grid's area in one line (empty for a report without ``area``)."""
    area = summary.get("area")
    if not area:
        return ""
    parts, total = area["parts_mm2"], area["grid_mm2"] or 1.0
    share = {name: sum(v for k, v in parts.items() if k.startswith(prefix)) / total
             for name, prefix in (("SRAM", "core.sram_weights"), ("neuron state",
                                  "core.neuron_state"), ("core logic", "core.logic"),
                                  ("routers", "router."), ("inter-chip links", "grid."))}
    shown = ", ".join(f"{k} {v:.0%}" for k, v in share.items() if v > 0)
    return (f"area {area['grid_mm2']:,.2f} mm2 ({area['chips']} chip(s) of "
            f"{area['chip_mm2']:,.2f} mm2: {shown}; area preset {area['preset']}, "
            f"{len(area.get('estimates', []))} coefficients are estimates)")


def effective_text(summary: dict[str, Any]) -> str:
    """Effective SOPs (non-zero weights) against all SOPs (empty when not counted)."""
    mean = summary["mean"]
    effective, every = mean.get("effective_sops"), mean.get("sops")
    if effective is None or not every:
        return ""
    core = (summary.get("config") or {}).get("core") or {}
    priced = ("priced: core.skip_zero_weights" if core.get("skip_zero_weights") is True
              else "Eq. 12 prices all SOPs")
    return (f"effective SOPs (non-zero weights, as NeuroBench counts them) "
            f"{effective:,.0f} = {effective / every:.1%} of {every:,.0f} SOPs ({priced})")


def _energy_line(summary: dict[str, Any]) -> str:
    e = summary["energy_model"]
    mean, unit = summary["mean"], e["unit"]
    total = mean["energy_total_uj"] or 1.0
    shown = []
    for t in e["terms"]:
        value = mean[f"energy_{t}_uj"]
        share = None if value is None else value / total
        shown.append(f"{t} {number_text(value, '{:.4g}')} {unit} ({number_text(share, '{:.0%}')})")
    parts = ", ".join(shown)
    total_text = f"{number_text(mean['energy_total_uj'], '{:.4g}')} {unit}/frame"
    reference = e.get("resolved", {}).get("reference")
    ref_text = (f"; 1 rel = {reference} (frame latency {e['resolved']['latency_ref_ns']:,.0f} ns,"
                f" {e['resolved']['spikes_ref']:,.0f} neurons fired per frame)"
                if reference else "")
    return f"energy ({e['preset']}, {e['source']}): {total_text} = {parts}{ref_text}"


def render_inspect(rows: list[dict[str, Any]], title: str) -> str:
    """The layer table of ``canmore-sim inspect``."""
    header = ["layer", "kind", "input", "output", "pool", "neurons", "synapses", "FLOPs",
              "cores", "weights KiB"]
    body = [[f"{r['layer']} {r['name']}".strip(), r["kind"], r["input"], r["neurons_shape"],
             str(r["pool"]), f"{r['neurons']:,}", f"{r['synapses']:,}", f"{r['flops']:,}",
             f"{r['cores']:,}", f"{r['weight_kib']:,.1f}"] for r in rows]
    return "\n".join([title, "", *_grid(header, body)])


def aggregate_lines(summary: dict[str, Any]) -> list[str]:
    """The terminal's over-the-frames block: one row per figure (mean, +- the half-width
    of its confidence interval, sample std, min, max), then accuracy with its Wilson
    interval."""
    agg = aggregates_of(summary)
    unit = summary["energy_model"]["unit"]
    n, level = agg["frames"], agg["confidence"]
    header = ["over the frames", "n", "mean", f"+- {level:.0%} CI", "std", "min", "max"]
    rows = [[metric_label(k, unit), str(s["n"]),
             *(format_figure(k, s[f]) for f in ("mean", "ci_half_width", "std", "min", "max"))]
            for k, s in agg["metrics"].items()]
    note = (f"over {n} frames: mean +- half-width of its {level:.0%} confidence interval "
            f"(Student t, {n - 1} degrees of freedom); sample std" if n > 1 else
            "1 frame: no spread and no confidence interval (they need two frames or more)")
    return [note, *_grid(header, rows), *_accuracy_lines(summary, agg)]


def _accuracy_lines(summary: dict[str, Any], agg: dict[str, Any]) -> list[str]:
    """Accuracy with its Wilson interval, one line per context (closed loop: on chip, and
    ideal; see :mod:`canmore_sim.report.accuracy`)."""
    groups = accuracy_groups(summary)
    if not groups:
        return ["accuracy: no labelled frames"]
    level = f"{agg['confidence']:.0%}"
    return [w for g in groups
            for w in wrap(f"accuracy [{level} Wilson score interval] {group_text(g)}")]


def class_lines(summary: dict[str, Any], top: int = 20) -> list[str]:
    """The per-class table of the terminal (the first ``top`` true labels)."""
    agg = aggregates_of(summary)
    classes = agg["classes"]
    if not classes or top <= 0:
        return []
    unit = summary["energy_model"]["unit"]
    head = ["true class", "frames", "correct", "accuracy", f"{agg['confidence']:.0%} interval",
            f"E {unit}", "frame ns", "lat mean ns"]
    cells = [[str(r["label"]), str(r["frames"]), str(r["correct"]), f"{r['accuracy']:.3f}",
              interval_text(r["ci_low"], r["ci_high"]),
              *(format_figure(k, r.get(k)) for k in CLASS_COLUMNS[6:])] for r in classes[:top]]
    more = (f"first {top} of {len(classes)} classes; all" if len(classes) > top else "also")
    return [f"per true class: accuracy and means per frame ({more} in classes.csv)",
            *_grid(head, cells)]
