"""The bounded array reader (datasets/arrays.py): declared sizes are checked before anything
is allocated, and what it reads is exactly what ``np.load`` reads (a differential test over
many generated arrays)."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from canmore_sim.datasets.arrays import MAX_HEADER_BYTES, open_npz, read_npy
from canmore_sim.datasets.readers import load_frames
from canmore_sim.errors import DataError, ModelError

HUGE = 1 << 40


def npy_bytes(shape: tuple[int, ...], descr: str = "<f8", data: bytes = b"\0" * 64,
              version: int = 1) -> bytes:
    """A .npy stream whose header declares ``shape`` whatever data follow."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    width = "<H" if version == 1 else "<I"
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack(width, len(header)) + header + data


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _random_array(rng: np.random.Generator) -> np.ndarray:
    dtype = np.dtype(rng.choice(["<f4", ">f8", "<i2", ">i8", "u1", "?", "<c8", "<U3", "S2",
                                 "<M8[s]"]))
    shape = tuple(int(n) for n in rng.integers(0, 5, size=int(rng.integers(0, 4))))
    raw = rng.integers(0, 256, size=int(np.prod(shape)) * dtype.itemsize, dtype=np.uint8)
    array = np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape)
    if dtype.kind == "U":  # valid code points only
        array = rng.integers(32, 127, size=shape + (3,)).astype(np.uint32).view("<U3")[..., 0]
    return np.asfortranarray(array) if rng.random() < 0.3 else array


def test_reads_what_np_load_reads_over_many_generated_arrays(tmp_path) -> None:
    rng = np.random.default_rng(6)
    for case in range(120):
        arrays = {f"a{i}": _random_array(rng) for i in range(int(rng.integers(1, 4)))}
        path = tmp_path / f"c{case}.npy"
        np.save(path, arrays["a0"])
        got = read_npy(path, max_values=1 << 20)
        want = np.load(path, allow_pickle=False)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.flags.f_contiguous == want.flags.f_contiguous
        assert got.tobytes() == want.tobytes()
        packed = tmp_path / f"c{case}.npz"
        (np.savez_compressed if case % 2 else np.savez)(packed, **arrays)
        with open_npz(packed, max_values=1 << 20) as members, np.load(packed) as reference:
            assert members.keys == reference.files
            for key in members.keys:
                assert members.read(key).tobytes() == reference[key].tobytes()


@pytest.mark.parametrize("version", [1, 2])
def test_a_small_npy_declaring_2_to_the_40_values_is_refused_before_allocation(
        tmp_path, version) -> None:
    path = tmp_path / "huge.npy"
    path.write_bytes(npy_bytes((HUGE,), version=version))
    with pytest.raises(DataError, match=r"huge\.npy: array 'huge\.npy' declares shape "
                       r"\(1099511627776,\) \(8,796,093,022,208 bytes\) but the file can "
                       r"hold at most 64 "):
        read_npy(path, max_values=1 << 50)


def test_an_npz_member_declaring_2_to_the_40_values_is_refused(tmp_path) -> None:
    path = _zip(tmp_path / "chunk.npz", {"ids.npy": npy_bytes((HUGE,), "<i8")})
    with open_npz(path, max_values=1 << 50) as members, pytest.raises(
            DataError, match=r"chunk\.npz: array 'ids' declares shape \(1099511627776,\)"):
        members.read("ids")


def test_the_values_limit_is_checked_on_the_header(tmp_path) -> None:
    path = tmp_path / "ok.npy"
    np.save(path, np.zeros(100, dtype=np.uint8))
    assert read_npy(path, max_values=100).shape == (100,)
    with pytest.raises(DataError, match=r"declares 100 values, more than the limit of 99"):
        read_npy(path, max_values=99)


def test_a_forged_member_size_in_the_zip_directory_is_refused(tmp_path) -> None:
    # deflate cannot expand 1,032-fold: a member claiming more is a zip bomb
    data = np.zeros(4096, dtype=np.uint8)
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, x=data)
    raw = bytearray(path.read_bytes())
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo("x.npy")
    central = raw.rindex(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, info.compress_size * 2000)  # uncompressed size
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"bomb\.npz: array 'x' declares .* damaged or forged"), \
            open_npz(path, max_values=1 << 40):
        pass


@pytest.mark.parametrize(("data", "words"), [
    (b"not numpy at all", "no .npy header"),
    (npy_bytes((4,), data=b"\0" * 8)[:20], "header is cut short"),
    (b"\x93NUMPY\x01\x00" + struct.pack("<H", 60000), f"more than {MAX_HEADER_BYTES:,}"),
    (npy_bytes((4,), descr="|O"), "Python objects"),
    (npy_bytes((-1,)), "is not a tuple of sizes"),
    (npy_bytes((4,), descr="<f8").replace(b"'descr'", b"'dscr_'"), "header cannot be read"),
])
def test_damaged_headers_are_one_line_errors(tmp_path, data, words) -> None:
    path = tmp_path / "bad.npy"
    path.write_bytes(data)
    with pytest.raises(DataError, match="bad.npy") as info:
        read_npy(path, max_values=1 << 30)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_the_error_class_is_the_callers(tmp_path) -> None:
    path = tmp_path / "huge.npy"
    path.write_bytes(npy_bytes((HUGE,)))
    with pytest.raises(ModelError):
        read_npy(path, max_values=1 << 50, error=ModelError)


def test_a_fifo_in_place_of_a_file_is_refused_without_blocking(tmp_path) -> None:
    fifo = tmp_path / "frames.npy"
    os.mkfifo(fifo)
    caught: list[BaseException] = []
    reader = threading.Thread(target=lambda: _catch(caught, fifo), daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "blocked on a FIFO"
    assert isinstance(caught[0], DataError) and "not a regular file (a FIFO)" in str(caught[0])


def _catch(caught: list[BaseException], path: Path) -> None:
    try:
        read_npy(path, max_values=10)
    except BaseException as exc:  # noqa: BLE001 - the test inspects what came out
        caught.append(exc)


@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_data_files_declaring_2_to_the_40_values_are_one_line_cli_errors(tmp_path, kind) -> None:
    """Issue 28: a few hundred bytes declaring 2^40 values ended in _ArrayMemoryError."""
    if kind == "npy":
        path = tmp_path / "frames.npy"
        path.write_bytes(npy_bytes((HUGE, 8, 8)))
    else:
        path = _zip(tmp_path / "frames.npz", {"x.npy": npy_bytes((HUGE, 8, 8))})
    assert path.stat().st_size < 600
    with pytest.raises(DataError, match=r"frames\.np[yz]: array .* declares shape"):
        load_frames(f"{kind}:{path}", (1, 8, 8), 4)
    # and the console command says so in one line (it was an _ArrayMemoryError traceback)
    proc = subprocess.run([sys.executable, "-m", "canmore_sim.cli", "map", "--frames", "1",
                           "--quiet", "--data", f"{kind}:{path}", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 3, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "declares shape" in lines[0] and str(path) in lines[0], lines
