"""Stage split of the headline job: wall and CPU time per stage, total and peak memory.

Runs ``canmore-sim map --model vgg16 --weights synthetic --mesh 8x8 --frames 1``
through the library calls the CLI makes (``canmore_sim.cli.commands._cmd_map``), each repeat
in a fresh Python process so that imports and peak memory are those of a real run,
and prints the wall time of every stage (first run, best and median of the runs; from
the pipeline's progress events) and its best CPU time (a steadier figure on a shared
machine), the total, and the peak resident memory (``ru_maxrss``) with the peak reached by the end
of each stage, so a reader sees where memory grows.

    .venv/bin/python benchmarks/vgg16_map.py [--engine simpy|fast] [--repeat N]
        [--model vgg16] [--mesh 8x8] [--frames 1] [--out DIR] [--until noc]
        [--numpy-hugepages]

``--until noc`` ends each run where the NoC replay would start (every stage before it,
without waiting minutes for the SimPy engine).

Then times the command itself, as a user runs it: ``canmore-sim map ... --quiet`` in a
fresh process, ``--cli N`` times (default 3) after one warm-up run (the first run of a
machine compiles the NoC engine; the warm-up is not counted), and prints each run's wall
time and peak resident memory (the child's ``ru_maxrss`` from ``wait4``), their medians,
and the issue's targets (10 s, 600 MB). ``--cli 0`` skips it.

Also prints the wall time of ``canmore-sim --help`` and whether it imported torch.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Stages in the order of a run, with the names printed for them.
_ORDER = ("imports", "model", "frames", "quantize", "mapping", "neurons", "sops", "traffic",
          "noc", "energy", "report")
_LABELS = {"imports": "imports", "model": "model build + synthetic weights",
           "frames": "frames loading", "quantize": "weight quantization",
           "mapping": "partition + placement", "neurons": "neuron simulation",
           "sops": "connectivity + SOP counts", "traffic": "traffic building",
           "noc": "NoC replay", "energy": "energy", "report": "report files"}


class _Stop(Exception):
    """Raised from the progress callback to end a run where ``--until`` says."""


def _rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(args: argparse.Namespace) -> dict[str, Any]:
    """One run of the job in this (fresh) process; stage walls and memory."""
    walls: dict[str, float] = {}
    cpus: dict[str, float] = {}
    peak: dict[str, float] = {}
    began: dict[str, tuple[float, float]] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    import canmore_sim.cli.main  # noqa: F401  the CLI module and what `map` imports first
    from canmore_sim.config import default_config, with_overrides
    from canmore_sim.datasets.readers import load_frames
    from canmore_sim.mapper.mapping_io import save_mapping
    from canmore_sim.report.files import write_report_files
    from canmore_sim.report.summary import summarize, write_json
    from canmore_sim.report.text import render_table
    from canmore_sim.run.pipeline import run
    from canmore_sim.run.source import ModelSource
    from canmore_sim.utils.progress import StageEvent

    walls["imports"], cpus["imports"] = time.perf_counter() - t0, time.process_time() - c0
    peak["imports"] = _rss_mb()

    def record(event: StageEvent) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        if event.stage == args.until and event.done == 0:
            raise _Stop
        if event.done == 0:
            began[event.stage] = (now, cpu)
        elif event.finished and event.stage in began:
            start, start_cpu = began.pop(event.stage)
            walls[event.stage] = walls.get(event.stage, 0.0) + now - start
            cpus[event.stage] = cpus.get(event.stage, 0.0) + cpu - start_cpu
            peak[event.stage] = _rss_mb()

    overrides: dict[str, Any] = {"mesh": args.mesh, "run.frames": args.frames}
    if args.engine:
        overrides["run.engine"] = args.engine
    config = with_overrides(default_config(), overrides)
    record(StageEvent("model", 0, 1))
    graph = ModelSource(args.model, weights="synthetic", sparsity=0.25,
                        seed=config.run.seed).load()
    record(StageEvent("model", 1, 1))
    record(StageEvent("frames", 0, 1))
    frames, labels, ids = load_frames(None, graph.input_shape, config.run.frames,
                                      config.run.seed)
    record(StageEvent("frames", 1, 1))
    try:
        result = run(graph, frames, labels, config, frame_ids=ids, progress=record,
                     release_weights=True)
    except _Stop:
        return {"walls": walls, "cpus": cpus, "peak_mb": peak, "until": args.until,
                "total_s": time.perf_counter() - t0, "total_cpu_s": time.process_time() - c0,
                "max_rss_mb": _rss_mb(), "engine": config.run.engine}
    record(StageEvent("report", 0, 1))
    summary = summarize(result)
    out = Path(args.out)
    write_json(summary, out / "report.json")
    save_mapping(result.mapping, result.quantized.spec, out / "mapping.json")
    write_report_files(summary, out)
    render_table(summary)
    record(StageEvent("report", 1, 1))
    mean = summary["mean"]
    return {"walls": walls, "cpus": cpus, "peak_mb": peak,
            "total_s": time.perf_counter() - t0, "total_cpu_s": time.process_time() - c0,
            "max_rss_mb": _rss_mb(), "engine": config.run.engine,
            "packets": mean["packets"], "hops": mean["hops"], "sops": mean["sops"]}


def _help_run() -> tuple[float, bool]:
    """Wall time of ``canmore-sim --help`` in a fresh process, and whether it imported torch."""
    code = ("import sys, contextlib, io\n"
            "from canmore_sim.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "print('torch' in sys.modules)")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return time.perf_counter() - start, done.stdout.strip() == "True"


def _print(runs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    first = runs[0]
    counts = ("" if args.until else f": {first['packets']:,.0f} packets, "
              f"{first['hops']:,.0f} hops, {first['sops']:,.0f} SOPs per frame")
    print(f"{args.model} synthetic, mesh {args.mesh}, {args.frames} frame(s), engine "
          f"{first['engine']}{counts}; {len(runs)} run(s), each in a fresh process"
          + (f", stopped where '{args.until}' starts" if args.until else ""))
    print(f"{'stage':<32}{'first s':>9}{'best s':>9}{'median s':>10}{'best cpu s':>12}"
          f"{'peak RSS MB':>13}")

    def row(label: str, walls: list[float], cpus: list[float], peak: str) -> None:
        print(f"{label:<32}{walls[0]:9.2f}{min(walls):9.2f}{statistics.median(walls):10.2f}"
              f"{min(cpus):12.2f}{peak:>13}")

    for stage in _ORDER[:_ORDER.index(args.until)] if args.until else _ORDER:
        peaks = [r["peak_mb"].get(stage, 0.0) for r in runs]
        row(_LABELS[stage], [r["walls"].get(stage, 0.0) for r in runs],
            [r["cpus"].get(stage, 0.0) for r in runs], f"{max(peaks):.0f}")
    row("total", [r["total_s"] for r in runs], [r["total_cpu_s"] for r in runs],
        f"{max(r['max_rss_mb'] for r in runs):.0f}")
    if args.until:
        _print_help_run()
        return
    row("total without the NoC replay",
        [r["total_s"] - r["walls"].get("noc", 0.0) for r in runs],
        [r["total_cpu_s"] - r["cpus"].get("noc", 0.0) for r in runs],
        f"{max(r['peak_mb'].get('traffic', 0.0) for r in runs):.0f}")
    print("peak RSS MB: the process's peak by the end of the stage (ru_maxrss); on the last "
          "line, the peak before the replay")
    _print_help_run()


def _print_help_run() -> None:
    wall, torch = _help_run()
    print(f"canmore-sim --help: {wall:.2f} s in a fresh process, "
          f"{'imports' if torch else 'does not import'} torch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default=None,
                        help="NoC engine (run.engine; default: the configuration's)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="stage-split runs, each a fresh process (0: none)")
    parser.add_argument("--model", default="vgg16")
    parser.add_argument("--mesh", default="8x8")
    parser.add_argument("--frames", type=int, default=1)
    parser.add_argument("--out", default=None, help="report folder (default: a temporary one)")
    parser.add_argument("--until", choices=_ORDER[2:], default=None,
                        help="stop each run where this stage starts (e.g. noc: every stage "
                             "before the replay, without waiting for a slow engine)")
    parser.add_argument("--numpy-hugepages", action="store_true",
                        help="keep NumPy's huge-page advice (the CLI turns it off; see "
                             "canmore_sim.utils.memory.tune_process), to measure what that costs")
    parser.add_argument("--cli", type=int, default=3, metavar="N",
                        help="time the canmore-sim command itself N times after a warm-up "
                             "run (0: skip)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from canmore_sim.utils.memory import tune_process  # what the CLI runs every command in

        with tune_process():
            print(json.dumps(_child(args)))
        return
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            cmd = [sys.executable, __file__, "--child", "--model", args.model, "--mesh",
                   args.mesh, "--frames", str(args.frames),
                   "--out", args.out or str(Path(tmp) / f"run{i}")]
            if args.engine:
                cmd += ["--engine", args.engine]
            if args.until:
                cmd += ["--until", args.until]
            done = subprocess.run(cmd, capture_output=True, text=True, env=_environment(args))
            if done.returncode:
                sys.exit(f"run {i + 1} failed:\n{done.stderr.strip()}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    if args.repeat:
        _print(runs, args)
    if args.cli and not args.until:
        _print_cli(_cli_runs(args), args)


#: The issue's targets for the headline command (issue 12).
_TARGET_S, _TARGET_MB = 10.0, 600.0


def _cli_command(args: argparse.Namespace, out: str) -> list[str]:
    command = [str(Path(sys.executable).with_name("canmore-sim")), "map", "--model",
               args.model, "--weights", "synthetic", "--mesh", args.mesh, "--frames",
               str(args.frames), "--quiet", "--out", out]
    return command + (["--set", f"run.engine={args.engine}"] if args.engine else [])


def _environment(args: argparse.Namespace) -> dict[str, str]:
    """The runs' environment: this one, with NumPy's huge pages kept on request."""
    env = dict(os.environ)
    if args.numpy_hugepages:
        env["NUMPY_MADVISE_HUGEPAGE"] = "1"
    return env


def _cli_runs(args: argparse.Namespace) -> list[tuple[float, float]]:
    """(wall s, peak RSS MB) of each timed run of the command, after one warm-up run."""
    env = _environment(args)
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.cli + 1):
            errors = Path(tmp) / f"cli{i}.stderr"  # a file: a full pipe would block the child
            with errors.open("w") as sink:
                start = time.perf_counter()
                child = subprocess.Popen(_cli_command(args, str(Path(tmp) / f"cli{i}")),
                                         env=env, stdout=subprocess.DEVNULL, stderr=sink)
                _, status, usage = os.wait4(child.pid, 0)
                wall = time.perf_counter() - start
            stderr = errors.read_text()
            if os.waitstatus_to_exitcode(status):
                sys.exit(f"canmore-sim run {i} failed:\n{stderr.strip()}")
            if i:  # run 0 is the warm-up
                found.append((wall, usage.ru_maxrss / 1024))
    return found


def _print_cli(runs: list[tuple[float, float]], args: argparse.Namespace) -> None:
    walls, peaks = [w for w, _ in runs], [m for _, m in runs]
    print(f"\nthe command itself, {len(runs)} run(s) after a warm-up run: "
          + " ".join(_cli_command(args, "DIR")[1:]))
    for i, (wall, peak) in enumerate(runs, start=1):
        print(f"  run {i}: {wall:6.2f} s wall, peak RSS {peak:4.0f} MB")
    wall, peak = statistics.median(walls), statistics.median(peaks)
    print(f"  median: {wall:.2f} s wall (target <= {_TARGET_S:.0f} s: "
          f"{'met' if wall <= _TARGET_S else 'NOT met'}), peak RSS {peak:.0f} MB (max "
          f"{max(peaks):.0f}; target <= {_TARGET_MB:.0f} MB: "
          f"{'met' if max(peaks) <= _TARGET_MB else 'NOT met'})")
    load = os.getloadavg()
    print(f"  load average after the runs: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
