"""The figures every report plot is drawn on (matplotlib Agg, headless): their size and
the room around them for labels, plain tick labels without offset notation (log axes
as 10-power text), titles, legible cell text (black or white by luminance), and the
PNG bytes of one draw."""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from canmore_sim.report.plot_labels import lean_minor_ticks
from canmore_sim.report.plot_png import DPI, figure_png

__all__ = ["MAX_INCHES", "axes_title", "figure_bytes", "log_label_text", "new_figure",
           "plain_ticks", "text_colour", "text_colours"]


def new_figure(width: float, height: float, *, room: bool = False) -> Any:
    """A ``width`` x ``height`` inch figure (each side at most ``MAX_INCHES``).

    With ``room``, the canvas also has :data:`_ROOM` inches around that area, which the
    subplots do not use (their boxes keep the size and place they have in a plain figure
    of that size): labels, tick labels and legends outside the axes are drawn there, and
    :func:`canmore_sim.report.plot_png.figure_png` crops the blank rest in the one draw it makes.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    width, height = min(width, MAX_INCHES), min(height, MAX_INCHES)
    if not room:
        return Figure(figsize=(width, height), dpi=DPI)
    left, right, bottom, top = _ROOM
    fig = Figure(figsize=(width + left + right, height + bottom + top), dpi=DPI)
    params = fig.subplotpars
    fig.subplots_adjust(left=(left + params.left * width) / (width + left + right),
                        right=(left + params.right * width) / (width + left + right),
                        bottom=(bottom + params.bottom * height) / (height + bottom + top),
                        top=(bottom + params.top * height) / (height + bottom + top))
    return fig


#: Blank canvas around a report plot's area, inches (left, right, bottom, top): room for
#: a legend beside the axes, rotated layer names below them; a plot whose content still
#: reaches past it is measured and drawn again by savefig (see plot_png).
_ROOM = (1.0, 3.5, 1.5, 0.6)


def plain_ticks(fig: Any) -> None:
    """Plain tick labels on every axis of ``fig``: no offset and no scientific notation on
    a linear axis; on a log axis matplotlib's labels (``10^4``, ``2x10^1``) as plain text
    (``10⁴``, ``2×10¹``) rather than mathtext, which costs a parser per label, and its
    unlabelled minor ticks as one artist (:func:`canmore_sim.report.plot_labels.lean_minor_ticks`).
    Call it last, once the limits are final."""
    from matplotlib.ticker import LogFormatterSciNotation, ScalarFormatter

    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "linear" and isinstance(axis.get_major_formatter(), ScalarFormatter):
                formatter = ScalarFormatter(useOffset=False)
                formatter.set_scientific(False)
                axis.set_major_formatter(formatter)
            elif scale == "log":
                for get, put in ((axis.get_major_formatter, axis.set_major_formatter),
                                 (axis.get_minor_formatter, axis.set_minor_formatter)):
                    if type(get()) is LogFormatterSciNotation:
                        put(_text_log_formatter(get()))
        lean_minor_ticks(ax)


def _text_log_formatter(like: Any) -> Any:
    """A log-axis formatter with the settings of matplotlib's ``like`` whose labels are
    plain text (see :func:`log_label_text`)."""
    return _text_log_class()(base=like._base, labelOnlyBase=like.labelOnlyBase,
                             minor_thresholds=like.minor_thresholds,
                             linthresh=like._linthresh)


@functools.cache
def _text_log_class() -> Any:
    from matplotlib.ticker import LogFormatterSciNotation

    class TextLogFormatter(LogFormatterSciNotation):
        """matplotlib's log-axis labels, as plain text."""

        def __call__(self, x: float, pos: int | None = None) -> str:
            return log_label_text(super().__call__(x, pos))

    return TextLogFormatter


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076"
                             "\u2077\u2078\u2079")
_LOG_LABEL = re.compile(r"\$\\mathdefault\{(?P<sign>-?)(?:(?P<coeff>[0-9.]+)\\times)?"
                        r"(?P<base>[0-9.]+)(?:\^\{(?P<exp>-?[0-9]+)\})?\}\$")


def log_label_text(label: str) -> str:
    """A log-axis tick label of matplotlib (``$\\mathdefault{2\\times10^{-1}}$``) as
    plain text (``2×10⁻¹``); a label of another form is returned as it is."""
    found = _LOG_LABEL.fullmatch(label)
    if found is None:
        return label
    sign, coeff, base, exp = found.group("sign", "coeff", "base", "exp")
    return (sign.replace("-", "\u2212") + (f"{coeff}\u00d7" if coeff else "") + base
            + (exp or "").translate(_SUPERSCRIPT))


def axes_title(ax: Any, text: str) -> None:
    """``text`` as the title of ``ax``, just above it. Placed there explicitly (``y=1``):
    otherwise matplotlib measures the whole y axis at every draw to see whether an offset
    text or tick labels at the top would overlap the title, and these plots have neither
    (see :func:`plain_ticks`), so the title lands at the same place."""
    ax.set_title(text, fontsize=9, y=1.0)


def figure_bytes(fig: Any) -> bytes:
    """The PNG bytes of ``fig`` (one draw, :func:`canmore_sim.report.plot_png.figure_png`),
    its tick labels in plain numbers first."""
    plain_ticks(fig)
    return figure_png(fig)


def text_colour(colour: Any) -> str:
    """``"black"`` on a light background, ``"white"`` on a dark one (relative luminance)."""
    from matplotlib.colors import to_rgba

    return text_colours(np.array([to_rgba(colour)]))[0]


def text_colours(rgba: np.ndarray) -> list[str]:
    """:func:`text_colour` of every row of an ``(n, 3 or 4)`` array of RGB(A) in 0..1."""
    c = np.asarray(rgba, dtype=np.float64).reshape(len(rgba), -1)[:, :3]
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
    return ["black" if v > 0.18 else "white" for v in luminance]


#: Largest side of a plot, inches: a large mesh is drawn smaller per router instead of as
#: a picture of gigabytes.
MAX_INCHES = 40.0
