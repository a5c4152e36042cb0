"""The replayed sample: its size, its draw from the seed, and the confidence interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from canmore_sim.errors import ConfigError
from canmore_sim.noc.sample import (
    AUTO_ALL_UP_TO,
    AUTO_SAMPLE_MIN,
    mean_interval,
    replay_count,
    replayed_frames,
)


def test_counts_per_mode() -> None:
    assert replay_count(50, "all", None) == 50
    assert replay_count(50, "none", 0.5) == 0
    assert replay_count(AUTO_ALL_UP_TO, "auto", None) == AUTO_ALL_UP_TO
    assert replay_count(10_000, "auto", None) == 100  # 1 %
    assert replay_count(AUTO_ALL_UP_TO + 1, "auto", None) == AUTO_SAMPLE_MIN
    assert replay_count(10_000, "sample", 0.05) == 500
    assert replay_count(10_000, "sample", 12) == 12
    assert replay_count(7, "sample", 12) == 7
    assert replay_count(7, "sample", 0.01) == 1  # a share never rounds to no frame
    with pytest.raises(ConfigError, match="whole count"):
        replay_count(100, "sample", 2.5)
    with pytest.raises(ConfigError, match="run.replay"):
        replay_count(100, "some", None)


def test_the_sample_depends_on_the_seed_only() -> None:
    a = replayed_frames(1000, "sample", 40, seed=3)
    assert a.dtype == bool and a.sum() == 40
    assert np.array_equal(a, replayed_frames(1000, "sample", 40, seed=3))
    assert not np.array_equal(a, replayed_frames(1000, "sample", 40, seed=4))
    assert replayed_frames(5, "all", None, 0).all()
    assert not replayed_frames(5, "none", None, 0).any()


def test_interval_is_students_t_with_the_finite_population_correction() -> None:
    rng = np.random.default_rng(0)
    for n in (2, 5, 30, 31, 64, 100, 400):
        values = rng.normal(10.0, 3.0, n)
        mean, half = mean_interval(values, 10 * n)
        t = stats.t.ppf(0.975, n - 1)
        expected = t * values.std(ddof=1) / math.sqrt(n) * math.sqrt(1 - 0.1)
        assert mean == pytest.approx(values.mean())
        assert half == pytest.approx(expected, rel=2e-3)
    assert mean_interval(np.array([1.0, 5.0]), 2) == (3.0, 0.0)  # every frame: exact
    assert math.isnan(mean_interval(np.array([1.0]), 10)[1])
    assert all(math.isnan(v) for v in mean_interval(np.zeros(0), 10))


def test_interval_covers_the_population_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    population = rng.gamma(2.0, 50.0, 2000)
    truth = population.mean()
    hits = 0
    for _ in range(400):
        sample = population[rng.choice(2000, 50, replace=False)]
        mean, half = mean_interval(sample, 2000)
        hits += abs(mean - truth) <= half
    assert 0.91 <= hits / 400 <= 0.99
