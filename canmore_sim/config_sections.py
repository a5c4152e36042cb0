"""The sections of the architecture configuration: frozen, validated pydantic models.

Each section (``mesh``, ``core``, ``router``, ``neuron``, ``data``, ``traffic``,
``multichip``, ``run``, ``report``, ``limits``) forbids unknown keys and states every
key's unit in its name and description; :class:`canmore_sim.config.ArchConfig` holds one
of each, and :mod:`canmore_sim.config` loads them from YAML.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

from canmore_sim.errors import ConfigError

__all__ = ["Bool", "CoreConfig", "DataConfig", "Float", "Frozen", "Int", "LimitsConfig",
           "MeshConfig", "MultichipConfig", "NeuronConfig", "ReportConfig", "RouterConfig",
           "RunConfig", "TrafficConfig"]

#: An integer given as an integer: no bool (``true`` is not 1), no float (3.7 is not 3),
#: no string.
Int = Annotated[int, Strict()]
#: A finite number (int or float): no bool, no string; NaN and inf are refused by the
#: models' ``allow_inf_nan=False``.
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]


class Frozen(BaseModel):
    """A configuration section: frozen, no unknown keys, defaults validated, no NaN or inf."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True,
                              allow_inf_nan=False)


class MeshConfig(Frozen):
    """The 2-D mesh of routers, one neuromorphic core per router."""

    width: Int = Field(8, ge=1, le=1024, description="routers along x")
    height: Int = Field(8, ge=1, le=1024, description="routers along y")

    @property
    def n_routers(self) -> int:
        return self.width * self.height


class CoreConfig(Frozen):
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


class RouterConfig(Frozen):
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


class NeuronConfig(Frozen):
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
    window_ns: Literal["auto"] | float = Field(
        "auto", description="wall-clock length of one layer window on the chip, ns, or "
        "auto: derived before the replay from the run's traffic (per layer, the time the "
        "busiest link, the busiest ejection port and the longest path need for its packets)")
    input_encoding: Literal["auto", "ttfs", "direct"] = Field(
        "auto", description="dta-ttfs: how input values reach layer 1: ttfs (papers/004 Eq. 1, "
        "intensities in [0, 1]), direct (the official code's: real, normalized values; "
        "positive ones are the input spikes, every value enters the potential) or auto "
        "(direct for an official-layout state_dict on CIFAR-10 data, else ttfs)")

    @property
    def window(self) -> float:
        """``window_ns`` as a number, ns.

        Raises
        ------
        ConfigError
            While it is still ``auto`` (a run derives it before the replay).
        """
        if self.window_ns == "auto":
            raise ConfigError("neuron.window_ns: auto has not been derived yet (a run "
                              "derives it from its traffic before the replay)",
                              key="neuron.window_ns")
        return float(self.window_ns)

    @field_validator("window_ns", mode="before")
    @classmethod
    def _window(cls, value: Any) -> Any:
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("expected a window in ns (a number > 0) or auto")
        if not (math.isfinite(value) and value > 0):
            raise ValueError("the window must be a finite number of ns > 0, or auto")
        return float(value)


#: A per-channel normalization given as lists: ``{"mean": [...], "std": [...]}``.
MeanStd = dict[Literal["mean", "std"], tuple[Float, ...]]


class DataConfig(Frozen):
    """How input frames are prepared for the network (the ``--data`` source is a flag)."""

    normalize: Literal["auto", "none", "cifar10"] | MeanStd = Field(
        "auto", description="per-channel normalization (x - mean) / std of intensities in "
        "[0, 1], unitless: none, cifar10 (the official DTA-TTFS code's mean 0.4914, 0.4822, "
        "0.4465, std 0.2023, 0.1994, 0.2010), {mean: [...], std: [...]} one value per "
        "channel, or auto (cifar10 for an official-layout state_dict on CIFAR-10 data, else "
        "none)")
    adapt: Literal["none", "resize"] = Field(
        "none", description="frames whose shape differs from the network's input: none "
        "(an error naming both shapes) or resize (bilinear resize and channel adaptation, "
        "recorded in the report); the bundled digits are always adapted")

    @field_validator("normalize")
    @classmethod
    def _mean_std(cls, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) != {"mean", "std"}:
                raise ValueError("give both mean and std lists, one value per channel")
            if len(value["mean"]) != len(value["std"]) or not value["mean"]:
                raise ValueError("mean and std need the same number of values (one per "
                                 "channel)")
            if min(value["std"]) <= 0:
                raise ValueError("every std value must be > 0")
        return value


class TrafficConfig(Frozen):
    """How spikes become packets."""

    multicast: Bool = Field(
        False, description="one packet per spike copied along the XY tree (true), or one "
        "packet per (spike, destination core) (false)")
    io_router: tuple[Int, Int] = Field(
        (0, 0), description="(x, y) of the router whose I/O port feeds input frames"
    )


class MultichipConfig(Frozen):
    """Several chips of ``mesh`` size tiled in a grid when the network needs more cores."""

    overflow: Literal["tile", "error"] = Field(
        "tile", description="tile more chips when the network does not fit one, or refuse"
    )
    interchip_link_delay_ns: Float = Field(
        20.0, ge=0, description="one link between routers of neighbouring chips, ns"
    )


class RunConfig(Frozen):
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


class ReportConfig(Frozen):
    """When a report warns that its figures should not be trusted."""

    late_warn_share: Float = Field(
        0.01, ge=0, le=1, description="warn when more than this share of deliveries is late")
    accuracy_drop_warn: Float = Field(
        0.10, ge=0, le=1, description="warn when the run's accuracy is more than this below "
        "the float weights under the network's own neuron model (absolute)")
    prediction_change_warn: Float = Field(
        0.10, ge=0, le=1, description="warn when quantization changes more than this share "
        "of the predictions")


class LimitsConfig(Frozen):
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
