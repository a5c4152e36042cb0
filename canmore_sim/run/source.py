"""Where a run's network comes from: the model file or zoo name, weights, synthetic
sparsity and seed, loaded the same way by the CLI, the chunked run and its workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # each command imports what it needs (``--help`` and ``report``: no torch)
    from canmore_sim.models.graph import LayerGraph

__all__ = ["ModelSource"]


@dataclass(frozen=True)
class ModelSource:
    """Where a run's network comes from, as plain data (it travels to the workers, which
    load the network themselves, once per process)."""

    model: str | None = None
    arch: str | None = None
    weights: str | None = None
    sparsity: float = 0.25
    seed: int = 0
    trust_model: bool = False
    input_shape: tuple[int, ...] | None = None

    def load(self) -> LayerGraph:
        """The network (:func:`canmore_sim.models.loaders.load_model`)."""
        from canmore_sim.cores.calibrate import synthetic_graph
        from canmore_sim.models.loaders import load_model

        return load_model(self.model, arch=self.arch, weights=self.weights,
                          trust_model=self.trust_model, input_shape=self.input_shape,
                          sparsity=self.sparsity, seed=self.seed, synthesize=synthetic_graph)


def _load_model(path: str | None, weights: str | None = None, sparsity: float = 0.25,
                seed: int = 0, *, arch: str | None = None, trust_model: bool = False,
                input_shape: tuple[int, ...] | None = None) -> LayerGraph:
    from canmore_sim.cores.calibrate import synthetic_graph
    from canmore_sim.models.loaders import load_model

    return load_model(path, arch=arch, weights=weights, trust_model=trust_model,
                      input_shape=input_shape, sparsity=sparsity, seed=seed,
                      synthesize=synthetic_graph)
