"""Sweep plots a reader can choose from: Pareto fronts of trusted points, and each axis
drawn as one line per value of the other axes.

* ``pareto.png``: energy per frame against frame latency, and against area when the
  points have one. A front (points no other *trusted* point beats in both) joins trusted
  points only; untrusted points (late share over ``report.late_warn_share``, an accuracy
  drop) are red crosses, never joined. Front points carry their point number (the terminal
  table and sweep.csv give their values); no label overlaps another or a tick label: one
  that would is moved, or left out. A metric whose spread is negligible
  (:func:`negligible`) draws no front.
* ``axis_<key>.png``: energy, frame latency, area and late share against one axis, one
  line per combination of the other axes (one legend names them), untrusted points crossed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from canmore_sim.report.figures import new_figure
from canmore_sim.sweep.choose import pareto_mask, trust_of

__all__ = ["axis_figure", "energy_unit", "negligible", "overlapping_texts", "pareto_figure",
           "place_labels"]

#: Offsets (points) tried in turn for a label beside its marker.
_OFFSETS = ((4, 4), (4, -10), (-4, 4), (-4, -10), (8, -3), (-8, -3), (0, 9), (0, -15))
#: Relative spread below which a metric does not tell the points apart (no Pareto front).
NEGLIGIBLE_SPREAD = 1e-3


def negligible(values: np.ndarray) -> bool:
    """True when the finite ``values`` differ by less than :data:`NEGLIGIBLE_SPREAD` of
    their magnitude (or there are fewer than two): a front along them means nothing."""
    v = values[np.isfinite(values)]
    if len(v) < 2:
        return True
    scale = float(np.max(np.abs(v))) or 1.0
    return float(np.ptp(v)) / scale < NEGLIGIBLE_SPREAD


def energy_unit(done: Sequence[dict[str, Any]]) -> str:
    """The points' energy unit, or the units joined when presets differ."""
    units = sorted({str(r.get("energy_unit", "uJ")) for r in done})
    return units[0] if len(units) == 1 else " or ".join(units) + " (by preset)"


def _column(done: Sequence[dict[str, Any]], metric: str, scale: float = 1.0) -> np.ndarray:
    values = [(r.get("metrics") or {}).get(metric) for r in done]
    return np.array([np.nan if v is None else float(v) * scale for v in values])


def _renderer(fig: Any) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    return canvas.get_renderer()


def place_labels(fig: Any, ax: Any, xy: np.ndarray, texts: Sequence[str],
                 fontsize: float = 7) -> list[Any]:
    """Annotate points of ``ax`` so that no label overlaps another, a tick label or the
    legend, and each stays inside the axes; a label with no free place among
    :data:`_OFFSETS` is left out. Call it once the layout is final; returns those placed."""
    renderer = _renderer(fig)
    frame = ax.get_window_extent(renderer)
    taken = [t.get_window_extent(renderer) for axis in (ax.xaxis, ax.yaxis)
             for t in axis.get_ticklabels() if t.get_text()]
    legend = ax.get_legend()
    if legend is not None:
        taken.append(legend.get_window_extent(renderer))
    placed = []
    for (x, y), text in zip(np.asarray(xy, dtype=np.float64), texts, strict=True):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        for dx, dy in _OFFSETS:
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points",
                                fontsize=fontsize, ha="left" if dx >= 0 else "right")
            box = label.get_window_extent(renderer)
            inside = (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0
                      and box.y1 <= frame.y1)
            if inside and not any(box.overlaps(other) for other in taken):
                taken.append(box)
                placed.append(label)
                break
            label.remove()
    return placed


def overlapping_texts(fig: Any) -> list[tuple[str, str]]:
    """Pairs of visible, non-empty texts of ``fig`` whose boxes overlap, after a draw; two
    tick labels of different axes meeting at a corner of the axes are matplotlib's own
    layout and not counted, two of the same axis are."""
    from matplotlib.text import Text

    renderer = _renderer(fig)
    fig.draw(renderer)
    ticks = {id(t): (id(ax), which) for ax in fig.axes
             for which, axis in (("x", ax.xaxis), ("y", ax.yaxis))
             for t in axis.get_ticklabels()}
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    found = []
    for a, b in itertools.combinations(texts, 2):
        tick_a, tick_b = ticks.get(id(a)), ticks.get(id(b))
        if tick_a and tick_b and tick_a != tick_b:
            continue
        if a.get_window_extent(renderer).overlaps(b.get_window_extent(renderer)):
            found.append((a.get_text(), b.get_text()))
    return found


def pareto_figure(done: Sequence[dict[str, Any]]) -> Any:
    """Energy against frame latency and against area (see the module docstring)."""
    energy = _column(done, "energy_total_uj")
    unit = energy_unit(done)
    trusted = np.array([trust_of(r)[0] for r in done])
    panels = [(m, s, label) for m, s, label in (
        ("frame_latency_ns", 1e-3, "frame latency, us"), ("area_mm2", 1.0, "area, mm2"))
        if np.isfinite(_column(done, m)).any()] or [("frame_latency_ns", 1e-3,
                                                     "frame latency, us")]
    fig = new_figure(6.0 * len(panels), 4.6)
    labelled = []
    for p, (metric, scale, label) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, len(panels), p)
        x = _column(done, metric, scale)
        front = _pareto_panel(ax, x, energy, trusted, label, unit)
        labelled.append((ax, x, front))
    fig.suptitle("Numbers: point index (terminal table, sweep.csv); red crosses: untrusted "
                 "points, never on a front", fontsize=8)
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 0.94))  # room for the title above
    for ax, x, front in labelled:
        idx = np.flatnonzero(front)
        place_labels(fig, ax, np.stack([x[idx], energy[idx]], axis=1),
                     [f"#{done[int(i)]['index']}" for i in idx])
    return fig


def _pareto_panel(ax: Any, x: np.ndarray, energy: np.ndarray, trusted: np.ndarray,
                  label: str, unit: str) -> np.ndarray:
    """One panel; returns the front drawn (all False when there is none)."""
    what = label.split(",")[0]
    flat = [name for name, v in ((what, x), ("energy", energy)) if negligible(v[trusted])]
    if flat or " or " in unit:
        front = np.zeros(len(x), dtype=bool)
        ax.scatter(x[trusted], energy[trusted], color="steelblue", s=18, label="trusted point")
        why = "mixed energy units" if " or " in unit else f"{' and '.join(flat)} about equal"
        ax.set_title(f"Energy against {what}: no Pareto front ({why})", fontsize=9, y=1.0)
        for values, setter in ((x, ax.set_xlim), (energy, ax.set_ylim)):
            if negligible(values) and np.isfinite(values).any():  # all equal: ticks that differ
                centre = float(np.nanmean(values))
                half = max(abs(centre) * 0.01, 1e-9)
                setter(centre - half, centre + half)
    else:
        front = pareto_mask(np.stack([x, energy], axis=1), trusted)
        rest = trusted & ~front
        ax.scatter(x[rest], energy[rest], color="grey", s=18, label="trusted, dominated")
        order = np.argsort(x[front])
        ax.plot(x[front][order], energy[front][order], "o-", color="crimson",
                label="Pareto front (trusted points)")
        ax.set_title(f"Energy against {what} (lower left is better)", fontsize=9, y=1.0)
        ax.margins(0.12)
    if (~trusted).any():
        ax.scatter(x[~trusted], energy[~trusted], marker="x", color="red", s=36,
                   label="untrusted (late or accuracy drop)")
    ax.set_xlabel(label, fontsize=8)
    ax.set_ylabel(f"energy per frame, {unit}", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="best")
    return front


#: Panels of an axis plot: (metric, scale, title, unit).
_AXIS_PANELS = (("energy_total_uj", 1.0, "energy per frame", "{unit}"),
                ("frame_latency_ns", 1e-3, "frame latency", "us"),
                ("area_mm2", 1.0, "area", "mm2"),
                ("late_share", 100.0, "late deliveries", "%"))


def axis_figure(done: Sequence[dict[str, Any]], axis: str, axes: Sequence[str]) -> Any:
    """Every panel of :data:`_AXIS_PANELS` against ``axis``: one line per combination of
    the other axes' values, one legend naming them, untrusted points crossed in red."""
    unit = energy_unit(done)
    others = [a for a in axes if a != axis]
    categories = list(dict.fromkeys(str(r["values"].get(axis)) for r in done))
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(done):
        name = ", ".join(f"{o.split('.')[-1]}={r['values'].get(o)}" for o in others)
        groups.setdefault(name or "all points", []).append(i)
    trusted = np.array([trust_of(r)[0] for r in done])
    fig = new_figure(15.0, 3.8)
    colours = _colours(len(groups))
    for p, (metric, scale, title, panel_unit) in enumerate(_AXIS_PANELS, start=1):
        ax = fig.add_subplot(1, len(_AXIS_PANELS), p)
        ys = _column(done, metric, scale)
        for colour, (name, members) in zip(colours, groups.items(), strict=True):
            xs = np.array([categories.index(str(done[i]["values"].get(axis)))
                           for i in members])
            order = np.argsort(xs, kind="stable")
            ax.plot(xs[order], ys[members][order], "o-", color=colour, markersize=4,
                    linewidth=1.2, label=name)
        bad = np.flatnonzero(~trusted)
        if len(bad):
            ax.scatter([categories.index(str(done[int(i)]["values"].get(axis))) for i in bad],
                       ys[bad], marker="x", color="red", s=40, zorder=3,
                       label="untrusted point")
        long = sum(len(c) for c in categories) > 24  # names that would collide side by side
        ax.set_xticks(range(len(categories)), categories, fontsize=7,
                      rotation=30 if long else 0, ha="right" if long else "center")
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel(axis, fontsize=7)
        ax.set_ylabel(panel_unit.format(unit=unit), fontsize=7)
        ax.set_title(title, fontsize=8, y=1.0)
        ax.margins(x=0.08)
    fig.suptitle(f"Sweep metrics against {axis}: one line per "
                 f"{'combination of ' + ', '.join(others) if others else 'sweep'}",
                 fontsize=9)
    fig.tight_layout(rect=(0.0, 0.0, _LEGEND_AT, 0.93))  # room: legend right, title above
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(_LEGEND_AT + 0.005, 0.5),
               fontsize=7, title=", ".join(o.split(".")[-1] for o in others) or None,
               title_fontsize=7)
    return fig


#: Share of an axis plot's width left of its legend.
_LEGEND_AT = 0.84


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]
