"""The CLI's commands (``map``, ``inspect``, ``sweep``, ``report``, ``replay``): each parses its
arguments into a configuration, runs the library and writes or prints the result."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canmore_sim.cli.arguments import resolve_config
from canmore_sim.cli.progress_bar import ProgressBar as _ProgressBar
from canmore_sim.cli.replay import cmd_replay
from canmore_sim.run.source import ModelSource
from canmore_sim.utils.progress import StageEvent

if TYPE_CHECKING:  # each command imports what it needs (``--help`` and ``report``: no torch)
    from canmore_sim.config import ArchConfig
    from canmore_sim.mapper.placement import Mapping
    from canmore_sim.models.graph import LayerGraph
    from canmore_sim.report.folders import OutputPlan
    from canmore_sim.run.pipeline import RunResult

__all__ = ["COMMANDS"]


def _cmd_map(args: argparse.Namespace) -> int:
    config = resolve_config(args)  # a bad config is reported before torch loads
    from canmore_sim.pool.executor import check_executor, default_workers

    workers = default_workers() if args.workers is None else args.workers
    check_executor(args.executor, workers, args.scheduler)
    if args.executor == "local" and workers > 1 and (
            args.frames == "all" or config.run.frames > config.run.chunk_frames):
        from canmore_sim.chunked.run import PRELOAD
        from canmore_sim.pool.executor import prestart

        prestart(PRELOAD)  # the workers' fork server loads while this process prepares
    from canmore_sim.chunked.run import run_map
    from canmore_sim.cli.work_folders import open_map_work
    from canmore_sim.report.folders import prepare_output
    from canmore_sim.report.report_json import named_reference
    from canmore_sim.report.summary import summarize
    from canmore_sim.report.text import render_table

    plan = prepare_output(args.out, "map", force=args.force)  # before any simulation
    work = open_map_work(plan, resume=args.resume)
    progress = _ProgressBar(sys.stderr, enabled=not args.quiet and sys.stderr.isatty())
    try:
        for line in work.notes:
            print(line, flush=True)
        source = ModelSource(args.model, args.arch, args.weights, args.sparsity,
                             config.run.seed, args.trust_model, _shape(args.input_shape))
        progress(StageEvent("model", 0, 1))
        graph = source.load()
        progress(StageEvent("model", 1, 1))
        mapping = _load_mapping(args.mapping, graph, config) if args.mapping else None
        started = time.perf_counter()
        reference = named_reference(args.energy_reference or config.run.energy_reference)
        report = _with_compile_note(progress, config, quiet=args.quiet)
        with _TraceFile(args.trace, config.router.flits_per_packet) as trace:
            result = run_map(graph, source, config, work.path, data=args.data,
                             frames="all" if args.frames == "all" else None, mapping=mapping,
                             **reference, workers=workers, executor=args.executor,
                             scheduler=args.scheduler, resume=args.resume, progress=report,
                             note=_map_note(progress), release_weights=True, trace=trace)
        progress(StageEvent("report", 0, 1))
        summary = summarize(result)
        summary["wall_s"] = round(time.perf_counter() - started, 3)
        summary["execution"] = {"executor": args.executor, "workers": workers,
                                "chunk_frames": config.run.chunk_frames,
                                "wall_s": summary["wall_s"]}
        count = _write_map_folder(plan, summary, result)
        work.remove()
        progress(StageEvent("report", 1, 1))
    finally:
        progress.close()
        work.release()
        if not any((work.path / "chunks").glob("*.npz")):
            work.remove()  # nothing to resume: leave nothing behind
    out = plan.path
    print(render_table(summary, verbose=args.verbose))
    if plan.note():
        print(f"\n{plan.note()}")
    print(f"\nwrote {count} files to {out}/ (open {out / 'report.html'})")
    if args.trace:
        print(f"wrote the traffic trace {args.trace}")
    return 0


class _TraceFile:
    """``map --trace PATH``: a TraceWriter on a temporary file beside PATH, renamed to PATH
    when the run succeeds (removed when it fails); nothing without a PATH."""

    def __init__(self, path: str | None, flits: int) -> None:
        self.path = None if path is None else Path(path)
        self.flits = flits
        self.file: Any = None

    def __enter__(self) -> Any:
        if self.path is None:
            return None
        from canmore_sim.errors import OutputError
        from canmore_sim.noc.trace import TraceWriter

        self.temp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            self.file = self.temp.open("w", encoding="utf-8")
        except OSError as error:
            raise OutputError(f"--trace {self.path}: cannot write there: "
                              f"{error.strerror or error}") from None
        return TraceWriter(self.file, self.flits)

    def __exit__(self, kind: Any, *_: Any) -> None:
        if self.file is None:
            return
        self.file.close()
        if kind is None:
            os.replace(self.temp, self.path)  # type: ignore[arg-type]
        else:
            self.temp.unlink(missing_ok=True)


def _map_note(progress: _ProgressBar) -> Callable[[str], None]:
    def note(line: str) -> None:
        progress.close()
        print(line, flush=True)
    return note


def _with_compile_note(progress: _ProgressBar, config: ArchConfig, *,
                       quiet: bool) -> Callable[[StageEvent], None]:
    """``progress``, with one line on stderr just before the first NoC replay when the run
    compiles the fast NoC engine (a cold cache).

    Checked there rather than at start-up: the check loads numba (90 MB), which nothing
    before the replay needs, and the neuron simulation of VGG16 is a peak of the run.
    """
    pending = [not quiet and config.run.engine == "fast"]

    def report(event: StageEvent) -> None:
        if pending[0] and event.stage == "noc" and event.done == 0:
            pending[0] = False
            from canmore_sim.noc.fast import needs_compile

            if needs_compile():
                progress.note("canmore-sim: compiling the NoC engine (first run only; the "
                              "compiled code is cached)")
        progress(event)

    return report


def _write_map_folder(plan: OutputPlan, summary: dict[str, Any], result: RunResult) -> int:
    """Write every file of a map report into a staged folder and swap it in whole."""
    from canmore_sim.report.files import write_map_report
    from canmore_sim.report.folders import staged

    with staged(plan) as folder:
        paths = write_map_report(summary, result, folder)
    return len(paths)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from canmore_sim.config import default_config, load_config, with_overrides
    from canmore_sim.mapper.inspect import architecture_only, layer_table
    from canmore_sim.models.loaders import is_spec
    from canmore_sim.models.zoo import ZOO
    from canmore_sim.overrides import apply_sets
    from canmore_sim.report.text import render_inspect

    config = load_config(args.config) if args.config else default_config()
    if args.mesh is not None:  # as in map: --mesh first, then --set
        config = with_overrides(config, {"mesh": args.mesh})
    config = apply_sets(config, args.sets)
    if args.model in ZOO and not Path(args.model).exists():
        graph = architecture_only(ZOO[args.model])
    elif args.model is not None and is_spec(args.model):
        graph = architecture_only(args.model)
    else:
        graph = ModelSource(args.model, arch=args.arch, trust_model=args.trust_model,
                            input_shape=_shape(args.input_shape)).load()
    core = config.core
    title = (f"{args.model or 'bundled default'}: {graph.spec}; cores of {core.max_neurons} "
             f"neurons, {core.sram_kib:g} KiB, {core.weight_bits}-bit weights")
    rows = layer_table(graph, core)
    print(render_inspect(rows, title))
    if args.mesh is not None:
        from canmore_sim.report.chips import chips_line

        print(chips_line(rows[-1]["cores"], config))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from canmore_sim.cli.work_folders import open_sweep_work
    from canmore_sim.pool.executor import check_executor
    from canmore_sim.report.folders import prepare_output
    from canmore_sim.sweep.choose import results_table
    from canmore_sim.sweep.outputs import write_sweep_outputs
    from canmore_sim.sweep.spec import load_sweep

    check_executor(args.executor, args.workers, args.scheduler)  # before anything is read
    # every point is validated before anything runs
    spec, points = load_sweep(args.file, sets=args.sets)
    out = Path(args.out) if args.out else Path("sweep-out") / Path(args.file).stem
    plan = prepare_output(out, "sweep", force=args.force)
    axes = [*spec.grid, *spec.zip]
    print(f"sweep {args.file}: {len(points)} points over {', '.join(axes) or 'no axes'}, "
          f"{spec.frames} frames each, {args.executor} executor")
    work = open_sweep_work(plan, resume=args.resume)
    try:
        for line in work.notes:
            print(line)
        results, searched = _sweep_results(args, spec, points, work.path)
        paths = write_sweep_outputs(results, axes, work.path)
        if plan.note():
            print(plan.note())
        work.publish()
    finally:
        work.release()
    failed = [r for r in results if r["status"] != "done"]
    units = sorted({str(r.get("energy_unit", "uJ")) for r in results if r["status"] == "done"})
    print(f"results, sorted by {args.sort} (trusted points first; front: on the Pareto front "
          "of the trusted points over energy, latency, area and accuracy):")
    for line in results_table(results, axes, args.sort, unit=" or ".join(units) or "uJ"):
        print(f"  {line}")
    if searched is not None:
        print(f"search (NSGA-II, seed {args.search_seed}): evaluated {len(searched.evaluated)} "
              f"of {searched.total} grid points ({searched.share:.1%}) in {searched.trials} "
              f"proposals; {len(searched.front)} on its front")
    print(f"{len(results) - len(failed)} points done, {len(failed)} failed; wrote "
          f"{', '.join(p.name for p in paths)} and points/ to {out}/")
    for r in failed:
        print(f"  point {r['index']} {r['values']}: {r.get('error')}")
    return 1 if failed else 0


def _sweep_results(args: argparse.Namespace, spec: Any, points: list[Any],
                   folder: Path) -> tuple[list[dict[str, Any]], Any]:
    """Every point's result (a whole grid), or the searched points' and the search's outcome
    (``--search N``)."""
    from canmore_sim.sweep.run import run_sweep
    from canmore_sim.sweep.search import search_sweep

    options = {"workers": args.workers, "executor": args.executor,
               "scheduler": args.scheduler, "progress": _sweep_progress(args),
               "note": _sweep_note(args)}
    if args.search is None:
        return run_sweep(spec, points, folder, resume=args.resume, **options), None
    return search_sweep(spec, points, folder, budget=args.search, population=args.population,
                        seed=args.search_seed, resume=args.resume, **options)


def _sweep_progress(args: argparse.Namespace) -> Callable[[Any], None]:
    live = not args.quiet and sys.stderr.isatty()

    def progress(state: Any) -> None:
        if live:
            eta = "" if state.eta_s is None else f", ETA {state.eta_s:5.0f} s"
            sys.stderr.write(f"\rpoints {state.done + state.failed + state.skipped}/{state.total}"
                             f" (running {state.running}, failed {state.failed}{eta})   ")
            sys.stderr.flush()
            if state.done + state.failed + state.skipped == state.total:
                sys.stderr.write("\n")
    return progress


def _sweep_note(args: argparse.Namespace) -> Callable[[str], None]:
    live = not args.quiet and sys.stderr.isatty()

    def note(line: str) -> None:
        if live:
            sys.stderr.write("\r")
        print(line, flush=True)
    return note


def _cmd_report(args: argparse.Namespace) -> int:
    from canmore_sim.report.files import write_report_files
    from canmore_sim.report.folders import restaged
    from canmore_sim.report.summary import read_report
    from canmore_sim.report.text import render_table

    out = Path(args.dir)
    _refuse_sweep_folder(out)
    summary = read_report(out / "report.json")
    with restaged(out) as folder:  # the folder is rewritten whole (its other files kept)
        paths = write_report_files(summary, folder)
    print(render_table(summary, verbose=args.verbose))
    print(f"\nre-rendered {len(paths)} files in {out}/ (open {out / 'report.html'})")
    return 0


def _refuse_sweep_folder(out: Path) -> None:
    """``report DIR`` on a sweep's folder: one line saying so, and what to run instead."""
    from canmore_sim.errors import DataError
    from canmore_sim.report.folders import output_kind

    if output_kind(out) != "sweep" and not (
            (out / "sweep.csv").is_file() and not (out / "report.json").exists()):
        return
    points = len(list((out / "points").glob("*.json"))) if (out / "points").is_dir() else 0
    raise DataError(f"{out} is a sweep folder ({points} points), not a map report: its "
                    f"sweep.csv and plots are already rendered; to render it again run "
                    f"'canmore-sim sweep SWEEP.yaml --out {out} --resume', and to see one "
                    f"point in full run 'canmore-sim map' with that point's settings")




def _load_mapping(path: str, graph: LayerGraph, config: ArchConfig) -> Mapping:
    from canmore_sim.mapper.mapping_io import load_mapping
    from canmore_sim.mapper.partition import partition
    from canmore_sim.models.quantize import quantize_graph

    expected = partition(quantize_graph(graph, config.core.weight_bits,
                               config.core.quant_scale == "channel"), config.core)
    return load_mapping(path, expected, graph.spec, (config.mesh.width, config.mesh.height),
                        config.multichip.overflow, max_routers=config.limits.max_routers)


def _shape(text: str | None) -> tuple[int, ...] | None:
    """``"HxWxC"`` -> ``(C, H, W)``; ``"N"`` -> ``(N,)``."""
    from canmore_sim.models.spec import parse_spec

    return None if text is None else parse_spec(f"{text}:1F")[0]


#: The function that runs each command, by the command's name.
COMMANDS = {"map": _cmd_map, "report": _cmd_report, "sweep": _cmd_sweep,
            "inspect": _cmd_inspect, "replay": cmd_replay}
