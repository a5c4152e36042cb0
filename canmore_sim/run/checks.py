"""The checks of a run, made before anything large is allocated: every plug-in name, the
labels, the sizes (``limits`` config section), the timing, a given quantized network; and
the neuron settings a run resolves (``auto``). The one place both the pipeline
(:func:`canmore_sim.run.pipeline.run`) and the chunked map run check their inputs.

Each check names the figure, the limit and the key that raises it; see the "Input limits"
table of docs/reference/configuration.md.
"""

from __future__ import annotations

import numpy as np

from canmore_sim.config import ArchConfig, with_overrides
from canmore_sim.cores.models import resolve_dta_rule, resolve_model
from canmore_sim.energy import EnergyPreset, load_preset
from canmore_sim.errors import ConfigError, DataError, ModelError
from canmore_sim.mapper.placement import PLACEMENTS
from canmore_sim.models.graph import LayerGraph
from canmore_sim.noc import get_engine, get_routing
from canmore_sim.utils.registry import choose

__all__ = ["check_frames", "check_labels", "check_quantized", "check_run", "check_run_size",
           "needs_weight_arrays", "resolve_neuron"]

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


def check_frames(frames: np.ndarray) -> None:
    """Frames must be a non-empty ``(N, ...)`` array.

    Raises
    ------
    DataError
        Naming the shape found.
    """
    if frames.ndim < 2 or len(frames) == 0:
        raise DataError(f"frames must be a non-empty (N, ...) array, got shape {frames.shape}")


def check_run(graph: LayerGraph, config: ArchConfig,
              preset: EnergyPreset | None = None) -> tuple[ArchConfig, EnergyPreset]:
    """Check a run's configuration against its network before any work: every plug-in name
    (NoC engine, routing, placement), the time-stepped size, the timing, the energy preset.

    Returns
    -------
    (config, preset)
        ``config`` with its ``auto`` neuron settings resolved (:func:`resolve_neuron`) and
        the energy preset it names (``preset``, when the caller loaded it already).

    Raises
    ------
    ConfigError
        Naming the key of the first setting refused.
    """
    # the closed loop's re-simulation loads torch: imported only when a run is checked, so
    # the chunked run's module stays light (its workers' fork server starts first)
    from canmore_sim.run.closed_loop import check_timing

    get_engine(config.run.engine)
    get_routing(config.router.routing)
    config = resolve_neuron(graph, config)
    check_run_size(graph, config, config.neuron.model)
    check_timing(config, config.neuron.model)
    choose(PLACEMENTS, config.run.placement, what="placement", key="run.placement")
    return config, load_preset(config.run.energy) if preset is None else preset


def check_quantized(graph: LayerGraph, quantized: LayerGraph, config: ArchConfig) -> None:
    """Refuse a given quantized network that is not ``graph`` quantized as ``config`` says.

    Raises
    ------
    ModelError
        Its weight bits or scale differ, its weight shapes differ, its weights were
        released, or it holds integer codes where the run needs weight arrays.
    """
    scale = "channel" if config.core.quant_scale == "channel" else "layer"
    found = (quantized.meta.get("weight_bits"), quantized.meta.get("quant_scale"))
    if found != (config.core.weight_bits, scale):
        raise ModelError(f"the quantized network given has {found[0]}-bit weights, scale "
                         f"{found[1]}; the configuration asks for {config.core.weight_bits}"
                         f"-bit, scale {scale}")
    shapes = [tuple(layer.weight.shape) for layer in graph.layers]
    if [tuple(layer.weight.shape) for layer in quantized.layers] != shapes:
        raise ModelError("the quantized network given does not have the weight shapes of "
                         "the network run")
    if quantized.weights_released:
        raise ModelError("the quantized network given has had its weights released")
    if needs_weight_arrays(config) and any(layer.codes is not None for layer in quantized.layers):
        raise ModelError(f"the quantized network given holds integer codes, and run.timing: "
                         f"{config.run.timing} re-simulates cores from weight arrays")


def float_pass_meaningful(graph: LayerGraph) -> bool:
    """Whether simulating the float weights says something: not for synthetic weights
    (``--weights synthetic``: built to fire at a rate, they classify nothing, so the
    float accuracy and the predictions quantization changed are meaningless and the
    float pass, about a tenth of a VGG16 frame's work, is skipped)."""
    return graph.meta.get("weights") != "synthetic"


def needs_weight_arrays(config: ArchConfig) -> bool:
    """Whether a run needs its quantized network as weight arrays, not integer codes
    (``quantize_graph(..., compact=True)``): a closed loop (``run.timing`` other than
    ``ideal``) re-simulates cores from slices of their layers' arrays
    (:mod:`canmore_sim.cores.resim`) after the first simulation."""
    return config.run.timing != "ideal"


def resolve_neuron(graph: LayerGraph, config: ArchConfig) -> ArchConfig:
    """``config`` with every ``auto`` neuron setting replaced by what this run uses.

    ``neuron.model: auto`` becomes the network's own model; for DTA-TTFS,
    ``neuron.window_end_spike`` and ``neuron.readout`` become the rule that runs
    (explicit values win over the network's own; the report says which differ).
    ``neuron.input_encoding`` and ``data.normalize`` still ``auto`` (a caller that loaded
    the frames resolves them against the data first:
    :func:`canmore_sim.datasets.inputs.resolve_config_inputs`) become ``ttfs`` and
    ``none``. The window (``neuron.window_ns: auto``) is derived later, from the traffic.
    """
    model = resolve_model(graph, config.neuron.model)
    resolved: dict[str, object] = {}
    if config.neuron.input_encoding == "auto":
        resolved["neuron.input_encoding"] = "ttfs"
    if config.data.normalize == "auto":
        resolved["data.normalize"] = "none"
    if model != config.neuron.model:  # "auto": the report names the model that ran
        resolved["neuron.model"] = model
    if model == "dta-ttfs":
        rule = resolve_dta_rule(graph, config.neuron)
        resolved.update({"neuron.window_end_spike": rule.window_end_spike,
                         "neuron.readout": rule.readout})
    return with_overrides(config, resolved) if resolved else config
