"""Many short labels on a plot (a value or an id in every cell of a mesh) as one artist.

A matplotlib ``Text`` costs about a millisecond to lay out and draw, so 316 core ids
cost a third of a second. Here every label is a filled path built from the outline of
each of its characters (outlines read once per character from the font matplotlib
uses, and placed by the font's advance widths), and all labels of a plot are one
``PathCollection``, drawn in one call. The text is the same font at the same size;
like a vector-format figure it is drawn unhinted.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

__all__ = ["axis_ticks", "cell_labels", "label_paths", "lean_minor_ticks"]

#: Where a label's ink box goes relative to its point: centred, its top edge centred on
#: the point, or its right edge centred on it.
ALIGNS = ("center", "top", "right")


def cell_labels(ax: Any, xy: np.ndarray, labels: Sequence[str], colours: Sequence[Any],
                fontsize: float) -> Any:
    """Add ``labels`` to ``ax``, each centred on its point of ``xy`` (data coordinates).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to draw on.
    xy : numpy.ndarray
        ``(n, 2)`` float positions, data coordinates.
    labels : sequence of str
        ``n`` one-line labels (no mathtext).
    colours : sequence of colour
        ``n`` text colours (any matplotlib colour).
    fontsize : float
        Font size, points.

    Returns
    -------
    matplotlib.collections.PathCollection
        The artist (gid ``cell-labels``), with ``labels`` and ``colours`` attributes as
        given.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if not len(xy) == len(labels) == len(colours):
        raise ValueError(f"{len(xy)} positions, {len(labels)} labels and {len(colours)} "
                         "colours: one of each per label")
    if fontsize <= 0:
        raise ValueError(f"fontsize must be above 0, got {fontsize}")
    return _add_labels(ax, label_paths(labels, fontsize), xy, ax.transData, labels, colours,
                       "cell-labels")


def label_paths(labels: Sequence[str], fontsize: float, align: str = "center") -> list[Any]:
    """Outline path of each label, in points, placed on (0, 0) by its ink box as ``align``
    says (one of :data:`ALIGNS`)."""
    from matplotlib.path import Path

    if align not in ALIGNS:
        raise ValueError(f"align must be one of {', '.join(ALIGNS)}, got {align!r}")
    paths = []
    for label in labels:
        verts, codes, x = [], [], 0.0
        for char in label:
            char_verts, char_codes, advance = _glyph(char, float(fontsize))
            verts.append(char_verts + (x, 0.0))
            codes.append(char_codes)
            x += advance
        if not verts:
            paths.append(Path(np.zeros((1, 2)), [Path.MOVETO]))
            continue
        v, c = np.concatenate(verts), np.concatenate(codes)
        ink = v[c != Path.CLOSEPOLY]  # a closing vertex is a placeholder at (0, 0)
        low, high = (ink.min(axis=0), ink.max(axis=0)) if len(ink) else (np.zeros(2),) * 2
        anchor = (low + high) / 2
        if align == "top":
            anchor[1] = high[1]
        elif align == "right":
            anchor[0] = high[0]
        paths.append(Path(v - anchor, c))
    return paths


def axis_ticks(ax: Any, xs: Sequence[float], ys: Sequence[float]) -> None:
    """Major ticks of ``ax`` at ``xs`` (bottom) and ``ys`` (left), labelled with their
    values, drawn as matplotlib draws them by default (rcParams tick size, width, pad and
    label size) but as two artists per axis (the marks, the labels) instead of five per
    tick: a mesh plot has a tick per router row and column.

    matplotlib's own ticks are removed; each axis label keeps its distance from the tick
    labels (its ``labelpad`` grows by the ticks and the labels drawn here).
    """
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties
    from matplotlib.lines import Line2D
    from matplotlib.markers import TICKDOWN, TICKLEFT

    rc: Any = rcParams  # looked up by composed names

    ax.set_xticks([])
    ax.set_yticks([])
    marks: tuple[tuple[Any, Any, Any, str], ...] = ((ax.xaxis, xs, TICKDOWN, "top"),
                                                   (ax.yaxis, ys, TICKLEFT, "right"))
    for axis, where, marker, align in marks:
        name = "xtick" if axis is ax.xaxis else "ytick"
        size, width = rc[f"{name}.major.size"], rc[f"{name}.major.width"]
        gap = size + rc[f"{name}.major.pad"]  # points from the spine to the label
        fontsize = FontProperties(size=rc[f"{name}.labelsize"]).get_size_in_points()
        at = np.asarray(where, dtype=np.float64)
        transform = ax.get_xaxis_transform() if axis is ax.xaxis else ax.get_yaxis_transform()
        xy = np.column_stack([at, np.zeros(len(at))] if axis is ax.xaxis else
                             [np.zeros(len(at)), at])
        ax.add_artist(Line2D(xy[:, 0], xy[:, 1], transform=transform, marker=marker,
                             markersize=size, markeredgewidth=width, linestyle="none",
                             color=rc[f"{name}.color"], clip_on=False))
        texts = [f"{v:g}" for v in at]
        paths = label_paths(texts, fontsize, align)
        shift = np.array([0.0, -gap] if axis is ax.xaxis else [-gap, 0.0])
        for path in paths:
            path.vertices = path.vertices + shift
        _add_labels(ax, paths, xy, transform, texts, [rc[f"{name}.color"]] * len(texts),
                    "tick-labels")
        # the label's distance from the spine: as matplotlib measures a tick label's box
        # (a line of text is as tall as "lp"; a label as wide as its ink)
        extent = (_ink_size(label_paths(["lp"], fontsize)[0])[1] if axis is ax.xaxis else
                  max((_ink_size(p)[0] for p in paths), default=0.0))
        axis.labelpad = rc["axes.labelpad"] + gap + extent


def lean_minor_ticks(ax: Any) -> None:
    """Unlabelled minor ticks of ``ax`` (a log axis has eight a decade, a log colour bar
    dozens) as one line of tick marks per axis instead of five artists per tick.

    Reads the minor locator and formatter matplotlib set up (call it once the limits are
    final: they are read here), keeps what it would draw (marks within the view, none
    where a major tick is, its minor tick size, width and colour) and sets the minor
    locator to none. An axis whose minor ticks carry labels, point inwards or sit on both
    sides is left to matplotlib. Calling it again redraws the line: from the locator it
    was drawn from, or from a new one set since (a colour bar's, on a new norm).
    """
    from matplotlib import rcParams
    from matplotlib.lines import Line2D
    from matplotlib.markers import TICKDOWN, TICKLEFT, TICKRIGHT, TICKUP
    from matplotlib.ticker import NullLocator

    rc: Any = rcParams
    for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y")):
        for old in [line for line in ax.lines if line.get_gid() == f"minor-ticks-{name}"]:
            old.remove()
            if axis.get_minor_locator() is old.null_locator:  # not reset since: restore
                axis.set_minor_locator(old.minor_locator)  # what the line was drawn from
        if isinstance(axis.get_minor_locator(), NullLocator):
            continue
        side = {"bottom": (0.0, TICKDOWN), "top": (1.0, TICKUP), "left": (0.0, TICKLEFT),
                "right": (1.0, TICKRIGHT)}.get(axis.get_ticks_position())
        if side is None or rc[f"{name}tick.direction"] != "out":
            continue
        low, high = sorted(axis.get_view_interval())
        span = (high - low) * 1e-10
        locs = [float(v) for v in axis.get_minorticklocs() if low - span <= v <= high + span]
        if not locs:
            continue
        formatter = axis.get_minor_formatter()
        formatter.set_locs(locs)
        if any(formatter(v, i) for i, v in enumerate(locs)):
            continue  # labelled minor ticks: matplotlib's own
        edge, marker = side[0], cast(Any, side[1])
        others = [edge] * len(locs)
        xy = (locs, others) if name == "x" else (others, locs)
        transform = ax.get_xaxis_transform() if name == "x" else ax.get_yaxis_transform()
        line = Line2D(*xy, transform=transform, marker=marker, linestyle="none",
                      markersize=rc[f"{name}tick.minor.size"],
                      markeredgewidth=rc[f"{name}tick.minor.width"],
                      color=rc[f"{name}tick.color"], clip_on=False, gid=f"minor-ticks-{name}")
        line.minor_locator = axis.get_minor_locator()  # type: ignore[attr-defined]
        line.null_locator = NullLocator()  # type: ignore[attr-defined]
        ax.add_artist(line)
        axis.set_minor_locator(line.null_locator)  # type: ignore[attr-defined]


def _ink_size(path: Any) -> tuple[float, float]:
    """Width and height of the inked part of a label path, points."""
    from matplotlib.path import Path

    ink = path.vertices[path.codes != Path.CLOSEPOLY] if path.codes is not None else \
        path.vertices
    return (float(np.ptp(ink[:, 0])), float(np.ptp(ink[:, 1]))) if len(ink) else (0.0, 0.0)


def _add_labels(ax: Any, paths: list[Any], xy: np.ndarray, offset_transform: Any,
                labels: Sequence[str], colours: Sequence[Any], gid: str) -> Any:
    from matplotlib.transforms import Affine2D

    collection = _collection_class()(
        paths, offsets=xy, offset_transform=offset_transform, facecolors=list(colours),
        edgecolors="none", linewidths=0.0)
    collection.set_transform(Affine2D().scale(1 / 72) + ax.get_figure().dpi_scale_trans)
    collection.set_clip_on(False)
    collection.set_gid(gid)
    collection.labels, collection.colours = list(labels), list(colours)
    ax.add_collection(collection, autolim=False)
    return collection


@functools.cache
def _glyph(char: str, fontsize: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Outline (vertices in points, codes) of ``char`` at ``fontsize`` and its advance."""
    from matplotlib.font_manager import FontProperties, findfont, get_font
    from matplotlib.ft2font import LoadFlags
    from matplotlib.path import Path
    from matplotlib.textpath import TextPath

    prop = FontProperties(size=fontsize)
    outline = TextPath((0.0, 0.0), char, size=fontsize, prop=prop)
    font = get_font(findfont(prop))
    font.set_size(100.0, 72.0)  # the font object is shared: set the size it is read at
    glyph = font.load_char(ord(char), flags=LoadFlags.NO_HINTING)
    advance = glyph.linearHoriAdvance / 65536 * fontsize / 100.0  # 16.16 fixed point
    codes = outline.codes if outline.codes is not None else np.full(
        len(outline.vertices), Path.LINETO, dtype=np.uint8)
    return np.array(outline.vertices), np.array(codes), float(advance)


@functools.cache
def _collection_class() -> Any:
    from matplotlib.collections import PathCollection

    class LabelCollection(PathCollection):
        """A PathCollection of labels that keeps their text and colours."""

        labels: list[str]
        colours: list[Any]

    return LabelCollection
