"""The tool's own hidden work folders: never followed out through a link, and only files the
tool can prove it wrote are ever deleted from them.

A work folder (``.NAME.canmore-map``, ``.NAME.canmore-sweep``) and each folder of items in it
(``chunks/``, ``reference/``, ``points/``) must be a real folder, not a symbolic link (a link
would make ``--resume`` delete and write files in a folder of the user's). Every entry of an
items folder must be a regular file (a FIFO would block a reader forever, a link would lead
out) named as the tool names its files: an item (``00000.npz``, ``0000.json``) or an
unfinished atomic write of one (``.00000.npz.k3j9x2ab.tmp``, from
:func:`canmore_sim.utils.atomic.atomic_write_bytes`). Anything else is refused with one line
naming the path, and nothing is deleted.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from canmore_sim.errors import OutputError

__all__ = ["ITEM_NAMES", "MAP_ITEMS", "check_folder", "check_items", "is_own_temporary"]

#: How the tool names the files of each items folder.
ITEM_NAMES = {"chunks": re.compile(r"\d{5}\.npz"), "reference": re.compile(r"\d{5}\.npz"),
              "placement": re.compile(r"\d{5}\.npz"), "window": re.compile(r"\d{5}\.npz"),
              "spikes": re.compile(r"\d{5}\.npz"),
              "points": re.compile(r"\d{4,}\.json")}
#: The items folders of a map run's work folder: the run's chunks, a rate-IF reference's,
#: the measured placement's neuron counts, the derived window's needs and the spikes its
#: pass keeps for the run pass.
MAP_ITEMS = ("chunks", "reference", "placement", "window", "spikes")
#: An unfinished atomic write: ``.`` + the final name + ``.`` + mkstemp's 8 characters.
_TEMPORARY = re.compile(r"\.(?P<final>[^/]+)\.[a-z0-9_]{8}\.tmp")


def check_folder(path: Path, what: str) -> bool:
    """Whether ``path`` exists as a real folder; refuse a link or anything else there.

    Raises
    ------
    OutputError
        ``path`` is a symbolic link or not a folder, naming it.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(mode):
        raise OutputError(f"{path}: {what} is a symbolic link; canmore-sim never follows a "
                          "link out of its work folders (remove the link)", path=str(path))
    if not stat.S_ISDIR(mode):
        raise OutputError(f"{path}: {what} is not a folder; remove it", path=str(path))
    return True


def is_own_temporary(name: str, items: re.Pattern[str]) -> bool:
    """Whether ``name`` is an unfinished atomic write of a file named like ``items``."""
    match = _TEMPORARY.fullmatch(name)
    return bool(match and items.fullmatch(match.group("final")))


def check_items(folder: Path, kind: str) -> list[Path]:
    """The entries of the items folder ``folder`` (``kind``: a key of :data:`ITEM_NAMES`),
    every one checked: a regular file the tool names so (an item or an unfinished write).

    Returns
    -------
    list of Path
        The entries, sorted; none when the folder does not exist.

    Raises
    ------
    OutputError
        The folder or an entry is a symbolic link, an entry is not a regular file (a FIFO,
        a folder, a device), or entries are named as the tool never names its files.
    """
    if not check_folder(folder, f"the work folder's {kind}/"):
        return []
    names = ITEM_NAMES[kind]
    found, foreign = [], []
    with os.scandir(folder) as entries:
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink():
                raise OutputError(f"{path}: a symbolic link in canmore-sim's work folder; it "
                                  "never follows one (remove it)", path=str(path))
            if not entry.is_file(follow_symlinks=False):
                raise OutputError(f"{path}: not a regular file, in canmore-sim's work folder; "
                                  "refused (remove it)", path=str(path))
            if names.fullmatch(entry.name) or is_own_temporary(entry.name, names):
                found.append(path)
            else:
                foreign.append(entry.name)
    if foreign:
        shown = ", ".join(sorted(foreign)[:5]) + (" ..." if len(foreign) > 5 else "")
        raise OutputError(f"{folder}: holds {len(foreign)} entries canmore-sim did not write "
                          f"({shown}); it deletes only its own files: move them away",
                          path=str(folder))
    return sorted(found)
