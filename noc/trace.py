"""Traffic traces out and in: a documented CSV any tool can write or read.

One row per delivery (a packet to one destination router; under multicast the rows of one
spike with the same source and time form one packet), in this column order::

    # canmore-sim trace v1 mesh=8x8 chip=0x0 multicast=0
    frame,time_ns,src_x,src_y,dst_x,dst_y,flits,layer,spike,deadline_ns,sops
    0,0.0,0,0,3,1,1,0,0,20000.0,12

* ``frame``: int >= 0, the frame (an independent replay) the row belongs to;
* ``time_ns``: float >= 0, when the packet is ready at its source, ns;
* ``src_x, src_y, dst_x, dst_y``: int router coordinates (``x`` eastwards, ``y``
  southwards, from 0), over all chips of a tiled run;
* ``flits``: int >= 1, the packet's length; one value for the whole trace (the router
  model has one packet length, ``router.flits_per_packet``, which the replay takes from it);
* ``layer``: int, the layer that emitted the spike (0: the input frame);
* ``spike``: int, the spike id (rows of one multicast packet share it);
* ``deadline_ns``: float, end of the consuming layer's window (``inf``: none), ns;
* ``sops``: int >= 0, synaptic operations the packet causes at its destination.

The first line is optional: ``mesh`` and ``chip`` (``0x0``: one chip) give the mesh the
coordinates belong to, ``multicast=1`` that rows sharing a spike, source and time travel as
one packet. Without it the replay takes the mesh from the configuration (tiling chips of
that size when the coordinates need more) and unicast. Only ``time_ns`` and the four
coordinates are required (a trace from another tool): ``frame`` defaults to 0, ``flits`` to
``router.flits_per_packet``, ``layer`` to 0, ``spike`` to the row number, ``deadline_ns``
to ``inf``, ``sops`` to 0. Times are written with Python's shortest round-trip ``repr``,
so a trace read back replays to the same bits.

Trace files are untrusted: their size is bounded (``limits.max_trace_rows`` rows, 256
bytes a line) and every error names the file and line.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from canmore_sim.errors import DataError
from canmore_sim.noc.traffic import Traffic

__all__ = ["COLUMNS", "Trace", "TraceWriter", "read_trace", "write_trace"]

COLUMNS = ("frame", "time_ns", "src_x", "src_y", "dst_x", "dst_y", "flits", "layer", "spike",
           "deadline_ns", "sops")
_REQUIRED = ("time_ns", "src_x", "src_y", "dst_x", "dst_y")
_FLOATS = ("time_ns", "deadline_ns")
_HEADER = re.compile(r"# canmore-sim trace v1 mesh=(\d+)x(\d+) chip=(\d+)x(\d+) multicast=([01])")
#: Longest line accepted, bytes (a row of eleven numbers needs under 200).
MAX_LINE = 256


@dataclass(frozen=True)
class Trace:
    """A trace read back: one :class:`Traffic` per frame (in frame order) and its flits."""

    frames: dict[int, Traffic]
    flits: int | None
    width: int
    height: int


class TraceWriter:
    """Writes trace rows frame by frame (the header lines with the first frame)."""

    def __init__(self, out: TextIO, flits: int) -> None:
        self.out, self.flits, self.header, self.rows = out, flits, "", 0

    def add(self, frame: int, t: Traffic) -> int:
        """Write the rows of ``frame``'s traffic; returns how many. Every frame must be on
        the mesh of the first (its header line)."""
        line = (f"# canmore-sim trace v1 mesh={t.width}x{t.height} "
                f"chip={t.chip_width}x{t.chip_height} multicast={int(t.multicast)}\n")
        if not self.header:
            self.out.write(line)
            self.out.write(",".join(COLUMNS) + "\n")
            self.header = line
        elif line != self.header:
            raise DataError(f"frame {frame}'s traffic is on another mesh than the trace's "
                            f"({line[2:].strip()} vs {self.header[2:].strip()})")
        w, flits = t.width, self.flits
        sops = np.zeros(len(t), dtype=np.int64) if t.sops is None else t.sops
        lines = [f"{frame},{time!r},{s % w},{s // w},{d % w},{d // w},{flits},{layer},"
                 f"{spike},{deadline!r},{ops}\n"
                 for time, s, d, layer, spike, deadline, ops in zip(
                     t.time_ns.tolist(), t.src.tolist(), t.dst.tolist(), t.layer.tolist(),
                     t.spike.tolist(), t.deadline_ns.tolist(), sops.tolist(), strict=True)]
        self.out.writelines(lines)
        self.rows += len(lines)
        return len(lines)


def write_trace(out: TextIO, frames: Iterable[tuple[int, Traffic]], flits: int) -> int:
    """Write the traffic of each ``(frame, traffic)`` as trace rows; returns rows written.

    All traffics must share one mesh (the header line states it).
    """
    writer = TraceWriter(out, flits)
    for frame, traffic in frames:
        writer.add(frame, traffic)
    return writer.rows


def read_trace(path: Path, *, width: int, height: int, max_rows: int,
               max_routers: int = 1 << 24) -> Trace:
    """Read and check a trace file (see the module for the format).

    Parameters
    ----------
    path
        The CSV file.
    width, height
        Mesh (one chip) to use when the file has no header line; coordinates beyond it
        tile chips of this size.
    max_rows
        Most rows accepted (``limits.max_trace_rows``).
    max_routers
        Most routers the trace's mesh may have (``limits.max_routers``).

    Raises
    ------
    DataError
        One line naming the file and line: a missing column, a value that is not a number
        or is out of range, a coordinate outside the mesh, mixed packet lengths, too many
        rows or too long a line.
    """
    try:
        size = path.stat().st_size
        if size > max_rows * MAX_LINE + 4096:
            raise DataError(f"{path}: {size} bytes is more than {max_rows} rows of a trace can "
                            "take (limits.max_trace_rows)")
        with path.open("r", encoding="utf-8", newline="") as f:
            return _parse(f, path, (width, height, max_rows, max_routers))
    except OSError as error:
        raise DataError(f"{path}: cannot read the trace: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None


def _parse(f: io.TextIOBase, path: Path, bounds: tuple[int, int, int, int]) -> Trace:
    """The trace in ``f``; ``bounds``: config mesh width, height, most rows, most routers."""
    max_rows = bounds[2]
    first = f.readline()
    lineno = 1
    mesh = None
    if first.startswith("#"):
        match = _HEADER.fullmatch(first.strip())
        if match is None:
            raise DataError(f"{path}:1: not a canmore-sim trace v1 header line")
        mesh = tuple(int(g) for g in match.groups())
        first = f.readline()
        lineno = 2
    names = [n.strip() for n in first.strip().split(",")]
    for name in _REQUIRED:
        if name not in names:
            raise DataError(f"{path}:{lineno}: the column {name!r} is missing "
                            f"(columns: {', '.join(COLUMNS)})")
    unknown = [n for n in names if n not in COLUMNS]
    if unknown or len(set(names)) != len(names):
        raise DataError(f"{path}:{lineno}: unknown or repeated column "
                        f"{(unknown or names)[0]!r} (columns: {', '.join(COLUMNS)})")
    columns: dict[str, list[float] | list[int]] = {n: [] for n in names}
    header_line = lineno
    for lineno, line in enumerate(f, start=header_line + 1):
        if len(line) > MAX_LINE:
            raise DataError(f"{path}:{lineno}: line longer than {MAX_LINE} characters")
        if lineno - header_line > max_rows:
            raise DataError(f"{path}:{lineno}: more than {max_rows} rows "
                            "(limits.max_trace_rows)")
        if not line.strip():
            continue
        fields = next(csv.reader([line]))
        if len(fields) != len(names):
            raise DataError(f"{path}:{lineno}: {len(fields)} fields, expected {len(names)}")
        for name, text in zip(names, fields, strict=True):
            columns[name].append(_value(path, lineno, name, text))  # type: ignore[arg-type]
    return _build(path, columns, mesh, bounds)


def _value(path: Path, lineno: int, name: str, text: str) -> float | int:
    try:
        value: float | int = float(text) if name in _FLOATS else int(text)
    except ValueError:
        kind = "a number" if name in _FLOATS else "an integer"
        raise DataError(f"{path}:{lineno}: {name} is {text.strip()[:20]!r}, expected {kind}"
                        ) from None
    if name == "time_ns" and not (math.isfinite(value) and value >= 0):
        raise DataError(f"{path}:{lineno}: time_ns is {text.strip()!r}, expected a finite "
                        "time >= 0")
    if name == "deadline_ns" and math.isnan(value):
        raise DataError(f"{path}:{lineno}: deadline_ns is NaN")
    if name in ("frame", "sops", "src_x", "src_y", "dst_x", "dst_y") and value < 0:
        raise DataError(f"{path}:{lineno}: {name} is {value}, expected >= 0")
    if name == "layer" and not -(1 << 15) <= value < 1 << 15:
        raise DataError(f"{path}:{lineno}: layer is {value}, out of range")
    if name == "flits" and value < 1:
        raise DataError(f"{path}:{lineno}: flits is {value}, expected >= 1")
    if name not in _FLOATS and abs(value) > 2**62:
        raise DataError(f"{path}:{lineno}: {name} is {text.strip()[:20]!r}, out of range")
    return value


def _build(path: Path, columns: dict[str, list[float] | list[int]], mesh: tuple[int, ...] | None,
           bounds: tuple[int, int, int, int]) -> Trace:
    """Traffic per frame from the parsed columns (rows sorted by time, then spike)."""
    width, height, _, max_routers = bounds
    n = len(columns["time_ns"])
    col = {name: np.asarray(values) for name, values in columns.items()}
    xs = np.concatenate([col["src_x"], col["dst_x"]]).astype(np.int64)
    ys = np.concatenate([col["src_y"], col["dst_y"]]).astype(np.int64)
    multicast = False
    if mesh is not None:
        width, height, cw, ch, mc = mesh
        multicast = bool(mc)
        if width < 1 or height < 1:
            raise DataError(f"{path}:1: mesh {width}x{height} is out of range")
    elif n and (xs.max() >= width or ys.max() >= height):  # tile chips of the config's size
        cw, ch = width, height
        width = cw * (int(xs.max()) // cw + 1)
        height = ch * (int(ys.max()) // ch + 1)
    else:
        cw = ch = 0
    if width * height > max_routers:
        raise DataError(f"{path}: a mesh of {width}x{height} routers is more than "
                        f"limits.max_routers ({max_routers})")
    if n and (xs.max() >= width or ys.max() >= height):
        bad = int(np.flatnonzero((np.concatenate([col["src_x"], col["dst_x"]]) >= width)
                                 | (np.concatenate([col["src_y"], col["dst_y"]]) >= height))[0])
        raise DataError(f"{path}: row {bad % n + 1} has a router outside the {width}x{height} "
                        "mesh of its header line")
    flits = None
    if "flits" in col and n:
        values = np.unique(col["flits"])
        if len(values) > 1:
            raise DataError(f"{path}: packets of {values[0]} and {values[1]} flits; the router "
                            "model has one packet length (router.flits_per_packet)")
        flits = int(values[0])
    frame = col["frame"].astype(np.int64) if "frame" in col else np.zeros(n, dtype=np.int64)
    spike = col["spike"].astype(np.int64) if "spike" in col else np.arange(n, dtype=np.int64)
    frames = {}
    for f in dict.fromkeys(frame.tolist()):  # frames in the file's order
        rows = np.flatnonzero(frame == f)
        time = col["time_ns"][rows].astype(np.float64)
        order = rows[np.lexsort((spike[rows], time))]
        src = col["src_y"][order] * width + col["src_x"][order]
        dst = col["dst_y"][order] * width + col["dst_x"][order]
        frames[int(f)] = Traffic(
            width, height, col["time_ns"][order].astype(np.float64), src.astype(np.int32),
            dst.astype(np.int32), spike[order],
            col["layer"][order].astype(np.int16) if "layer" in col
            else np.zeros(len(order), dtype=np.int16),
            col["deadline_ns"][order].astype(np.float64) if "deadline_ns" in col
            else np.full(len(order), np.inf),
            multicast, cw, ch,
            sops=col["sops"][order].astype(np.int64) if "sops" in col else None)
    return Trace(frames, flits, width, height)
