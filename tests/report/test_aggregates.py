"""Aggregates over the frames (canmore_sim.report.aggregates): a hand computation on a small real
run, the t and normal quantiles against printed tables, the Wilson interval, the edge
cases (one frame, all or none correct, no labels, constant energy) and every input check."""

from __future__ import annotations

import copy
import csv
import io
import json
import math
from collections import Counter

import numpy as np
import pytest

from canmore_sim.cli.main import main
from canmore_sim.errors import DataError
from canmore_sim.report.aggregates import aggregate, energy_histogram, spread, wilson_interval
from canmore_sim.report.quantiles import normal_quantile, t_quantile

#: Two-sided 95 % points t_{0.975, df} of Student's t, as printed in statistics tables
#: (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2), three decimals.
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042,
         40: 2.021, 50: 2.009, 60: 2.000, 80: 1.990, 100: 1.984}
#: Other columns of the same table: (p, df) -> t_p.
T_OTHER = {(0.90, 1): 3.078, (0.90, 5): 1.476, (0.95, 10): 1.812, (0.99, 4): 3.747,
           (0.995, 10): 3.169, (0.9995, 3): 12.924, (0.995, 100): 2.626}
Z_975 = 1.959964  # the normal 97.5 % point, printed tables
FRAMES = 5


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small real run of the bundled network: its report.json and frames.csv rows."""
    out = tmp_path_factory.mktemp("agg")
    assert main(["map", "--frames", str(FRAMES), "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    rows = list(csv.DictReader(io.StringIO((out / "frames.csv").read_text())))
    return report, rows


def _column(rows: list[dict[str, str]], key: str) -> list[float]:
    return [float(r[key]) for r in rows]


# ----------------------------------------------------------------------------- by hand


def test_aggregates_match_a_hand_computation_from_frames_csv(run) -> None:
    report, rows = run
    agg = report["aggregates"]
    n = len(rows)
    assert n == FRAMES and agg["frames"] == n and agg["confidence"] == 0.95
    terms = [f"energy_{t}_uj" for t in report["energy_model"]["terms"]]
    keys = ["energy_total_uj", *terms, "frame_latency_ns", "latency_mean_ns", "late_share"]
    assert list(agg["metrics"]) == keys
    for key in keys:
        x = _column(rows, key)
        mean = sum(x) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1))
        half = T_975[n - 1] * std / math.sqrt(n)
        got = agg["metrics"][key]
        assert got["n"] == n and got["missing"] == 0, key
        assert got["mean"] == pytest.approx(mean, rel=1e-12, abs=1e-12), key
        assert got["std"] == pytest.approx(std, rel=1e-9, abs=1e-12), key
        # the table's three decimals limit the agreement to about 2e-4 of the half-width
        assert got["ci_half_width"] == pytest.approx(half, rel=3e-4, abs=1e-12), key
        assert got["ci_low"] == pytest.approx(got["mean"] - got["ci_half_width"], abs=1e-12)
        assert got["ci_high"] == pytest.approx(got["mean"] + got["ci_half_width"], abs=1e-12)
        assert (got["min"], got["max"]) == (min(x), max(x)), key
    # energy is not the same on every frame of this run: the interval has a width
    assert agg["metrics"]["energy_total_uj"]["ci_half_width"] > 0
    # static energy (3.52 uJ a frame) is constant: zero spread, zero-width interval
    static = agg["metrics"]["energy_static_uj"]
    assert static["std"] == 0.0 and static["ci_low"] == static["ci_high"] == 3.52


def _wilson_by_hand(k: int, n: int, z: float = Z_975) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_accuracy_and_classes_match_a_hand_computation(run) -> None:
    report, rows = run
    agg = report["aggregates"]
    labels = [int(r["label"]) for r in rows]
    pred = [int(r["prediction"]) for r in rows]
    fpred = [int(r["float_prediction"]) for r in rows]
    for name, p in (("quantized", pred), ("float", fpred)):
        k = sum(a == b for a, b in zip(labels, p, strict=True))
        got = agg["accuracy"][name]
        assert (got["labelled"], got["correct"]) == (len(rows), k)
        assert got["value"] == pytest.approx(k / len(rows))
        low, high = _wilson_by_hand(k, len(rows))
        assert got["ci_low"] == pytest.approx(max(low, 0.0), abs=1e-6)
        assert got["ci_high"] == pytest.approx(min(high, 1.0), abs=1e-6)
    assert agg["accuracy"]["quantized"]["value"] == pytest.approx(report["accuracy"]["quantized"])
    assert agg["accuracy"]["float"]["value"] == pytest.approx(report["accuracy"]["float"])
    energy = _column(rows, "energy_total_uj")
    latency = _column(rows, "latency_mean_ns")
    by_class = {c["label"]: c for c in agg["classes"]}
    assert sorted(by_class) == sorted(set(labels))
    for label, c in by_class.items():
        mine = [i for i, v in enumerate(labels) if v == label]
        correct = sum(pred[i] == label for i in mine)
        assert (c["frames"], c["correct"]) == (len(mine), correct)
        assert c["accuracy"] == pytest.approx(correct / len(mine))
        assert c["energy_total_uj"] == pytest.approx(sum(energy[i] for i in mine) / len(mine))
        assert c["latency_mean_ns"] == pytest.approx(sum(latency[i] for i in mine) / len(mine))
        assert c["ci_low"] <= c["accuracy"] <= c["ci_high"]
    pairs = Counter(zip(labels, pred, strict=True))
    confusion = agg["confusion"]
    assert dict(zip(zip(confusion["label"], confusion["prediction"], strict=True),
                    confusion["count"], strict=True)) == pairs


def test_energy_histogram_counts_every_frame_in_its_bin(run) -> None:
    report, rows = run
    hist = report["aggregates"]["energy_histogram"]
    energy = _column(rows, "energy_total_uj")
    edges, counts = hist["edges"], hist["counts"]
    assert len(edges) == len(counts) + 1 and sum(counts) == len(rows)
    assert edges == sorted(edges) and edges[0] == min(energy) and edges[-1] == max(energy)
    for i, count in enumerate(counts):
        last = i == len(counts) - 1
        inside = [e for e in energy if edges[i] <= e < edges[i + 1] or (last and e == edges[-1])]
        assert len(inside) == count
    assert hist["unit"] == "uJ" and "auto" in hist["rule"]


def test_aggregate_of_report_json_read_back_is_the_one_written(run) -> None:
    report, _ = run
    again = aggregate(report)  # what a chunked run's merged summary gets: same frames, same numbers
    assert json.loads(json.dumps(again)) == report["aggregates"]
    assert aggregate(report) == again  # deterministic


# ----------------------------------------------------------------------------- quantiles


@pytest.mark.parametrize("df", sorted(T_975))
def test_t_quantile_matches_the_printed_table(df: int) -> None:
    assert t_quantile(0.975, df) == pytest.approx(T_975[df], abs=5.1e-4)


@pytest.mark.parametrize(("p", "df"), sorted(T_OTHER))
def test_t_quantile_other_levels(p: float, df: int) -> None:
    assert t_quantile(p, df) == pytest.approx(T_OTHER[(p, df)], abs=5.1e-4)
    assert t_quantile(1 - p, df) == pytest.approx(-t_quantile(p, df), rel=1e-12)


@pytest.mark.parametrize("p", [0.55, 0.8, 0.9, 0.975, 0.999])
def test_t_quantile_closed_forms_of_one_and_two_degrees_of_freedom(p: float) -> None:
    assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-12)
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)),
                                             rel=1e-12)


def test_t_quantile_large_degrees_of_freedom_approach_the_normal() -> None:
    z = normal_quantile(0.975)
    values = [t_quantile(0.975, df) for df in (100, 999, 1000, 1001, 10 ** 7)]
    assert values == sorted(values, reverse=True) and values[-1] > z
    # exact up to 1,000 degrees of freedom, asymptotic series beyond: they join smoothly
    # (t falls like 1/df^2 per step: the steps 999->1000 and 1000->1001 are as 1001 : 999)
    ratio = (values[2] - values[3]) / (values[1] - values[2])
    assert ratio == pytest.approx(999 / 1001, rel=1e-5)
    assert values[-1] == pytest.approx(z + (z ** 3 + z) / 4e7, abs=1e-12)
    assert t_quantile(0.5, 7) == 0.0


def test_t_quantile_agrees_with_scipy_where_installed() -> None:
    stats = pytest.importorskip("scipy.stats")  # scikit-learn's dependency; not ours
    for df in (1, 2, 3, 9, 31, 200, 5000, 250_000):
        for p in (0.6, 0.95, 0.975, 0.995):
            assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-10)


def test_normal_quantile_matches_the_table() -> None:
    assert normal_quantile(0.975) == pytest.approx(Z_975, abs=1e-6)
    assert normal_quantile(0.8413447460685429) == pytest.approx(1.0, abs=1e-12)
    assert normal_quantile(0.5) == pytest.approx(0.0, abs=1e-15)
    assert normal_quantile(0.025) == pytest.approx(-Z_975, abs=1e-6)


# ----------------------------------------------------------------------------- Wilson


@pytest.mark.parametrize(("k", "n"), [(0, 10), (10, 10), (7, 8), (1, 1), (50, 100), (3, 1000)])
def test_wilson_interval_by_formula_and_bounds(k: int, n: int) -> None:
    low, high = wilson_interval(k, n)
    by_hand = _wilson_by_hand(k, n)
    assert low == pytest.approx(max(by_hand[0], 0.0), abs=1e-6)
    assert high == pytest.approx(min(by_hand[1], 1.0), abs=1e-6)
    assert 0.0 <= low <= k / n <= high <= 1.0 and high > low
    if k == 0:
        assert low == 0.0
    if k == n:
        assert high == 1.0


def test_wilson_interval_known_values_and_no_frames() -> None:
    # 0 of 10 and 10 of 10: the "rule of three"-like bound 0.2775 (Wilson 1927)
    assert wilson_interval(0, 10)[1] == pytest.approx(0.27753, abs=1e-5)
    assert wilson_interval(10, 10)[0] == pytest.approx(1 - 0.27753, abs=1e-5)
    assert wilson_interval(0, 0) == (None, None)
    narrow, wide = wilson_interval(90, 100), wilson_interval(9, 10)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]  # more frames, a narrower interval


# ----------------------------------------------------------------------------- edge cases


def test_spread_of_one_value_has_no_spread_and_no_interval() -> None:
    s = spread([4.2])
    assert (s["n"], s["mean"], s["min"], s["max"]) == (1, 4.2, 4.2, 4.2)
    assert s["std"] is None and s["ci_low"] is None and s["ci_half_width"] is None


def test_spread_of_constant_values_is_a_zero_width_interval() -> None:
    s = spread([3.52] * 7)
    assert s["mean"] == 3.52 and s["std"] == 0.0
    assert s["ci_low"] == s["ci_high"] == 3.52 and s["ci_half_width"] == 0.0


def test_spread_leaves_out_missing_values_and_counts_them() -> None:
    s = spread([1.0, None, 3.0, float("nan")])
    assert (s["n"], s["missing"], s["mean"]) == (2, 2, 2.0)
    assert s["ci_half_width"] == pytest.approx(t_quantile(0.975, 1) * math.sqrt(2) / math.sqrt(2))
    assert spread([None, None])["mean"] is None


def test_overflowing_values_give_no_figure_and_no_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = spread([1e308, 1e308, 1e307])
        assert s["mean"] is None and s["ci_low"] is None and s["max"] == 1e308
        wide = spread([1e308, -1e308])
        assert wide["mean"] == 0.0 and wide["std"] is None and wide["ci_half_width"] is None
        for values in ([-1e308, 1e308], [1.0, float(np.nextafter(1.0, 2.0))]):
            hist = energy_histogram(values)  # a range float64 cannot split: one bin
            assert hist["counts"] == [2] and hist["edges"] == [min(values), max(values)]


def _frames_subset(report: dict, index: list[int]) -> dict:
    out = copy.deepcopy(report)
    out["frames"] = {k: [v[i] for i in index] for k, v in report["frames"].items()}
    out.pop("aggregates")
    return out


def test_one_frame(run) -> None:
    report, _ = run
    agg = aggregate(_frames_subset(report, [0]))
    energy = agg["metrics"]["energy_total_uj"]
    assert agg["frames"] == 1 and energy["mean"] == report["frames"]["energy_total_uj"][0]
    assert energy["std"] is None and energy["ci_low"] is None
    assert agg["energy_histogram"]["counts"] == [1]
    accuracy = agg["accuracy"]["quantized"]
    assert accuracy["labelled"] == 1 and accuracy["ci_low"] < accuracy["ci_high"]


def test_all_correct_and_none_correct(run) -> None:
    report, _ = run
    right = copy.deepcopy(report)
    right["frames"]["label"] = list(right["frames"]["prediction"])
    right["frames"]["float_prediction"] = list(right["frames"]["prediction"])
    acc = aggregate(right)["accuracy"]["quantized"]
    z2 = Z_975 ** 2
    assert (acc["value"], acc["ci_high"]) == (1.0, 1.0)
    assert acc["ci_low"] == pytest.approx(FRAMES / (FRAMES + z2), abs=1e-6)
    wrong = copy.deepcopy(report)
    wrong["frames"]["label"] = [(p + 1) % 10 for p in wrong["frames"]["prediction"]]
    agg = aggregate(wrong)
    assert (agg["accuracy"]["quantized"]["value"], agg["accuracy"]["quantized"]["ci_low"]) \
        == (0.0, 0.0)
    assert all(c["correct"] == 0 and c["ci_low"] == 0.0 for c in agg["classes"])


def test_no_labels(run) -> None:
    report, _ = run
    unlabelled = copy.deepcopy(report)
    unlabelled["frames"]["label"] = [-1] * FRAMES
    agg = aggregate(unlabelled)
    assert agg["accuracy"] == {"quantized": None, "float": None}
    assert agg["classes"] == [] and agg["confusion"] == {"label": [], "prediction": [],
                                                          "count": []}
    assert agg["metrics"]["energy_total_uj"]["n"] == FRAMES  # the energy does not need labels


def test_constant_energy_gives_a_zero_width_interval_and_one_bin(run) -> None:
    report, _ = run
    flat = copy.deepcopy(report)
    flat["frames"]["energy_total_uj"] = [40.0] * FRAMES
    agg = aggregate(flat)
    energy = agg["metrics"]["energy_total_uj"]
    assert energy["ci_low"] == energy["ci_high"] == 40.0 and energy["ci_half_width"] == 0.0
    hist = agg["energy_histogram"]
    assert hist["counts"] == [FRAMES] and hist["edges"][0] < 40.0 < hist["edges"][1]


def test_histogram_of_a_long_tail_is_capped_and_of_nothing_is_empty() -> None:
    # Freedman-Diaconis would ask for some 80,000 bins of width 0.125 up to the outlier
    values = np.concatenate([np.random.default_rng(0).normal(0.0, 1.0, 10_000), [1e4]])
    hist = energy_histogram(values)
    assert len(hist["counts"]) == 100 and sum(hist["counts"]) == values.size
    assert hist == energy_histogram(values.tolist())  # deterministic, lists or arrays
    assert energy_histogram([None, float("nan")])["counts"] == []


def test_report_before_float_prediction_takes_the_float_accuracy(run) -> None:
    report, _ = run
    old = copy.deepcopy(report)
    del old["frames"]["float_prediction"]
    assert aggregate(old)["accuracy"]["float"] == report["aggregates"]["accuracy"]["float"]


# ----------------------------------------------------------------------------- input checks


def _damaged(report: dict, change) -> dict:
    out = copy.deepcopy(report)
    change(out)
    return out


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.pop("frames"), "no 'frames' table"),
    (lambda r: r.__setitem__("frames", [1, 2]), "no 'frames' table"),
    (lambda r: r["frames"].pop("energy_total_uj"), "frames.energy_total_uj is missing"),
    (lambda r: r["frames"].pop("label"), "frames.label is missing"),
    (lambda r: r["frames"]["hops"].pop(), "frames.hops must be a list of one value per frame"),
    (lambda r: r["frames"].__setitem__("sops", 7), "frames.sops must be a list"),
    (lambda r: r.__setitem__("frames", {k: [] for k in r["frames"]}), "holds no frames"),
    (lambda r: r["frames"]["energy_total_uj"].__setitem__(1, "40"),
     "frames.energy_total_uj[1] is '40', expected a number"),
    (lambda r: r["frames"]["late_share"].__setitem__(0, True), "frames.late_share[0] is True"),
    (lambda r: r["frames"]["frame_latency_ns"].__setitem__(0, [1.0]), "flat list of numbers"),
    (lambda r: r["frames"]["label"].__setitem__(2, 1.5), "frames.label[2] is 1.5"),
    (lambda r: r["frames"]["label"].__setitem__(2, None), "frames.label[2] is None"),
    (lambda r: r["frames"]["prediction"].__setitem__(0, -3), "frames.prediction[0] is -3"),
    (lambda r: r["frames"]["label"].__setitem__(0, 10 ** 30), "frames.label[0] is 10000"),
    (lambda r: r["frames"]["float_prediction"].__setitem__(0, 0.5),
     "frames.float_prediction[0] is 0.5"),
])
def test_aggregate_refuses_bad_input_naming_it(run, change, message: str) -> None:
    report, _ = run
    with pytest.raises(DataError, match="aggregates: ") as info:
        aggregate(_damaged(report, change))
    assert message in str(info.value)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1, "0.95", True, float("nan")])
def test_aggregate_refuses_a_confidence_outside_zero_one(run, confidence) -> None:
    report, _ = run
    with pytest.raises(DataError, match="confidence must be a number between 0 and 1"):
        aggregate(report, confidence=confidence)


@pytest.mark.parametrize(("p", "df", "message"), [
    (0.975, 0, "degrees of freedom"), (0.975, 2.5, "degrees of freedom"),
    (0.975, True, "degrees of freedom"), (1.0, 3, "p must be"), (0.0, 3, "p must be")])
def test_t_quantile_refuses_bad_arguments(p, df, message: str) -> None:
    with pytest.raises(DataError, match=message):
        t_quantile(p, df)


def test_normal_quantile_refuses_a_probability_outside_zero_one() -> None:
    with pytest.raises(DataError, match="p must be"):
        normal_quantile(1.2)


@pytest.mark.parametrize(("k", "n", "message"), [
    (3, 2, "more than all"), (-1, 4, "correct must be an integer"),
    (1.0, 4, "correct must be an integer"), (1, -4, "n must be an integer")])
def test_wilson_interval_refuses_impossible_counts(k, n, message: str) -> None:
    with pytest.raises(DataError, match=message):
        wilson_interval(k, n)


def test_spread_and_histogram_refuse_non_numbers() -> None:
    with pytest.raises(DataError, match=r"values\[1\] is 'x', expected a number"):
        spread([1.0, "x"])
    with pytest.raises(DataError, match=r"values\[0\] is False"):
        energy_histogram([False, 1.0])
    with pytest.raises(DataError, match="confidence must be"):
        spread([1.0, 2.0], confidence=2.0)
