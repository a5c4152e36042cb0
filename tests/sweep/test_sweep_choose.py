"""A sweep built to contain late points: the results table, trust, area and CI columns in
sweep.csv, Pareto fronts of trusted points only, and plots a reader can use."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from canmore_sim.cli.main import main
from canmore_sim.report.figures import plain_ticks
from canmore_sim.report.plot_png import DPI, PAD_INCHES, content_box
from canmore_sim.sweep.choose import trust_of
from canmore_sim.sweep.plots import axis_figure, overlapping_texts, pareto_figure

# Under a fixed 20 us window (the derived window, the default, is met everywhere) 4x4
# chips carry the default network's traffic late (about half the deliveries), 8x8 in
# time; depth 1 makes 8x8 late too. So the sweep holds trusted and untrusted points.
LATE_SWEEP = """base: default
frames: 1
grid:
  mesh: [4x4, 8x8]
  router.buffer_depth: [1, 4]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    path = folder / "late.yaml"
    path.write_text(LATE_SWEEP)
    out = folder / "out"
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["sweep", str(path), "--out", str(out), "--workers", "2", "--quiet",
                     "--sort", "area", "--set", "neuron.window_ns=20000"])
    assert code == 0
    results = [json.loads(p.read_text()) for p in sorted((out / "points").glob("*.json"))]
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    return out, printed.getvalue(), results, rows


def test_the_sweep_holds_trusted_and_untrusted_points(swept) -> None:
    _, _, results, rows = swept
    trust = [trust_of(r) for r in results]
    assert any(t for t, _ in trust) and not all(t for t, _ in trust)
    for r, row in zip(results, rows, strict=True):
        late = r["metrics"]["late_share"]
        assert row["trusted"] == ("0" if late > 0.01 else "1")
        assert ("late" in row["trust"]) == (late > 0.01)


def test_terminal_table_has_one_row_per_point_sorted_by_the_objective(swept) -> None:
    _, printed, results, _ = swept
    lines = printed.splitlines()
    head = next(i for i, line in enumerate(lines) if line.strip().startswith("point"))
    header = lines[head].split()
    for column in ("mesh", "buffer_depth", "energy", "latency", "area", "accuracy", "late",
                   "trusted", "front"):
        assert column in header
    table = [line.split() for line in lines[head + 1: head + 1 + len(results)]]
    order = [int(row[0]) for row in table]
    assert sorted(order) == [r["index"] for r in results]
    by_index = {r["index"]: r for r in results}
    trusted = [trust_of(by_index[i])[0] for i in order]
    assert trusted == sorted(trusted, reverse=True)  # trusted points first
    first = [by_index[i]["metrics"]["area_mm2"] for i, t in zip(order, trusted, strict=True) if t]
    assert first == sorted(first)  # --sort area
    assert "sorted by area" in printed


def test_csv_has_area_trust_front_and_ci_columns_and_a_filled_wait_column(swept) -> None:
    _, _, results, rows = swept
    for column in ("area_mm2", "effective_sops", "late_share", "trusted", "trust", "front",
                   "wait_sum_ns", "energy_total_uj_ci", "frame_latency_ns_ci"):
        assert column in rows[0], column
    assert "wait_ns" not in rows[0]
    for r, row in zip(results, rows, strict=True):
        assert float(row["wait_sum_ns"]) == pytest.approx(r["metrics"]["wait_sum_ns"])
        assert float(row["area_mm2"]) > 0
        assert float(row["effective_sops"]) < float(row["sops"])
    small = [float(r["area_mm2"]) for r in rows if r["mesh"] == "4x4"]
    large = [float(r["area_mm2"]) for r in rows if r["mesh"] == "8x8"]
    assert max(small) < min(large)


def test_pareto_front_holds_no_untrusted_point(swept) -> None:
    _, _, results, rows = swept
    assert any(row["front"] == "1" for row in rows)
    for row in rows:
        if row["front"] == "1":
            assert row["trusted"] == "1"
    fig = pareto_figure(results)
    trusted_xy = {(round(r["metrics"]["area_mm2"], 9), round(r["metrics"]["energy_total_uj"], 9))
                  for r in results if trust_of(r)[0]}
    for ax in fig.axes:
        for line in ax.lines:
            if "front" in line.get_label() and "area" in ax.get_xlabel():
                for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True):
                    assert (round(x, 9), round(y, 9)) in trusted_xy
        texts = [t.get_text() for t in ax.texts]  # front labels: trusted points only
        untrusted = {f"#{r['index']}" for r in results if not trust_of(r)[0]}
        assert not set(texts) & untrusted


def _inside_canvas(fig) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    plain_ticks(fig)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    tight = fig.get_tightbbox(canvas.get_renderer())
    width, height = fig.get_size_inches()
    assert tight.x0 > 0 and tight.y0 > 0 and tight.x1 < width and tight.y1 < height
    assert content_box(np.asarray(canvas.buffer_rgba()), round(PAD_INCHES * DPI)) is not None


def test_axis_plots_draw_one_line_per_other_axis_value_with_legend_and_late_share(swept
                                                                                   ) -> None:
    out, _, results, _ = swept
    axes = ["mesh", "router.buffer_depth"]
    fig = axis_figure(results, "router.buffer_depth", axes)
    titles = [ax.get_title() for ax in fig.axes]
    assert "late deliveries" in titles and "area" in titles
    for ax in fig.axes:
        assert len(ax.lines) == 2  # one per mesh
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "4"]
    legend = fig.legends[0]
    labels = [t.get_text() for t in legend.get_texts()]
    assert {"mesh=4x4", "mesh=8x8"} <= set(labels) and "untrusted point" in labels
    assert overlapping_texts(fig) == []
    _inside_canvas(fig)
    assert (out / "axis_router_buffer_depth.png").stat().st_size > 0


def test_pareto_labels_do_not_overlap_even_when_points_crowd() -> None:
    def point(i, latency_ns, energy, area):
        return {"index": i, "values": {"mesh": f"{i}"}, "status": "done", "energy_unit": "uJ",
                "trust": {"trusted": True, "reasons": []},
                "metrics": {"energy_total_uj": energy, "frame_latency_ns": latency_ns,
                            "area_mm2": area}}

    # 40 front points packed into a corner, two more stretching the axes
    crowd = [point(i, 1000.0 + i * 0.5, 10.0 - i * 0.002, 5.0 + i * 0.0005) for i in range(40)]
    crowd += [point(40, 100.0, 20.0, 1.0), point(41, 5000.0, 1.0, 50.0)]
    fig = pareto_figure(crowd)
    assert overlapping_texts(fig) == []
    placed = [len(ax.texts) for ax in fig.axes]
    assert all(0 < n < 42 for n in placed)  # crowded labels are left out, not drawn over
    _inside_canvas(fig)


def test_accuracy_energy_labels_and_long_axis_ticks_do_not_overlap() -> None:
    from canmore_sim.sweep.outputs import accuracy_energy_figure

    points = [{"index": i, "status": "done", "energy_unit": "uJ",
               "values": {"neuron.window_ns": 1000 * (i % 7 + 1),
                          "run.energy": ["canmore-22nm", "canmore-22nm-leakage"][i % 2]},
               "trust": {"trusted": True, "reasons": []},
               "metrics": {"energy_total_uj": 40.0 + (i % 7) * 0.05, "accuracy": 0.9,
                           "accuracy_on_chip": 0.5 + (i % 7) * 0.01, "area_mm2": 21.0,
                           "frame_latency_ns": 1e5, "late_share": 0.0}} for i in range(14)]
    fig = accuracy_energy_figure(points)
    assert overlapping_texts(fig) == []
    assert 0 < len(fig.axes[0].texts) < 14  # crowded labels left out
    _inside_canvas(fig)
    fig = axis_figure(points, "run.energy", ["neuron.window_ns", "run.energy"])
    assert overlapping_texts(fig) == []
    ticks = fig.axes[0].get_xticklabels()
    assert [t.get_text() for t in ticks] == ["canmore-22nm", "canmore-22nm-leakage"]
