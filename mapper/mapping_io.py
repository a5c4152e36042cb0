"""Save a mapping to JSON and load it back (``--mapping FILE`` skips remapping)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.atomic import atomic_write_text, read_json
from canmore_sim.errors import MappingError
from canmore_sim.mapper.partition import COLUMNS, CoreGroups
from canmore_sim.mapper.placement import Mapping, _check_routers

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
                 chip_size: tuple[int, int], overflow: str = "tile") -> Mapping:
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

    Raises
    ------
    MappingError
        Missing or malformed file, or a mapping made for another network or chip.
    """
    path = Path(path)
    data = read_json(path, MappingError, "mapping file")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MappingError(f"{path}: not a canmore-sim mapping file")
    if data.get("version") != VERSION:
        raise MappingError(f"{path}: mapping file version {data.get('version')!r}, this "
                           f"canmore-sim reads version {VERSION} (map again without --mapping)")
    try:
        cores = data["cores"]
        groups = CoreGroups(*(np.asarray(cores[c], dtype=np.int32 if i < 5 else np.int64)
                              for i, c in enumerate(_COLUMNS)))
        router = np.asarray(cores["router"], dtype=np.int32)
        chip_w, chip_h = (int(v) for v in data["chip"])
        chips_x, chips_y = (int(v) for v in data["chips"])
        strategy = str(data["strategy"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MappingError(f"{path}: malformed mapping file ({exc})") from None
    _check_matches(path, data, groups, expected, spec, (chip_w, chip_h), chip_size)
    _check_routers(router, len(groups), chips_x * chip_w * chips_y * chip_h, strategy)
    mapping = Mapping(groups, router, chip_w, chip_h, strategy, chips_x, chips_y)
    if overflow == "error" and mapping.chips_used > 1:
        raise MappingError(f"{path}: mapping uses {mapping.chips_used} chips but "
                           "multichip.overflow is 'error'", needed=len(groups),
                           available=chip_w * chip_h)
    return mapping


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
