"""canmore-sim: what a trained TTFS spiking network costs on an asynchronous many-core chip."""

from canmore_sim.errors import (
    CanmoreError,
    ConfigError,
    DataError,
    MappingError,
    ModelError,
    SimulationError,
)

__version__ = "0.1.0"

__all__ = [
    "CanmoreError",
    "ConfigError",
    "DataError",
    "MappingError",
    "ModelError",
    "SimulationError",
    "__version__",
]
