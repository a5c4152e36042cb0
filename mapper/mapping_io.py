"""Save a mapping to JSON and load it back (``--mapping FILE`` skips remapping)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.errors import MappingError
from canmore_sim.mapper.partition import COLUMNS, CoreGroups
from canmore_sim.mapper.placement import Mapping, check_chip_grid
from canmore_sim.utils.atomic import atomic_write_text, read_json

__all__ = ["FORMAT", "VERSION", "load_mapping", "mapping_dict", "save_mapping"]

FORMAT = "canmore-sim-mapping"
#: Version of the file layout (2 added the per-core neuron range).
VERSION = 2
_COLUMNS = COLUMNS


def mapping_dict(mapping: Mapping, spec: str) -> dict[str, Any]:
    """The mapping as plain data (one list per column)."""
    g = mapping.groups
    return {
        "format": FORMAT, "version": VERSION, "spec": spec, "strategy": mapping.strategy,
        "chip": [mapping.chip_width, mapping.chip_height],
        "chips": [mapping.chips_x, mapping.chips_y],
        "cores": {**{c: getattr(g, c).tolist() for c in _COLUMNS},
                  "router": mapping.router.tolist(), "x": mapping.x.tolist(),
                  "y": mapping.y.tolist(), "chip": mapping.chip.tolist()},
    }


def save_mapping(mapping: Mapping, spec: str, path: str | Path) -> Path:
    """Write the mapping as JSON, atomically."""
    return atomic_write_text(path, json.dumps(mapping_dict(mapping, spec), indent=1) + "\n")


def load_mapping(path: str | Path, expected: CoreGroups, spec: str,
                 chip_size: tuple[int, int], overflow: str = "tile", *,
                 max_routers: int = 16_384) -> Mapping:
    """Load a saved mapping and check it fits this network and chip.

    Parameters
    ----------
    path
        A file written by :func:`save_mapping`.
    expected
        The partition of the current network under the current core configuration:
        the saved cores must be exactly these.
    spec
        Architecture spec of the current network.
    chip_size
        ``(width, height)`` of one chip in the current configuration.
    overflow
        ``multichip.overflow``: with ``"error"`` a mapping that uses more than one
        chip is refused.
    max_routers
        ``limits.max_routers``: the most routers the file's chip grid may have.

    Raises
    ------
    MappingError
        Missing or malformed file (every number must be an integer in range: no
        fractions, booleans or huge values), a mapping made for another network or
        chip, a chip grid beyond ``max_routers``, or cores whose router, x, y or chip
        disagree or lie outside the mesh (naming the core and router).
    """
    path = Path(path)
    data = read_json(path, MappingError, "mapping file")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MappingError(f"{path}: not a canmore-sim mapping file")
    if data.get("version") != VERSION:
        raise MappingError(f"{path}: mapping file version {data.get('version')!r}, this "
                           f"canmore-sim reads version {VERSION} (map again without --mapping)")
    chip_w, chip_h = _pair(path, data, "chip")
    chips_x, chips_y = _pair(path, data, "chips")
    check_chip_grid(chips_x, chips_y, chip_w, chip_h, max_routers)
    strategy = data.get("strategy")
    if not isinstance(strategy, str):
        raise MappingError(f"{path}: 'strategy' must be a string, got {strategy!r}")
    cores = data.get("cores")
    if not isinstance(cores, dict):
        raise MappingError(f"{path}: 'cores' must be an object of columns")
    columns = {c: _column(path, cores, c) for c in (*_COLUMNS, "router")}
    groups = CoreGroups(*(columns[c].astype(np.int32 if i < 5 else np.int64)
                          for i, c in enumerate(_COLUMNS)))
    router = columns["router"].astype(np.int32)
    _check_matches(path, data, groups, expected, spec, (chip_w, chip_h), chip_size)
    mapping = Mapping(groups, router, chip_w, chip_h, strategy, chips_x, chips_y)
    _check_places(path, mapping, cores)
    if overflow == "error" and mapping.chips_used > 1:
        raise MappingError(f"{path}: mapping uses {mapping.chips_used} chips but "
                           "multichip.overflow is 'error'", needed=len(groups),
                           available=chip_w * chip_h)
    return mapping


#: Largest value a column of a mapping file may hold (the int64 of neuron ranges).
_MAX_VALUE = 2**62


def _pair(path: Path, data: dict[str, Any], key: str) -> tuple[int, int]:
    value = data.get(key)
    if (not isinstance(value, list) or len(value) != 2
            or not all(_is_int(v) and 1 <= v <= 1 << 20 for v in value)):
        raise MappingError(f"{path}: {key!r} must be two positive integers [x, y], got "
                           f"{value!r}", key=key)
    return int(value[0]), int(value[1])


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _column(path: Path, cores: dict[str, Any], name: str) -> np.ndarray:
    """One column: a list of integers in 0..2**62, the same length as the others."""
    values = cores.get(name)
    if not isinstance(values, list):
        raise MappingError(f"{path}: cores.{name} must be a list of integers, got "
                           f"{type(values).__name__}", key=f"cores.{name}")
    for i, v in enumerate(values):
        if not _is_int(v) or not 0 <= v <= _MAX_VALUE:
            raise MappingError(f"{path}: cores.{name}[{i}] is {v!r}; expected an integer in "
                               f"0..{_MAX_VALUE:,}", key=f"cores.{name}", core=i)
    n = len(cores.get("layer") or [])
    if len(values) != n:
        raise MappingError(f"{path}: cores.{name} has {len(values)} entries, cores.layer "
                           f"{n}; every column needs one per core", key=f"cores.{name}")
    return np.asarray(values, dtype=np.int64)


def _check_places(path: Path, mapping: Mapping, cores: dict[str, Any]) -> None:
    """Every core on its own router inside the grid, and x/y/chip as the router says."""
    total = mapping.width * mapping.height
    outside = np.flatnonzero(mapping.router >= total)
    if len(outside):
        core = int(outside[0])
        raise MappingError(f"{path}: core {core} is on router {int(mapping.router[core])}, "
                           f"outside the {mapping.width}x{mapping.height} mesh (routers 0.."
                           f"{total - 1})", core=core, router=int(mapping.router[core]))
    _, first, counts = np.unique(mapping.router, return_index=True, return_counts=True)
    if (counts > 1).any():
        router = int(mapping.router[first[counts > 1][0]])
        both = np.flatnonzero(mapping.router == router)[:2].tolist()
        raise MappingError(f"{path}: cores {both[0]} and {both[1]} are both on router "
                           f"{router}; every core needs its own router", core=both[1],
                           router=router)
    for name, derived in (("x", mapping.x), ("y", mapping.y), ("chip", mapping.chip)):
        if name not in cores:
            continue
        given = _column(path, cores, name)
        wrong = np.flatnonzero(given != derived)
        if len(wrong):
            core = int(wrong[0])
            raise MappingError(
                f"{path}: core {core} has {name} = {int(given[core])} but its router "
                f"{int(mapping.router[core])} is at x={int(mapping.x[core])}, "
                f"y={int(mapping.y[core])}, chip {int(mapping.chip[core])} of the "
                f"{mapping.width}x{mapping.height} mesh (x, y and chip must agree with the "
                "router)", core=core, router=int(mapping.router[core]))


def _check_matches(path: Path, data: dict[str, Any], groups: CoreGroups, expected: CoreGroups,
                   spec: str, chip: tuple[int, int], chip_size: tuple[int, int]) -> None:
    if data.get("spec") != spec:
        raise MappingError(f"{path}: mapping was made for network {data.get('spec')!r}, "
                           f"not {spec!r}")
    if chip != tuple(chip_size):
        raise MappingError(f"{path}: mapping was made for {chip[0]}x{chip[1]} chips, the "
                           f"configuration has {chip_size[0]}x{chip_size[1]}")
    same = len(groups) == len(expected) and all(
        np.array_equal(getattr(groups, c), getattr(expected, c)) for c in _COLUMNS)
    if not same:
        raise MappingError(f"{path}: its {len(groups)} cores differ from the {len(expected)} "
                           "cores this network needs under the current core configuration")
