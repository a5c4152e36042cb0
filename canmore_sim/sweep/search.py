"""Multi-objective search over a sweep's points when the grid is too large to run whole.

Optuna's NSGA-II sampler (an optional extra: ``pip install canmore-sim[search]``) proposes
points of the same grid, one generation at a time; each proposal is one of the sweep's
points (its axes' values), so the search runs, resumes and writes exactly the point files
a full sweep would (``points/NNNN.json``), and a point already run (in this search, an
earlier one, or a full sweep) is read back, not run again. The outcome says how much of
the grid was evaluated to reach its front.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from canmore_sim.errors import ConfigError

__all__ = ["SearchOutcome", "nsga2_search"]

#: Evaluates point indices; returns one row of objectives (all minimized) per index, or
#: None for a point whose figures cannot be used (failed or untrusted).
Evaluate = Callable[[list[int]], list[np.ndarray | None]]


@dataclass
class SearchOutcome:
    """What a search evaluated and found.

    Attributes
    ----------
    total
        Points of the grid.
    evaluated
        Point indices evaluated, in the order they were asked for.
    values
        Objective rows of the evaluated points (None: unusable point).
    front
        Indices of the evaluated points on the front (usable points only).
    trials
        Proposals made by the sampler (duplicates of evaluated points included).
    """

    total: int
    evaluated: list[int] = field(default_factory=list)
    values: dict[int, np.ndarray | None] = field(default_factory=dict)
    front: list[int] = field(default_factory=list)
    trials: int = 0

    @property
    def share(self) -> float:
        """Share of the grid evaluated."""
        return len(self.evaluated) / self.total if self.total else 0.0


def nsga2_search(points: Sequence[dict[str, Any]], evaluate: Evaluate, n_objectives: int, *,
                 budget: int, population: int = 16, seed: int = 0,
                 max_trials: int | None = None) -> SearchOutcome:
    """Search the points for their Pareto front with NSGA-II, evaluating at most ``budget``.

    Parameters
    ----------
    points
        The grid: ``points[i]`` is point ``i``'s axis values (every point distinct).
    evaluate
        Runs (or reads back) the points asked for, a generation at a time.
    n_objectives
        Objectives per row that ``evaluate`` returns (all minimized).
    budget
        Most distinct points to evaluate.
    population
        NSGA-II population: proposals per generation.
    seed
        Seed of the sampler (same points, seed and results: same search).
    max_trials
        Most proposals in all (default ``20 x budget``): the search stops when the sampler
        keeps proposing points already evaluated.

    Raises
    ------
    ConfigError
        When optuna is not installed, the budget or population is too small, or two points
        have the same values.
    """
    optuna = _optuna()
    if budget < 1 or population < 2 or n_objectives < 1:
        raise ConfigError(f"search: budget, population and objectives must be >= 1, >= 2 and "
                          f">= 1, got {budget}, {population} and {n_objectives}", key="search")
    axes = list(dict.fromkeys(k for p in points for k in p))
    choices = {a: list(dict.fromkeys(_key(p.get(a)) for p in points)) for a in axes}
    index = {tuple(_key(p.get(a)) for a in axes): i for i, p in enumerate(points)}
    if len(index) != len(points):
        raise ConfigError("search: two points of the grid have the same values", key="search")
    distributions = {a: optuna.distributions.IntDistribution(0, len(choices[a]) - 1) for a in axes}
    study = optuna.create_study(
        directions=["minimize"] * n_objectives,
        sampler=optuna.samplers.NSGAIISampler(population_size=population, seed=seed))
    outcome = SearchOutcome(total=len(points))
    limit = max_trials if max_trials is not None else 20 * budget
    while len(outcome.evaluated) < budget and outcome.trials < limit:
        batch = []
        for _ in range(population):
            trial = study.ask(distributions)
            batch.append((trial, index.get(tuple(choices[a][trial.params[a]] for a in axes))))
        outcome.trials += len(batch)
        fresh = list(dict.fromkeys(i for _, i in batch
                                   if i is not None and i not in outcome.values))
        fresh = fresh[:budget - len(outcome.evaluated)]
        rows = evaluate(fresh) if fresh else []
        for point, row in zip(fresh, rows, strict=True):
            outcome.values[point] = None if row is None else np.asarray(row, dtype=np.float64)
            outcome.evaluated.append(point)
        for trial, chosen in batch:
            row = outcome.values.get(chosen) if chosen is not None else None
            if row is None:  # not a point, not evaluated (budget), failed or untrusted
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, row.tolist())
    outcome.front = _front(outcome)
    return outcome


def _front(outcome: SearchOutcome) -> list[int]:
    from canmore_sim.sweep.choose import pareto_mask

    usable = [i for i in outcome.evaluated if outcome.values[i] is not None]
    if not usable:
        return []
    rows = np.stack([outcome.values[i] for i in usable])  # type: ignore[misc]
    mask = pareto_mask(rows)
    return [i for i, on in zip(usable, mask, strict=True) if on]


def _key(value: Any) -> Any:
    """A value optuna can hold as a categorical choice (lists become strings)."""
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ConfigError("the search needs optuna (pip install 'canmore-sim[search]')",
                          key="search") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def search_sweep(spec: Any, points: Sequence[Any], out: Any, *, budget: int,
                 objectives: Sequence[str] = ("energy", "latency", "area"),
                 population: int = 16, seed: int = 0, resume: bool = False,
                 **run_options: Any) -> tuple[list[dict[str, Any]], SearchOutcome]:
    """Search a sweep's grid with NSGA-II instead of running every point.

    Each generation's new points run as a sweep would run them
    (:func:`canmore_sim.sweep.run.run_sweep`), writing the same ``points/NNNN.json``; a
    point file that verifies is reused (with ``resume``, also those of an earlier search or
    full sweep). A failed or untrusted point counts as evaluated but never joins the front.

    Parameters
    ----------
    spec, points, out
        As for :func:`~canmore_sim.sweep.run.run_sweep`.
    budget
        Most points to evaluate.
    objectives
        Names of :data:`canmore_sim.sweep.choose.OBJECTIVES`.
    population, seed
        NSGA-II population and sampler seed.
    resume
        Keep and reuse the point files already in ``out``.
    run_options
        ``workers``, ``executor``, ``scheduler``, ``progress``, ``note`` of ``run_sweep``.

    Returns
    -------
    tuple
        The results of the evaluated points (in evaluation order) and the outcome.
    """
    from canmore_sim.sweep.choose import OBJECTIVES, objective_matrix, trust_of
    from canmore_sim.sweep.run import run_sweep

    unknown = [o for o in objectives if o not in OBJECTIVES]
    if unknown or not objectives:
        raise ConfigError(f"search: unknown objective {unknown[0] if unknown else None!r}; "
                          f"valid: {', '.join(OBJECTIVES)}", key="search")
    names = {p.name for p in points}
    if not resume:
        run_sweep(spec, [], out, resume=False, **run_options)  # a fresh search: no old files
    results: dict[int, dict[str, Any]] = {}

    def evaluate(chosen: list[int]) -> list[np.ndarray | None]:
        done = run_sweep(spec, [points[i] for i in chosen], out, resume=True, keep=names,
                         **run_options)
        rows = objective_matrix(done, list(objectives))
        out_rows: list[np.ndarray | None] = []
        for r, row in zip(done, rows, strict=True):
            results[r["index"]] = r
            usable = trust_of(r)[0] and bool(np.all(np.isfinite(row)))
            out_rows.append(row if usable else None)
        return out_rows

    outcome = nsga2_search([p.values for p in points], evaluate, len(objectives),
                           budget=budget, population=population, seed=seed)
    return [results[points[i].index] for i in outcome.evaluated], outcome
