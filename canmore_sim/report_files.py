"""Report files rendered from a summary (report.json): CSV tables, PNG plots, an HTML page.

Everything here reads only the summary, so ``canmore-sim report DIR`` re-renders
every file from ``DIR/report.json``. All files are written atomically.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path
from typing import Any

from canmore_sim.atomic import atomic_write_text
from canmore_sim.plots import (
    write_core_sop_heatmap,
    write_mapping_plot,
    write_noc_plots,
    write_summary_plots,
)
from canmore_sim.report import render_table

__all__ = ["write_report_files", "frames_csv", "layers_csv", "report_html"]


def frames_csv(summary: dict[str, Any]) -> str:
    """One row per frame, one column per per-frame figure."""
    frames = summary["frames"]
    keys = list(frames)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for i in range(len(frames["frame"])):
        writer.writerow([frames[k][i] for k in keys])
    return buffer.getvalue()


def layers_csv(summary: dict[str, Any]) -> str:
    """One row per weight layer (mean per frame)."""
    rows = summary["layers"]
    keys = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for row in rows:
        writer.writerow(["x".join(map(str, v)) if isinstance(v, list) else v
                         for v in (row.get(k, "") for k in keys)])
    return buffer.getvalue()


_IMAGES = (
    ("energy_layers.png", "Energy per layer by term"),
    ("sops_spikes_layers.png", "SOPs and spikes per layer"),
    ("wait_heatmap.png", "Where packets waited (mesh heatmap)"),
    ("traffic_heatmap.png", "Traffic per router (mesh heatmap)"),
    ("latency_hist.png", "Packet latency"),
    ("mapping.png", "Cores on the mesh, coloured by layer"),
)


def report_html(summary: dict[str, Any]) -> str:
    """A self-contained HTML page (images referenced beside it) with the tables and plots."""
    model, mapping = summary["model"], summary["mapping"]
    title = f"canmore-sim report: {model['spec']}"
    figures = "\n".join(
        f'<figure><img src="{name}" alt="{html.escape(caption)}"><figcaption>'
        f"{html.escape(caption)}</figcaption></figure>" for name, caption in _IMAGES)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}
pre{{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}}
figure{{display:inline-block;margin:0.5em;vertical-align:top}}
img{{max-width:560px;border:1px solid #ddd}}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>{mapping['cores']} cores on {mapping['chips']} chip(s) of {mapping['mesh']} routers,
placement {html.escape(str(mapping['placement']))};
energy model {html.escape(summary['energy_model']['preset'])}
({html.escape(summary['energy_model']['source'])});
canmore-sim {html.escape(summary['tool']['version'])}.
Tables: <a href="frames.csv">frames.csv</a>, <a href="layers.csv">layers.csv</a>,
all numbers: <a href="report.json">report.json</a>.</p>
<h2>Per frame, per layer, congestion</h2>
<pre>{html.escape(render_table(summary))}</pre>
<h2>Plots</h2>
{figures}
</body></html>
"""


def write_report_files(summary: dict[str, Any], out: str | Path) -> list[Path]:
    """Write frames.csv, layers.csv, every PNG and report.html into ``out``."""
    out = Path(out)
    paths = [atomic_write_text(out / "frames.csv", frames_csv(summary)),
             atomic_write_text(out / "layers.csv", layers_csv(summary))]
    paths += write_summary_plots(summary, out)
    paths += write_noc_plots(summary, out)
    paths.append(write_mapping_plot(summary, out))
    core_map = write_core_sop_heatmap(summary, out)
    paths += [core_map] if core_map else []
    paths.append(atomic_write_text(out / "report.html", report_html(summary)))
    return paths
