"""The one file hash: equal to hashlib's over the whole bytes, whatever the file's size."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from canmore_sim.utils.hashing import READ_BYTES, file_sha256


@pytest.mark.parametrize("size", [0, 1, READ_BYTES - 1, READ_BYTES, 2 * READ_BYTES + 7])
def test_file_sha256_is_the_sha256_of_the_whole_file(tmp_path: Path, size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        file_sha256(tmp_path / "absent.bin")
