"""Traffic-aware placement by simulated annealing.

Objective: the traffic-weighted hop distance ``sum_e packets_e x hops_e`` over the
core-to-core traffic graph (:mod:`canmore_sim.mapper.traffic_graph`), the I/O port
fixed at its router. Moves relocate one core to a router, swapping with the core
already there. The search starts from the best of the simple fills (row-major,
snake, Hilbert) and returns the best placement it has seen, so it never does worse
than row-major.

Determinism: a seeded generator drives every random choice and the number of moves
is fixed (``run.placement_iterations``), so the same problem and seed give the same
placement on any machine. ``run.placement_budget_s`` is only a safety stop for huge
problems; a run that hits it depends on machine speed.
"""

from __future__ import annotations

import time

import numpy as np

from canmore_sim.mapper.problem import (
    PLACEMENTS,
    PlacementProblem,
    register_placement,
    weighted_hops,
)
from canmore_sim.mapper.traffic_graph import IO, CoreTraffic

__all__ = ["anneal"]


def _neighbours(n: int, traffic: CoreTraffic) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per core, the other ends of its traffic edges (IO = n) and their weights."""
    src = np.where(traffic.src == IO, n, traffic.src)
    dst = np.where(traffic.dst == IO, n, traffic.dst)
    ends = np.concatenate([src, dst])
    others = np.concatenate([dst, src])
    weights = np.concatenate([traffic.packets, traffic.packets])
    order = np.argsort(ends, kind="stable")
    ends, others, weights = ends[order], others[order], weights[order]
    bounds = np.searchsorted(ends, np.arange(n + 1))
    return ([others[bounds[c]:bounds[c + 1]] for c in range(n)],
            [weights[bounds[c]:bounds[c + 1]] for c in range(n)])


@register_placement("anneal")
def anneal(problem: PlacementProblem) -> np.ndarray:
    """Minimize traffic-weighted hops by simulated annealing (see module docstring)."""
    if problem.traffic is None:
        raise ValueError("the anneal placement needs the core traffic graph")
    width, n = problem.width, len(problem.groups)
    routers = problem.width * problem.height
    starts = [PLACEMENTS[name](problem) for name in ("row-major", "snake", "hilbert")]
    costs = [weighted_hops(s, problem.traffic, width, problem.io_router) for s in starts]
    pos = np.append(np.asarray(starts[int(np.argmin(costs))], dtype=np.int64),
                    problem.io_router)  # pos[n] = the fixed I/O port
    cost = best_cost = min(costs)
    best = pos[:n].copy()
    if n < 2 or problem.iterations < 1 or not len(problem.traffic):
        return best
    occupant = np.full(routers, -1, dtype=np.int64)
    occupant[pos[:n]] = np.arange(n)
    nbrs, wts = _neighbours(n, problem.traffic)
    rng = np.random.default_rng(problem.seed)
    cores = rng.integers(0, n, problem.iterations)
    usable = problem.usable_routers().astype(np.int64)
    targets = usable[rng.integers(0, len(usable), problem.iterations)]
    accept_draw = rng.random(problem.iterations)

    def local(c: int) -> float:
        other = pos[nbrs[c]]
        here = pos[c]
        return float(np.dot(wts[c], np.abs(here % width - other % width)
                            + np.abs(here // width - other // width)))

    temperature = _initial_temperature(cost, problem)
    cooling = (1e-4) ** (1.0 / problem.iterations)
    deadline = time.perf_counter() + problem.budget_s
    for i in range(problem.iterations):
        a, t = int(cores[i]), int(targets[i])
        b = int(occupant[t])
        pa = int(pos[a])
        if t == pa:
            continue
        before = local(a) + (local(b) if b >= 0 else 0.0)
        pos[a] = t
        if b >= 0:
            pos[b] = pa
        delta = local(a) + (local(b) if b >= 0 else 0.0) - before
        if delta <= 0 or accept_draw[i] < np.exp(-delta / temperature):
            occupant[t], occupant[pa] = a, b
            cost += delta
            if cost < best_cost - 1e-9:
                best_cost, best = cost, pos[:n].copy()
        else:
            pos[a] = pa
            if b >= 0:
                pos[b] = t
        temperature *= cooling
        if i % 1024 == 0 and time.perf_counter() > deadline:
            break
    return best


anneal.needs_traffic = True


def _initial_temperature(cost: float, problem: PlacementProblem) -> float:
    """A start temperature of about 1 % of the mean cost per core."""
    return max(cost / max(len(problem.groups), 1) * 0.01, 1e-6)
