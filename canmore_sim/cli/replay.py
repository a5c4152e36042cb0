"""``canmore-sim replay TRACE.csv``: a traffic trace (``map --trace``, or any tool's) through
the NoC engine, with the NoC figures a map run reports per frame."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_replay_command", "cmd_replay"]


def add_replay_command(parser: argparse.ArgumentParser) -> None:
    """The replay command's own arguments (``--config``/``--set`` come from the caller)."""
    parser.add_argument("trace", help="trace CSV (columns: see noc/trace.py or the README, "
                                      "'Router options')")
    parser.add_argument("--mesh", default=None, metavar="WxH",
                        help="routers per chip when the trace has no header line (default: "
                             "the config's mesh)")
    parser.add_argument("--out", default=None, metavar="CSV",
                        help="also write the per-frame figures to this CSV file")
    parser.set_defaults(seed=None, placement=None, energy=None)


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay every frame of the trace and print its NoC figures (CSV, one row a frame)."""
    from canmore_sim.cli.commands import _resolve_config
    from canmore_sim.config import with_overrides
    from canmore_sim.noc import get_engine
    from canmore_sim.noc.trace import read_trace
    from canmore_sim.run.frame_noc import REPLAY_FIGURES, frame_figures
    from canmore_sim.utils.atomic import atomic_write_bytes

    config = _resolve_config(args)
    limits = config.limits
    trace = read_trace(Path(args.trace), width=config.mesh.width, height=config.mesh.height,
                       max_rows=limits.max_trace_rows, max_routers=limits.max_routers)
    if trace.flits is not None and trace.flits != config.router.flits_per_packet:
        print(f"router.flits_per_packet = {trace.flits}, the trace's packet length",
              file=sys.stderr)
        config = with_overrides(config, {"router.flits_per_packet": trace.flits,
                                         "router.buffer_depth": max(
                                             config.router.buffer_depth, trace.flits)})
    engine = get_engine(config.run.engine)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("frame", *REPLAY_FIGURES))
    totals: dict[str, list[Any]] = {k: [] for k in REPLAY_FIGURES}
    for frame, traffic in trace.frames.items():
        figures = frame_figures(traffic, engine(traffic, config))
        writer.writerow((frame, *(figures[k] for k in REPLAY_FIGURES)))
        for key, value in figures.items():
            totals[key].append(value)
    text = buffer.getvalue()
    print(f"{args.trace}: {len(trace.frames)} frames on a {trace.width}x{trace.height} mesh, "
          f"{config.router.switching}, routing {config.router.routing}, NoC engine "
          f"{config.run.engine}")
    sys.stdout.write(text)
    if trace.frames:
        means = {k: sum(v) / len(v) for k, v in totals.items()}
        print("mean," + ",".join(f"{means[k]:.6g}" for k in REPLAY_FIGURES))
    if args.out:
        atomic_write_bytes(Path(args.out), text.encode())
    return 0
