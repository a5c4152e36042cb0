"""canmore-sim: what a trained TTFS spiking network costs on an asynchronous many-core chip.

``canmore_sim.simulate(model, data=..., mesh=..., frames=..., **config_overrides)`` runs
what ``canmore-sim map`` runs and returns a :class:`canmore_sim.api.Result`; both are
imported on first use, so importing the package stays light.
"""

from typing import TYPE_CHECKING, Any

from canmore_sim.errors import (
    CanmoreError,
    ConfigError,
    DataError,
    MappingError,
    MissingDependencyError,
    ModelError,
    SimulationError,
)

if TYPE_CHECKING:
    from canmore_sim.api import Result, simulate

__version__ = "0.1.0"

__all__ = [
    "CanmoreError",
    "ConfigError",
    "DataError",
    "MappingError",
    "MissingDependencyError",
    "ModelError",
    "Result",
    "SimulationError",
    "__version__",
    "simulate",
]

#: The public API, loaded on first use (the package's front door; see tests/test_layers.py).
_API = ("Result", "simulate")


def __getattr__(name: str) -> Any:
    """``canmore_sim.simulate`` and ``canmore_sim.Result``, imported on first use."""
    if name in _API:
        import canmore_sim.api as public

        return getattr(public, name)
    raise AttributeError(f"module 'canmore_sim' has no attribute {name!r}")
