"""PNG bytes of a matplotlib figure in one draw, cropped like ``bbox_inches="tight"``.

``savefig(..., bbox_inches="tight")`` draws a figure twice: once to measure what it
holds, once more on a canvas of that size. Here the figure is drawn once on its own
canvas; its tight box (every artist's extent, legends outside the axes included) is
then read from the drawn figure, whose text metrics are cached by that draw, padded by
``savefig.pad_inches`` as savefig pads it, and the drawn pixels are cropped to it. A
figure whose content reaches past its canvas (nothing would show it) falls back to
savefig's two-pass crop, so nothing is ever clipped.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

__all__ = ["DPI", "PAD_INCHES", "crop_box", "figure_png"]

#: Resolution of every PNG, dots per inch.
DPI = 110
#: Margin around the content, inches (matplotlib's ``savefig.pad_inches`` default).
PAD_INCHES = 0.1
#: zlib level of the PNG encoding: 1 costs a third of the default 6's time here, for
#: files about a fifth larger (plots are mostly flat colour).
_COMPRESS_LEVEL = 1


def figure_png(fig: Any) -> bytes:
    """``fig`` as PNG bytes at :data:`DPI`, cropped to its content plus :data:`PAD_INCHES`.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure with an opaque or transparent face; drawn once with the Agg renderer.

    Returns
    -------
    bytes
        The PNG file (RGB when every pixel is opaque, else RGBA).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(DPI)
    canvas.draw()
    box = crop_box(fig, canvas.get_renderer())
    if box is None:  # content past the canvas: savefig measures and draws it larger
        return _savefig_tight(fig)
    x0, y0, x1, y1 = box
    pixels = np.asarray(canvas.buffer_rgba())[y0:y1, x0:x1]
    return _encode(pixels)


def crop_box(fig: Any, renderer: Any) -> tuple[int, int, int, int] | None:
    """Pixel box ``(x0, y0, x1, y1)`` (from the top left, ends exclusive) of the drawn
    ``fig``'s tight box padded by :data:`PAD_INCHES` and kept on the canvas; ``None``
    when the tight box itself reaches past the canvas (content a crop would cut off)."""
    tight = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)  # display pixels
    width, height = int(fig.bbox.width), int(fig.bbox.height)  # the canvas, as drawn
    top = fig.bbox.height  # display y grows upwards from the bottom edge
    slack = 0.5  # half a pixel: extents are measured in fractional pixels
    if (tight.x0 < -slack or tight.y0 < -slack or tight.x1 > width + slack
            or tight.y1 > height + slack):
        return None
    padded = tight.padded(PAD_INCHES * fig.dpi)
    return (max(0, math.floor(padded.x0)), max(0, math.floor(top - padded.y1)),
            min(width, math.ceil(padded.x1)), min(height, math.ceil(top - padded.y0)))


def _encode(pixels: np.ndarray) -> bytes:
    from PIL import Image

    opaque = bool((pixels[..., 3] == 255).all())
    image = Image.fromarray(np.ascontiguousarray(pixels[..., :3] if opaque else pixels),
                            "RGB" if opaque else "RGBA")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=_COMPRESS_LEVEL, dpi=(DPI, DPI))
    return buffer.getvalue()


def _savefig_tight(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight",
                pil_kwargs={"compress_level": _COMPRESS_LEVEL})
    return buffer.getvalue()
