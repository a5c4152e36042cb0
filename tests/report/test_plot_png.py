"""PNG bytes in one draw: every report plot fits its canvas (nothing clipped, legends
outside the axes included), the crop is savefig's tight crop, and content past the
canvas falls back to savefig's two-pass crop."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from canmore_sim.cli.main import main
from canmore_sim.report.aggregate_rows import aggregates_of
from canmore_sim.report.figures import new_figure, plain_ticks
from canmore_sim.report.plot_png import DPI, PAD_INCHES, content_box, figure_png
from canmore_sim.report.plots import (
    _heatmap_fill,
    _heatmap_frame,
    count_bars_figure,
    energy_bars_figure,
    energy_hist_figure,
    latency_hist_figure,
    mapping_figure,
    mesh_heatmap_figure,
    per_router,
)


@pytest.fixture(scope="module", params=["8x8", "1x1"])
def summary(request, tmp_path_factory):
    """A map report of the bundled network: on the 8x8 mesh, and tiled over 1x1 chips."""
    out = tmp_path_factory.mktemp(f"run{request.param}")
    assert main(["map", "--frames", "2", "--mesh", request.param, "--out", str(out),
                 "--quiet"]) == 0
    return json.loads((out / "report.json").read_text())


def _report_figures(summary):
    layers = summary["layers"]
    names = [row["name"] for row in layers]
    width, height = summary["noc"]["routers"]
    agg = aggregates_of(summary)
    wait = np.nansum(per_router(summary["noc"]["router_wait_ns"]), axis=1)
    long_names = {"neurons fired (before pooling), a long legend label": [1.0] * len(names),
                  "SOPs": [1e6] * len(names)}
    return {
        "energy bars": energy_bars_figure(names, {"synaptic operations": [1.0] * len(names),
                                                  "on-chip hops": [2.0] * len(names)}, "uJ"),
        "count bars": count_bars_figure(names, long_names),
        "latency": latency_hist_figure(summary),
        "energy hist": energy_hist_figure(agg["energy_histogram"],
                                          agg["metrics"]["energy_total_uj"], agg["confidence"]),
        "heatmap": mesh_heatmap_figure(wait, width, height, "Where packets waited:\nper "
                                       "router", "waiting, ns per frame"),
        "mapping": mapping_figure(summary),
    }


def _png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(data)).size


def test_every_report_plot_lies_inside_its_canvas(summary) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for name, fig in _report_figures(summary).items():
        plain_ticks(fig)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        tight = fig.get_tightbbox(canvas.get_renderer())  # inches, legends included
        width, height = fig.get_size_inches()
        assert tight.x0 > 0 and tight.y0 > 0, name
        assert tight.x1 < width and tight.y1 < height, name
        box = content_box(np.asarray(canvas.buffer_rgba()), round(PAD_INCHES * DPI))
        assert box is not None, name  # the one-draw path, not the fallback
        x0, y0, x1, y1 = box
        # the crop holds the whole tight box (to a pixel: the box measures whole glyph
        # cells, the crop the inked pixels)
        assert x0 <= tight.x0 * DPI + 1 and x1 >= tight.x1 * DPI - 1, name
        assert y0 <= (height - tight.y1) * DPI + 1 and y1 >= (height - tight.y0) * DPI - 1, name


def test_the_crop_is_savefigs_tight_crop(summary) -> None:
    for name, fig in _report_figures(summary).items():
        plain_ticks(fig)
        ours = _png_size(figure_png(fig))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
        theirs = _png_size(buffer.getvalue())
        assert abs(ours[0] - theirs[0]) <= 4 and abs(ours[1] - theirs[1]) <= 4, name


def test_png_is_deterministic_opaque_and_at_the_stated_resolution(summary) -> None:
    from PIL import Image

    fig = mapping_figure(summary)
    first, second = figure_png(fig), figure_png(fig)
    assert first == second
    image = Image.open(io.BytesIO(first))
    assert image.mode == "RGB"
    assert tuple(round(v) for v in image.info["dpi"]) == (DPI, DPI)


def test_content_past_the_canvas_falls_back_to_savefig() -> None:
    fig = new_figure(3.0, 2.0)  # no room around the plot area
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label="a label far outside the axes")
    ax.legend(loc="upper left", bbox_to_anchor=(1.4, 1.0))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    assert content_box(np.asarray(canvas.buffer_rgba()), 11) is None
    width, height = _png_size(figure_png(fig))
    assert width > 3.0 * DPI + 50  # the legend is in the image, past the canvas


def test_reused_heatmap_figure_draws_what_a_fresh_one_draws(summary) -> None:
    width, height = summary["noc"]["routers"]
    n = width * height
    spread = np.geomspace(1.0, 1e6, n)  # log colours
    flat = np.arange(n, dtype=np.float64) + 1.0  # linear colours
    fig = _heatmap_frame(width, height)
    for values, title, unit in ((spread, "log", "ns"), (flat, "linear", "flits"),
                                (np.zeros(n), "none", "SOPs"), (spread, "log again", "ns")):
        _heatmap_fill(fig, values, title, unit)
        plain_ticks(fig)
        fresh = mesh_heatmap_figure(values, width, height, title, unit)
        plain_ticks(fresh)
        assert figure_png(fig) == figure_png(fresh), title


def test_content_box_pads_and_refuses_the_edge() -> None:
    pixels = np.full((50, 80, 4), 255, dtype=np.uint8)
    assert content_box(pixels, 5) is None  # nothing drawn
    pixels[20:25, 30:40] = (0, 0, 0, 255)
    assert content_box(pixels, 5) == (25, 15, 45, 30)
    assert content_box(pixels, 100) == (0, 0, 80, 50)  # the pad stays on the canvas
    pixels[0, 60] = (255, 0, 0, 255)  # content on the edge may go on past it
    assert content_box(pixels, 5) is None


def test_content_box_rejects_other_arrays() -> None:
    with pytest.raises(ValueError, match="4 uint8 pixels"):
        content_box(np.zeros((5, 5, 3), dtype=np.uint8), 1)
    with pytest.raises(ValueError, match="4 uint8 pixels"):
        content_box(np.zeros((5, 5, 4), dtype=np.float32), 1)
