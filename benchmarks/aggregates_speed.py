"""Cost of the aggregates over many frames: aggregate(), the terminal block, classes.csv
and the energy histogram, on the per-frame columns of a real run repeated to N frames.

A test set of 10,000 frames (CIFAR-10's) and more is what the aggregates are for; this
shows they stay a negligible part of a run. The frames are those of a real run of the
bundled network (``--report``, default: a fresh 8-frame run), tiled to each N, with the
energy per frame of every copy shifted by a deterministic amount so the spread and the
histogram are not those of 8 values.

    .venv/bin/python benchmarks/aggregates_speed.py [--report canmore-out/report.json]
                                                    [--frames 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.report.aggregate_rows import classes_csv
from canmore_sim.report.aggregates import aggregate
from canmore_sim.report.text import aggregate_lines, class_lines


def _base_report(path: str | None) -> dict[str, Any]:
    if path:
        return json.loads(Path(path).read_text())
    from canmore_sim.cli.main import main

    out = Path(tempfile.mkdtemp(prefix="canmore-agg-bench-"))
    if main(["map", "--frames", "8", "--out", str(out), "--quiet"]) != 0:
        raise SystemExit("the bundled run failed")
    return json.loads((out / "report.json").read_text())


def _tiled(report: dict[str, Any], n: int) -> dict[str, Any]:
    frames = report["frames"]
    base = len(frames["data_index"])
    index = np.arange(n) % base
    shift = np.random.default_rng(0).normal(0.0, 0.5, n)
    out = copy.deepcopy(report)
    out.pop("aggregates", None)
    out["frames"] = {k: [v[i] for i in index] for k, v in frames.items()}
    out["frames"]["energy_total_uj"] = (np.asarray(frames["energy_total_uj"])[index]
                                        + shift).tolist()
    return out


def _best(call: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", help="report.json of a run (default: a fresh 8-frame run)")
    parser.add_argument("--frames", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    report = _base_report(args.report)
    print(f"{'frames':>8}  {'aggregate s':>11}  {'terminal s':>10}  {'classes.csv s':>13}  "
          f"{'bins':>4}  {'energy mean +- 95% CI, uJ':>26}")
    for n in args.frames:
        summary = _tiled(report, n)
        t_agg = _best(lambda s=summary: aggregate(s), args.repeat)
        summary["aggregates"] = aggregate(summary)
        t_term = _best(lambda s=summary: (aggregate_lines(s), class_lines(s)), args.repeat)
        t_csv = _best(lambda s=summary: classes_csv(s), args.repeat)
        agg = summary["aggregates"]
        energy = agg["metrics"]["energy_total_uj"]
        print(f"{n:>8,}  {t_agg:>11.4f}  {t_term:>10.4f}  {t_csv:>13.4f}  "
              f"{len(agg['energy_histogram']['counts']):>4}  "
              f"{energy['mean']:>16.4f} +- {energy['ci_half_width']:.4f}")


if __name__ == "__main__":
    main()
