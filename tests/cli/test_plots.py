"""Plots: legible cell text, one colour per layer with named legend, no 0 on a log axis,
no clipping, no offset notation, words in titles, and no Pareto front on a negligible spread."""

from __future__ import annotations

import json

import numpy as np
import pytest

from canmore_sim.cli.main import main
from canmore_sim.report.figures import plain_ticks, text_colour
from canmore_sim.report.plots import count_bars_figure, mapping_figure, mesh_heatmap_figure
from canmore_sim.sweep.outputs import negligible, pareto_figure


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["map", "--frames", "1", "--out", str(out), "--quiet",
                 "--set", "traffic.io_router=[2, 0]"]) == 0
    return json.loads((out / "report.json").read_text())


def _draw(fig) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()


def _luminance(colour) -> float:
    from matplotlib.colors import to_rgba

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in to_rgba(colour)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_per_router_reads_rows_and_port_tables() -> None:
    from canmore_sim.report.plots import per_router

    rows = [[1.0, 2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0, 4.0]]
    table = {"local": [1.0, 0.0], "north": [2.0, 0.0], "east": [0.0, 3.0],
             "south": [0.0, 0.0], "west": [0.0, 4.0]}
    assert np.array_equal(per_router(rows), per_router(table))


def test_text_colour_follows_background_luminance() -> None:
    from matplotlib import colormaps

    assert text_colour(colormaps["magma"](1.0)) == "black"  # the pale yellow hottest cell
    assert text_colour(colormaps["magma"](0.0)) == "white"
    for v in np.linspace(0, 1, 41):
        background = colormaps["magma"](v)
        assert _contrast(text_colour(background), background) >= 4.5  # WCAG AA


def _labels(ax):
    """The cell-label artist of ``ax`` (plot_labels.cell_labels), or None."""
    found = [c for c in ax.collections if c.get_gid() == "cell-labels"]
    assert len(found) <= 1
    return found[0] if found else None


def _cell_texts(fig):
    """(label, the colour it is drawn in, the colour of the image pixel under it) for every
    label drawn in a cell."""
    ax = fig.axes[0]
    image = ax.images[0]
    labels = _labels(ax)
    rows = []
    for text, colour, (x, y) in zip(labels.labels, labels.get_facecolors(),
                                    labels.get_offsets(), strict=True):
        value = image.get_array()[int(round(y)), int(round(x))]
        bad = np.ma.is_masked(value) or not np.isfinite(value)
        rows.append((text, colour, image.cmap.get_bad() if bad else image.cmap(image.norm(value))))
    return rows


def test_heatmap_text_is_legible_on_every_cell(summary) -> None:
    width, height = summary["noc"]["routers"]
    from canmore_sim.report.plots import per_router

    wait = np.nansum(per_router(summary["noc"]["router_wait_ns"]), axis=1)
    fig = mesh_heatmap_figure(wait, width, height, "waiting", "ns")
    cells = _cell_texts(fig)
    assert len(cells) == width * height
    for text, colour, background in cells:
        assert _contrast(colour, background) >= 4.5, text
    hottest = max(cells, key=lambda c: _luminance(c[2]))
    assert tuple(hottest[1]) == (0.0, 0.0, 0.0, 1.0)  # black


def test_mapping_has_one_colour_per_layer_named_legend_core_ids_and_io_router(summary) -> None:
    fig = mapping_figure(summary)
    ax = fig.axes[0]
    names = [row["name"] for row in summary["layers"]]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [f"{i} {n}" for i, n in enumerate(names, start=1)] + ["I/O router (2,0)"]
    assert len(names) == ax.images[0].cmap.N  # only as many colours as layers
    ids = sorted(int(t) for t in _labels(ax).labels)
    assert ids == list(range(summary["mapping"]["cores"]))
    assert [tuple(xy) for xy in _labels(ax).get_offsets()] == [
        tuple(map(float, xy)) for xy in summary["mapping"]["core_xy"]]
    io = [c for c in ax.collections if len(c.get_offsets()) == 1 and not c.get_gid()]
    assert [tuple(c.get_offsets()[0]) for c in io] == [(2.0, 0.0)]
    for text, colour, background in _cell_texts(fig):
        assert _contrast(colour, background) >= 4.5, text
    assert not fig.axes[1:]  # a legend, not a continuous colour bar


def test_count_bars_have_no_zero_on_the_log_axis_and_no_clipping() -> None:
    fig = count_bars_figure(["conv1", "conv2", "fc1"], {
        "SOPs": [1e5, 7.3e5, 5e3], "fired": [1e4, 1.5e3, 0.0], "sent": [2.8e3, 0.0, 0.0]})
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 6 and min(heights) > 0  # zeros draw no bar
    bottom, top = ax.get_ylim()
    assert ax.get_yscale() == "log" and bottom > 0
    assert top > max(heights) * 1.5 and bottom < min(heights)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_plain_ticks_leave_no_offset_notation() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([100.020, 100.029], [39.5, 39.6])  # the 9 ns spread of the placement sweep
    _draw(fig)
    assert ax.xaxis.get_offset_text().get_text()  # matplotlib would use an offset here
    plain_ticks(fig)
    _draw(fig)
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert ax.yaxis.get_offset_text().get_text() == ""


def _point(i: int, latency_ns: float, energy: float) -> dict:
    return {"index": i, "values": {"run.placement": f"p{i}"}, "status": "done",
            "energy_unit": "uJ",
            "metrics": {"energy_total_uj": energy, "frame_latency_ns": latency_ns}}


def test_pareto_has_no_front_on_a_negligible_spread() -> None:
    assert negligible(np.array([100_020.0, 100_029.0]))
    assert not negligible(np.array([90_000.0, 100_000.0]))
    assert negligible(np.array([5.0]))
    flat = pareto_figure([_point(0, 100_020, 39.6), _point(1, 100_029, 36.4),
                          _point(2, 100_023, 41.4)])
    ax = flat.axes[0]
    assert "no Pareto front" in ax.get_title() and not ax.lines
    assert ax.get_ylabel() == "energy per frame, uJ"
    _draw(flat)
    assert ax.xaxis.get_offset_text().get_text() == ""
    spread = pareto_figure([_point(0, 60_000, 40.0), _point(1, 100_000, 30.0),
                            _point(2, 110_000, 45.0)])
    line = spread.axes[0].lines[0]
    assert "front" in line.get_label() and len(line.get_xdata()) == 2


def test_core_sop_heatmap_from_per_core_stats(summary, tmp_path) -> None:
    from canmore_sim.report.plots import core_sops, write_core_sop_heatmap

    without = {k: v for k, v in summary.items() if k != "cores"}
    assert core_sops(without) is None and write_core_sop_heatmap(without, tmp_path) is None
    xy = summary["mapping"]["core_xy"]
    sops = [1000.0 * (i + 1) for i in range(len(xy))]
    table = {"x": [x for x, _ in xy], "y": [y for _, y in xy], "sops": sops}
    for cores in (table, [dict(zip(table, row, strict=True)) for row in zip(*table.values(),
                                                                        strict=True)]):
        found = core_sops({**without, "cores": cores})
        assert found is not None and list(found[2]) == sops
    path = write_core_sop_heatmap({**without, "cores": table}, tmp_path)
    assert path is not None and path.name == "core_sops_heatmap.png" and path.stat().st_size


def test_page_states_the_late_share_and_every_warning(summary) -> None:
    import copy

    from canmore_sim.report.html import report_html

    assert "data-severity" not in report_html(summary) and 'id="notices"' not in report_html(
        summary)
    late = copy.deepcopy(summary)
    late["mean"]["late"] = late["mean"]["packets"] * 0.25
    late["late_share"] = 0.25  # a report that records its late share (read first)
    late["warnings"] = [{"kind": "late", "message": "the window is too short: raise "
                                                    "neuron.window_ns"}]
    page = report_html(late)
    assert 'data-severity="warning"' in page and "the window is too short" in page
    assert 'class="card warning"' in page and 'data-severity="info"' not in page
    few = copy.deepcopy(late)  # late below the threshold: stated, as information
    few["late_share"], few["warnings"] = 0.005, []
    page = report_html(few)
    assert 'data-severity="info"' in page and "0.5% of" in page
    assert 'class="card info"' in page and 'data-severity="warning"' not in page
