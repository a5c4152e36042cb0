"""Old module names for one release: ``canmore_sim.mapper.X`` is ``canmore_sim.models.X``."""

from __future__ import annotations

import importlib
import sys
import warnings


def alias(old: str) -> None:
    """Make module ``old`` (``canmore_sim.mapper.X``) the module ``canmore_sim.models.X``,
    with a DeprecationWarning; the same module object, so patches and isinstance agree."""
    new = "canmore_sim.models." + old.rsplit(".", 1)[1]
    warnings.warn(f"{old} moved to {new}", DeprecationWarning, stacklevel=3)
    sys.modules[old] = importlib.import_module(new)
