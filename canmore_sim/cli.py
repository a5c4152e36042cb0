"""Command-line interface: ``canmore-sim map | sweep | inspect | report``.

The CLI composes the stages (load, run, map, simulate, price, report) and is
the only place that prints or exits. Every expected failure is a
:class:`~canmore_sim.errors.CanmoreError`, rendered as one line on stderr with
a non-zero exit status.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

# Only the standard library and the error types load before main() is running, so that
# Ctrl-C while numpy, torch and pydantic load (start-up) ends in one line, not a traceback.
from canmore_sim import __version__
from canmore_sim.cli_progress import ProgressBar as _ProgressBar
from canmore_sim.errors import CanmoreError, CanmoreWarning, cut
from canmore_sim.heap import tune_process
from canmore_sim.progress import StageEvent

if TYPE_CHECKING:  # each command imports what it needs (``--help`` and ``report``: no torch)
    from canmore_sim.config import ArchConfig
    from canmore_sim.mapper.placement import Mapping
    from canmore_sim.models.graph import LayerGraph

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``canmore-sim`` (help lists defaults, units, registry choices)."""
    from canmore_sim.cli_help import HelpFormatter, config_epilog, registries_epilog

    parser = argparse.ArgumentParser(
        prog="canmore-sim", formatter_class=HelpFormatter, epilog=registries_epilog(),
        description="What a trained TTFS spiking network costs on an asynchronous "
                    "many-core neuromorphic chip.",
    )
    parser.add_argument("--version", action="version", version=f"canmore-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    epilog = f"{registries_epilog()}\n\n{config_epilog()}"

    def command(name: str, text: str, with_config: bool = True) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, formatter_class=HelpFormatter,
                              epilog=epilog if with_config else registries_epilog())

    p = command("map", "map a network onto the chip, simulate frames, report costs")
    _model_options(p)
    p.add_argument("--data", default=None, metavar="SOURCE",
                   help="input frames: {choices:data-readers} (default: digits, the held-out "
                        "split)")
    p.add_argument("--weights", choices=["synthetic"], default=None,
                   help="build deterministic synthetic weights for a zoo network or a spec "
                        "string")
    p.add_argument("--sparsity", type=float, default=0.25,
                   help="with --weights synthetic: fraction of each hidden layer's neurons "
                        "that spike per frame")
    _config_options(p)
    p.add_argument("--mesh", default=None, metavar="WxH",
                   help="routers per chip, e.g. 8x8 (default: the config's mesh, 8x8)")
    p.add_argument("--frames", type=_frames_option, default=None, metavar="N|all",
                   help="input frames to simulate, or 'all': the data set's whole test split "
                        "(default: the config's run.frames, 8)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed for frame selection (default: the config's run.seed, 0)")
    p.add_argument("--placement", default=None,
                   help="placement strategy: {choices:placements} (default: the config's "
                        "run.placement, row-major)")
    p.add_argument("--energy", default=None,
                   help="energy preset: {choices:energy-presets}, or a preset .yaml file "
                        "(default: the config's run.energy, canmore-22nm)")
    p.add_argument("--energy-reference", default=None, metavar="REPORT_JSON",
                   help="reference run (a report.json) for normalized energy models")
    p.add_argument("--mapping", default=None,
                   help="reuse a mapping.json written by an earlier run (skips remapping)")
    p.add_argument("--out", default="canmore-out",
                   help="folder for report files (an earlier map report there is replaced)")
    p.add_argument("--force", action="store_true",
                   help="replace --out even if it holds files canmore-sim did not write or "
                        "another kind of output")
    p.add_argument("--workers", type=int, default=None, metavar="K",
                   help="local worker processes simulating chunks of run.chunk_frames frames "
                        "(default: the cores available); results do not depend on it")
    p.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="where the chunks run: local worker processes or a Dask cluster")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://host:port)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted map into the same --out: keep the chunks "
                        "already done whose configuration, model, data, frames and tool "
                        "version are the same")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    w = command("sweep", "run a YAML sweep of architecture variants")
    w.add_argument("file", help="sweep YAML (see configs/sweeps/)")
    w.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key of the sweep's base before the axes are "
                        "applied (repeatable; an axis over the same key wins)")
    w.add_argument("--workers", type=int, default=2, help="parallel worker processes (local)")
    w.add_argument("--out", default=None, help="output folder (default: sweep-out/NAME)")
    w.add_argument("--resume", action="store_true",
                   help="reuse the points already done whose configuration, model, data and "
                        "tool version are the same")
    w.add_argument("--force", action="store_true",
                   help="replace --out even if it holds files canmore-sim did not write or "
                        "another kind of output")
    w.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="where points run: local worker processes or a Dask cluster")
    w.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://host:port)")
    w.add_argument("--quiet", action="store_true", help="no progress line")
    i = command("inspect", "print a network's layer table (no simulation)")
    _model_options(i, zoo_note="a zoo name needs no weights here")
    _config_options(i)
    r = command("report", "re-render tables, CSVs, plots and HTML from DIR/report.json",
                with_config=False)
    r.add_argument("dir", help="a folder written by 'canmore-sim map'")
    return parser


def _model_options(p: argparse.ArgumentParser, zoo_note: str = "with --weights synthetic"
                   ) -> None:
    p.add_argument("--model", default=None,
                   help="model file (canmore-sim checkpoint, state_dict with --arch, .nir "
                        f"graph, pickled module with --trust-model), a zoo name "
                        f"({{choices:zoo}}; {zoo_note}) or a spec string (default: the "
                        "bundled DTA-TTFS digits network)")
    p.add_argument("--arch", default=None,
                   help="architecture of a bare state_dict: a zoo name or a spec string "
                        "such as 32x32x3:64C3-P2-10F")
    p.add_argument("--trust-model", action="store_true",
                   help="allow a pickled nn.Module (unpickling can run code from the file)")
    p.add_argument("--input-shape", default=None, metavar="HxWxC",
                   help="input of a pickled module (with --trust-model), e.g. 28x28x1")


def _config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, metavar="YAML",
                   help="architecture YAML; a partial file is enough, keys left out keep "
                        "their defaults (default: the bundled configs/arch/default.yaml)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key, e.g. --set router.buffer_depth=8 --set "
                        "neuron.window_ns=1e4; the value is read as YAML; repeatable, applied "
                        "after --config and the other flags (keys below)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``canmore-sim`` console script; returns the exit status.

    Every :class:`~canmore_sim.errors.CanmoreWarning` the library issues is printed as
    one ``canmore-sim: warning: ...`` line on stderr; Ctrl-C at any point (also while
    the libraries load) prints one line and exits with status 130.
    """
    interrupt = _Interrupt()
    try:
        with tune_process(), warnings.catch_warnings(), interrupt:
            warnings.simplefilter("always", CanmoreWarning)
            warnings.showwarning = _show_warning(warnings.showwarning)
            return _run(build_parser().parse_args(argv), interrupt)
    except BaseException as exc:
        # A library being imported may turn the KeyboardInterrupt into another error (numpy
        # reports an ImportError): after Ctrl-C, whatever comes out is the interruption.
        if not (isinstance(exc, KeyboardInterrupt) or interrupt.seen):
            raise
        print("canmore-sim: interrupted", file=sys.stderr)
        return 130


class _Interrupt:
    """While active, SIGINT raises KeyboardInterrupt as usual and is also remembered."""

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _show_warning(fallback: Any) -> Any:
    """A ``warnings.showwarning`` that renders the tool's warnings as one line each."""
    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        if issubclass(category, CanmoreWarning):
            print(f"canmore-sim: warning: {cut(message)}", file=sys.stderr)
        else:
            fallback(message, category, filename, lineno, file, line)
    return show


def _run(args: argparse.Namespace, interrupt: _Interrupt) -> int:
    try:
        status = _COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe (``| head``) shows here, not at interpreter exit
        return status
    except CanmoreError as exc:
        if interrupt.seen:  # an error that Ctrl-C caused is reported as the interruption
            raise KeyboardInterrupt from None
        print(f"canmore-sim: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # the reader of our output went away (``inspect ... | head``)
        _silence_stdout()
        return 0
    except OSError as exc:  # e.g. an output folder that cannot be created or written
        if interrupt.seen:
            raise KeyboardInterrupt from None
        where = f": {exc.filename}" if exc.filename else ""
        print(f"canmore-sim: error: {cut(f'{exc.strerror or exc}{where}')}", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (a test's capture)
        pass


def _frames_option(text: str) -> int | str:
    """``--frames``: a positive count or ``all``."""
    if text == "all":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of frames or 'all', got {text!r}"
                                         ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"need at least one frame, got {value}")
    return value


def _cmd_map(args: argparse.Namespace) -> int:
    config = _resolve_config(args)  # a bad config is reported before torch loads
    from canmore_sim.executor import check_executor, default_workers

    workers = default_workers() if args.workers is None else args.workers
    check_executor(args.executor, workers, args.scheduler)
    if args.executor == "local" and workers > 1 and (
            args.frames == "all" or config.run.frames > config.run.chunk_frames):
        from canmore_sim.executor import prestart
        from canmore_sim.map_run import PRELOAD

        prestart(PRELOAD)  # the workers' fork server loads while this process prepares
    from canmore_sim.map_chunks import ModelSource
    from canmore_sim.map_run import run_map
    from canmore_sim.outdir import open_map_work, prepare_output
    from canmore_sim.report import render_table, summarize

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
        reference_file = args.energy_reference or config.run.energy_reference
        reference = _reference(reference_file) if reference_file else None
        report = _with_compile_note(progress, config, quiet=args.quiet)
        result = run_map(graph, source, config, work.path, data=args.data,
                         frames="all" if args.frames == "all" else None, mapping=mapping,
                         reference=reference, reference_label=f"reference run {reference_file}",
                         workers=workers, executor=args.executor, scheduler=args.scheduler,
                         resume=args.resume, progress=report, note=_map_note(progress),
                         release_weights=True)
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
    print(render_table(summary))
    if plan.note():
        print(f"\n{plan.note()}")
    print(f"\nwrote {count} files to {out}/ (open {out / 'report.html'})")
    return 0


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


def _write_map_folder(plan: Any, summary: dict[str, Any], result: Any) -> int:
    """Write every file of a map report into a staged folder and swap it in whole."""
    from canmore_sim.mapper.mapping_io import save_mapping
    from canmore_sim.outdir import staged
    from canmore_sim.report import write_json
    from canmore_sim.report_files import write_report_files

    with staged(plan) as folder:
        paths = [write_json(summary, folder / "report.json"),
                 save_mapping(result.mapping, result.quantized.spec, folder / "mapping.json"),
                 *write_report_files(summary, folder)]
    return len(paths)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from canmore_sim.config import default_config, load_config
    from canmore_sim.mapper.inspect import architecture_only, layer_table
    from canmore_sim.models.loaders import is_spec
    from canmore_sim.models.zoo import ZOO
    from canmore_sim.overrides import apply_sets
    from canmore_sim.report import render_inspect

    config = apply_sets(load_config(args.config) if args.config else default_config(), args.sets)
    if args.model in ZOO and not Path(args.model).exists():
        graph = architecture_only(ZOO[args.model])
    elif args.model is not None and is_spec(args.model):
        graph = architecture_only(args.model)
    else:
        graph = _load_model(args.model, arch=args.arch, trust_model=args.trust_model,
                            input_shape=_shape(args.input_shape))
    core = config.core
    title = (f"{args.model or 'bundled default'}: {graph.spec}; cores of {core.max_neurons} "
             f"neurons, {core.sram_kib:g} KiB, {core.weight_bits}-bit weights")
    print(render_inspect(layer_table(graph, core), title))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from canmore_sim.outdir import open_sweep_work, prepare_output
    from canmore_sim.sweep import load_sweep, run_sweep
    from canmore_sim.sweep_report import write_sweep_outputs

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
        results = run_sweep(spec, points, work.path, workers=args.workers,
                            executor=args.executor, scheduler=args.scheduler,
                            resume=args.resume, progress=_sweep_progress(args),
                            note=_sweep_note(args))
        paths = write_sweep_outputs(results, axes, work.path)
        if plan.note():
            print(plan.note())
        work.publish()
    finally:
        work.release()
    failed = [r for r in results if r["status"] != "done"]
    print(f"{len(results) - len(failed)} points done, {len(failed)} failed; wrote "
          f"{', '.join(p.name for p in paths)} and points/ to {out}/")
    for r in failed:
        print(f"  point {r['index']} {r['values']}: {r.get('error')}")
    return 1 if failed else 0


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
    from canmore_sim.outdir import restaged
    from canmore_sim.report import read_report, render_table
    from canmore_sim.report_files import write_report_files

    out = Path(args.dir)
    summary = read_report(out / "report.json")
    with restaged(out) as folder:  # the folder is rewritten whole (its other files kept)
        paths = write_report_files(summary, folder)
    print(render_table(summary))
    print(f"\nre-rendered {len(paths)} files in {out}/ (open {out / 'report.html'})")
    return 0


def _resolve_config(args: argparse.Namespace) -> ArchConfig:
    from canmore_sim.config import default_config, load_config, with_overrides
    from canmore_sim.overrides import apply_sets

    config = load_config(args.config) if args.config else default_config()
    overrides: dict[str, Any] = {}
    if args.mesh is not None:
        overrides["mesh"] = args.mesh
    if getattr(args, "frames", None) not in (None, "all"):
        overrides["run.frames"] = args.frames
    if args.seed is not None:
        overrides["run.seed"] = args.seed
    if args.placement is not None:
        overrides["run.placement"] = args.placement
    if args.energy is not None:
        overrides["run.energy"] = args.energy
    config = with_overrides(config, overrides) if overrides else config
    return apply_sets(config, args.sets)


def _reference(path: str) -> dict[str, float]:
    """Mean frame latency and spikes of an earlier run, from its report.json."""
    from canmore_sim.errors import DataError
    from canmore_sim.report import read_report

    mean = read_report(Path(path))["mean"]
    fired = mean.get("neurons_fired", mean.get("neuron_spikes"))
    values = {"frame_latency_ns": mean.get("frame_latency_ns"), "neurons_fired": fired}
    for key, value in values.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise DataError(f"--energy-reference {path}: mean.{key} is {value!r}; a reference "
                            "run needs a positive mean frame latency and spike count")
    return {"frame_latency_ns": float(values["frame_latency_ns"]),
            "spikes": float(values["neurons_fired"])}


def _load_mapping(path: str, graph: LayerGraph, config: ArchConfig) -> Mapping:
    from canmore_sim.mapper.mapping_io import load_mapping
    from canmore_sim.mapper.partition import partition
    from canmore_sim.models.quantize import quantize_graph

    expected = partition(quantize_graph(graph, config.core.weight_bits,
                               config.core.quant_scale == "channel"), config.core)
    return load_mapping(path, expected, graph.spec, (config.mesh.width, config.mesh.height),
                        config.multichip.overflow, max_routers=config.limits.max_routers)


def _load_model(path: str | None, weights: str | None = None, sparsity: float = 0.25,
                seed: int = 0, *, arch: str | None = None, trust_model: bool = False,
                input_shape: tuple[int, ...] | None = None) -> LayerGraph:
    from canmore_sim.cores.calibrate import synthetic_graph
    from canmore_sim.models.loaders import load_model

    return load_model(path, arch=arch, weights=weights, trust_model=trust_model,
                      input_shape=input_shape, sparsity=sparsity, seed=seed,
                      synthesize=synthetic_graph)


def _shape(text: str | None) -> tuple[int, ...] | None:
    """``"HxWxC"`` -> ``(C, H, W)``; ``"N"`` -> ``(N,)``."""
    from canmore_sim.models.spec import parse_spec

    return None if text is None else parse_spec(f"{text}:1F")[0]


_COMMANDS = {"map": _cmd_map, "report": _cmd_report, "sweep": _cmd_sweep,
             "inspect": _cmd_inspect}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
