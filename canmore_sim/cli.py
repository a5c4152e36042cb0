"""Command-line interface: ``canmore-sim map | sweep | inspect | report``.

The CLI composes the stages (load, run, map, simulate, price, report) and is
the only place that prints or exits. Every expected failure is a
:class:`~canmore_sim.errors.CanmoreError`, rendered as one line on stderr with
a non-zero exit status.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

# Only the standard library and the error types load before main() is running, so that
# Ctrl-C while numpy, torch and pydantic load (start-up) ends in one line, not a traceback.
from canmore_sim import __version__
from canmore_sim.errors import CanmoreError, CanmoreWarning, cut

if TYPE_CHECKING:
    from canmore_sim.config import ArchConfig
    from canmore_sim.mapper.graph import LayerGraph
    from canmore_sim.mapper.placement import Mapping

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``canmore-sim``."""
    parser = argparse.ArgumentParser(
        prog="canmore-sim",
        description="What a trained TTFS spiking network costs on an asynchronous "
                    "many-core neuromorphic chip.",
    )
    parser.add_argument("--version", action="version", version=f"canmore-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("map", help="map a network onto the chip, simulate frames, report costs")
    p.add_argument("--model", default=None,
                   help="model checkpoint, or a zoo name (vgg11, vgg16, mnist-cnn, mlp, "
                        "fmnist-scnn) with --weights synthetic (default: the bundled DTA-TTFS "
                        "digits network)")
    p.add_argument("--data", default=None,
                   help="input frames: digits (default), cifar10:DIR, mnist:DIR, "
                        "fashion-mnist:DIR, npy:FILE, npz:FILE")
    p.add_argument("--arch", default=None,
                   help="architecture of a bare state_dict: a zoo name or a spec string "
                        "such as 32x32x3:64C3-P2-10F")
    p.add_argument("--trust-model", action="store_true",
                   help="allow a pickled nn.Module (unpickling can run code from the file)")
    p.add_argument("--input-shape", default=None, metavar="HxWxC",
                   help="input of a pickled module (with --trust-model), e.g. 28x28x1")
    p.add_argument("--weights", choices=["synthetic"], default=None,
                   help="build deterministic synthetic weights for a zoo network")
    p.add_argument("--sparsity", type=float, default=0.25,
                   help="with --weights synthetic: fraction of each hidden layer's neurons "
                        "that spike per frame (default 0.25)")
    p.add_argument("--config", default=None, help="architecture YAML (default: bundled default)")
    p.add_argument("--mesh", default=None, help="mesh size WxH, e.g. 8x8 (overrides the config)")
    p.add_argument("--frames", type=int, default=None, help="input frames to simulate")
    p.add_argument("--seed", type=int, default=None, help="seed for frame selection")
    p.add_argument("--placement", default=None, help="placement strategy (e.g. row-major)")
    p.add_argument("--energy", default=None,
                   help="energy preset (canmore-22nm, truenorth, spinnaker, tq-ttfs)")
    p.add_argument("--energy-reference", default=None, metavar="REPORT_JSON",
                   help="reference run (a report.json) for normalized energy models")
    p.add_argument("--mapping", default=None,
                   help="reuse a mapping.json written by an earlier run (skips remapping)")
    p.add_argument("--out", default="canmore-out", help="folder for report files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    w = sub.add_parser("sweep", help="run a YAML sweep of architecture variants")
    w.add_argument("file", help="sweep YAML (see configs/sweeps/)")
    w.add_argument("--workers", type=int, default=2, help="parallel worker processes (local)")
    w.add_argument("--out", default=None, help="output folder (default: sweep-out/NAME)")
    w.add_argument("--resume", action="store_true", help="skip points already done")
    w.add_argument("--executor", choices=["local", "dask"], default="local")
    w.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://host:port)")
    w.add_argument("--quiet", action="store_true", help="no progress line")
    i = sub.add_parser("inspect", help="print a network's layer table (no simulation)")
    i.add_argument("--model", default=None, help="as for map; a zoo name needs no weights here")
    i.add_argument("--arch", default=None, help="architecture of a bare state_dict")
    i.add_argument("--trust-model", action="store_true")
    i.add_argument("--input-shape", default=None, metavar="HxWxC")
    i.add_argument("--config", default=None, help="architecture YAML (core size, weight bits)")
    r = sub.add_parser("report", help="re-render tables, CSVs, plots and HTML from DIR/report.json")
    r.add_argument("dir", help="a folder written by 'canmore-sim map'")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``canmore-sim`` console script; returns the exit status.

    Every :class:`~canmore_sim.errors.CanmoreWarning` the library issues is printed as
    one ``canmore-sim: warning: ...`` line on stderr; Ctrl-C at any point (also while
    the libraries load) prints one line and exits with status 130.
    """
    interrupt = _Interrupt()
    try:
        with warnings.catch_warnings(), interrupt:
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
        if args.command == "map":
            return _cmd_map(args)
        if args.command == "report":
            return _cmd_report(args)
        if args.command == "sweep":
            return _cmd_sweep(args)
        if args.command == "inspect":
            return _cmd_inspect(args)
    except CanmoreError as exc:
        if interrupt.seen:  # an error that Ctrl-C caused is reported as the interruption
            raise KeyboardInterrupt from None
        print(f"canmore-sim: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # e.g. an output folder that cannot be created or written
        if interrupt.seen:
            raise KeyboardInterrupt from None
        where = f": {exc.filename}" if exc.filename else ""
        print(f"canmore-sim: error: {cut(f'{exc.strerror or exc}{where}')}", file=sys.stderr)
        return 1
    return 2


def _cmd_map(args: argparse.Namespace) -> int:
    config = _resolve_config(args)  # a bad config is reported before torch loads
    from canmore_sim.datasets.readers import load_frames
    from canmore_sim.pipeline import run
    from canmore_sim.report import render_table, summarize, write_json

    graph = _load_model(args.model, args.weights, args.sparsity, config.run.seed,
                        arch=args.arch, trust_model=args.trust_model,
                        input_shape=_shape(args.input_shape))
    frames, labels, ids = load_frames(args.data, graph.input_shape, config.run.frames,
                                      config.run.seed,
                                      max_values=config.limits.max_frame_values)
    progress = _ProgressBar(sys.stderr, enabled=not args.quiet and sys.stderr.isatty())
    mapping = _load_mapping(args.mapping, graph, config) if args.mapping else None
    started = time.perf_counter()
    reference_file = args.energy_reference or config.run.energy_reference
    reference = _reference(reference_file) if reference_file else None
    result = run(graph, frames, labels, config, frame_ids=ids, progress=progress,
                 mapping=mapping, reference=reference)
    progress.close()
    summary = summarize(result)
    summary["wall_s"] = round(time.perf_counter() - started, 3)
    out = Path(args.out)
    from canmore_sim.mapper.mapping_io import save_mapping
    from canmore_sim.report_files import write_report_files

    paths = [write_json(summary, out / "report.json"),
             save_mapping(result.mapping, result.quantized.spec, out / "mapping.json"),
             *write_report_files(summary, out)]
    print(render_table(summary))
    print(f"\nwrote {len(paths)} files to {out}/ (open {out / 'report.html'})")
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from canmore_sim.config import default_config, load_config
    from canmore_sim.mapper.inspect import architecture_only, layer_table
    from canmore_sim.mapper.zoo import ZOO
    from canmore_sim.report import render_inspect

    config = load_config(args.config) if args.config else default_config()
    if args.model in ZOO and not Path(args.model).exists():
        graph = architecture_only(ZOO[args.model])
    else:
        graph = _load_model(args.model, arch=args.arch, trust_model=args.trust_model,
                            input_shape=_shape(args.input_shape))
    core = config.core
    title = (f"{args.model or 'bundled default'}: {graph.spec}; cores of {core.max_neurons} "
             f"neurons, {core.sram_kib:g} KiB, {core.weight_bits}-bit weights")
    print(render_inspect(layer_table(graph, core), title))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from canmore_sim.sweep import SweepProgress, load_sweep, run_sweep
    from canmore_sim.sweep_report import write_sweep_outputs

    spec, points = load_sweep(args.file)  # every point is validated before anything runs
    out = Path(args.out) if args.out else Path("sweep-out") / Path(args.file).stem
    axes = [*spec.grid, *spec.zip]
    live = not args.quiet and sys.stderr.isatty()
    print(f"sweep {args.file}: {len(points)} points over {', '.join(axes) or 'no axes'}, "
          f"{spec.frames} frames each, {args.executor} executor")

    def progress(state: SweepProgress) -> None:
        if live:
            eta = "" if state.eta_s is None else f", ETA {state.eta_s:5.0f} s"
            sys.stderr.write(f"\rpoints {state.done + state.failed + state.skipped}/{state.total}"
                             f" (running {state.running}, failed {state.failed}{eta})   ")
            sys.stderr.flush()

    results = run_sweep(spec, points, out, workers=args.workers, executor=args.executor,
                        scheduler=args.scheduler, resume=args.resume, progress=progress)
    if live:
        sys.stderr.write("\n")
    paths = write_sweep_outputs(results, axes, out)
    failed = [r for r in results if r["status"] != "done"]
    print(f"{len(results) - len(failed)} points done, {len(failed)} failed; wrote "
          f"{', '.join(p.name for p in paths)} to {out}/")
    for r in failed:
        print(f"  point {r['index']} {r['values']}: {r.get('error')}")
    return 1 if failed else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from canmore_sim.report import read_report, render_table
    from canmore_sim.report_files import write_report_files

    out = Path(args.dir)
    summary = read_report(out / "report.json")
    paths = write_report_files(summary, out)
    print(render_table(summary))
    print(f"\nre-rendered {len(paths)} files in {out}/ (open {out / 'report.html'})")
    return 0


def _resolve_config(args: argparse.Namespace) -> ArchConfig:
    from canmore_sim.config import default_config, load_config, with_overrides

    config = load_config(args.config) if args.config else default_config()
    overrides: dict[str, Any] = {}
    if args.mesh is not None:
        overrides["mesh"] = args.mesh
    if args.frames is not None:
        overrides["run.frames"] = args.frames
    if args.seed is not None:
        overrides["run.seed"] = args.seed
    if args.placement is not None:
        overrides["run.placement"] = args.placement
    if args.energy is not None:
        overrides["run.energy"] = args.energy
    return with_overrides(config, overrides) if overrides else config


def _reference(path: str) -> dict[str, float]:
    """Mean frame latency and spikes of an earlier run, from its report.json."""
    from canmore_sim.errors import DataError
    from canmore_sim.report import read_report

    mean = read_report(Path(path))["mean"]
    values = {"frame_latency_ns": mean.get("frame_latency_ns"),
              "neuron_spikes": mean.get("neuron_spikes")}
    for key, value in values.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise DataError(f"--energy-reference {path}: mean.{key} is {value!r}; a reference "
                            "run needs a positive mean frame latency and spike count")
    return {"frame_latency_ns": float(values["frame_latency_ns"]),
            "spikes": float(values["neuron_spikes"])}


def _load_mapping(path: str, graph: LayerGraph, config: ArchConfig) -> Mapping:
    from canmore_sim.mapper.mapping_io import load_mapping
    from canmore_sim.mapper.partition import partition
    from canmore_sim.mapper.quantize import quantize_graph

    expected = partition(quantize_graph(graph, config.core.weight_bits,
                               config.core.quant_scale == "channel"), config.core)
    return load_mapping(path, expected, graph.spec, (config.mesh.width, config.mesh.height),
                        config.multichip.overflow, max_routers=config.limits.max_routers)


def _load_model(path: str | None, weights: str | None = None, sparsity: float = 0.25,
                seed: int = 0, *, arch: str | None = None, trust_model: bool = False,
                input_shape: tuple[int, ...] | None = None) -> LayerGraph:
    from canmore_sim.mapper.loaders import load_model

    return load_model(path, arch=arch, weights=weights, trust_model=trust_model,
                      input_shape=input_shape, sparsity=sparsity, seed=seed)


def _shape(text: str | None) -> tuple[int, ...] | None:
    """``"HxWxC"`` -> ``(C, H, W)``; ``"N"`` -> ``(N,)``."""
    from canmore_sim.mapper.spec import parse_spec

    return None if text is None else parse_spec(f"{text}:1F")[0]


class _ProgressBar:
    """A one-line progress bar on a terminal: frames simulated and ETA."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream, self.enabled = stream, enabled
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        eta = elapsed / done * (total - done) if done else 0.0
        filled = int(30 * done / total)
        self.stream.write(f"\rsimulating frames [{'#' * filled}{'.' * (30 - filled)}] "
                          f"{done}/{total}  ETA {eta:5.1f} s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
