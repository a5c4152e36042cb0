"""Time the report files of a run: ``write_report_files`` on a saved summary (report.json).

The report-files stage of ``canmore-sim map`` writes the CSVs, the PNG plots and the HTML
page from the run's summary (``canmore_sim.report.files.write_report_files``). This
benchmark times exactly that call on the summaries of two runs, without re-running them:

- ``vgg16``: ``canmore-sim map --model vgg16 --weights synthetic --mesh 8x8 --frames 1``
  (316 cores on a 24x16 router grid of 5 chips, 16 layers);
- ``default``: ``canmore-sim map`` (the bundled network, 8x8 mesh, 16 frames).

Each repeat runs in a fresh Python process, like a real run: its first call includes
importing matplotlib, as the headline job's stage does; then ``--warm`` more calls in the
same process show the cost without the import. Prints the median and the best over the
repeats of wall and CPU seconds, and the size of the PNGs written.

    .venv/bin/python benchmarks/report_files.py [--repeat N] [--warm M]
        [--report NAME=DIR ...] [--profile]

``--report vgg16=DIR`` reuses the report.json of an earlier run in DIR (otherwise the
two runs are made once, into a temporary folder, before timing: about 15 s).
``--profile`` prints the top of a cProfile of one warm call per summary instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: The runs whose summaries are timed, as CLI arguments of ``canmore-sim map``.
RUNS: dict[str, list[str]] = {
    "vgg16": ["--model", "vgg16", "--weights", "synthetic", "--mesh", "8x8", "--frames", "1"],
    "default": [],
}


def _child(report: Path, warm: int, profile: bool) -> dict[str, Any]:
    """Time ``write_report_files`` on ``report`` in this (fresh) process."""
    summary = json.loads(report.read_text())
    from canmore_sim.report.files import write_report_files

    with tempfile.TemporaryDirectory() as tmp:
        walls, cpus = [], []
        for i in range(1 + warm):
            out = Path(tmp) / f"call{i}"
            wall, cpu = time.perf_counter(), time.process_time()
            paths = write_report_files(summary, out)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        png_kib = sum(p.stat().st_size for p in paths if p.suffix == ".png") / 1024
        if profile:
            return {"profile": _profile(write_report_files, summary, Path(tmp) / "profiled")}
    return {"walls": walls, "cpus": cpus, "png_kib": png_kib,
            "pngs": sum(1 for p in paths if p.suffix == ".png")}


def _profile(write: Any, summary: dict[str, Any], out: Path) -> str:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(write, summary, out)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
    return text.getvalue()


def _make_reports(folder: Path) -> dict[str, Path]:
    """Run the two jobs once (the CLI, quiet) and return their report folders."""
    reports = {}
    for name, args in RUNS.items():
        out = folder / name
        subprocess.run([sys.executable, "-m", "canmore_sim.cli", "map", *args, "--quiet",
                        "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
        reports[name] = out
    return reports


def _run(report: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", str(report / "report.json"),
           "--warm", str(args.warm)] + (["--profile"] if args.profile else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _print(name: str, runs: list[dict[str, Any]]) -> None:
    first_w = [r["walls"][0] for r in runs]
    first_c = [r["cpus"][0] for r in runs]
    warm_w = [w for r in runs for w in r["walls"][1:]]
    warm_c = [c for r in runs for c in r["cpus"][1:]]
    print(f"{name:<9}{statistics.median(first_w):11.3f}{min(first_w):9.3f}"
          f"{statistics.median(first_c):11.3f}{min(first_c):9.3f}"
          + (f"{statistics.median(warm_w):11.3f}{statistics.median(warm_c):11.3f}"
             if warm_w else f"{'-':>11}{'-':>11}")
          + f"{runs[0]['pngs']:>6}{runs[0]['png_kib']:>9.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per summary")
    parser.add_argument("--warm", type=int, default=2,
                        help="further calls in each process, after the first")
    parser.add_argument("--report", action="append", default=[], metavar="NAME=DIR",
                        help="reuse DIR/report.json as the summary NAME (vgg16, default)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of one call per summary instead")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(Path(args.child), args.warm, args.profile)))
        return
    given = dict(item.split("=", 1) for item in args.report)
    with tempfile.TemporaryDirectory() as tmp:
        missing = {k: v for k, v in RUNS.items() if k not in given}
        reports = {k: Path(v) for k, v in given.items()}
        if missing:
            made = _make_reports(Path(tmp))
            reports.update({k: made[k] for k in missing})
        if args.profile:
            for name, report in reports.items():
                print(f"== {name}\n{_run(report, args)['profile']}")
            return
        print(f"write_report_files on a saved summary; {args.repeat} fresh process(es) each, "
              f"{args.warm} warm call(s) after the first")
        print("(first: the call a run makes, matplotlib import included; medians, and the "
              "best of the repeats)")
        print(f"{'summary':<9}{'first s':>11}{'best':>9}{'first cpu':>11}{'best':>9}"
              f"{'warm s':>11}{'warm cpu':>11}{'PNGs':>6}{'PNG KiB':>9}")
        for name, report in reports.items():
            _print(name, [_run(report, args) for _ in range(args.repeat)])


if __name__ == "__main__":
    main()
