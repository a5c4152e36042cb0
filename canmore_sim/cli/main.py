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
import warnings
from collections.abc import Sequence
from typing import Any, TextIO

from canmore_sim import __version__
from canmore_sim.cli.commands import COMMANDS
from canmore_sim.cli.replay import add_replay_command
from canmore_sim.errors import CanmoreError, CanmoreWarning, cut
from canmore_sim.utils.memory import tune_process

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``canmore-sim`` (help lists defaults, units, registry choices)."""
    from canmore_sim.cli.help import HelpFormatter, config_epilog, registries_epilog

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
    p.add_argument("--trace", default=None, metavar="CSV",
                   help="also write every frame's traffic to this trace CSV (run.timing: "
                        "ideal; replay it with 'canmore-sim replay')")
    y = command("replay", "replay a traffic trace CSV through the NoC engine and print the "
                          "NoC figures of each frame")
    add_replay_command(y)
    _config_options(y)
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
    w.add_argument("--sort", choices=["energy", "latency", "area", "accuracy"],
                   default="energy", help="objective the results table is sorted by (trusted "
                                          "points first, best first)")
    w.add_argument("--search", type=int, default=None, metavar="N",
                   help="evaluate at most N points, chosen by a multi-objective search "
                        "(NSGA-II, needs optuna: pip install 'canmore-sim[search]') over "
                        "energy, latency and area, instead of the whole grid")
    w.add_argument("--search-seed", type=int, default=0, help="seed of the search's sampler")
    w.add_argument("--population", type=int, default=16,
                   help="points the search proposes per generation")
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
        status = COMMANDS[args.command](args)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
