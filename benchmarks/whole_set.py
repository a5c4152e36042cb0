"""A whole test set's cost: VGG16 (synthetic weights), 64 frames, 1 and 2 workers, with
every frame replayed through the NoC engine, a replayed sample, or none.

Each configuration is one cold ``canmore-sim map --model vgg16 --weights synthetic
--mesh 8x8 --frames 64 --workers K --set run.replay=MODE`` (interpreter start, model
build, quantization, mapping, every chunk and the reports included), while this script
samples the whole process tree (the CLI, its fork server and its workers) every 0.1 s
from ``/proc``. Printed per configuration: wall seconds per frame, the CPU seconds of the
tree per frame (each process's user + system time at its last sample: up to 0.1 s of a
process's end is missed), the peak memory of the tree (MB, summed over its processes at
one instant: resident, RSS, which counts pages forked processes share once per process,
and proportional, PSS, which splits them; and the resident memory of the worker processes
alone, without the CLI's process and the pool's fork server: 0 where one worker runs the
chunks in the CLI's process), and the extrapolation to a 10,000-frame evaluation
(``wall per frame x 10,000``: the per-run fixed costs are spread over the frames here,
so this is an upper bound). Given two or more frame counts (``--frames 32 96``), it also
prints each configuration's marginal cost of a frame (the difference of the largest and
smallest run over their frames: start-up, model build, mapping and reports cancel) and the
extrapolation ``fixed + marginal x 10,000`` (fixed: the smallest run less its frames'
marginal cost). ``uptime`` is printed before and after: the machine may be shared, and
wall times scale with its load.

    .venv/bin/python benchmarks/whole_set.py [--frames 64 ...] [--workers 1 2]
        [--replay all sample none] [--replay-frames 0.01] [--extra KEY=VALUE ...]
        [--before /tmp/before/.venv/bin/python]

``sample`` replays ``--replay-frames`` of the frames (default 1 %: one frame of 64).
``--before PYTHON`` adds a run of the tool before this change (``before``: every frame
replayed, the waste not cut), from the interpreter of another checkout (its venv).
The runs' folders are temporary; ``--keep DIR`` keeps them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE_S = 0.1


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime: not available"


def _tree_memory_mb(root: int, cpu: dict[int, float]) -> tuple[float, float, float]:
    """(resident, proportional) memory of ``root`` and all its descendants now, and the
    resident memory of the workers alone (the processes below ``root``'s children: the
    local pool's fork server forks them), MB; their CPU seconds so far go into ``cpu`` (by
    process id).

    Resident (RSS) counts a page shared by forked processes once per process;
    proportional (PSS, ``/proc/PID/smaps_rollup``) splits it between them, so its sum is
    what the tree holds of the machine's memory.
    """
    children: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    rss = pss = workers = 0
    todo = [(root, 0)]
    while todo:
        pid, depth = todo.pop()
        todo.extend((child, depth + 1) for child in children.get(pid, []))
        cpu[pid] = used.get(pid, cpu.get(pid, 0.0))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                        workers += int(line.split()[1]) if depth >= 2 else 0
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024, workers / 1024


def _run(args: argparse.Namespace, workers: int, replay: str, out: Path,
         frames: int) -> dict[str, float]:
    python = args.before if replay == "before" else sys.executable
    out = out.resolve()
    command = [python, "-m", "canmore_sim.cli", "map", "--model", "vgg16",
               "--weights", "synthetic", "--mesh", "8x8", "--frames", str(frames),
               "--workers", str(workers), "--out", str(out), "--force", "--quiet"]
    if replay != "before":
        command += ["--set", f"run.replay={replay}"]
    if replay == "sample":
        command += ["--set", f"run.replay_frames={args.replay_frames}"]
    for extra in args.extra:
        command += ["--set", extra]
    start = time.perf_counter()
    with open(out.with_suffix(".stderr"), "w") as errors:
        # the other checkout's tool runs in its own folder (``-m`` imports from there)
        folder = Path(python).absolute().parents[2] if replay == "before" else None
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors,
                                   cwd=folder)
        peak = peak_pss = peak_workers = 0.0
        cpu: dict[int, float] = {}
        while process.poll() is None:
            rss, pss, workers_rss = _tree_memory_mb(process.pid, cpu)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            peak_workers = max(peak_workers, workers_rss)
            time.sleep(SAMPLE_S)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}): "
                         f"{out.with_suffix('.stderr').read_text()[-2000:]}")
    return {"wall": wall, "cpu": sum(cpu.values()), "peak": peak, "peak_pss": peak_pss,
            "peak_workers": peak_workers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[64])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--replay", nargs="*", default=["all", "sample", "none"])
    parser.add_argument("--replay-frames", default="0.01")
    parser.add_argument("--extra", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--before", default=None, metavar="PYTHON",
                        help="also run the tool as it was before run.replay (the "
                             "interpreter of a checkout of it): replay 'before'")
    args = parser.parse_args()
    print(f"before: {_uptime()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{'workers':>7} {'replay':>7} {'wall s':>8} {'s/frame':>8} {'CPU s/frame':>11} "
              f"{'peak RSS MB':>11} {'peak PSS MB':>11} {'workers RSS':>11} "
              f"{'10k frames h':>12}", flush=True)
        modes = [*(["before"] if args.before else []), *args.replay]
        sizes = sorted(set(args.frames))
        for workers in args.workers:
            for replay in modes:
                runs = {n: _run(args, workers, replay, folder / f"w{workers}-{replay}-{n}", n)
                        for n in sizes}
                for n, got in runs.items():
                    per_frame = got["wall"] / n
                    print(f"{workers:>7} {replay:>7} {got['wall']:>8.1f} {per_frame:>8.3f} "
                          f"{got['cpu'] / n:>11.3f} {got['peak']:>11.0f} "
                          f"{got['peak_pss']:>11.0f} {got['peak_workers']:>11.0f} "
                          f"{per_frame * 10_000 / 3600:>12.2f}   ({n} frames)", flush=True)
                if len(sizes) > 1:
                    _print_marginal(workers, replay, runs)
    print(f"after:  {_uptime()}")


def _print_marginal(workers: int, replay: str, runs: dict[int, dict[str, float]]) -> None:
    """The marginal wall and CPU seconds of a frame between the smallest and largest run,
    and the 10,000-frame extrapolation from them (fixed costs counted once)."""
    low, high = min(runs), max(runs)
    wall = (runs[high]["wall"] - runs[low]["wall"]) / (high - low)
    cpu = (runs[high]["cpu"] - runs[low]["cpu"]) / (high - low)
    fixed = runs[low]["wall"] - wall * low
    hours = (fixed + wall * 10_000) / 3600
    print(f"{workers:>7} {replay:>7} marginal ({low} -> {high} frames): {wall:.3f} wall s/frame, "
          f"{cpu:.3f} CPU s/frame, fixed {fixed:.1f} s; 10,000 frames: {hours:.2f} h",
          flush=True)


if __name__ == "__main__":
    main()
