"""Size checks of a run, made before anything large is allocated (``limits`` config section).

Each check names the figure, the limit and the key that raises it; see the README's
"Input limits" table.
"""

from __future__ import annotations

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.errors import ConfigError, DataError
from canmore_sim.models.graph import LayerGraph

__all__ = ["check_labels", "check_run_size"]

#: Neuron models that run on a single closed-form spike per neuron (no time steps).
_UNSTEPPED = ("dta-ttfs",)


def check_run_size(graph: LayerGraph, config: ArchConfig, model: str) -> None:
    """Refuse a run whose time-stepped state would not fit ``limits.max_step_neurons``.

    Parameters
    ----------
    graph
        The network.
    config
        Its configuration (``neuron.steps``, ``limits``).
    model
        The resolved neuron model (not ``auto``).

    Raises
    ------
    ConfigError
        Naming ``neuron.steps``, the largest layer and the limit.
    """
    steps = 1 if model in _UNSTEPPED else config.neuron.steps
    sizes = [int(np.prod(graph.input_shape))] + [layer.n_neurons for layer in graph.layers]
    largest = max(sizes)
    limit = config.limits.max_step_neurons
    if steps * largest > limit:
        where = "the input" if sizes.index(largest) == 0 else \
            f"layer {graph.layers[sizes.index(largest) - 1].name}"
        raise ConfigError(
            f"neuron.steps: {steps:,} steps x {largest:,} neurons ({where}) = "
            f"{steps * largest:,}, more than limits.max_step_neurons = {limit:,} (use fewer "
            "steps, or raise limits.max_step_neurons)", key="neuron.steps",
            needed=steps * largest, available=limit)


def check_labels(labels: np.ndarray | None, n_frames: int, n_classes: int) -> None:
    """Labels must be -1 (unknown) or a class of the network's output layer.

    Raises
    ------
    DataError
        Naming the first frame with a label outside ``0..n_classes-1``.
    """
    if labels is None:
        return
    labels = np.asarray(labels)
    if labels.shape != (n_frames,) or labels.dtype.kind not in "iu":
        raise DataError(f"labels must be {n_frames} integers, got {labels.dtype} of shape "
                        f"{labels.shape}")
    bad = (labels < -1) | (labels >= n_classes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"label {int(labels[i])} of frame {i} is not one of the network's "
                        f"{n_classes} classes (0..{n_classes - 1}); {int(bad.sum())} labels are "
                        "out of range", needed=n_classes, got=int(labels[i]))
