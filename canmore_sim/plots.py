"""PNG plots of a run, rendered headless (matplotlib Agg) and written atomically."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.atomic import atomic_write_bytes

__all__ = ["write_mapping_plot", "write_noc_plots", "write_summary_plots"]


def _figure_bytes(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _mesh_heatmap(values: np.ndarray, width: int, height: int, title: str, unit: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(min(1.0 + 0.55 * width, _MAX_INCHES),
                          min(0.6 + 0.55 * height, _MAX_INCHES)))
    ax = fig.add_subplot()
    from matplotlib.colors import LogNorm

    grid = values.reshape(height, width)
    positive = grid[grid > 0]
    log = len(positive) > 0 and positive.max() / positive.min() > 100
    norm = LogNorm(vmin=positive.min(), vmax=positive.max()) if log else None
    image = ax.imshow(np.where(grid > 0, grid, np.nan) if log else grid, cmap="magma",
                      origin="upper", norm=norm)
    if width * height <= 144:
        for (y, x), value in np.ndenumerate(grid):
            ax.text(x, y, _short(value), ha="center", va="center", fontsize=6, color="cyan")
    ax.set_title(title + (" (log colour scale)" if log else ""), fontsize=9)
    ax.set_xlabel("x (router column)")
    ax.set_ylabel("y (router row)")
    ax.set_xticks(range(width))
    ax.set_yticks(range(height))
    fig.colorbar(image, ax=ax, label=unit, shrink=0.8)
    return _figure_bytes(fig)


#: Largest side of a mesh plot, inches: a large mesh is drawn smaller per router instead
#: of as a picture of gigabytes.
_MAX_INCHES = 40.0


def _floats(values: Any) -> np.ndarray:
    """A float64 array from report.json lists; null (a figure that had no value) -> NaN."""
    return np.array(values, dtype=np.float64)


def _short(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def write_noc_plots(summary: dict[str, Any], out: str | Path) -> list[Path]:
    """Mesh heatmaps of waiting and of traffic per router (from a report summary).

    Returns
    -------
    list of Path
        ``wait_heatmap.png`` and ``traffic_heatmap.png`` in ``out``.
    """
    noc = summary["noc"]
    width, height = noc["routers"]
    wait = np.nansum(_floats(noc["router_wait_ns"]), axis=1)
    flits = np.nansum(_floats(noc["router_flits"]), axis=1)
    out = Path(out)
    return [
        atomic_write_bytes(out / "wait_heatmap.png", _mesh_heatmap(
            wait, width, height, "waiting per router (all input ports), ns per frame", "ns")),
        atomic_write_bytes(out / "traffic_heatmap.png", _mesh_heatmap(
            flits, width, height, "flits sent per router, per frame", "flits")),
    ]


def write_mapping_plot(summary: dict[str, Any], out: str | Path) -> Path:
    """``mapping.png``: the mesh with every core coloured by its layer, chips outlined."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    m = summary["mapping"]
    width, height = summary["noc"]["routers"]
    chip_w, chip_h = (int(v) for v in m["mesh"].split("x"))
    layer_of = np.zeros((height, width))
    for layer, (x, y) in zip(_core_layers(m["cores_per_layer"]), m["core_xy"], strict=True):
        layer_of[y, x] = layer
    fig = Figure(figsize=(min(1.2 + 0.5 * width, _MAX_INCHES),
                          min(0.8 + 0.5 * height, _MAX_INCHES)))
    ax = fig.add_subplot()
    shown = np.where(layer_of > 0, layer_of, np.nan)
    n_layers = max(len(m["cores_per_layer"]), 1)
    cmap = "tab10" if n_layers <= 10 else "tab20" if n_layers <= 20 else "turbo"
    image = ax.imshow(shown, cmap=cmap, vmin=0.5, vmax=max(n_layers, 10) + 0.5,
                      origin="upper")
    for cx in range(0, width + 1, chip_w):
        ax.axvline(cx - 0.5, color="black", linewidth=2)
    for cy in range(0, height + 1, chip_h):
        ax.axhline(cy - 0.5, color="black", linewidth=2)
    ax.set_title(f"{m['cores']} cores on {m['chips']} chip(s), placement {m['placement']}",
                 fontsize=9)
    ax.set_xlabel("x (router column)")
    ax.set_ylabel("y (router row)")
    fig.colorbar(image, ax=ax, label="layer", shrink=0.8)
    return atomic_write_bytes(Path(out) / "mapping.png", _figure_bytes(fig))


def _core_layers(cores_per_layer: list[int]) -> list[int]:
    return [layer for layer, n in enumerate(cores_per_layer, start=1) for _ in range(n)]


def _bar_figure(names: list[str], series: dict[str, list[float]], title: str, ylabel: str,
                stacked: bool) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(5.0, 0.45 * len(names) + 2.0), 3.6))
    ax = fig.add_subplot()
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    width = 0.8 if stacked else 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series.items()):
        v = np.nan_to_num(_floats(values))
        offset = 0.0 if stacked else (i - (len(series) - 1) / 2) * width
        ax.bar(x + offset, v, width, bottom=bottom if stacked else None, label=label)
        if stacked:
            bottom = bottom + v
    ax.set_xticks(x, names, rotation=60 if len(names) > 8 else 0, fontsize=7)
    ax.set_ylabel(ylabel)
    if not stacked:
        ax.set_yscale("symlog")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return _figure_bytes(fig)


def write_summary_plots(summary: dict[str, Any], out: str | Path) -> list[Path]:
    """Energy per layer by term, SOPs and spikes per layer, and the latency histogram."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    out = Path(out)
    layers = summary["layers"]
    names = [row["name"] for row in layers]
    unit = summary["energy_model"]["unit"]
    terms = sorted({k[7:-3] for row in layers for k in row if k.startswith("energy_")})
    energy = {t: [row.get(f"energy_{t}_uj") or 0.0 for row in layers] for t in terms}
    paths = [atomic_write_bytes(out / "energy_layers.png", _bar_figure(
        names, energy or {"(no per-layer terms)": [0.0] * len(names)},
        "energy per layer by term (per frame; static energy split by the layers' cores)", unit,
        stacked=True))]
    counts = {"SOPs into the layer": [row["sops"] for row in layers],
              "neurons fired": [row["neuron_spikes"] for row in layers],
              "spikes leaving the cores": [row["spikes_out"] for row in layers]}
    paths.append(atomic_write_bytes(out / "sops_spikes_layers.png", _bar_figure(
        names, counts, "SOPs and spikes per layer (per frame, log scale)", "count",
        stacked=False)))
    hist = summary["noc"]["latency_histogram"]
    fig = Figure(figsize=(5.5, 3.4))
    ax = fig.add_subplot()
    edges = _floats(hist["edges_ns"])
    ax.stairs(np.nan_to_num(_floats(hist["counts"])), edges, fill=True)
    ax.set_xlabel("packet latency, ns")
    ax.set_ylabel("packets (all frames)")
    ax.set_title("packet latency histogram", fontsize=9)
    paths.append(atomic_write_bytes(out / "latency_hist.png", _figure_bytes(fig)))
    return paths
