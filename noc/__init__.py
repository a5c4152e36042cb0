"""canmore_sim.noc: spike traffic and the asynchronous mesh network-on-chip.

NoC engines share one shape, ``simulate(traffic, config, *, progress=None) -> NocStats``,
and are chosen by name from :data:`ENGINES` (``run.engine`` in the YAML): ``fast``
(compiled, the default) and ``simpy`` (the reference that defines the model); both give
bit-identical statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from canmore_sim.config import ArchConfig
from canmore_sim.noc import cutthrough as _cutthrough  # noqa: F401 - its switching modes
from canmore_sim.noc import fast
from canmore_sim.noc.engine import simulate
from canmore_sim.noc.routing import ROUTINGS, get_routing
from canmore_sim.noc.stats import PORTS, NocStats
from canmore_sim.noc.traffic import Traffic
from canmore_sim.noc.zero_load import zero_load_ns
from canmore_sim.utils.registry import choose

__all__ = ["ENGINES", "PORTS", "ROUTINGS", "Engine", "NocStats", "Progress", "Traffic",
           "get_engine", "get_routing", "simulate", "zero_load_ns"]

#: ``progress(delivered_rows, total_rows)``, called by an engine during a run.
Progress = Callable[[int, int], None]


class Engine(Protocol):
    """A NoC engine: replays one frame's traffic and returns its statistics."""

    def __call__(self, traffic: Traffic, config: ArchConfig, *,
                 progress: Progress | None = None) -> NocStats: ...


#: NoC engines by name.
ENGINES: dict[str, Engine] = {"fast": fast.simulate, "simpy": simulate}


def get_engine(name: str) -> Engine:
    """The NoC engine called ``name``.

    Raises
    ------
    ConfigError
        For an unknown name, listing the valid ones.
    """
    return choose(ENGINES, name, what="NoC engine", key="run.engine")
