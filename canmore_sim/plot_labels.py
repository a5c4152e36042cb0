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
from typing import Any

import numpy as np

__all__ = ["cell_labels", "label_paths"]


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
        The artist, with ``labels`` and ``colours`` attributes as given.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if not len(xy) == len(labels) == len(colours):
        raise ValueError(f"{len(xy)} positions, {len(labels)} labels and {len(colours)} "
                         "colours: one of each per label")
    if fontsize <= 0:
        raise ValueError(f"fontsize must be above 0, got {fontsize}")
    from matplotlib.transforms import Affine2D

    fig = ax.get_figure()
    collection = _collection_class()(
        label_paths(labels, fontsize), offsets=xy, offset_transform=ax.transData,
        facecolors=list(colours), edgecolors="none", linewidths=0.0)
    collection.set_transform(Affine2D().scale(1 / 72) + fig.dpi_scale_trans)  # pt -> px
    collection.labels, collection.colours = list(labels), list(colours)
    ax.add_collection(collection, autolim=False)
    return collection


def label_paths(labels: Sequence[str], fontsize: float) -> list[Any]:
    """Outline path of each label, in points, centred on (0, 0) by its ink box."""
    from matplotlib.path import Path

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
        centre = (ink.min(axis=0) + ink.max(axis=0)) / 2 if len(ink) else np.zeros(2)
        paths.append(Path(v - centre, c))
    return paths


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
