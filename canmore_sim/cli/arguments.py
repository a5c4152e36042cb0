"""The configuration a command line asks for (shared by the CLI's commands)."""

from __future__ import annotations

import argparse
from typing import Any

from canmore_sim.config import ArchConfig, default_config, load_config, with_overrides
from canmore_sim.overrides import apply_sets

__all__ = ["resolve_config"]


def resolve_config(args: argparse.Namespace) -> ArchConfig:
    """The configuration a command runs under: ``--config`` (or the default), then the
    options that name a key (``--mesh``, ``--frames``, ``--seed``, ``--placement``,
    ``--energy``), then every ``--set KEY=VALUE`` in order.

    Raises
    ------
    ConfigError
        A file, key or value the configuration rejects (naming it).
    """
    config = load_config(args.config) if args.config else default_config()
    overrides: dict[str, Any] = {}
    if args.mesh is not None:
        overrides["mesh"] = args.mesh
    if getattr(args, "frames", None) not in (None, "all"):
        overrides["run.frames"] = args.frames
    if args.seed is not None:
        overrides["run.seed"] = args.seed
    if args.placement is not None:
        overrides["run.placement"] = args.placement
    if args.energy is not None:
        overrides["run.energy"] = args.energy
    config = with_overrides(config, overrides) if overrides else config
    return apply_sets(config, args.sets)
