"""Output folders that appear whole or not at all, and the rules for reusing one.

A command writes its folder complete into a sibling temporary folder
(``.NAME.canmore-new-PID-XXXX``) and then swaps it in: on Linux with one atomic
``renameat2(RENAME_EXCHANGE)``, elsewhere by renaming the old folder aside, the new
one in, and deleting the old. So SIGINT, SIGKILL or a write error during the write
phase leaves one whole folder, the old or the new; a swap cut between its two
renames is completed by the next run (:func:`prepare_output`).

Every folder the tool writes holds a manifest (:data:`MANIFEST`) naming its kind
(``map`` or ``sweep``), the files written and the tool's version. Before any
simulation :func:`prepare_output` checks ``--out``: a file, an unwritable place, a
folder holding files the tool did not write, or another kind of output is a
one-line :class:`~canmore_sim.errors.OutputError` (the last two unless ``force``);
the command's own earlier folder is replaced whole.

The work folders of a sweep and of a map run (beside the output, locked while a run
writes into them) are in :mod:`canmore_sim.cli.work_folders`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canmore_sim import __version__
from canmore_sim.errors import OutputError
from canmore_sim.pool.workers import process_alive
from canmore_sim.utils.atomic import atomic_write_text, normal_mode, read_bounded_text

__all__ = ["LOCK_FILE", "MANIFEST", "OutputPlan", "prepare_output", "publish", "restaged",
           "staged"]

MANIFEST = "canmore-manifest.json"
KINDS = ("map", "sweep")
#: The lock file a running sweep or map run holds in its work folder (never published).
LOCK_FILE = ".canmore-lock"
_TEMP = re.compile(r"canmore-(new|old)-(\d+)-")
#: Files of a ``map`` report written before folders had a manifest.
_MAP_FILES = frozenset({
    "report.json", "mapping.json", "frames.csv", "layers.csv", "report.html",
    "energy_layers.png", "sops_spikes_layers.png", "wait_heatmap.png", "traffic_heatmap.png",
    "latency_hist.png", "mapping.png"})
_SWEEP_FILE = re.compile(r"(sweep\.csv|pareto\.png|axis_[A-Za-z0-9_]+\.png|points/\d{4,}\.json)")


@dataclass(frozen=True)
class OutputPlan:
    """What writing into an output folder will do, decided before any simulation.

    Attributes
    ----------
    path
        The folder as the user named it (messages show this).
    real
        The same folder with symbolic links resolved (the swap works on this).
    kind
        ``"map"`` or ``"sweep"``.
    state
        ``"new"`` (absent or empty), ``"own"`` (an earlier output of this kind, replaced)
        or ``"forced"`` (other content, replaced because of ``--force``).
    previous_kind
        The kind of output the folder held, if canmore-sim wrote it.
    foreign
        Entries the tool did not write (relative paths).
    """

    path: Path
    real: Path
    kind: str
    state: str
    previous_kind: str | None = None
    foreign: tuple[str, ...] = ()

    def note(self) -> str | None:
        """One line saying what will be replaced, or None when nothing is."""
        if self.state == "own":
            return f"replacing the earlier {self.kind} output in {self.path}/"
        if self.state == "forced":
            what = [f"its canmore-sim {self.previous_kind} output"] if self.previous_kind else []
            if self.foreign:
                what.append(f"{_entries_word(len(self.foreign))} canmore-sim did not write")
            return f"replacing {self.path}/ (--force): removing {' and '.join(what)}"
        return None


def prepare_output(path: str | Path, kind: str, *, force: bool = False) -> OutputPlan:
    """Check an output folder before any work and decide how it will be replaced.

    Parameters
    ----------
    path
        The ``--out`` folder.
    kind
        ``"map"`` or ``"sweep"``.
    force
        Replace a folder holding files the tool did not write or another kind of output.

    Raises
    ------
    OutputError
        ``path`` is a file or cannot be written; or (without ``force``) it holds files the
        tool did not write or another kind of output; or (even with ``force``) it is the
        current folder, one of its parents, or the home folder.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown output kind {kind!r}")
    path = Path(path)
    real = Path(os.path.realpath(path))
    _recover(real)
    if real.exists() and not real.is_dir():
        raise OutputError(f"--out {path} is a file, not a folder; name a folder", path=str(path))
    _probe_writable(path, real)
    if not real.exists():
        return OutputPlan(path, real, kind, "new")
    _refuse_current(path, real)
    previous, foreign = _inspect(real)
    if previous == "empty":
        return OutputPlan(path, real, kind, "new")
    if previous == kind and not foreign:
        return OutputPlan(path, real, kind, "own", previous)
    if not force:
        raise OutputError(_refusal(path, kind, previous, foreign), path=str(path))
    _refuse_home(path, real)
    return OutputPlan(path, real, kind, "forced", previous, tuple(foreign))


def _entries_word(count: int) -> str:
    return f"{count} {'entry' if count == 1 else 'entries'}"


def _refusal(path: Path, kind: str, previous: str | None, foreign: list[str]) -> str:
    if previous not in (None, kind):
        what = f"holds a canmore-sim {previous} output, not a {kind} one"
    else:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        what = f"holds {_entries_word(len(foreign))} canmore-sim did not write ({shown})"
    return f"--out {path} {what}; name another folder, or add --force to replace it"


def _holds_cwd(real: Path) -> bool:
    cwd = Path(os.path.realpath(Path.cwd()))
    return real == cwd or real in cwd.parents


def _refuse_current(path: Path, real: Path) -> None:
    if _holds_cwd(real):
        raise OutputError(f"--out {path} is the current folder or holds it, and an output "
                          "folder is replaced whole; name a folder inside it "
                          "(e.g. --out canmore-out)", path=str(path))


def _refuse_home(path: Path, real: Path) -> None:
    if real == Path(os.path.realpath(Path.home())) or real.parent == real:
        raise OutputError(f"--out {path} is the home or root folder; even with --force it "
                          "is not replaced", path=str(path))


def _probe_writable(path: Path, real: Path) -> None:
    """Create and remove a folder where the swap will happen (the nearest existing parent)."""
    parent = real.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"--out {path}: {parent} is a file, not a folder", path=str(path))
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".canmore-probe-", dir=parent))
        if real.is_dir() and not os.access(real, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(real))
    except OSError as exc:
        raise OutputError(f"--out {path} cannot be written ({exc.strerror or exc}: "
                          f"{exc.filename or parent})", path=str(path)) from None


def _entries(folder: Path) -> list[str]:
    """Files (and empty folders, with a trailing /) under ``folder``, relative, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        found += [(rel / name).as_posix() for name in files]
        found += [(rel / d).as_posix() + "/" for d in dirs if (Path(root) / d).is_symlink()]
        if not dirs and not files and root != str(folder):
            found.append(rel.as_posix() + "/")
    return sorted(found)


def _inspect(folder: Path) -> tuple[str | None, list[str]]:
    """(kind or None or "empty", entries the tool did not write)."""
    entries = [e for e in _entries(folder) if e != LOCK_FILE]
    if not entries:
        return "empty", []
    manifest = _read_manifest(folder / MANIFEST)
    if manifest is not None:
        written = set(manifest["files"]) | {MANIFEST}
        return manifest["kind"], [e for e in entries if e not in written]
    if _is_own_report(folder / "report.json"):
        return "map", [e for e in entries if e not in _MAP_FILES]
    if "sweep.csv" in entries or any(e.startswith("points/") for e in entries):
        return "sweep", [e for e in entries if not _SWEEP_FILE.fullmatch(e)]
    return None, entries


def output_kind(folder: str | Path) -> str | None:
    """The kind of output (``map``, ``sweep``) canmore-sim wrote in ``folder``, from its
    manifest; None when it has none."""
    manifest = _read_manifest(Path(folder) / MANIFEST)
    return None if manifest is None else str(manifest["kind"])


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(read_bounded_text(path))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if (isinstance(data, dict) and data.get("tool") == "canmore-sim"
            and data.get("kind") in KINDS and isinstance(data.get("files"), list)
            and all(isinstance(f, str) for f in data["files"])):
        return data
    return None


def _is_own_report(path: Path) -> bool:
    try:
        data = json.loads(read_bounded_text(path))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("tool"), dict) and (
        data["tool"].get("name") == "canmore-sim")


# ----------------------------------------------------------------------------- the swap


@contextlib.contextmanager
def staged(plan: OutputPlan) -> Iterator[Path]:
    """A fresh sibling temporary folder to write the output into; swapped in on success.

    On any exception (KeyboardInterrupt included) the temporary folder is removed and
    the old folder is left as it was.
    """
    plan.real.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{plan.real.name}.canmore-new-{os.getpid()}-",
                                dir=plan.real.parent))
    try:
        normal_mode(tmp)
        yield tmp
        publish(tmp, plan)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def restaged(path: str | Path) -> Iterator[Path]:
    """Rewrite some files of an existing output folder, whole: yields a staged copy of it
    (every entry, the user's own included) that is swapped in on success.

    The current folder (or one holding it) is not swapped: its files are rewritten in
    place, each atomically.
    """
    path = Path(path)
    real = Path(os.path.realpath(path))
    _recover(real)
    if _holds_cwd(real):
        yield real
        return
    previous, foreign = _inspect(real)
    plan = OutputPlan(path, real, "map", "own", previous, tuple(foreign))
    with staged(plan) as folder:
        shutil.copytree(real, folder, symlinks=True, dirs_exist_ok=True)
        yield folder


def publish(folder: Path, plan: OutputPlan) -> Path:
    """Write ``folder``'s manifest and swap ``folder`` in as ``plan.real``; returns the path.

    The manifest (written last, so a folder with a manifest is complete) lists every
    file except the plan's foreign entries that were carried along.
    """
    skip = {MANIFEST, LOCK_FILE, *plan.foreign}
    files = [e for e in _entries(folder) if e not in skip]
    manifest = {"tool": "canmore-sim", "version": __version__, "kind": plan.kind,
                "files": files}
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    _fsync_dir(folder)
    _swap(folder, plan.real)
    _fsync_dir(plan.real.parent)
    return plan.real


def _swap(new: Path, target: Path) -> None:
    if not target.exists():
        os.rename(new, target)
        return
    if _exchange(new, target):
        shutil.rmtree(new)  # it now holds the old folder
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.canmore-old-{os.getpid()}-",
                                  dir=target.parent))
    os.rename(target, aside)  # replaces the empty folder
    os.rename(new, target)
    shutil.rmtree(aside)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _recover(real: Path) -> None:
    """Finish a swap that was cut short and remove temporary siblings of dead runs."""
    parent, prefix = real.parent, f".{real.name}."
    if not parent.is_dir():
        return
    stale: dict[str, list[Path]] = {"new": [], "old": []}
    for sibling in parent.iterdir():
        match = _TEMP.match(sibling.name[len(prefix):]) if sibling.name.startswith(prefix) else None
        if match and sibling.is_dir() and not process_alive(int(match.group(2))):
            stale[match.group(1)].append(sibling)
    if not real.exists():  # cut between the renames: the complete new one wins, else the old
        whole = [p for p in stale["new"] if _read_manifest(p / MANIFEST) is not None]
        for candidate in (*whole, *stale["old"]):
            os.rename(candidate, real)
            stale["new" if candidate in whole else "old"].remove(candidate)
            break
    for sibling in (*stale["new"], *stale["old"]):
        shutil.rmtree(sibling, ignore_errors=True)
