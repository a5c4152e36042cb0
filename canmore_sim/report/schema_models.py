"""The keys of a report.json that the renderers read, as pydantic models (strict types,
finite numbers); other keys pass through. :func:`canmore_sim.report.schema.check_report`
validates a report against :class:`ReportModel` and then checks that its keys agree."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

__all__ = ["AggregatesModel", "ReportModel"]

Num = Annotated[float, Strict()]
Int = Annotated[int, Strict(), Field(ge=0)]
Opt = Num | None


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class _Tool(_Open):
    name: str
    version: str


class _DtaRule(_Open):
    text: str = ""


class _Model(_Open):
    spec: str
    meta: dict[str, Any]
    neuron: str
    weight_bits: Int
    spikes_from: str = ""
    dta_rule: _DtaRule | None = None


class _EnergyModel(_Open):
    preset: str
    source: str
    terms: list[str]
    unit: str
    resolved: dict[str, Any] = {}
    depends: dict[str, list[str]] | None = None


class _Area(_Open):
    preset: str
    chips: Int
    grid_mm2: Num
    chip_mm2: Num
    parts_mm2: dict[str, Num]
    estimates: list[str] = []


class _Accuracy(_Open):
    float: Opt
    quantized: Opt
    prediction_changed: Opt


class _Mapping(_Open):
    cores: Int
    mesh: str
    chips: Int
    chip_grid: str
    placement: str
    interchip_hops: Opt = 0.0
    cores_per_layer: list[Int]
    core_xy: list[tuple[Int, Int]]


class _Layer(_Open):
    layer: Int
    name: str
    shape: list[Int]
    neurons: Int
    cores: Int
    weight_kib: Num
    neurons_fired: Num
    spikes_sent: Num
    sops: Num
    packets_in: Num
    deliveries_in: Num
    hops_in: Num
    fired_fraction: Opt = None
    energy_total_uj: Opt = None
    energy_share: Opt = None
    sops_share: Opt = None
    hops_share: Opt = None


class _Port(_Open):
    x: Int
    y: Int
    port: str
    wait_ns: Num
    share: Num
    max_occupancy: Int


class _Link(_Open):
    x: Int
    y: Int
    direction: str
    flits: Num
    utilization: Num


class _Histogram(_Open):
    edges_ns: list[Opt]
    counts: list[Opt]


class _Noc(_Open):
    routers: tuple[Annotated[int, Strict(), Field(ge=1)], Annotated[int, Strict(), Field(ge=1)]]
    direction_flits: dict[str, Num]
    multicast: bool
    unicast_equivalent_hops: Num
    multicast_saving: Num
    interchip_hops: Num
    router_flits: dict[str, list[Opt]]
    router_wait_ns: dict[str, list[Opt]]
    congested_ports: list[_Port]
    busiest_links: list[_Link] = []
    latency_histogram: _Histogram


class _Sparsity(_Open):
    official: Opt
    std: Num
    spikes: Num
    neurons: Int
    output_neurons: Int


class _Warning(_Open):
    message: str


class _IoPort(_Open):
    x: Int
    y: Int
    spikes_out: Opt = None
    packets_injected: Opt = None
    packets_ejected: Opt = None


class _Spread(_Open):
    n: Int
    missing: Int = 0
    mean: Opt
    std: Opt
    ci_low: Opt
    ci_high: Opt
    ci_half_width: Opt
    min: Opt
    max: Opt


class _Proportion(_Open):
    labelled: Int
    correct: Int
    value: Num
    ci_low: Num
    ci_high: Num


class _AggAccuracy(_Open):
    quantized: _Proportion | None
    float: _Proportion | None = None


class _Class(_Open):
    label: Int
    frames: Int
    correct: Int
    accuracy: Num
    ci_low: Num
    ci_high: Num
    energy_total_uj: Opt = None
    frame_latency_ns: Opt = None
    latency_mean_ns: Opt = None


class _Confusion(_Open):
    label: list[Int]
    prediction: list[Int]
    count: list[Int]


class _EnergyHistogram(_Open):
    edges: list[Num]
    counts: list[Int]
    unit: str = "uJ"


class AggregatesModel(_Open):
    confidence: Annotated[float, Strict(), Field(gt=0.0, lt=1.0)]
    frames: Int
    metrics: dict[str, _Spread]
    accuracy: _AggAccuracy
    classes: list[_Class]
    confusion: _Confusion
    energy_histogram: _EnergyHistogram
class _TimingLayer(_Open):
    layer: Int
    name: str
    lost_pairs: Num
    late_pairs: Num
    delay_mean_tw: Num


class _Timing(_Open):
    mode: str
    update: str
    iterations: Int
    max_iterations: Int
    fixed_point: bool
    cycle: Int = 0
    accuracy_ideal: Opt
    accuracy_on_chip: Opt
    predictions_changed: Int
    ideal_predictions: list[Annotated[int, Strict()]]
    energy_ideal: Opt
    energy_on_chip: Num
    energy_unit: str
    lost_pairs: Num
    layers: list[_TimingLayer]


class _ConfigSection(_Open):
    run: dict[str, Any] = {}
    core: dict[str, Any] = {}


class ReportModel(_Open):
    tool: _Tool
    model: _Model
    energy_model: _EnergyModel
    accuracy: _Accuracy
    mapping: _Mapping
    frames: dict[str, list[Opt]]
    mean: dict[str, Opt]
    std: dict[str, Opt]
    layers: list[_Layer]
    noc: _Noc
    cores: dict[str, list[Any]]
    sparsity: _Sparsity | None = None
    late_share: Opt = None
    warnings: list[_Warning] = []
    config: _ConfigSection = _ConfigSection()
    io_port: _IoPort | None = None
    aggregates: AggregatesModel | None = None
    timing: _Timing | None = None
    area: _Area | None = None
