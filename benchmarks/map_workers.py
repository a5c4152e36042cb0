"""Map runs on workers: wall time of 64 frames with 1 and 2 workers, and peak memory of
64 and 512 frames.

Speed (one worker = one core: torch runs on one thread in every worker, the in-process
single worker included): the bundled network, 64 frames (``run.chunk_frames`` 8: 8 chunks), run by
:func:`canmore_sim.chunked.run.run_map` in this process, after one warm-up run per worker
count (the first chunk a process runs loads the compiled NoC kernels and torch's kernels;
the local workers fork from a fork server that did this once). ``--repeats`` runs per
worker count, alternated; the medians and their ratio are printed, with ``uptime`` before
and after (the machine may be shared). One cold CLI run per worker count (interpreter
start, imports and the fork server included) is printed too.

Memory: peak RSS of a fresh process (one worker: everything in one process) mapping 64 and
512 frames (digits, all 1,797 images of scikit-learn's set as an .npz, so that 512 exist),
``ru_maxrss``. The chunks are streamed to disk, so it must not grow with the frames but for
the per-frame rows kept for frames.csv (a few kB per frame).

    .venv/bin/python benchmarks/map_workers.py [--frames 64] [--repeats 3] [--memory 64 512]
    (--repeats 0: memory only; --memory with no value: speed only)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MEMORY_SCRIPT = """
import resource, sys
from canmore_sim.config import default_config, with_overrides
from canmore_sim.run.source import ModelSource
from canmore_sim.chunked.run import run_map
from canmore_sim.report.summary import summarize
if __name__ == "__main__":
    source = ModelSource()
    config = with_overrides(default_config(), {"run.frames": int(sys.argv[1])})
    summary = summarize(run_map(source.load(), source, config, sys.argv[3], data=sys.argv[2]))
    assert len(summary["frames"]["data_index"]) == int(sys.argv[1])
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime: not available"


def _timed_runs(frames: int, repeats: int) -> dict[int, list[float]]:
    import torch

    from canmore_sim.chunked.run import run_map
    from canmore_sim.config import default_config, with_overrides
    from canmore_sim.run.source import ModelSource

    # one worker = one core: the pool's workers run torch on one thread each, so the
    # in-process single worker does too (torch's own threads would make "1 worker" use
    # both cores, and on a shared machine its spinning threads cost several times more)
    torch.set_num_threads(1)
    source = ModelSource()
    graph = source.load()
    config = with_overrides(default_config(), {"run.frames": frames})
    walls: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as work:
        for workers in (1, 2):  # warm-up: kernels loaded, the fork server started
            run_map(graph, source, with_overrides(config, {"run.frames": 16}),
                    Path(work) / f"warm{workers}", workers=workers)
        for i in range(repeats):
            for workers in (1, 2):
                started = time.perf_counter()
                run_map(graph, source, config, Path(work) / f"{workers}-{i}", workers=workers)
                walls[workers].append(time.perf_counter() - started)
    return walls


def _cold_cli(frames: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "canmore_sim.cli", "map", "--frames", str(frames),
                        "--workers", str(workers), "--out", str(Path(out) / "o"), "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started


def _digits_npz(folder: Path) -> Path:
    from canmore_sim.datasets.digits import read_digits

    pixels, target = read_digits()
    path = folder / "digits_all.npz"
    np.savez(path, x=pixels.reshape(-1, 8, 8).astype(np.float32) / 16.0,
             y=target.astype(np.int64))
    return path


def _peak_mb(frames: int, data: Path, folder: Path) -> float:
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(frames), f"npz:{data}",
                           str(folder / f"work{frames}")], check=True, capture_output=True,
                          text=True)
    return int(done.stdout.split()[-1]) / 1024.0


def _speed(frames: int, repeats: int) -> None:
    walls = _timed_runs(frames, repeats)
    medians = {k: statistics.median(v) for k, v in walls.items()}
    for workers, values in walls.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{frames} frames, {workers} worker(s): wall {shown} s, median "
              f"{medians[workers]:.2f} s ({frames / medians[workers]:.1f} frames/s)")
    print(f"speed-up 2 workers / 1: {medians[1] / medians[2]:.2f}x")
    cold = {k: _cold_cli(frames, k) for k in (1, 2)}
    print(f"cold CLI runs (start-up included): 1 worker {cold[1]:.2f} s, 2 workers "
          f"{cold[2]:.2f} s, ratio {cold[1] / cold[2]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory", type=int, nargs="*", default=[64, 512])
    args = parser.parse_args()
    print(f"before: {_uptime()}")
    if args.repeats > 0:  # --repeats 0: memory only
        _speed(args.frames, args.repeats)
        print(f"after: {_uptime()}")
    with tempfile.TemporaryDirectory() as folder:
        data = _digits_npz(Path(folder))
        for frames in args.memory:
            print(f"peak RSS, {frames} frames, 1 worker: {_peak_mb(frames, data, Path(folder)):.0f}"
                  " MB")


if __name__ == "__main__":
    main()
