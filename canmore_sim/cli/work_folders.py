"""Work folders beside an output folder, locked while a run writes into them.

A sweep runs in a work folder beside its output (``.NAME.canmore-sweep``, see
:func:`open_sweep_work`) that holds its point files as they finish, so an
interrupted sweep leaves the earlier output whole and ``--resume`` continues it; a map
run likewise streams its finished chunks of frames into ``.NAME.canmore-map``
(:func:`open_map_work`). The output folders themselves (staged, swapped in whole, with
their manifest) are :mod:`canmore_sim.report.folders`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from canmore_sim.errors import OutputError
from canmore_sim.report.folders import LOCK_FILE, OutputPlan, publish
from canmore_sim.utils.atomic import normal_mode
from canmore_sim.utils.workfiles import MAP_ITEMS, check_folder, check_items

__all__ = ["SweepWork", "map_work_folder", "open_map_work", "open_sweep_work",
           "sweep_work_folder"]


# ----------------------------------------------------------------------------- sweeps


@dataclass
class SweepWork:
    """A sweep's (or a map run's) work folder, locked for this process, and what opening
    it did."""

    path: Path
    plan: OutputPlan
    notes: list[str] = field(default_factory=list)
    _lock: IO[str] | None = None

    def publish(self) -> Path:
        """Swap the finished sweep in as its output folder."""
        self.release()
        (self.path / LOCK_FILE).unlink(missing_ok=True)
        return publish(self.path, self.plan)

    def remove(self) -> None:
        """Delete the work folder (what it was for is written elsewhere)."""
        self.release()
        shutil.rmtree(self.path, ignore_errors=True)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def sweep_work_folder(out: str | Path) -> Path:
    """Where a sweep into ``out`` keeps its point files until it is finished."""
    real = Path(os.path.realpath(out))
    return real.parent / f".{real.name}.canmore-sweep"


def open_sweep_work(plan: OutputPlan, *, resume: bool) -> SweepWork:
    """Open (and lock) the work folder of a sweep into ``plan``.

    Without ``resume`` an interrupted sweep's work folder is discarded (with a note) and
    the sweep starts empty. With ``resume`` it continues an interrupted sweep's work
    folder, or else starts from a copy of the finished sweep's point files in the output
    folder; which points are reused is decided point by point (``canmore_sim.sweep.run``).

    Raises
    ------
    OutputError
        Another process is running a sweep into the same folder.
    """
    work = sweep_work_folder(plan.real)
    result = _open_work(work, plan, resume=resume, what="sweep", items="points",
                        item_word="point files")
    if result.notes or not resume:
        return result
    if plan.state == "own" and (plan.real / "points").is_dir():
        for point in sorted((plan.real / "points").glob("*.json")):
            shutil.copy2(point, work / "points" / point.name)
    else:
        result.notes.append(f"nothing to resume in {plan.path}/: running every point")
    return result


def map_work_folder(out: str | Path) -> Path:
    """Where a map run into ``out`` streams its finished chunks until it is finished."""
    real = Path(os.path.realpath(out))
    return real.parent / f".{real.name}.canmore-map"


def open_map_work(plan: OutputPlan, *, resume: bool) -> SweepWork:
    """Open (and lock) the work folder of a map run into ``plan`` (``chunks/`` in it).

    Without ``resume`` an interrupted run's chunks are discarded (with a note) and the run
    starts empty; with ``resume`` it continues them (which chunks are reused is decided
    chunk by chunk, :mod:`canmore_sim.chunked.run`). A finished run leaves no work folder.

    Raises
    ------
    OutputError
        Another process is running a map into the same folder.
    """
    result = _open_work(map_work_folder(plan.real), plan, resume=resume, what="map",
                        items="chunks", item_word="chunk files")
    if resume and not result.notes:
        result.notes.append(f"nothing to resume for {plan.path}/: running every chunk")
    return result


def _open_work(work: Path, plan: OutputPlan, *, resume: bool, what: str, items: str,
               item_word: str) -> SweepWork:
    """Open (and lock) a work folder; ``notes`` is empty when it was created anew."""
    result = SweepWork(work, plan)
    if check_folder(work, f"the {what}'s work folder"):  # never a link out of it
        for kind in MAP_ITEMS if items == "chunks" else (items,):
            check_items(work / kind, kind)  # its own regular files only, before any delete
        lock = _lock(work, plan.path, what)
        if resume:
            result._lock = lock
            done = len([p for p in (work / items).glob("*") if p.suffix != ".tmp"]) \
                if (work / items).is_dir() else 0
            (work / items).mkdir(exist_ok=True)
            result.notes.append(f"resuming an interrupted {what} ({done} {item_word})")
            return result
        lock.close()
        shutil.rmtree(work)
        result.notes.append(f"discarded an interrupted {what}'s {item_word} "
                            "(--resume continues one)")
    work.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir()
    normal_mode(work)
    result._lock = _lock(work, plan.path, what)
    (work / items).mkdir()
    normal_mode(work / items)
    return result


def _lock(work: Path, shown: Path, what: str = "sweep") -> IO[str]:
    import fcntl

    path = work / LOCK_FILE
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise OutputError(f"{path}: the lock file is a symbolic link or not a regular file; "
                          "remove it", path=str(path))
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held until publish)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise OutputError(f"another canmore-sim {what} is writing into {shown}/ right now",
                          path=str(shown)) from None
    return handle
