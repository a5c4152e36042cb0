"""One bounded reader for every array the tool reads from a file (``.npy``, ``.npz``).

A ``.npy`` header declares its array's shape and type; the data follow. A file of a few
hundred bytes can declare 2^40 values, and ``np.load`` allocates them before it finds that
the data are missing. Here the header is parsed first (it is at most 10,000 bytes, like
NumPy's own limit) and the declared size is checked against the bytes that can follow it
and against a limit on values, and only then is anything allocated. Object arrays (pickles)
are refused, and a path that is not a regular file (a FIFO, a device) is refused before it
is opened for reading, so nothing blocks.

:func:`check_declared` is the one rule (declared bytes within what the file holds, values
within the limit) that the other readers of declared sizes use too: NIR's HDF5 datasets
(:mod:`canmore_sim.models.nir_import`) and the tensors of checkpoints
(:mod:`canmore_sim.models.checkpoint`).
"""

from __future__ import annotations

import ast
import lzma
import math
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from canmore_sim.errors import CanmoreError, DataError

__all__ = ["MAX_HEADER_BYTES", "MAX_DEFLATE_RATIO", "NpzArrays", "check_declared",
           "is_npz", "open_npz", "open_regular", "read_npy"]

#: Longest ``.npy`` header read, bytes (NumPy's own ``max_header_size``).
MAX_HEADER_BYTES = 10_000
#: Deflate cannot expand data by more than about 1032 times, so a zip member that declares
#: more than this many times its compressed size is forged (a zip bomb), whatever it holds.
MAX_DEFLATE_RATIO = 1032
_MAGIC = b"\x93NUMPY"
#: What zipfile and the decompressors raise on a damaged archive (an encrypted member is a
#: RuntimeError, an unknown zip version or method NotImplementedError).
_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, struct.error, zlib.error,
           NotImplementedError, RuntimeError, lzma.LZMAError)


def check_declared(source: str, member: str, shape: tuple[int, ...], itemsize: int,
                   available_bytes: int, max_values: int, *,
                   error: type[CanmoreError] = DataError) -> int:
    """Refuse an array whose declared size the file cannot hold or the limit forbids.

    Parameters
    ----------
    source
        The file, as the user named it.
    member
        The array inside it (an ``.npz`` member, an HDF5 dataset, a tensor's key).
    shape
        The declared shape; its product is computed in Python integers (no overflow).
    itemsize
        Bytes per value.
    available_bytes
        Bytes the file holds for the array's data.
    max_values
        Most values the array may hold.
    error
        The exception class raised (``DataError`` for data, ``ModelError`` for models).

    Returns
    -------
    int
        The declared number of values.

    Raises
    ------
    CanmoreError
        Of class ``error``: one line naming the file, the member, the shape and the bound.
    """
    values = math.prod(int(n) for n in shape)
    needed = values * int(itemsize)
    if needed > available_bytes:
        raise error(f"{source}: array {member!r} declares shape {tuple(shape)} "
                    f"({needed:,} bytes) but the file can hold at most {max(available_bytes, 0):,} "
                    "bytes for it; the file is damaged or forged", path=source, member=member)
    if values > max_values:
        raise error(f"{source}: array {member!r} declares {values:,} values, more than the limit "
                    f"of {max_values:,} per array", path=source, member=member)
    return values


def open_regular(path: Path, source: str, *, error: type[CanmoreError] = DataError) -> IO[bytes]:
    """``path`` opened for binary reading, refused unless it is a regular file.

    Opened without blocking (a FIFO in place of a file would wait for a writer forever)
    and checked on the open descriptor, so a file swapped in between cannot slip through.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise error(f"{source}: file not found", path=source) from None
    except OSError as exc:
        raise error(f"{source}: cannot be opened ({exc.strerror})", path=source) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise error(f"{source}: not a regular file (a {_kind(mode)}); refused", path=source)
    return os.fdopen(fd, "rb")


def is_npz(handle: IO[bytes]) -> bool:
    """Whether the open file starts like a zip archive (an ``.npz``); rewinds it."""
    head = handle.read(4)
    handle.seek(0)
    return head == b"PK\x03\x04"


def read_npy(path: Path, *, max_values: int, error: type[CanmoreError] = DataError,
             source: str | None = None) -> np.ndarray:
    """The array of a ``.npy`` file, its declared size checked before it is allocated.

    Raises
    ------
    CanmoreError
        Of class ``error``: not a regular file, not a ``.npy`` file, an object array, or a
        declared size beyond the file or ``max_values`` (naming the file).
    """
    name = source or str(path)
    with open_regular(path, name, error=error) as handle:
        size = os.fstat(handle.fileno()).st_size
        return _read_member(handle, size, name, Path(path).name, max_values, error)


class NpzArrays:
    """The ``.npy`` members of an open ``.npz`` file, read one at a time, each bounded.

    Use :func:`open_npz`. :attr:`keys` are the member names without ``.npy`` (as
    ``np.load`` names them); other members are ignored.
    """

    def __init__(self, archive: zipfile.ZipFile, file_bytes: int, source: str,
                 max_values: int, error: type[CanmoreError]) -> None:
        self._archive, self._source, self._max, self._error = archive, source, max_values, error
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            if info.filename.endswith(".npy"):
                self._check_member(info, file_bytes)
                self._infos[info.filename[:-4]] = info

    @property
    def keys(self) -> list[str]:
        """Member names, in the archive's order, without ``.npy``."""
        return list(self._infos)

    def read(self, key: str) -> np.ndarray:
        """The member ``key``, its header checked before its array is allocated."""
        info = self._infos[key]
        try:
            with self._archive.open(info) as member:
                return _read_member(member, info.file_size, self._source, key, self._max,
                                    self._error)
        except _ERRORS as exc:
            raise self._error(f"{self._source}: array {key!r} is damaged ({_first_line(exc)})",
                              path=self._source, member=key) from None

    def _check_member(self, info: zipfile.ZipInfo, file_bytes: int) -> None:
        key = info.filename[:-4]
        stored = info.compress_type == zipfile.ZIP_STORED
        limit = info.compress_size if stored else info.compress_size * MAX_DEFLATE_RATIO
        if info.compress_size > file_bytes or info.file_size > limit:
            raise self._error(
                f"{self._source}: array {key!r} declares {info.file_size:,} bytes from "
                f"{info.compress_size:,} stored in a file of {file_bytes:,}; the file is "
                "damaged or forged", path=self._source, member=key)


@contextmanager
def open_npz(path: Path, *, max_values: int, error: type[CanmoreError] = DataError,
             source: str | None = None) -> Iterator[NpzArrays]:
    """An ``.npz`` file's members (:class:`NpzArrays`), each read with its size checked.

    Raises
    ------
    CanmoreError
        Of class ``error``: not a regular file, not a zip archive, or a member whose
        declared sizes the file cannot hold.
    """
    name = source or str(path)
    with open_regular(path, name, error=error) as handle:
        size = os.fstat(handle.fileno()).st_size
        try:
            archive = zipfile.ZipFile(handle)
        except _ERRORS as exc:
            raise error(f"{name}: not a readable .npz file ({_first_line(exc)})",
                        path=name) from None
        with archive:
            yield NpzArrays(archive, size, name, max_values, error)


def _read_member(handle: IO[bytes], available: int, source: str, member: str,
                 max_values: int, error: type[CanmoreError]) -> np.ndarray:
    """One ``.npy`` stream: header, checks, then exactly the declared bytes."""
    shape, fortran, dtype, header_bytes = _header(handle, source, member, error)
    count = check_declared(source, member, shape, dtype.itemsize, available - header_bytes,
                           max_values, error=error)
    array = np.empty(count, dtype=dtype)
    if array.nbytes:
        view = array.view(np.uint8).data
        filled = 0
        while filled < len(view):
            got = handle.readinto(view[filled:])  # type: ignore[attr-defined]
            if not got:
                raise error(f"{source}: array {member!r} ends after {filled:,} of its "
                            f"{len(view):,} bytes; the file is damaged", path=source,
                            member=member)
            filled += got
    if fortran:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


def _header(handle: IO[bytes], source: str, member: str,
            error: type[CanmoreError]) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and header length of a ``.npy`` stream, all checked."""
    def bad(why: str) -> CanmoreError:
        return error(f"{source}: array {member!r} is not a .npy array ({why})", path=source,
                     member=member)

    magic = handle.read(8)
    if len(magic) < 8 or magic[:6] != _MAGIC or magic[6] not in (1, 2, 3):
        raise bad("no .npy header")
    width = 2 if magic[6] == 1 else 4
    raw_length = handle.read(width)
    if len(raw_length) < width:
        raise bad("the header is cut short")
    length = int.from_bytes(raw_length, "little")
    if length > MAX_HEADER_BYTES:
        raise bad(f"a header of {length:,} bytes, more than {MAX_HEADER_BYTES:,}")
    text = handle.read(length)
    if len(text) < length:
        raise bad("the header is cut short")
    try:
        fields = ast.literal_eval(text.decode("utf8" if magic[6] == 3 else "latin1"))
        shape, fortran = fields["shape"], fields["fortran_order"]
        dtype = np.lib.format.descr_to_dtype(fields["descr"])
    except Exception as exc:  # noqa: BLE001 - a forged header may raise anything while parsed
        raise bad(f"its header cannot be read: {_first_line(exc)}") from None
    if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
        raise bad(f"shape {shape!r} is not a tuple of sizes")
    if not isinstance(fortran, bool):
        raise bad("fortran_order is not true or false")
    if dtype.hasobject:
        raise error(f"{source}: array {member!r} holds Python objects, which cannot be read "
                    "without running code from the file; refused", path=source, member=member)
    return shape, fortran, dtype, 8 + width + length


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
             (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))
    return next((name for test, name in kinds if test(mode)), "special file")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
