"""``map --trace`` and ``canmore-sim replay``: a trace written by a map run and replayed
gives the same NoC figures as the run, under the default router and under the router
options; bad traces and impossible requests are one-line errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from canmore_sim.cli.main import main
from canmore_sim.run.frame_noc import REPLAY_FIGURES

ROUTER = ["--set", "router.switching=wormhole", "--set", "router.routing=odd-even",
          "--set", "router.virtual_channels=2", "--set", "router.link_pipelined=true",
          "--set", "router.flits_per_packet=2", "--set", "traffic.multicast=true",
          "--set", "core.sop_ns=0.05"]


def _rows(path: Path, key: str) -> dict[str, dict[str, str]]:
    with path.open() as f:
        return {row[key]: row for row in csv.DictReader(f)}


@pytest.mark.parametrize("router", [[], ROUTER], ids=["default", "options"])
def test_a_trace_written_by_map_replays_to_the_run_figures(tmp_path: Path, router) -> None:  # type: ignore[no-untyped-def]
    out, trace, replayed = tmp_path / "run", tmp_path / "trace.csv", tmp_path / "replay.csv"
    assert main(["map", "--frames", "2", "--quiet", "--workers", "1", "--out", str(out),
                 "--trace", str(trace), *router]) == 0
    assert trace.read_text().startswith("# canmore-sim trace v1 mesh=8x8 chip=0x0 multicast="
                                        + ("1" if router else "0"))
    assert main(["replay", str(trace), "--out", str(replayed), *router]) == 0
    run, again = _rows(out / "frames.csv", "data_index"), _rows(replayed, "frame")
    assert list(run) == list(again) and len(run) == 2
    for frame, row in run.items():
        for key in REPLAY_FIGURES:
            if key != "end_ns":  # frames.csv has the frame latency instead
                assert again[frame][key] == row[key], (frame, key)
    assert int(again[frame]["hops"]) > 1000  # real traffic


def test_replay_refuses_a_bad_trace_in_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("time_ns,src_x,src_y,dst_x,dst_y\n0,0,0,1,1\n0,0,0,1\n")
    assert main(["replay", str(bad)]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{bad}:3: 4 fields, expected 5" in err
    assert "Traceback" not in err


def test_a_trace_from_another_tool_replays(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other.csv"
    other.write_text("time_ns,src_x,src_y,dst_x,dst_y\n0,0,0,3,3\n0,3,3,0,0\n1.5,1,0,1,2\n")
    assert main(["replay", str(other), "--mesh", "4x4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "frame," + ",".join(REPLAY_FIGURES)
    assert out[2].startswith("0,3,3,14,0,")  # 3 packets, 3 deliveries, 6 + 6 + 2 hops


def test_map_trace_needs_ideal_timing(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    trace = tmp_path / "trace.csv"
    code = main(["map", "--frames", "1", "--quiet", "--workers", "1", "--out",
                 str(tmp_path / "run"), "--trace", str(trace), "--set",
                 "run.timing=drop-late"])
    assert code != 0
    assert "run.timing" in capsys.readouterr().err
    assert not trace.exists() and not any(tmp_path.glob(".*.tmp"))
