"""PNG plots of a run, rendered headless (matplotlib Agg) and written atomically.

Every plot has labelled axes with units, a title in words, tick labels without
offset notation, and text that stays legible on any cell (black or white by the
luminance of the cell's colour).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.report.aggregate_rows import aggregates_of
from canmore_sim.report.figures import (
    axes_title,
    figure_bytes,
    new_figure,
    text_colours,
)
from canmore_sim.report.plot_labels import axis_ticks, cell_labels
from canmore_sim.utils.atomic import atomic_write_bytes

__all__ = ["PLOTS", "count_bars_figure", "energy_bars_figure", "energy_hist_figure",
           "latency_hist_figure", "mapping_figure", "mesh_heatmap_figure",
           "write_core_sop_heatmap",
           "write_energy_hist", "write_mapping_plot", "write_mesh_heatmaps", "write_noc_plots",
           "write_summary_plots"]

#: Every PNG a run can write, with the caption the HTML page shows under it.
PLOTS: dict[str, str] = {
    "mapping.png": "Cores on the mesh, coloured by layer; the number in a cell is the core id, "
                   "the ring marks the I/O router where input frames enter and readouts leave.",
    "energy_layers.png": "Energy per frame of every weight layer, split by term (static energy "
                         "split by the layers' share of the cores).",
    "sops_spikes_layers.png": "Synaptic operations into each layer, neurons fired and spikes "
                              "sent by its cores, per frame (log scale; a zero has no bar).",
    "core_sops_heatmap.png": "Synaptic operations per core on the mesh, per frame: the busiest "
                             "cores.",
    "wait_heatmap.png": "Time packets waited at each router (all input ports), summed over the "
                        "packets, per frame.",
    "traffic_heatmap.png": "Flits each router sent (all output ports), per frame.",
    "latency_hist.png": "Packet latency (injection to ejection) over all frames.",
    "energy_hist.png": "Energy per frame over the frames (bins: numpy's 'auto' rule), with the "
                       "mean and its 95 % confidence interval (Student t).",
}

_TERM_NAMES = {"sop": "synaptic operations", "hop": "on-chip hops",
               "interchip_hop": "inter-chip hops", "static": "static"}


def _floats(values: Any) -> np.ndarray:
    """A float64 array from report.json lists; null (a figure that had no value) -> NaN."""
    return np.array(values, dtype=np.float64)


def per_router(values: Any) -> np.ndarray:
    """A per-router, per-port figure of report.json as float ``(n_routers, 5)``: either a
    list of per-router rows or a ``{port: [value per router]}`` table."""
    if isinstance(values, dict):
        return np.array(list(values.values()), dtype=np.float64).T
    return _floats(values)


def frame_count(summary: dict[str, Any]) -> int:
    """How many frames a report holds (its frame column is ``data_index`` or ``frame``)."""
    frames = summary["frames"]
    return len(frames.get("data_index", frames.get("frame", [])))


def _short(value: float) -> str:
    if not np.isfinite(value):
        return "-"
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def mesh_heatmap_figure(values: np.ndarray, width: int, height: int, title: str,
                        unit: str) -> Any:
    """A mesh heatmap (one cell per router) with its value written legibly in every cell."""
    fig = _heatmap_frame(width, height)
    _heatmap_fill(fig, values, title, unit)
    return fig


def _heatmap_frame(width: int, height: int) -> Any:
    """The parts of a mesh heatmap that depend only on the mesh: figure, axes, ticks, an
    image of zeros and its colour bar (:func:`_heatmap_fill` puts the values in)."""
    from matplotlib import colormaps

    fig = new_figure(1.4 + 0.62 * width, 0.9 + 0.62 * height, room=True)
    ax = fig.add_subplot()
    cmap = colormaps["magma"].with_extremes(bad="#f2f2f2")
    image = ax.imshow(np.zeros((height, width)), cmap=cmap, origin="upper", vmin=0.0,
                      vmax=1.0)
    _mesh_axes(ax, width, height)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def _heatmap_fill(fig: Any, values: np.ndarray, title: str, unit: str) -> None:
    """Show ``values`` (one per router) in a :func:`_heatmap_frame` figure, replacing what
    it showed: colours (a log scale over a spread above 100), cell values, title, unit."""
    from matplotlib.colors import LogNorm, Normalize

    ax = fig.axes[0]
    image = ax.images[0]
    height, width = image.get_array().shape
    grid = np.asarray(values, dtype=np.float64).reshape(height, width)
    positive = grid[grid > 0]
    log = len(positive) > 0 and positive.max() / positive.min() > 100
    top = float(positive.max()) if len(positive) else 1.0
    norm = LogNorm(vmin=positive.min(), vmax=top) if log else Normalize(vmin=0.0, vmax=top)
    shown = np.where(grid > 0, grid, np.nan) if log else grid
    image.set_data(shown)
    image.set_norm(norm)
    image.colorbar.update_normal(image)
    image.colorbar.set_label(unit)
    for old in [c for c in ax.collections if c.get_gid() == "cell-labels"]:
        old.remove()
    if width * height <= 256:
        ys, xs = np.indices(grid.shape).reshape(2, -1)
        backgrounds = np.where(np.isfinite(shown.ravel())[:, None],
                               image.cmap(norm(grid.ravel())), (0.95, 0.95, 0.95, 1.0))
        cell_labels(ax, np.column_stack([xs, ys]), [_short(v) for v in grid.ravel()],
                    text_colours(backgrounds), 7)
    axes_title(ax, title + ("\n(log colour scale; grey: zero)" if log else ""))


def _write_heatmaps(summary: dict[str, Any], specs: list[tuple[str, np.ndarray, str, str]],
                    out: str | Path) -> list[Path]:
    """Write every heatmap of ``specs`` (file name, values, title, unit) from one figure:
    its axes, ticks and colour bar are made and measured once, not once per file."""
    width, height = summary["noc"]["routers"]
    fig = _heatmap_frame(width, height) if specs else None
    paths = []
    for name, values, title, unit in specs:
        _heatmap_fill(fig, values, title, unit)
        paths.append(atomic_write_bytes(Path(out) / name, figure_bytes(fig)))
    return paths


def _mesh_axes(ax: Any, width: int, height: int) -> None:
    ax.set_xlabel("x, router column")
    ax.set_ylabel("y, router row")
    axis_ticks(ax, range(width) if width <= 32 else range(0, width, max(1, width // 16)),
               range(height) if height <= 32 else range(0, height, max(1, height // 16)))


def write_mesh_heatmaps(summary: dict[str, Any], out: str | Path) -> list[Path]:
    """Every mesh heatmap of a report: those of :func:`write_noc_plots`, then that of
    :func:`write_core_sop_heatmap` where the report has per-core statistics."""
    core = _core_sop_spec(summary)
    return _write_heatmaps(summary, _noc_specs(summary) + ([core] if core else []), out)


def write_noc_plots(summary: dict[str, Any], out: str | Path) -> list[Path]:
    """Mesh heatmaps of waiting and of traffic per router (from a report summary).

    Returns
    -------
    list of Path
        ``wait_heatmap.png`` and ``traffic_heatmap.png`` in ``out``.
    """
    return _write_heatmaps(summary, _noc_specs(summary), out)


def _noc_specs(summary: dict[str, Any]) -> list[tuple[str, np.ndarray, str, str]]:
    noc = summary["noc"]
    wait = np.nansum(per_router(noc["router_wait_ns"]), axis=1)
    flits = np.nansum(per_router(noc["router_flits"]), axis=1)
    return [("wait_heatmap.png", wait, "Where packets waited: waiting time per router,\n"
             "summed over packets and input ports, per frame", "waiting, ns per frame"),
            ("traffic_heatmap.png", flits,
             "Traffic: flits sent per router (all output ports), per frame", "flits per frame")]


def core_sops(summary: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Per-core SOPs per frame and core positions, where the report holds them.

    Reads ``summary["cores"]`` (per-core statistics: a table of columns, or a list of
    rows, with ``x``, ``y`` and ``sops``); returns ``None`` for a report without it.
    """
    cores = summary.get("cores")
    if isinstance(cores, list) and cores and isinstance(cores[0], dict):
        cores = {k: [row.get(k) for row in cores] for k in cores[0]}
    if not isinstance(cores, dict) or not all(k in cores for k in ("x", "y", "sops")):
        return None
    return (np.asarray(cores["x"], dtype=np.int64), np.asarray(cores["y"], dtype=np.int64),
            _floats(cores["sops"]))


def write_core_sop_heatmap(summary: dict[str, Any], out: str | Path) -> Path | None:
    """``core_sops_heatmap.png``: SOPs per core on the mesh; None when the report has no
    per-core statistics (see :func:`core_sops`)."""
    spec = _core_sop_spec(summary)
    return None if spec is None else _write_heatmaps(summary, [spec], out)[0]


def _core_sop_spec(summary: dict[str, Any]) -> tuple[str, np.ndarray, str, str] | None:
    found = core_sops(summary)
    if found is None:
        return None
    x, y, sops = found
    width, height = summary["noc"]["routers"]
    grid = np.zeros(width * height)
    np.add.at(grid, y * width + x, np.nan_to_num(sops))
    return ("core_sops_heatmap.png", grid,
            "Busiest cores: synaptic operations per core, per frame", "SOPs per frame")


def write_mapping_plot(summary: dict[str, Any], out: str | Path) -> Path:
    """``mapping.png``: every core coloured by its layer (a legend of layer names, one
    colour per layer), its core id in the cell, chips outlined, the I/O router marked."""
    return atomic_write_bytes(Path(out) / "mapping.png", figure_bytes(mapping_figure(summary)))


def mapping_figure(summary: dict[str, Any]) -> Any:
    """The figure of :func:`write_mapping_plot`."""
    from matplotlib.colors import ListedColormap, to_rgba
    from matplotlib.patches import Patch

    m = summary["mapping"]
    width, height = summary["noc"]["routers"]
    chip_w, chip_h = (int(v) for v in m["mesh"].split("x"))
    names = [row["name"] for row in summary["layers"]]
    layer_of = np.full((height, width), np.nan)
    core_layers = _core_layers(m["cores_per_layer"])
    for layer, (x, y) in zip(core_layers, m["core_xy"], strict=True):
        layer_of[y, x] = layer - 1
    colours = _layer_colours(len(names))
    fig = new_figure(2.6 + 0.55 * width, 0.9 + 0.55 * height, room=True)
    ax = fig.add_subplot()
    ax.imshow(layer_of, cmap=ListedColormap(colours).with_extremes(bad="white"), vmin=-0.5,
              vmax=len(names) - 0.5, origin="upper")
    if width * height <= 1024:
        on = text_colours(np.array([to_rgba(colours[layer - 1]) for layer in core_layers]))
        cell_labels(ax, np.array(m["core_xy"], dtype=np.float64).reshape(-1, 2),
                    [str(core) for core in range(len(core_layers))], on,
                    7 if width <= 16 else 5)
    for cx in range(0, width + 1, chip_w):
        ax.axvline(cx - 0.5, color="black", linewidth=2)
    for cy in range(0, height + 1, chip_h):
        ax.axhline(cy - 0.5, color="black", linewidth=2)
    io_x, io_y = summary.get("config", {}).get("traffic", {}).get("io_router", (0, 0))
    ax.scatter([io_x], [io_y], s=420, facecolors="none", edgecolors="black", linewidths=2.2)
    handles = [Patch(facecolor=c, edgecolor="grey", label=f"{i + 1} {n}")
               for i, (c, n) in enumerate(zip(colours, names, strict=True))]
    handles.append(ax.scatter([], [], s=120, facecolors="none", edgecolors="black",
                              linewidths=2, label=f"I/O router ({io_x},{io_y})"))
    ax.legend(handles=handles, title="layer", fontsize=7, title_fontsize=8,
              loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    chips = f"{m['chips']} chip" + ("s" if m["chips"] != 1 else "")
    axes_title(ax, f"Mapping: {m['cores']} cores on {chips} of {m['mesh']} routers, "
               f"placement {m['placement']}")
    _mesh_axes(ax, width, height)
    return fig


def _layer_colours(n: int) -> list[str]:
    """Exactly ``n`` distinct categorical colours, as hex (tab10, tab20, then evenly spaced)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if n <= 20:
        table = colormaps["tab10" if n <= 10 else "tab20"]
        return [to_hex(table(i)) for i in range(n)]
    return [to_hex(colormaps["turbo"](v)) for v in np.linspace(0.05, 0.95, n)]


def _core_layers(cores_per_layer: list[int]) -> list[int]:
    return [layer for layer, n in enumerate(cores_per_layer, start=1) for _ in range(n)]


def _field(row: dict[str, Any], *names: str) -> float:
    """The first of ``names`` that ``row`` holds (column names differ between versions)."""
    for name in names:
        if row.get(name) is not None:
            return float(row[name])
    return 0.0


def energy_bars_figure(names: list[str], series: dict[str, list[float]], unit: str) -> Any:
    """Stacked bars of energy per frame of every layer, one colour per term."""
    fig = new_figure(max(5.5, 0.5 * len(names) + 3.0), 3.8, room=True)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for label, values in series.items():
        v = np.nan_to_num(_floats(values))
        ax.bar(x, v, 0.75, bottom=bottom, label=label)
        bottom = bottom + v
    ax.set_xticks(x, names, rotation=60 if len(names) > 8 else 0, fontsize=7)
    ax.set_xlabel("weight layer")
    ax.set_ylabel(f"energy per frame, {unit}")
    ax.set_ylim(0, max(float(bottom.max()), 1e-12) * 1.12)
    axes_title(ax, "Energy per layer, by term")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def count_bars_figure(names: list[str], series: dict[str, list[float]]) -> Any:
    """Grouped bars on a log axis: a zero draws no bar (a log axis has no 0)."""
    fig = new_figure(max(5.5, 0.6 * len(names) + 3.0), 3.8, room=True)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    width = 0.8 / max(len(series), 1)
    values = {k: np.nan_to_num(_floats(v)) for k, v in series.items()}
    positive = np.concatenate([v[v > 0] for v in values.values()] or [np.ones(1)])
    positive = positive if len(positive) else np.ones(1)
    for i, (label, v) in enumerate(values.items()):
        offset = (i - (len(values) - 1) / 2) * width
        ax.bar((x + offset)[v > 0], v[v > 0], width, label=label)
    ax.set_yscale("log")
    ax.set_ylim(10 ** np.floor(np.log10(positive.min()) - 0.3),
                10 ** np.ceil(np.log10(positive.max()) + 0.5))
    ax.set_xticks(x, names, rotation=60 if len(names) > 8 else 0, fontsize=7)
    ax.set_xlabel("weight layer")
    ax.set_ylabel("count per frame (log scale)")
    axes_title(ax, "Synaptic operations and spikes per layer")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def write_summary_plots(summary: dict[str, Any], out: str | Path) -> list[Path]:
    """Energy per layer by term, SOPs and spikes per layer, and the latency histogram."""
    out = Path(out)
    layers = summary["layers"]
    names = [row["name"] for row in layers]
    unit = summary["energy_model"]["unit"]
    terms = [t for t in summary["energy_model"]["terms"]
             if any(f"energy_{t}_uj" in row for row in layers)]
    energy = {_TERM_NAMES.get(t, t.replace("_", " ")): [row.get(f"energy_{t}_uj") or 0.0
                                                       for row in layers] for t in terms}
    paths = [atomic_write_bytes(out / "energy_layers.png", figure_bytes(energy_bars_figure(
        names, energy or {"(no per-layer terms)": [0.0] * len(names)}, unit)))]
    counts = {
        "SOPs into the layer": [_field(r, "sops_in", "sops") for r in layers],
        "neurons fired (before pooling)": [_field(r, "neurons_fired", "neuron_spikes")
                                           for r in layers],
        "spikes sent by the cores": [_field(r, "spikes_sent", "spikes_out") for r in layers],
    }
    paths.append(atomic_write_bytes(out / "sops_spikes_layers.png",
                                    figure_bytes(count_bars_figure(names, counts))))
    paths.append(atomic_write_bytes(out / "latency_hist.png",
                                    figure_bytes(latency_hist_figure(summary))))
    return paths


def latency_hist_figure(summary: dict[str, Any]) -> Any:
    """Packets per bin of latency over all frames (report.json ``noc.latency_histogram``)."""
    hist = summary["noc"]["latency_histogram"]
    frames = frame_count(summary)
    fig = new_figure(5.8, 3.5, room=True)
    ax = fig.add_subplot()
    edges = _floats(hist["edges_ns"]) / 1000.0
    ax.stairs(np.nan_to_num(_floats(hist["counts"])), edges, fill=True)
    ax.set_xlabel("packet latency, us (injection to ejection)")
    ax.set_ylabel(f"packets (all {frames} frame{'s' if frames != 1 else ''})")
    axes_title(ax, "How long packets took to arrive")
    return fig


def write_energy_hist(summary: dict[str, Any], out: str | Path) -> Path:
    """``energy_hist.png``: the histogram of energy per frame (report.json
    ``aggregates.energy_histogram``, computed from the frames for an older report)."""

    agg = aggregates_of(summary)
    return atomic_write_bytes(Path(out) / "energy_hist.png", figure_bytes(energy_hist_figure(
        agg["energy_histogram"], agg["metrics"]["energy_total_uj"], agg["confidence"])))


def energy_hist_figure(hist: dict[str, Any], stats: dict[str, Any], confidence: float) -> Any:
    """Frames per bin of energy per frame, the mean as a line and its interval shaded."""
    from matplotlib.ticker import MaxNLocator

    fig = new_figure(5.8, 3.5, room=True)
    ax = fig.add_subplot()
    unit, n = hist.get("unit", "uJ"), stats["n"]
    if hist["counts"]:
        if stats["ci_low"] is not None and stats["ci_high"] is not None:
            ax.axvspan(stats["ci_low"], stats["ci_high"], color="#f2c6a0", zorder=0,
                       label=f"{confidence:.0%} CI of the mean")
        ax.stairs(_floats(hist["counts"]), _floats(hist["edges"]), fill=True, color="#4c72b0",
                  zorder=2, label="frames")
        ax.axvline(stats["mean"], color="#c44e52", linewidth=1.5, zorder=3,
                   label=f"mean {stats['mean']:.4g} {unit}")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no frame has an energy value", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel(f"energy per frame, {unit}")
    ax.set_ylabel(f"frames (of {n})")
    axes_title(ax, "Energy per frame over the frames")
    return fig
