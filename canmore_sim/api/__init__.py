"""The Python API: one call runs what ``canmore-sim map`` runs and hands back its result.

>>> import canmore_sim
>>> result = canmore_sim.simulate("default", frames=2)    # doctest: +SKIP
>>> result.frames[["data_index", "sops", "hops"]]          # doctest: +SKIP
>>> result.write("out")                                    # doctest: +SKIP
"""

from canmore_sim.api.result import Result
from canmore_sim.api.simulation import simulate

__all__ = ["Result", "simulate"]
