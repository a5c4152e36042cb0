"""report.html: one self-contained page (no external resources) from a summary (report.json).

At the top a navigation bar to every section, the notices (info in blue, warnings in
red: the terminal's and report.json's one scale) and the summary cards (energy per frame
and its split, accuracy with its interval, late share, cores, chips); then one section
per table (per layer with each layer's share, per frame bounded to the first rows and
the extremes, over the frames, per class, busiest cores, congested ports, busiest
links), the plots with captions, and the resolved configuration. Every summary figure
carries ``data-key`` (where it stands in report.json) and ``data-value`` (the unrounded
number), so a reader or a test can check the page against the file. The layout fits a
1280 px laptop screen: a table wider than that scrolls inside its own box, and the
page's height does not grow with the frame count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from canmore_sim.report.accuracy import accuracy_groups
from canmore_sim.report.aggregate_rows import aggregates_of, card_notes
from canmore_sim.report.html_parts import Section, count, esc, fmt, nav, pct, table
from canmore_sim.report.notices import notices_of, worst
from canmore_sim.report.plots import PLOTS, frame_count
from canmore_sim.report.provenance import provenance_lines
from canmore_sim.report.replay import replay_lines
from canmore_sim.report.sections import (
    aggregates_section,
    classes_section,
    cores_section,
    frames_section,
    layers_section,
    links_section,
    notices_html,
    paper_section,
    ports_section,
    timing_section,
)
from canmore_sim.report.text import area_text

__all__ = ["SECTIONS", "late_share", "report_html", "summary_figures"]

_STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
 padding:1.2em 1.5em;max-width:1240px;color:#1d1d1f;line-height:1.4;font-size:15px}
h1{font-size:1.35em;margin:.2em 0 .1em;overflow-wrap:anywhere}
h2{font-size:1.1em;margin:1.6em 0 .5em;border-bottom:1px solid #ddd;padding-bottom:.2em}
p.meta{color:#555;margin:.2em 0 1em;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:.6em}
.card{border:1px solid #ddd;border-radius:6px;padding:.55em .8em;background:#fafafa}
.card .label{font-size:.8em;color:#555}
.card .value{font-size:1.3em;font-weight:600}
.card .sub{font-size:.8em;color:#444;overflow-wrap:anywhere}
.card.warning{border-color:#c0392b;background:#fdecea}
.card.info{border-color:#2b6cb0;background:#ebf4ff}
ul.notices{list-style:none;padding:0;margin:.8em 0}
li.notice{border-radius:6px;padding:.4em .8em;margin:.3em 0;border:1px solid}
li.notice.warning{border:2px solid #c0392b;background:#fdecea}
li.notice.info{border-color:#2b6cb0;background:#ebf4ff}
li.notice strong{text-transform:uppercase;font-size:.8em;margin-right:.4em}
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #ddd;
 padding:.35em 0;display:flex;flex-wrap:wrap;gap:.2em .9em;font-size:.9em}
nav a{text-decoration:none;color:#1a5fb4}
section{scroll-margin-top:2.6em}
#paper td.text:not(:first-child){text-align:right}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:12.5px;margin:.3em 0 1em}
th,td{padding:.22em .45em;border-bottom:1px solid #e5e5e5;white-space:nowrap}
th{background:#f0f0f0;text-align:right;cursor:pointer;user-select:none;white-space:normal;
 vertical-align:bottom;min-width:3.5em;max-width:8.5em;font-weight:600}
th:first-child,td:first-child{text-align:left}
td{text-align:right;font-variant-numeric:tabular-nums}
td.text{text-align:left}
tfoot td{font-weight:600;border-top:2px solid #ccc}
tr:hover td{background:#f7fbff}
th.sorted-asc::after{content:" \\25B2";font-size:.7em}
th.sorted-desc::after{content:" \\25BC";font-size:.7em}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:1em}
figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:.5em;background:#fff}
figure img{max-width:100%;height:auto;display:block;margin:0 auto}
figcaption{font-size:.85em;color:#444;margin-top:.3em}
details{margin:.5em 0}
summary{cursor:pointer}
.note{font-size:.85em;color:#555}
"""

_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.title = 'click to sort';
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var asc = !th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function (h) {
        h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      function key(row) {
        var cell = row.cells[col], v = cell.getAttribute('data-sort');
        if (v === null) { v = cell.textContent.trim(); }
        var n = parseFloat(v);
        return isNaN(n) ? v : n;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x === 'number' && typeof y === 'number') { return asc ? x - y : y - x; }
        return asc ? String(x).localeCompare(String(y)) : String(y).localeCompare(String(x));
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""

_TERMS = {"sop": "synaptic operations", "hop": "on-chip hops", "interchip_hop": "inter-chip hops",
          "static": "static", "dynamic": "dynamic"}


def late_share(summary: dict[str, Any]) -> tuple[float | None, str]:
    """The share of packets delivered late, and where it stands in report.json.

    ``summary["late_share"]`` where the report has it, else the mean late packets
    over the mean packets per frame.
    """
    if summary.get("late_share") is not None:
        return float(summary["late_share"]), "late_share"
    mean = summary["mean"]
    packets = mean.get("deliveries") or mean.get("packets") or 0.0
    late = mean.get("late")
    if late is None or not packets:
        return None, "late_share"
    where = "mean.late/mean.deliveries" if mean.get("deliveries") else "mean.late/mean.packets"
    return float(late) / float(packets), where


def _accuracy_figures(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One card per accuracy context (closed loop: on chip, and ideal), each value with
    its own Wilson interval and the other figures of the same context."""
    if summary["model"].get("meta", {}).get("weights") == "synthetic":
        acc = summary["accuracy"]
        return [{"label": f"accuracy, {summary['model'].get('weight_bits', '?')}-bit weights",
                 "value": acc.get("quantized"), "unit": "share", "key": "accuracy.quantized",
                 "note": "synthetic weights: meaningless"}]
    level = f"{aggregates_of(summary)['confidence']:.0%}"
    figures = []
    for group in accuracy_groups(summary):
        items = group["items"]
        parts = [f"{i['what']} {pct(i['value'])} ({level} CI {pct(i['ci_low'])} - "
                 f"{pct(i['ci_high'])}, {i['correct']:,} of {i['labelled']:,})" for i in items]
        value = items[0]["value"] if items else None
        figures.append({"label": group["label"], "value": value, "unit": "share",
                        "key": group["key"], "note": "; ".join(parts) + " (Wilson)",
                        "context": group["context"]})
    if not figures:
        figures.append({"label": "accuracy", "value": None, "unit": "share",
                        "key": "accuracy.quantized", "note": "no labelled frames"})
    return figures


def summary_figures(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures of the page's summary: label, value, unit, report.json key, note."""
    e, mean, m = summary["energy_model"], summary["mean"], summary["mapping"]
    unit = e["unit"]
    total = mean.get("energy_total_uj")
    energy_ci, _ = card_notes(summary)
    chip = " on chip" if summary.get("timing") else ""
    figures: list[dict[str, Any]] = [
        {"label": f"energy per frame{chip}", "value": total, "unit": unit,
         "key": "mean.energy_total_uj", "note": f"{e['preset']} ({e['model']}){energy_ci}"}]
    for t in e["terms"]:
        value = mean.get(f"energy_{t}_uj")
        share = None if value is None or not total else value / total
        grows = (e.get("depends") or {}).get(t)
        follows = ("" if grows is None else "; constant per frame" if not grows else
                   "; grows with " + " and ".join(
                       {"time": "frame time", "size": "chip size"}.get(w, w) for w in grows))
        figures.append({"label": f"energy: {_TERMS.get(t, t.replace('_', ' '))}",
                        "value": value, "unit": unit, "key": f"mean.energy_{t}_uj",
                        "note": ("-" if share is None else f"{share:.1%} of the total")
                                + follows})
    figures += _accuracy_figures(summary)
    share, where = late_share(summary)
    what = "deliveries" if "deliveries" in mean else "packets"
    figures.append({"label": f"late {what}", "value": share, "unit": "share", "key": where,
                    "severity": worst(notices_of(summary), "late"),
                    "note": f"{count(mean.get('late'))} of {count(mean.get(what))} {what} "
                            "per frame arrived after their window closed"})
    figures += [
        {"label": "cores", "value": m["cores"], "unit": "", "key": "mapping.cores",
         "note": f"placement {m['placement']}"},
        {"label": "chips", "value": m["chips"], "unit": "", "key": "mapping.chips",
         "note": f"{m['mesh']} routers each, grid {m.get('chip_grid', '1x1')}"},
        {"label": "frame latency", "value": mean.get("frame_latency_ns"), "unit": "ns",
         "key": "mean.frame_latency_ns", "note": _plural(frame_count(summary), "frame")},
    ]
    area = summary.get("area")
    if area:
        figures.append({"label": "area", "value": area["grid_mm2"], "unit": "mm2",
                        "key": "area.grid_mm2", "note": area_text(summary)[len("area "):]})
    effective, every = mean.get("effective_sops"), mean.get("sops")
    if effective is not None:
        figures.append({"label": "effective SOPs", "value": effective, "unit": "",
                        "key": "mean.effective_sops",
                        "note": f"non-zero weights only (NeuroBench): "
                                f"{pct(effective / every if every else None)} of "
                                f"{count(every)} SOPs"})
    replay = summary.get("replay") or {}
    if replay.get("sampled_figures"):  # timing from a replayed sample: say so on each card
        sample = (f"* from the {replay['frames_replayed']} replayed frames of "
                  f"{replay['frames']}")
        for figure in figures:
            if figure["key"] in ("late_share", "mean.late", "mean.frame_latency_ns"):
                estimate = replay["estimates"].get(figure["key"].split(".")[-1]) or {}
                half = estimate.get("ci95_half_width")
                figure["label"] += "*"
                figure["note"] = (f"{sample}" + ("" if half is None else
                                                 f", 95 % CI +- {fmt(half)}")
                                  + f"; {figure['note']}")
    return figures


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _card(f: dict[str, Any]) -> str:
    value = f["value"]
    shown = pct(value) if f["unit"] == "share" else f"{fmt(value)} {f['unit']}".strip()
    data = "" if value is None else f' data-value="{value!r}"'
    level = f" {f['severity']}" if f.get("severity") else ""
    context = f' data-context="{esc(f["context"])}"' if f.get("context") else ""
    return (f'<div class="card{level}"{context}><div class="label">{esc(f["label"])}</div>'
            f'<div class="value" data-key="{esc(f["key"])}"{data}>{esc(shown)}</div>'
            f'<div class="sub">{esc(f["note"])}</div></div>')


def _summary_section(summary: dict[str, Any]) -> Section:
    cards = "".join(_card(f) for f in summary_figures(summary))
    return Section("summary-section", "Summary (mean per frame)",
                   f'<div class="cards" id="summary">{cards}</div>', "summary")


def _replay_section(summary: dict[str, Any]) -> list[Section]:
    """Which frames the NoC replayed (``run.replay``), when not every one was."""
    if not summary.get("replay"):
        return []
    body = "".join(f'<p class="note">{esc(line)}</p>' for line in replay_lines(summary))
    return [Section("replay", "NoC replay", body, "replay")]


def _plots_section(images: Sequence[str]) -> Section:
    figures = "\n".join(
        f'<figure><img src="{esc(name)}" alt="{esc(PLOTS.get(name, name))}" loading="eager">'
        f"<figcaption>{esc(PLOTS.get(name, name))}</figcaption></figure>" for name in images)
    return Section("plots", "Plots", f'<div class="figures">\n{figures}\n</div>', "plots")


def _config_rows(config: dict[str, Any], prefix: str = "") -> list[list[Any]]:
    rows: list[list[Any]] = []
    for key, value in config.items():
        if isinstance(value, dict):
            rows += _config_rows(value, f"{prefix}{key}.")
        else:
            rows.append([f"{prefix}{key}", str(value) if value is not None else "null"])
    return rows


def _config_section(summary: dict[str, Any]) -> Section:
    rows = _config_rows(summary.get("config", {}))
    body = (f"<details><summary>resolved configuration ({len(rows)} keys)</summary>"
            f'{table(["key", "value"], rows, sortable=False)}</details>')
    return Section("config", "Configuration", body, "configuration")


#: The page's table sections after the summary, in order: each a function of the summary
#: returning a :class:`Section`, or None where it does not apply.
SECTIONS = (paper_section, timing_section, layers_section, frames_section, aggregates_section,
            classes_section, cores_section, ports_section, links_section)


def _provenance(summary: dict[str, Any]) -> str:
    """The title block's provenance: model, data, window (one line each)."""
    lines = provenance_lines(summary)
    if not lines:
        return ""
    return '<p class="meta" id="provenance">' + "<br>\n".join(esc(x) for x in lines) + "</p>"


def report_html(summary: dict[str, Any], images: Sequence[str] | None = None) -> str:
    """The page, with the plots ``images`` (file names beside it; default: the usual set)."""
    images = list(images) if images is not None else [n for n in PLOTS
                                                      if n != "core_sops_heatmap.png"]
    model, m = summary["model"], summary["mapping"]
    title = f"canmore-sim report: {model['spec']}"
    e = summary["energy_model"]
    engine = str(summary.get("config", {}).get("run", {}).get("engine", "?"))
    sections = [_summary_section(summary), *_replay_section(summary),
                *(s for s in (build(summary) for build in SECTIONS) if s is not None),
                _plots_section(images), _config_section(summary)]
    cores_link = ' <a href="cores.csv">cores.csv</a>,' if summary.get("cores") else ""
    body = "\n".join(s.html() for s in sections)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{esc(title)}</h1>
<p class="meta">{esc(model.get('spikes_from') or model.get('neuron', ''))};
{m['cores']} cores on {m['chips']} chip(s) of {esc(m['mesh'])} routers, placement
{esc(m['placement'])}, NoC engine {esc(engine)};
energy model {esc(e['preset'])} ({esc(e['source'])});
canmore-sim {esc(summary['tool']['version'])}.
Files: <a href="frames.csv">frames.csv</a> ({_plural(frame_count(summary), "row")}),
<a href="layers.csv">layers.csv</a>,{cores_link}
<a href="classes.csv">classes.csv</a>,
<a href="report.json">report.json</a> (every number).</p>
{_provenance(summary)}
{nav(sections)}
{notices_html(summary)}
{body}
<script>{_SCRIPT}</script>
</body></html>
"""
