"""How close a multi-objective search gets to a real sweep's front, and at what share of it.

Runs the whole grid of a sweep once (``--out``; ``--resume`` reuses its point files), then
the NSGA-II search (``canmore-sim sweep --search``) with several seeds over the same folder,
so every point a search asks for is read back from the grid's point files rather than run
again. Prints, per seed, the share of the grid evaluated and the hypervolume of the search's
front over energy, frame latency and area (trusted points only) as a share of the full grid's.

    .venv/bin/python benchmarks/search_sweep.py [--sweep benchmarks/search_space.yaml]
        [--out /tmp/search-bench] [--share 0.2] [--seeds 0 1 2] [--workers 2] [--resume]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from canmore_sim.sweep.choose import hypervolume, objective_matrix, pareto_mask, trust_of
from canmore_sim.sweep.run import run_sweep
from canmore_sim.sweep.search import search_sweep
from canmore_sim.sweep.spec import load_sweep

OBJECTIVES = ["energy", "latency", "area"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).parent
    parser.add_argument("--sweep", default=str(here / "search_space.yaml"))
    parser.add_argument("--out", default="/tmp/canmore-search-bench")
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    spec, points = load_sweep(args.sweep)
    started = time.perf_counter()
    grid = run_sweep(spec, points, args.out, workers=args.workers, resume=args.resume)
    print(f"grid: {len(points)} points in {time.perf_counter() - started:.0f} s")
    trusted = np.array([trust_of(r)[0] for r in grid])
    values = objective_matrix(grid, OBJECTIVES)
    usable = trusted & np.all(np.isfinite(values), axis=1)
    reference = values[usable].max(axis=0) * 1.1
    full = hypervolume(values[usable & pareto_mask(values, usable)], reference)
    print(f"{usable.sum()} trusted points, {int((usable & pareto_mask(values, usable)).sum())} "
          f"on the grid's front")
    budget = int(args.share * len(points))
    for seed in args.seeds:
        results, outcome = search_sweep(spec, points, args.out, budget=budget,
                                        population=args.population, seed=seed, resume=True,
                                        workers=args.workers)
        found = np.stack([outcome.values[i] for i in outcome.front]) if outcome.front else \
            np.zeros((0, len(OBJECTIVES)))
        ratio = hypervolume(found, reference) / full if full else float("nan")
        print(f"seed {seed}: evaluated {len(outcome.evaluated)} of {outcome.total} "
              f"({outcome.share:.1%}), {outcome.trials} proposals, front {len(outcome.front)}, "
              f"hypervolume {ratio:.1%} of the full grid's")


if __name__ == "__main__":
    main()
