"""Deprecated: moved to :mod:`canmore_sim.models.zoo`, and ``synthetic_graph`` to
:mod:`canmore_sim.cores.calibrate` (these names go after 0.2)."""

import warnings

from canmore_sim.cores.calibrate import synthetic_graph
from canmore_sim.models.zoo import ZOO, calibration_frames, zoo_spec

warnings.warn("canmore_sim.mapper.zoo moved to canmore_sim.models.zoo (synthetic_graph to "
              "canmore_sim.cores.calibrate)", DeprecationWarning, stacklevel=2)

__all__ = ["ZOO", "calibration_frames", "synthetic_graph", "zoo_spec"]
