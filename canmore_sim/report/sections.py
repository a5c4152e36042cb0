"""The sections of report.html, one function each: ``(summary) -> Section | None``.

Every section is bounded whatever the frame count: the per-frame table shows the first
rows and the extremes (:mod:`canmore_sim.report.frames`), the per-class table the first
classes, with links to the CSV files that hold every row.
"""

from __future__ import annotations

from typing import Any

from canmore_sim.report.aggregate_rows import aggregate_table, aggregates_of, class_table
from canmore_sim.report.frames import shown_frames, shown_note
from canmore_sim.report.html_parts import Section, esc, kind_of, rows_table, table
from canmore_sim.report.layers import with_shares
from canmore_sim.report.notices import notices_of
from canmore_sim.report.paper import SOURCE, against_paper, paper_cell
from canmore_sim.report.summary import frame_table_columns
from canmore_sim.report.timing import timing_rows, timing_text

__all__ = ["MAX_CLASSES", "aggregates_section", "classes_section", "cores_section",
           "frames_section", "layers_section", "links_section", "notices_html",
           "paper_section", "ports_section", "timing_section"]

#: Rows of the page's per-class table (every class is in classes.csv).
MAX_CLASSES = 20


def notices_html(summary: dict[str, Any]) -> str:
    """Every notice in a box coloured by its severity (info: blue, warning: red)."""
    items = "".join(f'<li class="notice {esc(n["severity"])}" data-severity="'
                    f'{esc(n["severity"])}"><strong>{esc(n["severity"])}</strong> '
                    f'{esc(n["message"])}</li>' for n in notices_of(summary))
    return f'<ul class="notices" id="notices">{items}</ul>' if items else ""


def layers_section(summary: dict[str, Any]) -> Section:
    """Per layer, with its total energy and its shares of the energy, SOPs and hops."""
    e = summary["energy_model"]
    first = ("layer", "name", "kind", "shape", "cores", "energy_total_uj", "energy_share",
             "sops", "sops_share", "hops_in", "hops_share")
    rows = [{**{k: r[k] for k in first if k in r}, **r}
            for r in with_shares(summary["layers"], e["terms"])]
    note = ('<p class="note">Mean per frame. "share of" columns: the layer\'s part of the '
            "frame's energy, SOPs and hops; every column is in "
            '<a href="layers.csv">layers.csv</a>.</p>')
    return Section("layers", "Per layer (mean per frame)", note + rows_table(rows,
                                                                            unit=e["unit"]),
                   "layers")


def frames_section(summary: dict[str, Any]) -> Section:
    """The first frames and the extremes (most energy, most late), mean and std of all."""
    frames = summary["frames"]
    unit = summary["energy_model"]["unit"]
    columns = [(k, h) for k, h, _ in frame_table_columns(summary) if k in frames]
    columns += [(f"energy_{t}_uj", f"E_{t} {unit}") for t in summary["energy_model"]["terms"]
                if f"energy_{t}_uj" in frames and all(k != f"energy_{t}_uj" for k, _ in columns)]
    shown = shown_frames(summary)
    header = ["frame (data-set index)", "shown as", *(h.replace("_", " ") for _, h in columns)]
    rows = [[frames["data_index"][i], why, *(frames[k][i] for k, _ in columns)]
            for i, why in shown]
    foot = [["mean of all", "", *(summary["mean"].get(k) for k, _ in columns)],
            ["std (population)", "", *(summary["std"].get(k) for k, _ in columns)]]
    kinds = ["id", "", *(kind_of(k) for k, _ in columns)]
    note = (f'<p class="note">{esc(shown_note(summary, shown))} '
            '(<a href="frames.csv">frames.csv</a>). Frame = index in the data set; waiting '
            "is summed over the frame's packets. Click a header to sort.</p>")
    return Section("frames", "Per frame", note + table(header, rows, kinds=kinds, foot=foot,
                                                       table_id="frames-table"), "frames")


def aggregates_section(summary: dict[str, Any]) -> Section:
    """The over-the-frames table (mean, confidence interval, spread)."""
    agg = aggregates_of(summary)
    level, n = f"{agg['confidence']:.0%}", agg["frames"]
    note = (f'<p class="note">Over the {n:,} frames: mean, its {level} confidence interval '
            f"(Student t, {n - 1:,} degrees of freedom; sample standard deviation), min and "
            f"max; accuracy with its {level} Wilson score interval. report.json "
            "<code>aggregates</code>.</p>" if n > 1 else
            '<p class="note">One frame: no spread and no confidence interval.</p>')
    return Section("aggregates", f"Over the frames: mean and {level} confidence interval",
                   note + table(*aggregate_table(summary)), "over the frames")


def classes_section(summary: dict[str, Any]) -> Section | None:
    """Per true class (the first :data:`MAX_CLASSES`; all in classes.csv)."""
    header, rows = class_table(summary)
    if not rows:
        return None
    shown = (f"the first {MAX_CLASSES} of {len(rows):,} classes" if len(rows) > MAX_CLASSES
             else f"all {len(rows)} classes")
    note = (f'<p class="note">Frames, accuracy (Wilson interval) and means per frame of each '
            f'true class: {shown}; every class in <a href="classes.csv">classes.csv</a>.</p>')
    kinds = ["id", "int", "int", "", "", ""]
    return Section("classes", "Per true class", note + table(header, rows[:MAX_CLASSES],
                                                             kinds=kinds), "classes")


def timing_section(summary: dict[str, Any]) -> Section | None:
    """Closed-loop timing: the ideal and on-chip columns side by side."""
    if not summary.get("timing"):
        return None
    return Section("timing", "Closed-loop timing: ideal and on chip",
                   f'<p class="note">{esc(timing_text(summary["timing"]))}</p>'
                   + rows_table(timing_rows(summary)), "timing")


def paper_section(summary: dict[str, Any]) -> Section | None:
    """VGG16 on CIFAR-10: this run's counts beside the paper's, and Eq. 12 on each."""
    rows = against_paper(summary)
    if rows is None:
        return None
    note = (f'<p class="note">{esc(SOURCE)}. Eq. 12, E = 20 pJ x SOPs + 100 pJ x hops + '
            f"3.52 uJ, gives {rows[-1]['paper']:,.0f} uJ on the paper's own counts, not the "
            "50.36 uJ per frame it prints.</p>")
    body = [[r["figure"], paper_cell(r["run"], i >= 3), paper_cell(r["paper"], i >= 3)]
            for i, r in enumerate(rows)]
    return Section("paper", "Against the paper (VGG16 on CIFAR-10)",
                   note + table(["per frame", "this run", "paper"], body, sortable=False),
                   "paper")


def cores_section(summary: dict[str, Any], top: int = 10) -> Section | None:
    """The ``top`` cores with the most SOPs (all in cores.csv)."""
    cores = summary.get("cores")
    if isinstance(cores, dict) and cores:
        n = len(next(iter(cores.values())))
        cores = [{k: v[i] for k, v in cores.items() if isinstance(v, list)} for i in range(n)]
    if not isinstance(cores, list) or not cores or "sops" not in cores[0]:
        return None
    rows = sorted(cores, key=lambda r: -(r.get("sops") or 0.0))[:top]
    note = (f'<p class="note">The {len(rows)} of {len(cores):,} cores with the most SOPs; every '
            'core in <a href="cores.csv">cores.csv</a>.</p>')
    return Section("cores", f"Busiest cores (top {len(rows)} by SOPs)", note + rows_table(rows),
                   "cores")


def ports_section(summary: dict[str, Any]) -> Section:
    """The router input ports where packets waited longest."""
    ports = summary["noc"].get("congested_ports") or []
    return Section("congestion", "Where packets waited (router input ports)",
                   rows_table(ports) if ports else "<p>No packet waited.</p>", "waiting")


def links_section(summary: dict[str, Any]) -> Section | None:
    links = summary["noc"].get("busiest_links")
    return Section("links", "Busiest links", rows_table(links), "links") if links else None
