"""Where a run's network comes from: the model file or zoo name, weights, synthetic
sparsity and seed, loaded one way by the CLI, the chunked run and its workers, sweeps and
:func:`canmore_sim.simulate`."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from canmore_sim.run.identity import common_identity

if TYPE_CHECKING:  # each command imports what it needs (``--help`` and ``report``: no torch)
    from canmore_sim.models.graph import LayerGraph

__all__ = ["ModelSource", "load_cached"]


@dataclass(frozen=True)
class ModelSource:
    """Where a run's network comes from, as plain data (it travels to the workers, which
    load the network themselves, once per process).

    ``model`` is a file, a zoo name or spec string, or None (the bundled default);
    ``weights`` (``synthetic`` or a state_dict file), ``sparsity`` and ``seed`` shape a
    zoo network's synthetic weights; ``arch`` names a bare state_dict's architecture,
    ``input_shape`` its input (C, H, W), ``trust_model`` lets a pickled module load.
    ``given`` says the network was handed over in memory (a
    :class:`~canmore_sim.models.graph.LayerGraph` given to :func:`canmore_sim.simulate`):
    there is nothing to load, and the run's provenance says so.
    """

    model: str | None = None
    arch: str | None = None
    weights: str | None = None
    sparsity: float = 0.25
    seed: int = 0
    trust_model: bool = False
    input_shape: tuple[int, ...] | None = None
    given: bool = False

    def load(self) -> LayerGraph:
        """The network (:func:`canmore_sim.models.loaders.load_model`).

        Raises
        ------
        ModelError
            For a network given in memory (``given``): it has no file to load from.
        """
        if self.given:
            from canmore_sim.errors import ModelError

            raise ModelError("a network given in memory (a LayerGraph) has no file to load "
                             "it from: run it in this process (workers=1)")
        from canmore_sim.cores.calibrate import synthetic_graph
        from canmore_sim.models.loaders import load_model

        return load_model(self.model, arch=self.arch, weights=self.weights,
                          trust_model=self.trust_model, input_shape=self.input_shape,
                          sparsity=self.sparsity, seed=self.seed, synthesize=synthetic_graph)

    def identity(self, data: str | None) -> dict[str, str]:
        """What identifies a run of this network on ``data``
        (:func:`canmore_sim.run.identity.common_identity`): the model file's content hash
        (or zoo name, weights, sparsity, seed) with what else builds the network from the
        same file (``arch``, ``input_shape``, ``trust_model``; a network ``given`` in
        memory), the data, the tool version. Files are hashed here, once."""
        return common_identity(self.model, self.weights, self.sparsity, self.seed, data,
                               build_options=f"|arch={self.arch}|input_shape="
                                             f"{self.input_shape}|trust_model={self.trust_model}"
                                             + ("|given" if self.given else ""))


@functools.lru_cache(maxsize=4)
def load_cached(source: ModelSource, identity: str = "") -> LayerGraph:
    """``source.load()``, cached per process (a sweep's points share one network);
    ``identity`` (the model file's hash) keeps a file rewritten under the same name from
    being served from the cache."""
    return source.load()
