"""``canmore_sim.simulate``: a map run from Python, as ``canmore-sim map`` runs it.

The same steps as the command, in one call: the configuration (a YAML file or the
default, ``mesh`` and ``frames``, then the overrides, checked as ``--set`` checks them),
the network from one :class:`~canmore_sim.run.source.ModelSource`, the chunked run
(:func:`canmore_sim.chunked.run.run_map`: the inputs resolved against the network and the
data, the frames adapted, the window derived) and its summary (report.json's content, its
provenance and window records included), so the numbers are the command's, bit for bit.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from canmore_sim.api.result import Result
from canmore_sim.chunked.run import run_map
from canmore_sim.config import ArchConfig, default_config, load_config
from canmore_sim.errors import ConfigError
from canmore_sim.models.graph import LayerGraph
from canmore_sim.overrides import apply_overrides
from canmore_sim.pool.executor import check_executor, default_workers
from canmore_sim.report.report_json import named_reference
from canmore_sim.report.summary import summarize
from canmore_sim.run.source import ModelSource
from canmore_sim.utils.progress import ProgressCallback

__all__ = ["simulate"]

#: The name of the bundled default network (``model`` None means it too).
DEFAULT_MODEL = "default"


def simulate(model: str | Path | LayerGraph | None = DEFAULT_MODEL, *, data: str | None = None,
             mesh: str | tuple[int, int] | None = None, frames: int | str | None = None,
             config: str | Path | ArchConfig | None = None,
             overrides: Mapping[str, Any] | None = None, weights: str | None = None,
             arch: str | None = None, sparsity: float = 0.25, trust_model: bool = False,
             input_shape: tuple[int, ...] | None = None, workers: int | None = None,
             executor: str = "local", scheduler: str | None = None,
             progress: ProgressCallback | None = None, **config_overrides: Any) -> Result:
    """Map a network onto the chip and simulate frames; what ``canmore-sim map`` computes.

    Parameters
    ----------
    model
        A model file (``.pt``, ``.nir``, ``.onnx``, ...), a zoo name or spec string
        (``"vgg16"``, with ``weights="synthetic"``), ``"default"`` or None (the bundled
        default network), or a :class:`~canmore_sim.models.graph.LayerGraph` (run in this
        process; its weights are kept).
    data
        Input frames, as ``--data`` (None: the bundled digits).
    mesh
        Mesh size, ``"8x8"`` or ``(8, 8)`` routers (None: the configuration's).
    frames
        Frames to run: a count, ``"all"`` (the whole test split), or None
        (``run.frames``).
    config
        A YAML configuration file or an :class:`~canmore_sim.config.ArchConfig`
        (None: the default).
    overrides
        Dotted configuration keys and values, ``{"router.buffer_depth": 8}``.
    weights, arch, sparsity, trust_model, input_shape
        As ``--weights``, ``--arch``, ``--sparsity``, ``--trust-model`` and
        ``--input-shape`` (a tuple ``(C, H, W)`` here).
    workers, executor, scheduler
        Where the chunks of frames run, as ``--workers`` (None: every core this process
        may use; 1 for a LayerGraph), ``--executor`` and ``--scheduler``.
    progress
        Called with every :class:`~canmore_sim.utils.progress.StageEvent` of the run.
    **config_overrides
        More configuration keys, ``__`` for the dot: ``router__buffer_depth=8``. The
        inputs are configured so, as with ``--set``: ``neuron__input_encoding`` (``ttfs``,
        ``direct``, ``auto``), ``data__normalize`` (``none``, ``cifar10``, ``{"mean":
        [...], "std": [...]}``, ``auto``), ``data__adapt`` (``none``, ``resize``) and
        ``neuron__window_ns`` (ns, or ``auto``: derived from the run's traffic).

    Returns
    -------
    Result
        The run, its report.json content (with its ``provenance``: the model and data as
        fed, and ``window``: how the layer window was set), its tables and the notes the
        command prints on the inputs (``Result.notes``); ``Result.write(dir)`` writes the
        command's report folder.

    Raises
    ------
    CanmoreError
        As the command: an unknown or invalid configuration key (naming the closest
        valid one), a model or data file that cannot be read, a network that does not fit.
    """
    arch_config = _configured(config, mesh, frames, overrides, config_overrides)
    given = isinstance(model, LayerGraph)
    if given and workers not in (None, 1):
        raise ConfigError(f"workers={workers}: a network given as a LayerGraph runs in this "
                          "process (workers=1); give its file to run on several workers",
                          key="workers")
    workers = (1 if given else default_workers()) if workers is None else workers
    check_executor(executor, workers, scheduler)
    source = _source(None if isinstance(model, LayerGraph) else model, weights, arch,
                     sparsity, trust_model, input_shape, arch_config.run.seed, given=given)
    graph = model if isinstance(model, LayerGraph) else source.load()
    notes: list[str] = []  # what the command prints on the inputs (auto choices, adaptation)
    started = time.perf_counter()
    reference = named_reference(arch_config.run.energy_reference)
    with tempfile.TemporaryDirectory(prefix="canmore-simulate-") as work:
        run = run_map(graph, source, arch_config, work, data=data,
                      frames="all" if frames == "all" else None, **reference, workers=workers,
                      executor=executor, scheduler=scheduler, progress=progress,
                      note=notes.append, release_weights=not given)
    summary = summarize(run)
    summary["wall_s"] = round(time.perf_counter() - started, 3)
    summary["execution"] = {"executor": executor, "workers": workers,
                            "chunk_frames": arch_config.run.chunk_frames,
                            "wall_s": summary["wall_s"]}
    return Result(summary, run, tuple(notes))


def _configured(config: str | Path | ArchConfig | None, mesh: str | tuple[int, int] | None,
                frames: int | str | None, overrides: Mapping[str, Any] | None,
                config_overrides: Mapping[str, Any]) -> ArchConfig:
    """The run's configuration: the file (or default), ``mesh`` and ``frames``, then the
    overrides (``overrides`` first, the ``__`` keywords after), checked as ``--set``."""
    if isinstance(config, ArchConfig):
        base = config
    else:
        base = load_config(str(config)) if config is not None else default_config()
    settings: dict[str, Any] = {}
    if mesh is not None:
        settings["mesh"] = mesh if isinstance(mesh, str) else f"{mesh[0]}x{mesh[1]}"
    if frames is not None and frames != "all":
        if isinstance(frames, bool) or not isinstance(frames, int):
            raise ConfigError(f"frames={frames!r}: a number of frames or 'all'", key="run.frames")
        settings["run.frames"] = frames
    settings.update(overrides or {})
    settings.update({k.replace("__", "."): v for k, v in config_overrides.items()})
    return apply_overrides(base, settings, label="simulate:")


def _source(model: str | Path | None, weights: str | None, arch: str | None,
            sparsity: float, trust_model: bool, input_shape: tuple[int, ...] | None,
            seed: int, *, given: bool) -> ModelSource:
    """Where the network comes from (as the command's ``--model`` and its options;
    ``given``: a LayerGraph handed over in memory)."""
    name = None if model is None else str(model)
    if name == DEFAULT_MODEL and not Path(name).exists():
        name = None
    return ModelSource(name, arch, weights, sparsity, seed, trust_model,
                       None if input_shape is None else tuple(input_shape), given=given)
