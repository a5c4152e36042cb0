"""Fuzz-style (seeded, deterministic, a few seconds): damaged .npy/.npz files, chunk files and
sweep files go into their readers, and only the project's own errors (or, for a chunk file,
"run it again") come out; no declared size is ever allocated before it is checked."""

from __future__ import annotations

import functools
import io
import json
import resource
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from canmore_sim.chunked.files import read_chunk, write_chunk
from canmore_sim.datasets.arrays import open_npz, read_npy
from canmore_sim.sweep.spec import load_sweep
from tests.run.test_fuzz_inputs import _damage, _only_ours


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One random damage: flipped bytes, a cut, an insertion, or a header number made huge."""
    raw = bytearray(data)
    action = int(rng.integers(5))
    if action == 0:
        for _ in range(int(rng.integers(1, 8))):
            raw[int(rng.integers(len(raw)))] ^= 1 << int(rng.integers(8))
    elif action == 1:
        raw = raw[:int(rng.integers(len(raw)))]
    elif action == 2:
        at = int(rng.integers(len(raw)))
        raw[at:at] = rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    elif action == 3:  # a size field of the zip directory or a local header
        at = int(rng.integers(max(len(raw) - 4, 1)))
        raw[at:at + 4] = struct.pack("<I", int(rng.integers(1 << 31, 1 << 32)))
    else:  # the shape in a .npy header
        text = bytes(raw)
        start = text.find(b"'shape': (")
        if start >= 0:
            end = text.find(b")", start)
            huge = f"{int(rng.integers(1, 1 << 40))}, {int(rng.integers(1, 1 << 20))},"
            raw = bytearray(text[:start + 10] + huge.encode() + text[end:])
    return bytes(raw)


@pytest.fixture(autouse=True)
def _small_address_space():
    """2 GiB more address space than this process has: a declared size allocated before its
    check fails fast instead of paging."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    status = Path("/proc/self/status")
    if not status.exists():
        yield
        return
    size_kib = next(int(line.split()[1]) for line in status.read_text().splitlines()
                    if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, ((size_kib << 10) + (2 << 30), hard))
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _read_npy(path: Path) -> None:
    read_npy(path, max_values=1 << 24)


def _read_npz(path: Path) -> None:
    with open_npz(path, max_values=1 << 24) as members:
        for key in members.keys:
            members.read(key)


def test_damaged_npy_and_npz_files_give_our_errors_only(tmp_path) -> None:
    rng = np.random.default_rng(280)
    arrays = {"x": rng.random((6, 5, 4)).astype(np.float32), "y": np.arange(6)}
    npy, npz, packed = io.BytesIO(), io.BytesIO(), io.BytesIO()
    np.save(npy, arrays["x"])
    np.savez(npz, **arrays)
    np.savez_compressed(packed, **arrays)
    outcomes = []
    for case in range(300):
        kind = ("npy", "npz", "npz")[case % 3]
        source = (npy, npz, packed)[case % 3].getvalue()
        path = tmp_path / f"f.{kind}"
        path.write_bytes(_mutate(source, rng))
        reader = _read_npy if kind == "npy" else _read_npz
        outcomes.append(_only_ours(functools.partial(reader, path)))
    assert outcomes.count("refused") > 100, outcomes.count("refused")


def test_damaged_chunk_files_are_run_again_never_raised(tmp_path) -> None:
    rng = np.random.default_rng(281)
    identity = {"kind": "map", "chunk": "0"}
    good = write_chunk(tmp_path / "good.npz", {"ids": np.arange(40, dtype=np.int64),
                                               "times": rng.random(40)}, identity)
    source = good.read_bytes()
    reasons: list[str] = []
    for case in range(300):
        path = tmp_path / f"{case:05d}.npz"
        path.write_bytes(_mutate(source, rng))
        arrays, why = read_chunk(path, identity)
        if arrays is None:
            assert why and "\n" not in why
            reasons.append(why)
        else:  # only an undamaged file may be taken: its checksum proves it
            assert set(arrays) == {"ids", "times"}
    assert len(reasons) > 250, len(reasons)  # a damaged file is never taken


def test_damaged_sweep_files_give_our_errors_only(tmp_path) -> None:
    rng = np.random.default_rng(282)
    base: dict[str, Any] = {"frames": 1, "seed": 0, "grid": {"router.buffer_depth": [1, 2],
                                                             "mesh": ["4x4", "8x8"]},
                            "zip": {"core.max_neurons": [512, 1024]}}
    path = tmp_path / "s.yaml"
    outcomes = []
    for case in range(200):
        doc = _damage(base, rng, 1 + case % 3)
        text = yaml.safe_dump(doc) if case % 5 else json.dumps(doc)
        if case % 11 == 0:  # damage the text itself too
            cut = int(rng.integers(len(text)))
            text = text[:cut] + "\t:[{" + text[cut:]
        path.write_text(text)
        outcomes.append(_only_ours(functools.partial(load_sweep, path)))
    assert outcomes.count("refused") > 80, outcomes.count("refused")
