"""Cell labels as one path collection: matplotlib's own text layout (advances), centred on
their points, drawn in their colours, no mathtext on log axes."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.report.figures import log_label_text, new_figure, plain_ticks
from canmore_sim.report.plot_labels import cell_labels, label_paths


def _extent(path) -> np.ndarray:
    from matplotlib.path import Path

    ink = path.vertices[path.codes != Path.CLOSEPOLY]
    return np.array([ink.min(axis=0), ink.max(axis=0)])


def test_labels_are_laid_out_as_matplotlib_lays_out_text() -> None:
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    for text in ("0", "315", "1.32M", "9.06k", "-"):
        ours = _extent(label_paths([text], 7.0)[0])
        theirs = _extent(TextPath((0, 0), text, size=7.0, prop=FontProperties(size=7.0)))
        assert np.allclose(ours[1] - ours[0], theirs[1] - theirs[0], atol=0.02), text
        assert np.allclose(ours.sum(axis=0), 0.0, atol=1e-9), text  # centred on the point


def test_labels_are_drawn_at_their_points_in_their_colours() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = new_figure(3.0, 3.0)
    ax = fig.add_subplot()
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(1.5, -0.5)
    ax.set_axis_off()
    labels = cell_labels(ax, np.array([[0.0, 0.0], [1.0, 1.0]]), ["88", "88"],
                         ["#ff0000", "#0000ff"], 14)
    assert labels.labels == ["88", "88"]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    for (x, y), channel in (((0.0, 0.0), 0), ((1.0, 1.0), 2)):
        px, py = ax.transData.transform((x, y))
        row, col = round(fig.bbox.height - py), round(px)
        cell = pixels[row - 15:row + 15, col - 15:col + 15]
        inked = cell[(cell != 255).any(axis=2)]
        assert len(inked) > 30  # the glyphs are there, around their point
        pure = inked[(inked[:, channel] == 255) & (inked.sum(axis=1) == 255)]
        assert len(pure) > 5  # in their colour
    corner = pixels[: pixels.shape[0] // 4, -pixels.shape[1] // 4:]
    assert (corner == 255).all()  # and nowhere else


def test_cell_labels_reject_mismatched_inputs() -> None:
    fig = new_figure(2.0, 2.0)
    ax = fig.add_subplot()
    with pytest.raises(ValueError, match="one of each per label"):
        cell_labels(ax, np.zeros((2, 2)), ["a"], ["black", "black"], 7)
    with pytest.raises(ValueError, match="fontsize must be above 0"):
        cell_labels(ax, np.zeros((1, 2)), ["a"], ["black"], 0)


def test_log_axis_labels_are_plain_text() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    assert log_label_text(r"$\mathdefault{10^{4}}$") == "10\u2074"
    assert log_label_text(r"$\mathdefault{2\times10^{-1}}$") == "2\u00d710\u207b\u00b9"
    assert log_label_text(r"$\mathdefault{1}$") == "1"
    assert log_label_text(r"$\mathdefault{10^{1.50}}$") == r"$\mathdefault{10^{1.50}}$"
    fig = new_figure(4.0, 3.0)
    ax = fig.add_subplot()
    ax.bar([0, 1], [3.0, 3e5])
    ax.set_yscale("log")
    plain_ticks(fig)
    FigureCanvasAgg(fig).draw()
    texts = [t.get_text() for t in ax.yaxis.get_ticklabels() + ax.yaxis.get_ticklabels(
        minor=True) if t.get_text()]
    assert "10\u2075" in texts and not any("$" in t for t in texts)


def _mesh_axes(ticks: str):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from canmore_sim.report.plot_labels import axis_ticks

    fig = new_figure(6.0, 4.0, room=True)
    ax = fig.add_subplot()
    ax.imshow(np.zeros((5, 12)))
    ax.set_xlabel("x, router column")
    ax.set_ylabel("y, router row")
    if ticks == "matplotlib":
        ax.set_xticks(range(12))
        ax.set_yticks(range(5))
    else:
        axis_ticks(ax, range(12), range(5))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return ax, canvas.get_renderer()


def test_axis_ticks_label_every_router_where_matplotlib_would() -> None:
    ours, renderer = _mesh_axes("ours")
    theirs, their_renderer = _mesh_axes("matplotlib")
    assert not ours.get_xticks().size and not ours.get_yticks().size  # replaced, not doubled
    labels = [c for c in ours.collections if c.get_gid() == "tick-labels"]
    assert [c.labels for c in labels] == [[str(i) for i in range(12)],
                                          [str(i) for i in range(5)]]
    assert [tuple(xy) for xy in labels[0].get_offsets()] == [(float(i), 0.0)
                                                             for i in range(12)]
    marks = [line for line in ours.lines if line.get_linestyle() == "None"]
    assert [len(m.get_xdata()) for m in marks] == [12, 5]
    # the axis labels keep their place beside the tick labels (to 2 pixels)
    for axis in ("xaxis", "yaxis"):
        a = getattr(ours, axis).label.get_window_extent(renderer)
        b = getattr(theirs, axis).label.get_window_extent(their_renderer)
        assert abs(a.x0 - b.x0) <= 2 and abs(a.y0 - b.y0) <= 2, axis


def test_label_paths_reject_an_unknown_alignment() -> None:
    with pytest.raises(ValueError, match="align must be one of"):
        label_paths(["1"], 7, align="left")


def _log_axes(low: float, high: float):
    fig = new_figure(4.0, 3.0)
    ax = fig.add_subplot()
    ax.bar([0, 1], [low, high])
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    return fig, ax


def _visible_minor_ticks(ax) -> list[float]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(ax.get_figure()).draw()
    low, high = ax.get_ylim()
    return [t.get_loc() for t in ax.yaxis.get_minor_ticks(len(ax.yaxis.get_minorticklocs()))
            if low <= t.get_loc() <= high and t.tick1line.get_visible()]


def test_minor_ticks_become_one_line_of_the_same_marks() -> None:
    from canmore_sim.report.plot_labels import lean_minor_ticks

    theirs = _visible_minor_ticks(_log_axes(1e2, 1e8)[1])
    assert len(theirs) == 48  # eight a decade, none on the decades
    fig, ax = _log_axes(1e2, 1e8)
    for _ in range(2):  # a second call (a figure saved again) draws the same line
        lean_minor_ticks(ax)
        lines = [line for line in ax.lines if line.get_gid() == "minor-ticks-y"]
        assert len(lines) == 1 and sorted(lines[0].get_ydata()) == sorted(theirs)
    assert not ax.yaxis.get_minorticklocs().size  # matplotlib draws none of its own


def test_labelled_minor_ticks_stay_matplotlibs() -> None:
    from canmore_sim.report.plot_labels import lean_minor_ticks

    fig, ax = _log_axes(2.0, 9.0)  # under a decade: the minor ticks carry labels
    lean_minor_ticks(ax)
    assert not [line for line in ax.lines if line.get_gid() == "minor-ticks-y"]
    assert ax.yaxis.get_minorticklocs().size
