"""Traces out and in (noc/trace.py): a trace written and read back replays to the same
statistics, and a hostile or broken file is refused with one line naming file and line."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from canmore_sim.config import with_overrides
from canmore_sim.errors import DataError
from canmore_sim.noc import fast
from canmore_sim.noc.trace import COLUMNS, read_trace, write_trace
from tests.noc.diffcases import make_case, make_option_case
from tests.noc.test_fast_engine import assert_same_stats


def _roundtrip(tmp_path: Path, traffics, flits: int, **read):  # type: ignore[no-untyped-def]
    path = tmp_path / "trace.csv"
    with path.open("w") as f:
        rows = write_trace(f, traffics, flits)
    assert rows == sum(len(t) for _, t in traffics)
    return read_trace(path, width=read.get("width", 8), height=read.get("height", 8),
                      max_rows=10_000_000)


@pytest.mark.parametrize("seed", [0, 3, 6, 13, 22, 31, 45, 58])
def test_written_trace_replays_to_the_same_statistics(tmp_path: Path, seed: int) -> None:
    case = make_case(seed) if seed % 2 else make_option_case(seed)
    other = make_case(seed + 100)
    frames = [(0, case.traffic)]
    def mesh(t):  # type: ignore[no-untyped-def]
        return t.width, t.height, t.multicast, t.chip_width, t.chip_height

    if mesh(other.traffic) == mesh(case.traffic):
        frames.append((5, other.traffic))
    else:
        with pytest.raises(DataError, match="another mesh"):
            write_trace(io.StringIO(), [*frames, (5, other.traffic)], 1)
    trace = _roundtrip(tmp_path, frames, case.config.router.flits_per_packet)
    assert trace.flits == (case.config.router.flits_per_packet if len(case.traffic) else None)
    assert sorted(trace.frames) == [f for f, _ in frames]
    for frame, original in frames:
        back = trace.frames[frame]
        for name in ("time_ns", "src", "dst", "spike", "layer", "deadline_ns"):
            assert np.array_equal(getattr(back, name), getattr(original, name)), name
        assert (back.width, back.height, back.multicast, back.chip_width, back.chip_height) == (
            original.width, original.height, original.multicast, original.chip_width,
            original.chip_height)
        assert_same_stats(fast.simulate(back, case.config),
                          fast.simulate(original, case.config))


def test_a_minimal_trace_from_another_tool(tmp_path: Path) -> None:
    """Only the time and the coordinates: defaults for the rest; the mesh from the config,
    chips of that size tiled where the coordinates need more."""
    path = tmp_path / "other.csv"
    path.write_text("time_ns,src_x,src_y,dst_x,dst_y\n0.5,0,0,3,2\n0.0,1,1,1,1\n2,0,0,9,0\n")
    trace = read_trace(path, width=8, height=8, max_rows=100)
    (traffic,) = trace.frames.values()
    assert (traffic.width, traffic.height, traffic.chip_width, traffic.chip_height) == (
        16, 8, 8, 8)
    assert traffic.time_ns.tolist() == [0.0, 0.5, 2.0]  # sorted by time
    assert traffic.dst.tolist() == [17, 2 * 16 + 3, 9]
    assert trace.flits is None and np.isinf(traffic.deadline_ns).all()
    config = with_overrides(make_case(0).config, {"mesh": "8x8"})
    stats = fast.simulate(traffic, config)
    assert stats.hops.tolist() == [0, 5, 9]


@pytest.mark.parametrize(("text", "message"), [
    ("time_ns,src_x,src_y,dst_x\n", "the column 'dst_y' is missing"),
    ("time_ns,src_x,src_y,dst_x,dst_y,colour\n", "unknown or repeated column 'colour'"),
    ("time_ns,src_x,src_y,dst_x,dst_y\n0,0,0,1,1\n1,0,x,1,1\n", ":3: src_y is 'x'"),
    ("time_ns,src_x,src_y,dst_x,dst_y\nnan,0,0,1,1\n", ":2: time_ns is 'nan'"),
    ("time_ns,src_x,src_y,dst_x,dst_y\n-1,0,0,1,1\n", ":2: time_ns is '-1'"),
    ("time_ns,src_x,src_y,dst_x,dst_y\n0,0,0,1\n", ":2: 4 fields, expected 5"),
    ("time_ns,src_x,src_y,dst_x,dst_y\n0,-1,0,1,1\n", ":2: src_x is -1"),
    ("time_ns,src_x,src_y,dst_x,dst_y,flits\n0,0,0,1,1,1\n0,0,0,1,1,2\n", "1 and 2 flits"),
    ("# canmore-sim trace v1 mesh=4x4 chip=0x0 multicast=0\ntime_ns,src_x,src_y,dst_x,dst_y\n"
     "0,0,0,5,1\n", "outside the 4x4 mesh"),
    ("# something else\ntime_ns,src_x,src_y,dst_x,dst_y\n", ":1: not a canmore-sim trace"),
    ("time_ns,src_x,src_y,dst_x,dst_y\n0,0,0,99999999999,0\n", "limits.max_routers"),
    ("time_ns,src_x,src_y,dst_x,dst_y\n" + "0,0,0,1,1\n" * 6, "more than 5 rows"),
    ("time_ns,src_x,src_y,dst_x,dst_y\n0," + "0" * 300 + ",0,1,1\n", "longer than 256"),
    ("time_ns,src_x,src_y,dst_x,dst_y,layer\n0,0,0,1,1,70000\n", "layer is 70000"),
])
def test_bad_traces_are_one_line_errors_naming_file_and_line(tmp_path: Path, text: str,
                                                             message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError) as info:
        read_trace(path, width=8, height=8, max_rows=5, max_routers=16_384)
    assert message in str(info.value)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_oversized_and_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"time_ns,src_x,src_y,dst_x,dst_y\n" + b"0,0,0,1,1\n" * 2000)
    with pytest.raises(DataError, match="bytes is more than 3 rows"):
        read_trace(path, width=8, height=8, max_rows=3)
    path.write_bytes(b"time_ns,src_x\n\xff\xfe\n")
    with pytest.raises(DataError, match="not a UTF-8"):
        read_trace(path, width=8, height=8, max_rows=3)
    with pytest.raises(DataError, match="cannot read"):
        read_trace(tmp_path / "missing.csv", width=8, height=8, max_rows=3)


def test_the_documented_columns_are_written() -> None:
    out = io.StringIO()
    write_trace(out, [(2, make_case(4).traffic)], 1)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("# canmore-sim trace v1 mesh=8x8")
    assert lines[1] == ",".join(COLUMNS)
    assert lines[2].startswith("2,")
