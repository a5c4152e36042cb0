"""Report files rendered from a summary (report.json): CSV tables, PNG plots, an HTML page.

Everything here reads only the summary, so ``canmore-sim report DIR`` re-renders
every file from ``DIR/report.json``. All files are written atomically.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canmore_sim.report.aggregate_rows import classes_csv
from canmore_sim.report.html import report_html
from canmore_sim.report.layers import with_shares
from canmore_sim.report.plots import (
    PLOTS,
    write_energy_hist,
    write_mapping_plot,
    write_mesh_heatmaps,
    write_summary_plots,
)
from canmore_sim.utils.atomic import atomic_write_text

if TYPE_CHECKING:
    from canmore_sim.run.pipeline import RunResult

__all__ = ["classes_csv", "cores_csv", "frames_csv", "layers_csv", "report_html",
           "write_map_report", "write_report_files"]

#: cores.csv columns, in order (report.json ``cores``); the I/O port is the last row.
CORE_COLUMNS = ("core", "layer", "layer_name", "x", "y", "chip", "neurons", "sops", "spikes_in",
                "spikes_out", "packets_injected", "packets_ejected", "weight_kib")
#: Columns added after :data:`CORE_COLUMNS` when the report has them: effective SOPs
#: (non-zero weights only) and the area of the core with its router, um2.
CORE_EXTRA = ("effective_sops", "area_um2")


def frames_csv(summary: dict[str, Any]) -> str:
    """One row per frame, one column per per-frame figure."""
    frames = summary["frames"]
    keys = list(frames)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for i in range(len(frames["data_index"])):
        writer.writerow([frames[k][i] for k in keys])
    return buffer.getvalue()


def layers_csv(summary: dict[str, Any]) -> str:
    """One row per weight layer (mean per frame), with its total energy and its shares
    of the energy, SOPs and hops (:mod:`canmore_sim.report.layers`)."""
    rows = with_shares(summary["layers"], summary["energy_model"]["terms"])
    keys = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for row in rows:
        writer.writerow(["x".join(map(str, v)) if isinstance(v, list) else v
                         for v in (row.get(k, "") for k in keys)])
    return buffer.getvalue()


def cores_csv(summary: dict[str, Any]) -> str:
    """One row per core (mean per frame), then the I/O port (``core`` = ``io``).

    The columns add up to the frame means: SOPs, spikes sent, packets injected and
    deliveries ejected (see docs/reference/report-columns.md, "Per core").
    """
    cores = summary.get("cores") or {k: [] for k in CORE_COLUMNS}
    columns = (*CORE_COLUMNS, *(k for k in CORE_EXTRA if k in cores))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for i in range(len(cores["core"])):
        writer.writerow([cores[k][i] for k in columns])
    port = summary.get("io_port")
    if port:
        writer.writerow([port.get(k, "") if k not in ("core", "layer_name") else
                         ("io" if k == "core" else "I/O port") for k in columns])
    return buffer.getvalue()


def write_report_files(summary: dict[str, Any], out: str | Path) -> list[Path]:
    """Write frames.csv, layers.csv, cores.csv, classes.csv, every PNG and report.html
    into ``out``."""
    out = Path(out)
    paths = [atomic_write_text(out / "frames.csv", frames_csv(summary)),
             atomic_write_text(out / "layers.csv", layers_csv(summary)),
             atomic_write_text(out / "cores.csv", cores_csv(summary)),
             atomic_write_text(out / "classes.csv", classes_csv(summary))]
    paths += write_summary_plots(summary, out)
    paths.append(write_energy_hist(summary, out))
    paths += write_mesh_heatmaps(summary, out)
    paths.append(write_mapping_plot(summary, out))
    written = {p.name for p in paths}
    images = [name for name in PLOTS if name in written]
    paths.append(atomic_write_text(out / "report.html", report_html(summary, images)))
    return paths


def write_map_report(summary: dict[str, Any], result: RunResult, out: str | Path) -> list[Path]:
    """Every file of a map report in ``out``: report.json (``summary``), mapping.json
    (``result``'s mapping, reloadable with ``--mapping``) and the files rendered from the
    summary (:func:`write_report_files`); the paths written.

    ``canmore-sim map`` writes it into a staged folder that is swapped in whole
    (:mod:`canmore_sim.report.folders`), as :meth:`canmore_sim.api.Result.write` does.
    """
    from canmore_sim.mapper.mapping_io import save_mapping
    from canmore_sim.report.summary import write_json

    folder = Path(out)
    return [write_json(summary, folder / "report.json"),
            save_mapping(result.mapping, result.quantized.spec, folder / "mapping.json"),
            *write_report_files(summary, folder)]
