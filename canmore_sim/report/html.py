"""report.html: one self-contained page (no external resources) from a summary (report.json).

At the top a summary (energy per frame and its split, accuracy, late share, cores,
chips) and any warnings; then sortable HTML tables (per frame, per layer, busiest
cores, congested ports, busiest links), the plots with captions, and the resolved
configuration. Every summary figure carries ``data-key`` (where it stands in
report.json) and ``data-value`` (the unrounded number), so a reader or a test can
check the page against the file. The layout fits a 1280 px laptop screen.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from canmore_sim.report.aggregate_rows import (
    aggregate_table,
    aggregates_of,
    card_notes,
    class_table,
)
from canmore_sim.report.plots import PLOTS, frame_count
from canmore_sim.report.replay import replay_lines
from canmore_sim.report.summary import frame_table_columns
from canmore_sim.report.text import area_text
from canmore_sim.report.timing import timing_rows, timing_text

__all__ = ["late_share", "report_html", "summary_figures"]

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
.card.bad{border-color:#c0392b;background:#fdecea}
.warnings{border:2px solid #c0392b;background:#fdecea;border-radius:6px;padding:.5em 1em;
 margin:1em 0}
.warnings li{margin:.2em 0}
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

#: Headers in words (with units) of report.json's per-layer and per-core keys; others as they are.
_HEADERS = {
    "layer": "layer", "name": "name", "kind": "kind", "shape": "shape (CxHxW)",
    "neurons": "neurons", "synapses": "synapses", "cores": "cores",
    "weight_kib": "weight memory, KiB", "neuron_spikes": "neurons fired / frame",
    "neurons_fired": "neurons fired / frame", "spikes_out": "spikes sent / frame",
    "spikes_sent": "spikes sent / frame", "sops": "SOPs / frame", "sops_in": "SOPs in / frame",
    "hops_in": "hops in / frame", "core": "core", "x": "x", "y": "y", "router": "router",
    "chip": "chip", "port": "input port", "wait_ns": "waiting, ns / frame", "share": "share",
    "max_occupancy": "max flits", "direction": "direction", "flits": "flits / frame",
    "utilization": "utilization", "packets_in": "packets in / frame",
    "deliveries_in": "deliveries in / frame", "interchip_hops_in": "inter-chip hops in / frame",
    "layer_name": "layer name", "spikes_in": "spikes in / frame",
    "packets_injected": "packets injected / frame", "packets_ejected": "deliveries ejected / frame",
}

_PERCENT = {"share", "utilization", "late_share"}

_TERMS = {"sop": "synaptic operations", "hop": "on-chip hops", "interchip_hop": "inter-chip hops",
          "static": "static", "dynamic": "dynamic"}


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _fmt(value: Any, digits: int = 4) -> str:
    """A number for people: thousands separators, ``digits`` significant digits, "-" for null."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or abs(float(value)) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


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


def summary_figures(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures of the page's summary: label, value, unit, report.json key, note."""
    e, mean, m, acc = (summary["energy_model"], summary["mean"], summary["mapping"],
                       summary["accuracy"])
    unit = e["unit"]
    total = mean.get("energy_total_uj")
    energy_ci, accuracy_ci = card_notes(summary)
    figures: list[dict[str, Any]] = [
        {"label": "energy per frame", "value": total, "unit": unit,
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
    synthetic = summary["model"].get("meta", {}).get("weights") == "synthetic"
    changed = acc.get("prediction_changed")
    figures += [
        {"label": f"accuracy, {summary['model'].get('weight_bits', '?')}-bit weights",
         "value": acc.get("quantized"), "unit": "share", "key": "accuracy.quantized",
         "note": "synthetic weights: meaningless" if synthetic else
         f"float weights {_pct(acc.get('float'))}; {_pct(changed)} of predictions changed"
         f"{accuracy_ci}"},
    ]
    share, where = late_share(summary)
    what = "deliveries" if "deliveries" in mean else "packets"
    figures.append({"label": f"late {what}", "value": share, "unit": "share",
                    "key": where, "bad": bool(share) and share == share,
                    "note": f"{_fmt(mean.get('late'))} of {_fmt(mean.get(what))} {what} "
                            "per frame arrived after their window closed"})
    figures += [
        {"label": "cores", "value": m["cores"], "unit": "", "key": "mapping.cores",
         "note": f"placement {m['placement']}"},
        {"label": "chips", "value": m["chips"], "unit": "", "key": "mapping.chips",
         "note": f"{m['mesh']} routers each, grid {m.get('chip_grid', '1x1')}"},
        {"label": "frame latency", "value": mean.get("frame_latency_ns"), "unit": "ns",
         "key": "mean.frame_latency_ns", "note": f"{frame_count(summary)} frames"},
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
                                f"{_pct(effective / every if every else None)} of "
                                f"{_fmt(every)} SOPs"})
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
                                                 f", 95 % CI +- {_fmt(half)}")
                                  + f"; {figure['note']}")
    return figures


def _card(f: dict[str, Any]) -> str:
    value = f["value"]
    shown = _pct(value) if f["unit"] == "share" else f"{_fmt(value)} {f['unit']}".strip()
    data = "" if value is None else f' data-value="{value!r}"'
    bad = " bad" if f.get("bad") else ""
    return (f'<div class="card{bad}"><div class="label">{_esc(f["label"])}</div>'
            f'<div class="value" data-key="{_esc(f["key"])}"{data}>{_esc(shown)}</div>'
            f'<div class="sub">{_esc(f["note"])}</div></div>')


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], sortable: bool = True,
           percent: Sequence[bool] = (), foot: Iterable[Sequence[Any]] = ()) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = _cells(rows, percent)
    tail = f"<tfoot>{''.join(_cells(foot, percent))}</tfoot>" if foot else ""
    cls = ' class="sortable"' if sortable else ""
    return (f'<div class="scroll"><table{cls}><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody>{tail}</table></div>')


def _cells(rows: Iterable[Sequence[Any]], percent: Sequence[bool]) -> list[str]:
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            sort = f' data-sort="{v!r}"' if number else ' class="text"'
            shown = f"{v:.1%}" if number and i < len(percent) and percent[i] else _fmt(v)
            cells.append(f"<td{sort}>{_esc(shown)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return body


def _frames_table(summary: dict[str, Any]) -> str:
    frames = summary["frames"]
    index = "data_index" if "data_index" in frames else "frame"
    unit = summary["energy_model"]["unit"]
    columns = [(k, h) for k, h, _ in frame_table_columns(summary) if k in frames]
    columns += [(f"energy_{t}_uj", f"E_{t} {unit}") for t in summary["energy_model"]["terms"]
                if f"energy_{t}_uj" in frames and all(k != f"energy_{t}_uj" for k, _ in columns)]
    extra = [(k, k) for k in ("label", "prediction") if k in frames]
    header = ["frame (data-set index)", *(h for _, h in extra),
              *(h.replace("_", " ") for _, h in columns)]
    rows = [[frames[index][i], *(frames[k][i] for k, _ in extra),
             *(frames[k][i] for k, _ in columns)] for i in range(len(frames[index]))]
    foot = [["mean", *([None] * len(extra)), *(summary["mean"].get(k) for k, _ in columns)],
            ["std (population)", *([None] * len(extra)),
             *(summary["std"].get(k) for k, _ in columns)]]
    return _table(header, rows, foot=foot)


def _aggregate_sections(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The over-the-frames table and the per-class table (see report_aggregates)."""
    agg = aggregates_of(summary)
    level, n = f"{agg['confidence']:.0%}", agg["frames"]
    note = (f'<p class="note">Over the {n} frames: mean, its {level} confidence interval '
            f"(Student t, {n - 1} degrees of freedom; sample standard deviation), min and max; "
            f"accuracy with its {level} Wilson score interval. report.json "
            "<code>aggregates</code>.</p>" if n > 1 else
            '<p class="note">One frame: no spread and no confidence interval.</p>')
    sections = [(f"Over the frames: mean and {level} confidence interval",
                 note + _table(*aggregate_table(summary)))]
    header, rows = class_table(summary)
    if rows:
        sections.append(("Per true class", '<p class="note">Frames, accuracy (Wilson '
                         "interval) and means per frame of each true class; also "
                         '<a href="classes.csv">classes.csv</a>.</p>'
                         + _table(header, rows, percent=[False] * len(header))))
    return sections


def _rows_table(rows: list[dict[str, Any]], skip: Sequence[str] = ()) -> str:
    keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in skip]
    header = [_HEADERS.get(k, k.replace("_uj", ", uJ").replace("_ns", ", ns")
                           .replace("_", " ")) for k in keys]
    body = [["x".join(map(str, r[k])) if isinstance(r.get(k), list) else r.get(k)
             for k in keys] for r in rows]
    return _table(header, body, percent=[k in _PERCENT for k in keys])


def _core_rows(summary: dict[str, Any], top: int = 10) -> list[dict[str, Any]]:
    """The ``top`` cores with the most SOPs, from the report's per-core statistics."""
    cores = summary.get("cores")
    if isinstance(cores, dict) and cores:
        n = len(next(iter(cores.values())))
        cores = [{k: v[i] for k, v in cores.items() if isinstance(v, list)} for i in range(n)]
    if not isinstance(cores, list) or not cores or "sops" not in cores[0]:
        return []
    return sorted(cores, key=lambda r: -(r.get("sops") or 0.0))[:top]


def _warnings(summary: dict[str, Any]) -> str:
    """The late share (when anything was late) and every warning of the report, one line each
    (the same lines as the terminal summary)."""
    items = [f"WARNING: {w if isinstance(w, str) else w.get('message', w)}"
             for w in summary.get("warnings") or []]
    share, _ = late_share(summary)
    if share and share == share:  # NaN: no frame was replayed
        mean = summary["mean"]
        what = "deliveries" if "deliveries" in mean else "packets"
        items.insert(0, f"LATE: {share:.1%} of {what} arrived after their consumer's window "
                        f"closed ({_fmt(mean.get('late'))} of {_fmt(mean.get(what))} per frame)")
    if summary["model"].get("meta", {}).get("weights") == "synthetic":
        items.append("synthetic weights: the accuracy is meaningless")
    if not items:
        return ""
    lis = "".join(f"<li>{_esc(w)}</li>" for w in items)
    return f'<div class="warnings" id="warnings"><strong>Warnings</strong><ul>{lis}</ul></div>'


def _figures(images: Sequence[str]) -> str:
    return "\n".join(
        f'<figure><img src="{_esc(name)}" alt="{_esc(PLOTS.get(name, name))}" loading="eager">'
        f"<figcaption>{_esc(PLOTS.get(name, name))}</figcaption></figure>" for name in images)


def _config_rows(config: dict[str, Any], prefix: str = "") -> list[list[Any]]:
    rows: list[list[Any]] = []
    for key, value in config.items():
        if isinstance(value, dict):
            rows += _config_rows(value, f"{prefix}{key}.")
        else:
            rows.append([f"{prefix}{key}", str(value) if value is not None else "null"])
    return rows


def report_html(summary: dict[str, Any], images: Sequence[str] | None = None) -> str:
    """The page, with the plots ``images`` (file names beside it; default: the usual set)."""
    images = list(images) if images is not None else [n for n in PLOTS
                                                      if n != "core_sops_heatmap.png"]
    model, m, noc = summary["model"], summary["mapping"], summary["noc"]
    title = f"canmore-sim report: {model['spec']}"
    e = summary["energy_model"]
    engine = str(summary.get("config", {}).get("run", {}).get("engine", "?"))
    cards = "".join(_card(f) for f in summary_figures(summary))
    core_rows = _core_rows(summary)
    sections = [
        ("Per frame", '<p class="note">One row per simulated frame (frame = index in the '
         "data set); waiting is summed over the frame's packets. Click a header to sort.</p>"
         + _frames_table(summary)),
        *_aggregate_sections(summary),
        ("Per layer (mean per frame)", _rows_table(summary["layers"])),
    ]
    if summary.get("replay"):
        sections.insert(0, ("NoC replay", "".join(f'<p class="note">{_esc(line)}</p>'
                                                  for line in replay_lines(summary))))
    if summary.get("timing"):
        sections.insert(0, ("Closed-loop timing: ideal and on chip",
                            f'<p class="note">{_esc(timing_text(summary["timing"]))}</p>'
                            + _rows_table(timing_rows(summary))))
    if core_rows:
        sections.append((f"Busiest cores (top {len(core_rows)} by SOPs)", _rows_table(core_rows)))
    congested = noc.get("congested_ports") or []
    sections.append(("Where packets waited (router input ports)",
                     _rows_table(congested) if congested else "<p>No packet waited.</p>"))
    if noc.get("busiest_links"):
        sections.append(("Busiest links", _rows_table(noc["busiest_links"])))
    body = "\n".join(f"<h2>{_esc(h)}</h2>\n{content}" for h, content in sections)
    config = _table(["key", "value"], _config_rows(summary.get("config", {})), sortable=False)
    cores_link = ' <a href="cores.csv">cores.csv</a>,' if summary.get("cores") else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{_esc(title)}</h1>
<p class="meta">{_esc(model.get('spikes_from') or model.get('neuron', ''))};
{m['cores']} cores on {m['chips']} chip(s) of {_esc(m['mesh'])} routers, placement
{_esc(m['placement'])}, NoC engine {_esc(engine)};
energy model {_esc(e['preset'])} ({_esc(e['source'])});
canmore-sim {_esc(summary['tool']['version'])}.
Files: <a href="frames.csv">frames.csv</a>, <a href="layers.csv">layers.csv</a>,{cores_link}
<a href="classes.csv">classes.csv</a>,
<a href="report.json">report.json</a> (every number).</p>
{_warnings(summary)}
<h2>Summary (mean per frame)</h2>
<div class="cards" id="summary">{cards}</div>
{body}
<h2>Plots</h2>
<div class="figures">
{_figures(images)}
</div>
<h2>Configuration</h2>
<details><summary>resolved configuration ({len(_config_rows(summary.get('config', {})))}
keys)</summary>{config}</details>
<script>{_SCRIPT}</script>
</body></html>
"""
