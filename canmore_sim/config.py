"""Architecture configuration: YAML in, frozen validated models out.

A configuration describes the *hardware and the run*, never runtime state:
one :class:`ArchConfig` can drive many simulations (a sweep). Every section is
a frozen pydantic model that forbids unknown keys; loading errors become a
:class:`~canmore_sim.errors.ConfigError` naming the dotted key, the closest
valid key for a misspelling, and the file and line where the value stands.

Units are part of the key names (``_ns``, ``_pj``, ``_uj``, ``_kib``, ``_bits``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from canmore_sim.errors import ConfigError
from canmore_sim.yamlio import load_yaml, read_yaml_text

__all__ = [
    "ArchConfig",
    "CoreConfig",
    "LimitsConfig",
    "MeshConfig",
    "MultichipConfig",
    "NeuronConfig",
    "ReportConfig",
    "RouterConfig",
    "RunConfig",
    "TrafficConfig",
    "default_config",
    "load_config",
    "parse_mesh",
    "with_overrides",
]


#: An integer given as an integer: no bool (``true`` is not 1), no float (3.7 is not 3),
#: no string.
Int = Annotated[int, Strict()]
#: A finite number (int or float): no bool, no string; NaN and inf are refused by the
#: models' ``allow_inf_nan=False``.
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True,
                              allow_inf_nan=False)


class MeshConfig(_Frozen):
    """The 2-D mesh of routers, one neuromorphic core per router."""

    width: Int = Field(8, ge=1, le=1024, description="routers along x")
    height: Int = Field(8, ge=1, le=1024, description="routers along y")

    @property
    def n_routers(self) -> int:
        return self.width * self.height


class CoreConfig(_Frozen):
    """One neuromorphic core (CanMore section 4.4.2)."""

    max_neurons: Int = Field(1024, ge=1, description="neurons per core")
    weight_bits: Int = Field(4, ge=1, le=32, description="bits per synaptic weight")
    quant_scale: Literal["layer", "channel"] = Field(
        "layer", description="quantization scale per layer or per output channel")
    sram_kib: Float = Field(
        256.0, gt=0, description="weight memory per core, KiB (1 KiB = 8192 bits)"
    )
    sop_ns: Float = Field(0.0, ge=0, description="time a core spends per synaptic operation, ns")
    skip_zero_weights: Bool = Field(
        False, description="the core skips synapses of weight zero: only effective SOPs "
        "(non-zero weights, as NeuroBench counts them) are made and priced, count")


class RouterConfig(_Frozen):
    """One mesh router: five ports, input FIFOs, route computation, switch allocator."""

    buffer_depth: Int = Field(4, ge=1, description="input FIFO depth per port, flits")
    flits_per_packet: Int = Field(1, ge=1, description="flits in one spike packet")
    routing: str = Field(
        "xy", description="routing algorithm (a registered name): xy, yx (dimension order), "
        "west-first, odd-even (minimal adaptive turn models; the admissible output whose "
        "downstream buffer holds least)")
    router_delay_ns: Float = Field(
        2.0, ge=0, description="route computation + switch allocation + crossbar per router, ns"
    )
    link_delay_ns: Float = Field(
        1.0, ge=0, description="one router-to-router link traversal, per flit, ns")
    switching: Literal["store-and-forward", "virtual-cut-through", "wormhole"] = Field(
        "store-and-forward", description="flow control: store-and-forward (a packet is "
        "forwarded once wholly received; room for all its flits reserved downstream), "
        "virtual-cut-through (the head moves on before the tail arrives; room for all its "
        "flits reserved downstream) or wormhole (the head moves on with one free flit of "
        "room downstream; the rest of its flits follow as credits return, holding the link "
        "meanwhile)")
    link_pipelined: Bool = Field(
        False, description="router and link stages overlap: an output takes the next "
        "packet router_delay_ns before the current one has crossed its link (the next "
        "packet's link stage starts when the link is free); false: an output serves one "
        "packet from grant to arrival")
    virtual_channels: Int = Field(
        1, ge=1, le=4, description="virtual channels per input port, each a FIFO of "
        "buffer_depth flits with its own credits; an output allocates a downstream VC round "
        "robin among those with room, and the switch allocator serves the input VCs round "
        "robin (1: one FIFO per port)")


class NeuronConfig(_Frozen):
    """The spiking neuron model and how its abstract time maps to nanoseconds."""

    model: str = Field(
        "auto", description="neuron model (a registered name, or auto: the network's own, "
        "dta-ttfs, or if-lif for a NIR graph)")
    tw: Float = Field(1.0, gt=0, description="length of one layer's spike window, model time units")
    window_end_spike: Literal["auto", True, False] = Field(
        "auto", description="dta-ttfs: whether a neuron whose potential meets the threshold "
        "only at the window end fires there (auto: as the network was trained; official "
        "DTA-TTFS code: false)")
    readout: Literal["auto", "window-start", "window-end"] = Field(
        "auto", description="dta-ttfs: output potential read at the start or the end of the "
        "output window (auto: as the network was trained; official DTA-TTFS code: "
        "window-start)")
    steps: Int = Field(16, ge=1, description="time steps T of tq-ttfs and rate-if")
    q: tuple[Annotated[int, Strict(), Field(ge=1)], ...] = Field(
        (1,), min_length=1, description="tq-ttfs temporal quantization Q per weight layer (or one)")
    threshold: Float = Field(1.0, gt=0, description="firing threshold of time-stepped IF neurons")
    tau: Float = Field(4.0, gt=0, description="t2fsnn kernel time constant, steps")
    t_d: Float = Field(0.0, description="t2fsnn kernel time delay, steps")
    early_steps: Int = Field(0, ge=0, description="t2fsnn early firing: fire-phase overlap, steps")
    kernel_iterations: Int = Field(
        0, ge=0, description="t2fsnn: Adam steps fitting each layer's kernel (papers/002 "
        "Eq. 9-13); 0 keeps tau and t_d as given")
    kernel_lr: Float = Field(0.05, gt=0, description="t2fsnn: learning rate of the kernel fit")
    dt: Float | None = Field(
        None, gt=0, description="if-lif: Euler step in the NIR graph's time unit (null: tau/r "
        "when all LIF nodes agree, else 1)")
    window_ns: Float = Field(
        20000.0, gt=0, description="wall-clock length of one layer window on the chip, ns"
    )


class TrafficConfig(_Frozen):
    """How spikes become packets."""

    multicast: Bool = Field(
        False, description="one packet per spike copied along the XY tree (true), or one "
        "packet per (spike, destination core) (false)")
    io_router: tuple[Int, Int] = Field(
        (0, 0), description="(x, y) of the router whose I/O port feeds input frames"
    )


class MultichipConfig(_Frozen):
    """Several chips of ``mesh`` size tiled in a grid when the network needs more cores."""

    overflow: Literal["tile", "error"] = Field(
        "tile", description="tile more chips when the network does not fit one, or refuse"
    )
    interchip_link_delay_ns: Float = Field(
        20.0, ge=0, description="one link between routers of neighbouring chips, ns"
    )


class RunConfig(_Frozen):
    """What to simulate."""

    frames: Int = Field(8, ge=1, description="input frames to simulate")
    chunk_frames: Int = Field(
        8, ge=1, description="frames per chunk of a map run: the unit of work of a worker, "
                             "of streaming results to disk and of --resume (results do not "
                             "depend on the workers)")
    seed: Int = Field(0, ge=0, description="seed for frame selection and any randomness")
    placement: str = Field("row-major", description="placement strategy (a registered name)")
    placement_iterations: Int = Field(
        50_000, ge=0, description="moves of optimizing placement strategies (deterministic)")
    placement_budget_s: Float = Field(
        60.0, gt=0, description="wall-clock safety stop of optimizing placement, s")
    engine: str = Field("fast", description="NoC engine (a registered name)")
    energy: str = Field("canmore-22nm", description="energy preset name or preset .yaml file")
    area: str = Field("canmore-22nm", description="area preset (configs/area) name or preset "
                      ".yaml file: um2 per SRAM bit, router part and core")
    energy_reference: str | None = Field(
        None, description="report.json of the reference run for normalized energy models")
    placement_traffic: Literal["expected", "measured"] = Field(
        "expected", description="weight traffic-aware placement by 25 % expected activity "
                                "or by the spikes measured on the run's frames")
    timing: Literal["ideal", "drop-late", "arrival"] = Field(
        "ideal", description="what the network computes: ideal (the NoC changes nothing), "
                             "drop-late (late spikes are lost to their core) or arrival (no "
                             "timestamps: a spike takes effect when it arrives)")
    timing_max_iterations: Int = Field(
        10, ge=1, le=1000, description="closed-loop timing: most NoC replays before giving up "
                                       "on a fixed point")
    timing_update: Literal["accumulate", "recompute"] = Field(
        "accumulate", description="closed-loop timing: the pairs lost in each iteration are "
                                  "every pair late in any replay so far (accumulate) or those "
                                  "late in the last replay (recompute)")
    timing_substeps: Int = Field(
        16, ge=1, le=4096, description="arrival timing: a spike arriving inside its consumer's "
                                       "window takes effect at the next of this many equal "
                                       "sub-steps of the window")
    replay: Literal["auto", "all", "sample", "none"] = Field(
        "auto", description="which frames go through the NoC event replay: all, a sample "
                            "(run.replay_frames), none, or auto (all up to 256 frames, else "
                            "a 1 % sample of at least 64 frames); hops, flits and energy are "
                            "exact for every frame under deterministic routing, latency, "
                            "waiting, occupancy and late deliveries come from the replayed "
                            "frames; closed-loop timing replays every frame")
    replay_frames: Float | None = Field(
        None, gt=0, description="frames replayed under run.replay sample/auto: a count "
                                "(>= 1, frames) or a share of the frames (below 1); default "
                                "1 % of the frames, at least 64")

    @field_validator("replay_frames")
    @classmethod
    def _whole_count_or_share(cls, value: float | None) -> float | None:
        if value is not None and value >= 1 and value != int(value):
            raise ValueError("must be a whole count of frames (>= 1) or a share below 1")
        return value


class ReportConfig(_Frozen):
    """When a report warns that its figures should not be trusted."""

    late_warn_share: Float = Field(
        0.01, ge=0, le=1, description="warn when more than this share of deliveries is late")
    accuracy_drop_warn: Float = Field(
        0.10, ge=0, le=1, description="warn when the run's accuracy is more than this below "
        "the float weights under the network's own neuron model (absolute)")
    prediction_change_warn: Float = Field(
        0.10, ge=0, le=1, description="warn when quantization changes more than this share "
        "of the predictions")


class LimitsConfig(_Frozen):
    """Bounds on the size of a run, checked before anything large is allocated.

    They keep a small input file (a typo, a hostile file) from asking for a machine's
    whole memory; raise them here for a real run that needs more.
    """

    max_routers: Int = Field(
        16_384, ge=1, description="routers over all chips (mesh x chip grid)")
    max_step_neurons: Int = Field(
        1 << 23, ge=1, description="time steps x neurons of the largest layer (time-stepped "
        "neuron models; 1 step for dta-ttfs)")
    max_frame_values: Int = Field(
        1 << 27, ge=1, description="input values of all frames of a run (frames x H x W x C)")
    max_trace_rows: Int = Field(
        50_000_000, ge=1, description="rows of a traffic trace read by replay (one row per "
        "delivery; a trace file may be at most 256 bytes per row)")
    max_sweep_points: Int = Field(
        50_000, ge=1, description="points of a sweep (the product of its grid axes' lengths "
        "times its zip length), counted before any point is built")


class ArchConfig(_Frozen):
    """A whole architecture + run description, as loaded from YAML."""

    mesh: MeshConfig = Field(
        MeshConfig(), description="routers per chip, as a section or a WxH string such as 8x8")
    core: CoreConfig = Field(CoreConfig(), description="one neuromorphic core")
    router: RouterConfig = Field(RouterConfig(), description="one mesh router")
    neuron: NeuronConfig = Field(
        NeuronConfig(), description="the neuron model and the length of its windows on the chip")
    traffic: TrafficConfig = Field(TrafficConfig(), description="how spikes become packets")
    multichip: MultichipConfig = Field(
        MultichipConfig(), description="chips tiled when the network needs more cores")
    run: RunConfig = Field(RunConfig(), description="what to simulate, and how")
    report: ReportConfig = Field(
        ReportConfig(), description="when a report warns that its figures should not be trusted")
    limits: LimitsConfig = Field(
        LimitsConfig(), description="sizes refused before anything large is allocated")

    @field_validator("mesh", mode="before")
    @classmethod
    def _mesh_from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            width, height = parse_mesh(value)
            return {"width": width, "height": height}
        return value

    @model_validator(mode="after")
    def _mesh_within_limits(self) -> ArchConfig:
        routers = self.mesh.width * self.mesh.height
        if routers > self.limits.max_routers:
            raise ConfigError(
                f"mesh: a {self.mesh.width}x{self.mesh.height} mesh has {routers:,} routers, "
                f"more than limits.max_routers = {self.limits.max_routers:,} (raise "
                "limits.max_routers to simulate a mesh this large)", key="mesh",
                limit=self.limits.max_routers)
        return self


_MESH_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_mesh(text: str) -> tuple[int, int]:
    """Parse ``"WxH"`` (for example ``"8x8"``) into ``(width, height)``.

    Raises
    ------
    ConfigError
        If the text is not two positive integers joined by ``x``.
    """
    match = _MESH_RE.match(text)
    if match is None or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise ConfigError(
            f"mesh: expected WIDTHxHEIGHT such as 8x8, got {text!r}", key="mesh", value=text
        )
    return int(match.group(1)), int(match.group(2))


# ----------------------------------------------------------------------------- loading


def default_config() -> ArchConfig:
    """The bundled default architecture (``configs/arch/default.yaml``)."""
    ref = resources.files("canmore_sim.configs").joinpath("arch/default.yaml")
    with resources.as_file(ref) as path:
        return load_config(path)


def load_config(path: str | Path) -> ArchConfig:
    """Load and validate an architecture YAML file.

    Parameters
    ----------
    path
        A YAML file with any of the sections of :class:`ArchConfig`.

    Raises
    ------
    ConfigError
        Missing or unreadable file, invalid YAML, unknown key (with the closest
        valid key), wrong type or impossible value; the message names the key,
        the file and the line.
    """
    path = Path(path)
    text = read_yaml_text(path, "config file")
    data, lines = _parse_yaml(text, str(path))
    return _validate(data, lines, str(path))


def with_overrides(config: ArchConfig, overrides: Mapping[str, Any]) -> ArchConfig:
    """Return a copy of ``config`` with dotted-key overrides applied and re-validated.

    Parameters
    ----------
    config
        The base configuration.
    overrides
        For example ``{"mesh": "4x4", "router.buffer_depth": 2}``.
    """
    data = config.model_dump(mode="python")
    for dotted, value in overrides.items():
        _set_dotted(data, dotted, value)
    return _validate(data, {}, None)


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(
                f"unknown config key {'.'.join(parts[: depth + 1])!r}"
                + _suggest(part, node.keys() if isinstance(node, dict) else []),
                key=dotted,
            )
        node = node[part]
    if not isinstance(node, dict):
        raise ConfigError(f"config key {dotted!r} is not a section", key=dotted)
    node[parts[-1]] = value


def _parse_yaml(text: str, filename: str) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse YAML, returning the data and a map from dotted key to 1-based line."""
    data, root = load_yaml(text, filename)
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{filename}: the top level must be a mapping of sections, got {type(data).__name__}",
            file=filename,
        )
    lines: dict[str, int] = {}
    _collect_lines(root, "", lines)
    return data, lines


def _collect_lines(node: yaml.Node | None, prefix: str, out: dict[str, int]) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        dotted = f"{prefix}{key_node.value}"
        out[dotted] = key_node.start_mark.line + 1
        _collect_lines(value_node, dotted + ".", out)


def _validate(data: dict[str, Any], lines: dict[str, int], filename: str | None) -> ArchConfig:
    try:
        return ArchConfig.model_validate(data)
    except ConfigError as exc:  # raised by a field validator (mesh string)
        raise ConfigError(_where(filename, lines, exc.facts.get("key") or "") + str(exc),
                          **exc.facts) from None
    except ValidationError as exc:
        raise _config_error(exc, lines, filename) from None


def _config_error(exc: ValidationError, lines: dict[str, int], filename: str | None) -> ConfigError:
    err = exc.errors()[0]
    loc = [str(part) for part in err["loc"]]
    dotted = ".".join(loc)
    where = _where(filename, lines, dotted)
    if err["type"] == "extra_forbidden":
        model = _section_model(loc[:-1])
        hint = _suggest(loc[-1], model.model_fields.keys() if model else [])
        message = f"{where}unknown config key {dotted!r}{hint}"
    else:
        cause = err.get("ctx", {}).get("error")
        text = str(cause) if isinstance(cause, ConfigError) else err["msg"]
        message = f"{where}{dotted}: {text} (got {err.get('input')!r})"
    return ConfigError(message, key=dotted, file=filename, line=_line(lines, dotted))


def _section_model(loc: list[str]) -> type[BaseModel] | None:
    model: type[BaseModel] = ArchConfig
    for part in loc:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _line(lines: dict[str, int], dotted: str) -> int | None:
    while dotted:
        if dotted in lines:
            return lines[dotted]
        dotted = dotted.rpartition(".")[0]
    return None


def _where(filename: str | None, lines: dict[str, int], dotted: str) -> str:
    if filename is None:
        return ""
    line = _line(lines, dotted)
    return f"{filename}:{line}: " if line else f"{filename}: "


def _suggest(name: str, valid: Any) -> str:
    valid = sorted(str(v) for v in valid)
    close = difflib.get_close_matches(name, valid, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (valid keys: {', '.join(valid)})" if valid else ""
