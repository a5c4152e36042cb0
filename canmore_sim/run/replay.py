"""Which frames of a run go through the NoC event replay (``run.replay``), and why.

Under deterministic routing every frame's hops, link flits, inter-chip hops, SOPs and
Eq. 12 energy are exact without a replay (:mod:`canmore_sim.noc.counts`); latency,
waiting, occupancy, late deliveries and frame latency come from the replayed frames
(:mod:`canmore_sim.noc.sample` draws them from the seed). Every frame is replayed,
whatever ``run.replay`` says, where a figure of every frame needs it: closed-loop
timing (what the chip computes depends on each frame's deliveries), an adaptive routing
(its links depend on the replay) and an energy model that prices the frame latency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.errors import ConfigError
from canmore_sim.noc.routing import get_routing, is_deterministic
from canmore_sim.noc.sample import AUTO_ALL_UP_TO, replayed_frames

__all__ = ["ReplayPlan", "prices_frame_latency", "replay_plan"]


@dataclass(frozen=True, eq=False)
class ReplayPlan:
    """The frames a run replays.

    Attributes
    ----------
    mode
        What is done: ``all``, ``sample`` or ``none``.
    asked
        ``run.replay`` as configured (``auto``, ``all``, ``sample``, ``none``).
    replayed
        bool per frame position of the run.
    reason
        Why every frame is replayed against ``run.replay`` (or how ``auto`` chose); ""
        when the configuration was followed as given.
    """

    mode: str
    asked: str
    replayed: np.ndarray
    reason: str

    @property
    def sampled(self) -> bool:
        """Whether some frames' timing figures are not measured."""
        return not bool(self.replayed.all())

    def part(self, positions: slice | np.ndarray) -> ReplayPlan:
        """The same plan over the frames at ``positions`` (a chunk of the run)."""
        return ReplayPlan(self.mode, self.asked, self.replayed[positions], self.reason)


def prices_frame_latency(preset: Any) -> bool:
    """Whether the energy preset prices each frame's latency (a normalized model, or a
    static power ``p_static_mw``), which only a replay measures."""
    params = getattr(preset, "params", {}) or {}
    return preset.model == "normalized" or params.get("p_static_mw") is not None


def replay_plan(config: ArchConfig, n_frames: int, preset: Any) -> ReplayPlan:
    """The frames a run of ``n_frames`` frames replays (see the module notes).

    Raises
    ------
    ConfigError
        ``run.replay: sample`` or ``none`` (asked explicitly) with an adaptive routing or
        an energy model that prices the frame latency: those need every frame replayed.
    """
    asked = config.run.replay
    forced = _forced_by(config, preset)
    if forced and asked in ("sample", "none"):
        raise ConfigError(f"run.replay {asked!r} cannot be used: {forced[1]} needs every "
                          "frame replayed (set run.replay: all or auto)",
                          key="run.replay", value=asked, settings=[forced[0]])
    if config.run.timing != "ideal" or forced:
        why = (forced[1] if forced else f"closed-loop timing (run.timing: "
               f"{config.run.timing}) depends on every frame's deliveries")
        reason = "" if asked == "all" else f"every frame is replayed: {why}"
        return ReplayPlan("all", asked, np.ones(n_frames, dtype=bool), reason)
    replayed = replayed_frames(n_frames, asked, config.run.replay_frames, config.run.seed)
    mode = "all" if replayed.all() else "none" if not replayed.any() else "sample"
    reason = ""
    if asked == "auto":
        reason = (f"run.replay auto: every frame of a run of up to {AUTO_ALL_UP_TO} frames"
                  if mode == "all" else
                  f"run.replay auto: a sample of {int(replayed.sum())} of {n_frames} frames")
    return ReplayPlan(mode, asked, replayed, reason)


def _forced_by(config: ArchConfig, preset: Any) -> tuple[str, str] | None:
    """(setting, why) of what needs every frame replayed besides closed-loop timing."""
    if not is_deterministic(get_routing(config.router.routing)):
        return ("router.routing", f"the adaptive routing {config.router.routing!r}")
    if prices_frame_latency(preset):
        return ("run.energy", f"the energy preset {config.run.energy!r} (it prices the "
                "frame latency)")
    return None
