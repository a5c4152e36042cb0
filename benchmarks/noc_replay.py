"""The fast NoC engine's fixed costs and loop on the headline's VGG16 frame, each in a
fresh process.

Builds the traffic of ``canmore-sim map --model vgg16 --weights synthetic --mesh 8x8
--frames 1`` once (through the pipeline, the CLI's settings), saves its columns with
NumPy, then runs ``fast.simulate`` on it in ``--repeat`` fresh Python processes (inside
:func:`canmore_sim.utils.memory.tune_process`, as the CLI does) and prints, per phase, the first
run's wall time and the best over the processes:

* ``import``: importing ``canmore_sim.noc.fast_kernel`` (numba and the kernel module);
* ``needs_compile``: the CLI's "compiling the NoC engine" check;
* ``first simulate``: the first call in the process (loading the compiled code from
  numba's cache, building the state, the loop, the statistics), split into
  ``load``/``build``/``loop``/``counters``/``stats`` by timing the engine's own helpers;
* ``second simulate``: the same traffic again (no loading).

Wall and CPU seconds (``time.process_time``: steadier on a shared machine) are printed.

    .venv/bin/python benchmarks/noc_replay.py [--repeat 3] [--traffic FILE] [--rebuild]

The traffic file is a temporary one, built on every run, unless ``--traffic FILE`` names
one: that is built when missing (or with ``--rebuild``) and reused by later runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

_PHASES = ("import", "needs_compile", "first simulate", "  load", "  build", "  loop",
           "  counters", "  stats", "second simulate")


def _save_traffic(path: Path) -> None:
    """Run the headline's pipeline up to the NoC replay and save the frame's traffic."""
    from canmore_sim.config import default_config, with_overrides
    from canmore_sim.datasets.readers import load_frames
    from canmore_sim.noc import ENGINES
    from canmore_sim.noc.traffic import Traffic
    from canmore_sim.run.pipeline import run
    from canmore_sim.run.source import ModelSource

    captured: list[Traffic] = []

    class _Captured(Exception):
        pass

    def capture(traffic: Traffic, config: Any, **_: Any) -> Any:
        captured.append(traffic)
        raise _Captured

    ENGINES["capture"] = capture  # type: ignore[assignment]
    config = with_overrides(default_config(), {"mesh": "8x8", "run.frames": 1,
                                               "run.engine": "capture"})
    graph = ModelSource("vgg16", weights="synthetic", sparsity=0.25,
                        seed=config.run.seed).load()
    frames, labels, ids = load_frames(None, graph.input_shape, 1, config.run.seed)
    with contextlib.suppress(_Captured):  # the replay's start: the traffic is built
        run(graph, frames, labels, config, frame_ids=ids, release_weights=True)
    traffic = captured[0]
    columns = {f.name: getattr(traffic, f.name) for f in dataclasses.fields(traffic)}
    if columns["sops"] is None:
        columns.pop("sops")
    np.savez(path, **{k: np.asarray(v) for k, v in columns.items()})


def _load_traffic(path: Path) -> Any:
    from canmore_sim.noc.traffic import Traffic

    with np.load(path) as data:
        values = {k: data[k] for k in data.files}
    scalars = ("width", "height", "multicast", "chip_width", "chip_height")
    for key in scalars:
        values[key] = values[key].item()
    return Traffic(**values)


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _add(times: dict[str, float], label: str, start: tuple[float, float]) -> None:
    """Add the wall and CPU time since ``start`` to ``label`` (and ``label`` + " cpu")."""
    wall, cpu = _now()
    times[label] = times.get(label, 0.0) + wall - start[0]
    times[label + " cpu"] = times.get(label + " cpu", 0.0) + cpu - start[1]


def _child(path: Path) -> dict[str, float]:
    """One fresh process: time each phase of the first and second replay."""
    from canmore_sim.utils.memory import tune_process

    times: dict[str, float] = {}
    with tune_process():
        traffic = _load_traffic(path)
        from canmore_sim.config import default_config, with_overrides

        config = with_overrides(default_config(), {"mesh": "8x8"})
        start = _now()
        from canmore_sim.noc import fast, fast_kernel

        _add(times, "import", start)
        start = _now()
        fast.needs_compile()
        _add(times, "needs_compile", start)
        _wrap(fast, fast_kernel, times)
        start = _now()
        stats = fast.simulate(traffic, config)
        _add(times, "first simulate", start)
        start = _now()
        fast.simulate(traffic, config)
        _add(times, "second simulate", start)
        times["link_hops"] = float(stats.link_hops)
        times["rows"] = float(len(traffic))
    return times


def _wrap(fast: Any, kernel: Any, times: dict[str, float]) -> None:
    """Time the engine's helpers of the first call (only the first: ``times`` keeps it)."""
    def timed(owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = _now()
            try:
                return inner(*args, **kwargs)
            finally:
                if "first simulate" not in times:
                    _add(times, label, start)
        setattr(owner, name, wrapper)

    timed(fast, "_build", "  build")
    timed(fast, "_counters", "  counters")
    timed(fast, "stats_from", "  stats")
    slices: list[tuple[float, float]] = []
    run = kernel.run

    class _Kernel:  # the kernel module with a timed ``run``
        def __getattr__(self, name: str) -> Any:
            return getattr(kernel, name)

        @staticmethod
        def run(*args: Any) -> Any:
            start = _now()
            code = run(*args)
            if "first simulate" not in times:
                end = _now()
                slices.append((end[0] - start[0], end[1] - start[1]))
                # the first call loads the compiled code, then runs a slice: its load
                # is what it took beyond the median full slice after it
                for i, key in enumerate(("", " cpu")):
                    full = sorted(s[i] for s in slices[1:-1]) or [0.0]
                    load = max(0.0, slices[0][i] - full[len(full) // 2])
                    times["  load" + key] = load
                    times["  loop" + key] = sum(s[i] for s in slices) - load
            return code

    fast._kernel = lambda: _Kernel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes")
    parser.add_argument("--traffic", type=Path, default=None, help="saved traffic (.npz)")
    parser.add_argument("--rebuild", action="store_true", help="build the traffic again")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(_child(args.child)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.traffic or Path(tmp) / "vgg16_frame.npz"
        if args.rebuild or not path.exists():
            start = time.perf_counter()
            _save_traffic(path)
            print(f"(VGG16 frame's traffic built and saved in {time.perf_counter() - start:.1f} s)")
        runs = []
        for i in range(max(1, args.repeat)):
            done = subprocess.run([sys.executable, __file__, "--child", str(path)],
                                  capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"run {i + 1} failed:\n{done.stderr.strip()}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    first = runs[0]
    print(f"fast engine on the VGG16 frame: {first['rows']:,.0f} rows, "
          f"{first['link_hops']:,.0f} hops; {len(runs)} fresh process(es)")
    print(f"{'phase':<20}{'first s':>9}{'best s':>9}{'best cpu s':>12}")
    for phase in _PHASES:
        values = [r.get(phase, 0.0) for r in runs]
        cpus = [r.get(phase + " cpu", 0.0) for r in runs]
        print(f"{phase:<20}{values[0]:9.3f}{min(values):9.3f}{min(cpus):12.3f}")
    loop, cpu = min(r["  loop"] for r in runs), min(r["  loop cpu"] for r in runs)
    print(f"loop speed: {first['link_hops'] / loop:,.0f} packet-hops/s (best loop wall), "
          f"{first['link_hops'] / cpu:,.0f} per CPU second")


if __name__ == "__main__":
    main()
