"""Sweep points shipped to workers that need none of the client's files (``--executor
dask``): the client loads the network and the frames, the workers run from what the tasks
carry, the client writes the point files, byte for byte those of local workers."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from canmore_sim.datasets.readers import load_frames
from canmore_sim.pool.executor import run_tasks
from canmore_sim.run.source import ModelSource
from canmore_sim.sweep.outputs import sweep_csv
from canmore_sim.sweep.point import point_result, run_point, write_point
from canmore_sim.sweep.points import point_identity
from canmore_sim.sweep.run import _task, model_source, run_sweep
from canmore_sim.sweep.shipped import ShippedPoints, run_shipped_point
from canmore_sim.sweep.spec import load_sweep

#: Point-file keys that differ between two runs of the same point (timing, and the
#: checksum over it).
TIMED = ("wall_s", "checksum")


def _record(path: Path) -> dict[str, Any]:
    """A point file's record without its timing."""
    data = json.loads(path.read_text())
    return {k: v for k, v in data.items() if k not in TIMED}


def _user_files(folder: Path) -> None:
    """The user's own model file and frames file in ``folder`` (the client's folder)."""
    bundled = resources.files("canmore_sim.models").joinpath("dta_digits.pt")
    (folder / "model.pt").write_bytes(bundled.read_bytes())
    graph = ModelSource(model=str(folder / "model.pt")).load()
    frames, labels, _ = load_frames(None, graph.input_shape, 12, 0)
    np.savez(folder / "frames.npz", x=(frames * 255).round().astype(np.uint8), y=labels)
    for kind in ("energy", "area"):  # the user's own presets (the bundled ones, copied)
        preset = resources.files("canmore_sim.configs").joinpath(f"{kind}/canmore-22nm.yaml")
        (folder / f"{kind}.yaml").write_text(preset.read_text(encoding="utf-8"))


def _sweep_file(folder: Path, text: str) -> Path:
    """A sweep file in its own folder (so ``model`` and ``data`` stay names relative to the
    working folder: a sweep file's neighbours would be made absolute paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.yaml"
    path.write_text(text)
    return path


def _todo(path: Path, out: Path) -> list[dict[str, Any]]:
    """The tasks run_sweep makes for every point of the sweep file ``path``."""
    spec, points = load_sweep(path)
    common = model_source(spec).identity(spec.data)
    (out / "points").mkdir(parents=True, exist_ok=True)
    return [_task(spec, p, out / "points",
                  point_identity(common, p.config.model_dump(mode="json"))) for p in points]


# a point that fails on the client (its frames are over limits.max_frame_values) is among them
SWEEPS = {
    "mesh-and-limits": "model: model.pt\ndata: npz:frames.npz\nframes: 3\n"
                       "zip:\n  mesh: [8x8, 6x6, 8x8]\n"
                       "  limits.max_frame_values: [100000000, 100000000, 10]\n"
                       "  run.energy: [energy.yaml, canmore-22nm, energy.yaml]\n"
                       "  run.area: [area.yaml, area.yaml, canmore-22nm]\n",
    "bits-timing": "model: model.pt\ndata: npz:frames.npz\nframes: 4\nseed: 3\n"
                   "grid:\n  core.weight_bits: [2, 8]\n  run.timing: [ideal, drop-late]\n",
    "encoding-overflow": "model: model.pt\nframes: 2\nencoding: direct\n"
                         "grid:\n  multichip.overflow: [error]\n  mesh: [8x8, 2x2]\n",
    "spec-resize": "model: 16x16x1:8C3-P2-10F\nweights: synthetic\ndata: npz:frames.npz\n"
                   "frames: 2\ngrid:\n  data.adapt: [none, resize]\n",
    "model-that-does-not-load": "model: broken.pt\nframes: 1\ngrid:\n  mesh: [8x8, 6x6]\n",
}


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_a_shipped_point_writes_the_local_workers_point_file(tmp_path, monkeypatch,
                                                            name: str) -> None:
    """Differential: each point prepared by the client and run from its task alone gives
    the record a local worker writes (failures too, with the same error)."""
    client_dir = tmp_path / "client"
    client_dir.mkdir()
    _user_files(client_dir)
    (client_dir / "broken.pt").write_bytes(b"not a checkpoint")
    monkeypatch.chdir(client_dir)
    path = _sweep_file(tmp_path / "sweeps", SWEEPS[name])
    local = _todo(path, tmp_path / "local")
    shipped = _todo(path, tmp_path / "shipped")
    points = ShippedPoints(shipped)
    statuses = []
    for i, task in enumerate(shipped):
        written = run_point(local[i])
        sent = points[i]
        assert "out" not in sent and "source" not in sent and "data" not in sent  # no names
        result = run_shipped_point({**points.shared(), **sent})
        write_point(task, result)
        statuses.append(written["status"])
        assert _record(Path(task["out"])) == _record(Path(local[i]["out"]))
    failed = {"model-that-does-not-load": 2, "mesh-and-limits": 1, "encoding-overflow": 1,
              "spec-resize": 1}.get(name, 0)
    assert statuses.count("failed") == failed and len(statuses) >= 2
    assert (name == "model-that-does-not-load") == (not points.networks)


def test_the_client_spends_its_preparation_in_the_points_wall_time(tmp_path) -> None:
    task = {"index": 0, "values": {}, "failed": "no frames", "prepared_s": 2.0}
    result = point_result(task, lambda _: pytest.fail("a failed point does not run"))
    assert result["status"] == "failed" and result["error"] == "no frames"
    assert 2.0 <= result["wall_s"] < 3.0


def test_dask_sweep_workers_in_another_folder_need_none_of_the_clients_files(
        tmp_path, monkeypatch) -> None:
    """The model, the frames and the energy and area presets are files named relative to
    the client's folder, and so is the output folder; the workers run in another folder,
    where those names lead nowhere. A point run as a local worker runs it (opening the
    model file) fails there; shipped,
    every point runs, and the client writes the point files a local run writes."""
    distributed = pytest.importorskip("distributed")
    client_dir, worker_dir = tmp_path / "client", tmp_path / "worker"
    client_dir.mkdir()
    worker_dir.mkdir()
    _user_files(client_dir)
    monkeypatch.chdir(client_dir)
    path = _sweep_file(tmp_path / "sweeps", SWEEPS["mesh-and-limits"])
    spec, points = load_sweep(path)
    assert spec.model == "model.pt" and spec.data == "npz:frames.npz"  # relative names
    axes = [*spec.grid, *spec.zip]
    local = run_sweep(spec, points, "local", workers=1)
    monkeypatch.chdir(worker_dir)  # the workers start here
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        monkeypatch.chdir(client_dir)
        with distributed.Client(cluster) as client:
            assert set(client.run(os.getcwd).values()) == {str(worker_dir)}
            for name in ("model.pt", "energy.yaml", "area.yaml"):
                assert not any(client.run(os.path.exists, name).values())
            old_way = client.submit(run_point, _todo(path, tmp_path / "old")[0],
                                    pure=False).result()
        shipped = run_sweep(spec, points, "dask", executor="dask",
                            scheduler=cluster.scheduler_address)
        # --resume as on one machine: the finished points' files (written by the client)
        # verify and are reused untouched; the failed one and a deleted one run again
        files = sorted((client_dir / "dask" / "points").iterdir())
        stamps = {f.name: f.stat().st_mtime_ns for f in files}
        files[1].unlink()
        again = run_sweep(spec, points, "dask", executor="dask", resume=True,
                          scheduler=cluster.scheduler_address)
    # the old failure mode: a worker that opens the model itself finds no file there
    assert old_way["status"] == "failed" and "model.pt" in old_way["error"]
    assert [r["status"] for r in shipped] == ["done", "done", "failed"]
    assert "limits.max_frame_values" in shipped[2]["error"]
    assert sweep_csv(shipped, axes) == sweep_csv(local, axes)
    names = sorted(p.name for p in (client_dir / "local" / "points").iterdir())
    assert names == sorted(p.name for p in (client_dir / "dask" / "points").iterdir())
    for name in names:
        assert (_record(client_dir / "dask" / "points" / name)
                == _record(client_dir / "local" / "points" / name))
    model = shipped[0]["provenance"]["model"]
    assert model["path"] == "model.pt" and model["sha256"] is not None
    assert shipped[0]["provenance"]["data"]["sha256"] is not None
    assert list(worker_dir.iterdir()) == []  # nothing written where the workers run
    after = {f.name: f.stat().st_mtime_ns for f in files}
    assert after[files[0].name] == stamps[files[0].name]  # reused, not written again
    assert after[files[2].name] != stamps[files[2].name]  # the failed point ran again
    assert [_record(f) for f in files] == [
        _record(client_dir / "local" / "points" / f.name) for f in files]
    assert sweep_csv(again, axes) == sweep_csv(local, axes)


class _Recorded(Sequence[int]):
    """Tasks that note when each is built (as shipped points and chunks are)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.built: list[int] = []

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.n))]
        if not 0 <= index < self.n:
            raise IndexError(index)
        self.built.append(index)
        return index


def _slow_factorial(n: int) -> int:
    time.sleep(0.05)
    return math.factorial(n)


def test_dask_tasks_are_built_only_when_sent(tmp_path) -> None:
    """A task is built when it is sent, a few in flight (two per worker thread), so the
    client holds the frames of the points in flight only; every outcome comes back."""
    distributed = pytest.importorskip("distributed")
    tasks = _Recorded(12)
    seen = []
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        for done, outcome in enumerate(run_tasks(_slow_factorial, tasks, executor="dask",
                                                 scheduler=cluster.scheduler_address)):
            assert len(tasks.built) <= done + 2  # finished ones plus two in flight
            seen.append((outcome.index, outcome.value))
    assert sorted(seen) == [(i, math.factorial(i)) for i in range(12)]
    assert sorted(tasks.built) == list(range(12))  # each built once
