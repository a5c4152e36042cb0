"""What :func:`canmore_sim.simulate` returns: the run, its report.json content, its
per-frame, per-layer and per-core tables as pandas DataFrames, and the report folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canmore_sim.errors import MissingDependencyError
from canmore_sim.report.files import CORE_COLUMNS, CORE_EXTRA, write_map_report
from canmore_sim.report.folders import prepare_output, staged

if TYPE_CHECKING:
    import pandas as pd

    from canmore_sim.run.pipeline import RunResult

__all__ = ["Result"]


@dataclass(frozen=True, eq=False)
class Result:
    """One simulated run (:func:`canmore_sim.simulate`).

    ``summary`` is the content of the run's report.json (every number of the run as plain
    data, means per frame; wall times included); ``run`` the
    :class:`~canmore_sim.run.pipeline.RunResult` it was made from (the network's structure,
    mapping, per-frame counts, energy breakdown). The tables are those of frames.csv,
    layers.csv and cores.csv, as pandas DataFrames (the optional extra ``pandas``).
    ``notes`` are the lines the command prints on the inputs (what ``auto`` chose for an
    official state_dict, an adaptation of the frames); none when there is nothing to say.
    """

    summary: dict[str, Any]
    run: RunResult
    notes: tuple[str, ...] = ()

    @property
    def provenance(self) -> dict[str, Any]:
        """What ran on what (report.json's ``provenance``): ``model`` (path, SHA-256,
        format, the rule it runs under) and ``data`` (reader, path, SHA-256, split, frame
        ids, original and fed shapes, adaptation, normalization, encoding, input values)."""
        return dict(self.summary.get("provenance") or {})

    @property
    def window(self) -> dict[str, Any]:
        """How the layer window was set (report.json's ``window``): ``mode`` (``auto`` or
        ``fixed``), ``window_ns`` and, derived, the need and margin it came from."""
        return dict(self.summary.get("window") or {})

    @property
    def frames(self) -> pd.DataFrame:
        """One row per frame (frames.csv): data-set index, label, prediction, SOPs, packets,
        hops, latencies (ns), energy terms (the preset's unit) ..."""
        return _pandas().DataFrame(self.summary["frames"])

    @property
    def layers(self) -> pd.DataFrame:
        """One row per weight layer, means per frame (layers.csv); a shape stays a list."""
        rows = self.summary["layers"]
        columns = list(dict.fromkeys(k for row in rows for k in row))
        return _pandas().DataFrame(rows, columns=columns)

    @property
    def cores(self) -> pd.DataFrame:
        """One row per core, means per frame (cores.csv without its I/O port row, which is
        ``summary["io_port"]``)."""
        cores = self.summary.get("cores") or {k: [] for k in CORE_COLUMNS}
        columns = (*CORE_COLUMNS, *(k for k in CORE_EXTRA if k in cores))
        return _pandas().DataFrame({k: cores[k] for k in columns})

    def write(self, out: str | Path, *, force: bool = False) -> Path:
        """Write the run's report folder, the same files as ``canmore-sim map --out``
        (report.json, mapping.json, the CSVs, plots and report.html, and the folder's
        manifest, so ``canmore-sim report OUT`` re-renders it); the folder's path.

        The folder is written beside ``out`` and swapped in whole; an earlier report
        folder of the tool is replaced, any other non-empty folder refused unless ``force``
        (as ``--force``).

        Raises
        ------
        OutputError
            ``out`` is a file, not writable, or a folder the tool did not write.
        """
        plan = prepare_output(out, "map", force=force)
        with staged(plan) as folder:
            write_map_report(self.summary, self.run, folder)
        return plan.path


def _pandas() -> Any:
    """The pandas module, imported on first use (an optional extra).

    Raises
    ------
    MissingDependencyError
        pandas is not installed.
    """
    try:
        import pandas
    except ImportError:
        raise MissingDependencyError("the tables of a result need pandas: pip install "
                                     "'canmore-sim[pandas]' (or pip install pandas)",
                                     package="pandas", extra="pandas") from None
    return pandas
