"""Files the tool reads back (report.json, mapping.json, point files, manifests) are
size-bounded before they are read, and a FIFO in their place is refused, not waited on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from canmore_sim.errors import DataError, MappingError
from canmore_sim.mapper.mapping_io import load_mapping
from canmore_sim.report.summary import read_report
from canmore_sim.sweep.points import verify_point
from canmore_sim.utils.atomic import MAX_JSON_BYTES, FileTooLarge, read_bounded_text
from tests.cli.test_bad_inputs import one_line_error, run_cli


def _huge(path: Path) -> Path:
    """A sparse file one byte over the bound (no disk is used)."""
    with path.open("wb") as handle:
        handle.write(b"{")
        handle.truncate(MAX_JSON_BYTES + 1)
    return path


def test_a_report_over_the_bound_is_one_line(tmp_path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    _huge(folder / "report.json")
    with pytest.raises(DataError, match=r"report\.json: the report is 67,108,865 bytes, "
                                        r"more than the 67,108,864"):
        read_report(folder / "report.json")
    one_line_error(run_cli("report", str(folder)), 3, "67,108,865 bytes")


def test_a_mapping_over_the_bound_is_one_line(tmp_path) -> None:
    path = _huge(tmp_path / "mapping.json")
    with pytest.raises(MappingError, match=r"mapping\.json: the mapping file is 67,108,865"):
        load_mapping(path, None, "", (8, 8))  # type: ignore[arg-type]


def test_a_point_file_over_the_bound_is_run_again(tmp_path) -> None:
    record, why = verify_point(_huge(tmp_path / "0000.json"), 0, {}, {})
    assert record is None and why is not None and "67,108,865 bytes" in why


def test_a_fifo_is_refused_not_waited_on(tmp_path) -> None:
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        read_bounded_text(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        read_report(fifo)


def test_the_bound_is_checked_while_reading_too(tmp_path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"a": "x" * 100}))
    assert json.loads(read_bounded_text(path, max_bytes=200))["a"] == "x" * 100
    with pytest.raises(FileTooLarge):
        read_bounded_text(path, max_bytes=50)
