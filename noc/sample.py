"""Which frames of a run are replayed through the NoC engine, and what a sample says.

Under deterministic routing a frame's hops, link flits and energy are counted exactly
without a replay (:mod:`canmore_sim.noc.counts`); latency, waiting, occupancy, late
deliveries and frame latency need the event replay. A run may replay a sample of its
frames for those: :func:`replayed_frames` chooses it from the run's seed alone (the same
frames whatever the chunks or workers), and :func:`mean_interval` gives the 95 %
confidence interval of the whole set's mean of a per-frame figure from the sample's
values (Student's t, with the finite-population correction: a sample of every frame
has an interval of width 0).
"""

from __future__ import annotations

import math

import numpy as np

from canmore_sim.errors import ConfigError

__all__ = ["AUTO_ALL_UP_TO", "AUTO_SAMPLE_MIN", "AUTO_SAMPLE_SHARE", "mean_interval",
           "replay_count", "replayed_frames"]

#: ``run.replay: auto`` replays every frame of a run of at most this many frames.
AUTO_ALL_UP_TO = 256
#: Beyond it, ``auto`` (and ``sample`` without ``run.replay_frames``) replays this share
#: of the frames, and at least :data:`AUTO_SAMPLE_MIN` of them.
AUTO_SAMPLE_SHARE = 0.01
AUTO_SAMPLE_MIN = 64

#: 97.5 % quantiles of Student's t for 1..30 degrees of freedom; beyond, the first term
#: of the Cornish-Fisher expansion, ``1.96 + (1.96**3 + 1.96) / (4 df)`` (within 0.1 %).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
         2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074,
         2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def replay_count(n_frames: int, mode: str, frames: float | None) -> int:
    """How many of ``n_frames`` frames a run replays.

    Parameters
    ----------
    n_frames
        Frames in the run.
    mode
        ``run.replay``: ``all``, ``none``, ``sample`` or ``auto`` (every frame up to
        :data:`AUTO_ALL_UP_TO` frames, else a sample).
    frames
        ``run.replay_frames``: a count (>= 1), a share (0 < share < 1), or None
        (:data:`AUTO_SAMPLE_SHARE` of the frames, at least :data:`AUTO_SAMPLE_MIN`).

    Raises
    ------
    ConfigError
        For an unknown mode or a count that is not whole.
    """
    if mode == "all" or (mode == "auto" and n_frames <= AUTO_ALL_UP_TO):
        return n_frames
    if mode == "none":
        return 0
    if mode not in ("sample", "auto"):
        raise ConfigError(f"run.replay {mode!r} is not one of all, sample, none, auto",
                          key="run.replay", value=mode)
    if frames is None:
        wanted = max(AUTO_SAMPLE_MIN, math.ceil(AUTO_SAMPLE_SHARE * n_frames))
    elif frames < 1:
        wanted = max(1, math.ceil(frames * n_frames))
    elif frames != int(frames):
        raise ConfigError(f"run.replay_frames {frames} must be a whole count (>= 1) or a "
                          "share below 1", key="run.replay_frames", value=frames)
    else:
        wanted = int(frames)
    return min(n_frames, wanted)


def replayed_frames(n_frames: int, mode: str, frames: float | None, seed: int) -> np.ndarray:
    """bool per frame position: whether the run replays it (a sample drawn from ``seed``
    alone, uniformly without replacement; every frame for ``all``)."""
    count = replay_count(n_frames, mode, frames)
    chosen = np.zeros(n_frames, dtype=bool)
    if count == n_frames:
        chosen[:] = True
    elif count:
        rng = np.random.default_rng([seed, 0x5EED_F4A3])  # its own stream of the run's seed
        chosen[rng.choice(n_frames, size=count, replace=False)] = True
    return chosen


def mean_interval(values: np.ndarray, population: int) -> tuple[float, float]:
    """(mean, half width of its 95 % confidence interval) of a population's mean from a
    simple random sample ``values`` of it.

    Student's t with ``n - 1`` degrees of freedom times the standard error, times the
    finite-population correction ``sqrt(1 - n / population)``: 0 when every member was
    sampled; ``nan`` half width for a single value out of many, and (nan, nan) for none.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = float(values.mean())
    if n >= population:
        return mean, 0.0
    if n == 1:
        return mean, math.nan
    t = _T975[n - 2] if n - 1 <= len(_T975) else 1.96 + 2.3724 / (n - 1)
    spread = float(values.std(ddof=1)) / math.sqrt(n)
    return mean, t * spread * math.sqrt(1.0 - n / population)
