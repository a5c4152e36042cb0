"""canmore_sim.noc: spike traffic and the asynchronous mesh network-on-chip.

NoC engines share one shape, ``simulate(traffic, config) -> NocStats``, and are
chosen by name from :data:`ENGINES` (``run.engine`` in the YAML).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from canmore_sim.config import ArchConfig
from canmore_sim.noc.engine import simulate, zero_load_ns
from canmore_sim.noc.routing import ROUTINGS, get_routing
from canmore_sim.noc.stats import PORTS, NocStats
from canmore_sim.noc.traffic import Traffic
from canmore_sim.registry import choose

__all__ = ["ENGINES", "PORTS", "ROUTINGS", "NocStats", "Traffic", "get_engine", "get_routing",
           "simulate", "zero_load_ns"]


class Engine(Protocol):
    """``simulate(traffic, config, *, progress=None) -> NocStats``; ``progress`` is called
    as ``progress(delivered_rows, total_rows)`` in chunks and once at the end."""

    def __call__(self, traffic: Traffic, config: ArchConfig, *,
                 progress: Callable[[int, int], None] | None = None) -> NocStats: ...


#: NoC engines by name.
ENGINES: dict[str, Engine] = {"simpy": simulate}


def get_engine(name: str) -> Engine:
    """The NoC engine called ``name``.

    Raises
    ------
    ConfigError
        For an unknown name, listing the valid ones.
    """
    return choose(ENGINES, name, what="NoC engine", key="run.engine")
