"""Issue 18, inputs: every class of bad input gives one line naming the problem (or one
warning line), a non-zero exit, no traceback, and ends well within a timeout.

Each case runs the console command as a user would (``python -m canmore_sim.cli.main``) in a
subprocess with a timeout, so a hang or a huge allocation fails the test instead of
stalling the suite.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from canmore_sim.cli.main import main
from canmore_sim.config import default_config
from canmore_sim.mapper.mapping_io import save_mapping
from canmore_sim.models.checkpoint import FORMAT, save_checkpoint
from canmore_sim.models.loaders import load_model
from canmore_sim.models.quantize import quantize_graph
from canmore_sim.models.spec import weight_shapes
from canmore_sim.run.pipeline import map_network
from tests.conftest import SMALL_SPEC, random_graph

TIMEOUT_S = 120  # generous on a loaded 2-core machine; a hang or a 37 GiB allocation never ends


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The console command, as a user runs it; fails the test if it does not end in time."""
    return subprocess.run([sys.executable, "-m", "canmore_sim.cli", *args], capture_output=True,
                          text=True, timeout=TIMEOUT_S, check=False, cwd=cwd)


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    """The same command in this process (fast; for inputs that cannot hang or allocate much)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def one_line_error(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The single error line of a failed run; it names every one of ``words``."""
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("canmore-sim: error: ")]
    assert len(errors) == 1, lines
    assert len(errors[0]) < 700, len(errors[0])
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def _map(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``map`` in a subprocess with a timeout: for inputs that used to hang or exhaust memory."""
    return run_cli("map", "--frames", "1", "--quiet", "--out", str(tmp_path / "out"), *args)


def _map_here(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_main("map", "--frames", "1", "--quiet", "--out", str(tmp_path / "out"), *args)


# ----------------------------------------------------------------------------- config


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "arch.yaml"
    path.write_text(text)
    return str(path)


def test_yaml_alias_bomb_is_refused_quickly(tmp_path) -> None:
    # nine mappings of nine aliases each: 9**9 values once expanded (this hung before)
    rows = ["a: &a {" + ", ".join(f"k{j}: lol" for j in range(9)) + "}"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{name}: &{name} {{{', '.join(f'k{j}: *{prev}' for j in range(9))}}}")
    bomb = "\n".join(rows) + "\n"
    assert len(bomb) < 1000
    proc = _map(tmp_path, "--config", _config(tmp_path, bomb))
    one_line_error(proc, 2, "arch.yaml", "expands to more than")


def test_sweep_files_are_read_by_the_same_bounded_strict_reader(tmp_path) -> None:
    rows = ["a: &a {" + ", ".join(f"k{j}: lol" for j in range(9)) + "}"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{name}: &{name} {{{', '.join(f'k{j}: *{prev}' for j in range(9))}}}")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(rows) + "\n")
    proc = run_cli("sweep", str(bomb), "--out", str(tmp_path / "s1"), "--quiet")
    one_line_error(proc, 2, "bomb.yaml", "expands to more than")
    twice = tmp_path / "twice.yaml"
    twice.write_text("frames: 1\nframes: 2\n")
    one_line_error(run_main("sweep", str(twice), "--out", str(tmp_path / "s2"), "--quiet"), 2,
                   "twice.yaml", "given twice")
    big = tmp_path / "big.yaml"
    big.write_text("grid:\n  run.seed: [" + ", ".join(["1"] * 600_000) + "]\n")
    one_line_error(run_main("sweep", str(big), "--out", str(tmp_path / "s3"), "--quiet"), 2,
                   "big.yaml", "bytes a YAML file may have")


def test_ten_megabyte_yaml_list_is_refused_before_parsing(tmp_path) -> None:
    text = "neuron:\n  q: [" + ", ".join(["1"] * 3_000_000) + "]\n"
    proc = _map(tmp_path, "--config", _config(tmp_path, text))
    one_line_error(proc, 2, "arch.yaml", "bytes a YAML file may have")


@pytest.mark.parametrize(("text", "words"), [
    ("run:\n  frames: 1\nrun:\n  seed: 2\n", ["arch.yaml:3", "'run' is given twice", "line 1"]),
    ("router:\n  buffer_depth: 2\n  buffer_depth: 4\n", ["'buffer_depth' is given twice"]),
    ("router:\n  buffer_depth: true\n", ["router.buffer_depth", "integer", "True"]),
    ("router:\n  buffer_depth: 3.7\n", ["router.buffer_depth", "integer", "3.7"]),
    ("mesh: 0x8\n", ["mesh", "WIDTHxHEIGHT", "'0x8'"]),
    ("neuron:\n  window_ns: .inf\n", ["neuron.window_ns", "finite"]),
    ("neuron:\n  tw: .nan\n", ["neuron.tw", "finite"]),
    ("neuron:\n  model: tq-ttfs\n  q: [0]\n", ["neuron.q", "greater than or equal to 1"]),
    ("run:\n  placement: " + "x" * 200_000 + "\n", ["placement", "characters cut"]),
])
def test_bad_config_values_are_one_line(tmp_path, text, words) -> None:
    proc = _map_here(tmp_path, "--config", _config(tmp_path, text))
    one_line_error(proc, 2, *words)
    assert not (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize(("text", "words"), [
    ("mesh: 1000x1000\n", ["1,000,000 routers", "limits.max_routers"]),
    ("neuron:\n  model: tq-ttfs\n  steps: 1000000000\n",
     ["neuron.steps", "limits.max_step_neurons"]),
])
def test_sizes_that_ran_out_of_memory_are_refused_quickly(tmp_path, text, words) -> None:
    one_line_error(_map(tmp_path, "--config", _config(tmp_path, text)), 2, *words)


def test_a_raised_limit_admits_the_mesh(tmp_path) -> None:
    text = "mesh: 200x100\nlimits:\n  max_routers: 20000\nrun:\n  energy: nowhere\n"
    one_line_error(_map_here(tmp_path, "--config", _config(tmp_path, text)), 2,
                   "unknown energy preset 'nowhere'")  # got past the mesh check


# ----------------------------------------------------------------------------- models


def _payload(**changes: object) -> dict[str, object]:
    graph = random_graph()
    payload: dict[str, object] = {
        "format": FORMAT, "version": 1, "spec": SMALL_SPEC,
        "weights": [torch.from_numpy(layer.weight.copy()) for layer in graph.layers],
        "names": [layer.name for layer in graph.layers],
        "neuron": {"model": "dta-ttfs", "tw": 1.0}, "input": {"scale": 1.0}, "meta": {}}
    payload.update(changes)
    return payload


def _save(tmp_path: Path, payload: object, name: str = "net.pt") -> str:
    path = tmp_path / name
    torch.save(payload, path)
    return str(path)


def test_checkpoint_declaring_a_37_gib_weight_is_refused(tmp_path) -> None:
    huge = torch.zeros(1).expand(99856, 99856)  # a 1-value storage seen with zero strides
    path = _save(tmp_path, {"conv.0.cnn.weight": huge})
    assert Path(path).stat().st_size < 4096
    proc = _map(tmp_path, "--model", path, "--arch", "99856:99856F")
    one_line_error(proc, 3, "conv.0.cnn.weight", "(99856, 99856)", "bytes")


def test_nir_file_declaring_a_37_gib_array_is_refused(tmp_path) -> None:
    import h5py

    path = tmp_path / "net.nir"
    with h5py.File(path, "w") as handle:  # never written: HDF5 would read back fill values
        handle.create_group("node").create_dataset("weight", shape=(99856, 99856), dtype="f4")
    assert path.stat().st_size < 8192
    one_line_error(_map(tmp_path, "--model", str(path)), 3, "node/weight", "39,884,882,944")


def test_an_8192x8192_input_is_refused_before_resizing_frames(tmp_path) -> None:
    spec = "8192x8192x3:1C1s64p0-P2-10F"
    weights = [torch.full(s, 0.1) for s in weight_shapes(spec)]
    path = _save(tmp_path, _payload(spec=spec, weights=weights, names=["conv1", "fc1"]))
    proc = _map(tmp_path, "--model", path)
    one_line_error(proc, 3, "8192x8192x3", "limits.max_frame_values")


@pytest.mark.parametrize(("change", "words"), [
    ({"weights": None}, ["NaN or infinite", "conv1"]),
    ({"input": {"scale": float("inf")}}, ["input scale", "inf"]),
    ({"neuron": {"tw": 0.0}}, ["tw", "0.0"]),
    ({"neuron": {"tw": float("nan")}}, ["tw", "nan"]),
])
def test_silently_wrong_checkpoints_are_refused(tmp_path, change, words) -> None:
    if change.get("weights", 1) is None:
        weights = [torch.from_numpy(layer.weight.copy()) for layer in random_graph().layers]
        weights[0][0, 0, 1, 1] = float("nan")
        change = {"weights": weights}
    proc = _map_here(tmp_path, "--model", _save(tmp_path, _payload(**change)))
    one_line_error(proc, 3, *words)


def test_text_and_truncated_checkpoints_say_what_they_are(tmp_path) -> None:
    text = tmp_path / "notes.pt"
    text.write_text("weights: see the lab notebook\n")
    one_line_error(_map_here(tmp_path, "--model", str(text)), 3, "a text file", "notes.pt")
    good = save_checkpoint(random_graph(), tmp_path / "good.pt")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    one_line_error(_map_here(tmp_path, "--model", str(cut)), 3, "truncated", "cut.pt")


def test_arch_that_contradicts_a_self_describing_checkpoint(tmp_path) -> None:
    path = save_checkpoint(random_graph(), tmp_path / "net.pt")
    proc = _map_here(tmp_path, "--model", str(path), "--arch", "16x16x1:8C3-16C3-P2-10F")
    one_line_error(proc, 3, "--arch", SMALL_SPEC, "drop --arch")


def test_spec_with_zero_pooling_is_one_line(tmp_path) -> None:
    graph = random_graph()
    state = {f"conv.{i}.cnn.weight": torch.from_numpy(layer.weight.copy())
             for i, layer in enumerate(graph.layers[:2])}
    state["fc.0.linear.weight"] = torch.from_numpy(graph.layers[2].weight.copy())
    path = _save(tmp_path, state)
    proc = _map_here(tmp_path, "--model", path, "--arch", "16x16x1:8C3-P0-16C3-P2-10F")
    one_line_error(proc, 3, "'P0'")


# ----------------------------------------------------------------------------- data


def _npz(tmp_path: Path, **arrays: np.ndarray) -> str:
    path = tmp_path / "frames.npz"
    np.savez(path, **arrays)
    return f"npz:{path}"


_IMAGES = np.full((4, 8, 8), 0.5)


@pytest.mark.parametrize(("arrays", "words"), [
    ({"x": np.where(np.eye(8, dtype=bool), np.nan, _IMAGES)}, ["NaN or infinite"]),
    ({"x": _IMAGES.astype(np.complex64)}, ["complex"]),
    ({"x": np.full((4, 8, 8), "0.5")}, ["text"]),
    ({"x": _IMAGES, "y": np.array([1, 2, 12, 3])}, ["label 12 of frame", "10 classes"]),
    ({"x": _IMAGES, "y": np.array([1, -2, 3, 3])}, ["label 1 is -2"]),
    ({"x": _IMAGES, "y": np.array([1.0, np.nan, 3.0, 3.0])}, ["label 1 is nan"]),
    ({"x": _IMAGES, "y": np.array([1, 2, 3])}, ["4 images but 3 labels"]),
])
def test_bad_frames_and_labels_are_one_line(tmp_path, arrays, words) -> None:
    proc = _map_here(tmp_path, "--data", _npz(tmp_path, **arrays), "--frames", "4",
                     "--set", "data.adapt=resize")  # 8x8 frames, a 32x32 network
    one_line_error(proc, 3, *words)


def test_npz_object_array_is_one_line(tmp_path) -> None:
    images = np.empty(4, dtype=object)
    for i in range(4):
        images[i] = np.zeros((8, 8))
    proc = _map_here(tmp_path, "--data", _npz(tmp_path, x=images))
    one_line_error(proc, 3, "'x'", "frames.npz")


def test_idx_with_more_images_than_labels(tmp_path) -> None:
    images = np.zeros((5, 28, 28), dtype=np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(
        b"\x00\x00\x08\x03" + np.array([5, 28, 28], ">u4").tobytes() + images.tobytes())
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(
        b"\x00\x00\x08\x01" + np.array([3], ">u4").tobytes() + bytes([1, 2, 3]))
    proc = _map_here(tmp_path, "--data", f"mnist:{tmp_path}")
    one_line_error(proc, 3, "5 images but 3 labels")


# ----------------------------------------------------------------------------- mapping files


@pytest.fixture(scope="module")
def mapping_file(tmp_path_factory) -> Path:
    """The mapping of the bundled network on the default chip, as ``map`` writes it."""
    graph, config = load_model(None), default_config()
    quantized = quantize_graph(graph, config.core.weight_bits)
    path = tmp_path_factory.mktemp("mapping") / "mapping.json"
    return save_mapping(map_network(quantized, config), quantized.spec, path)


@pytest.mark.parametrize(("column", "index", "value", "words"), [
    ("router", 0, 10**30, ["cores.router[0]", "expected an integer"]),
    ("router", 3, 3.7, ["cores.router[3] is 3.7"]),
    ("router", 1, True, ["cores.router[1] is True"]),
    ("router", 1, 0, ["cores 0 and 1 are both on router 0"]),
    ("router", 2, 64, ["core 2 is on router 64", "outside the 8x8 mesh"]),
    ("x", 0, 9, ["core 0 has x = 9", "router 0"]),
    ("y", 5, -1, ["cores.y[5] is -1"]),
])
def test_hand_edited_mapping_files(tmp_path, mapping_file, column, index, value, words) -> None:
    data = json.loads(mapping_file.read_text())
    data["cores"][column][index] = value
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    error = one_line_error(_map_here(tmp_path, "--mapping", str(edited)), 4, "edited.json", *words)
    assert "row-major" not in error


def test_mapping_file_with_a_huge_chip_grid(tmp_path, mapping_file) -> None:
    data = json.loads(mapping_file.read_text())
    data["chips"] = [200, 200]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    one_line_error(_map(tmp_path, "--mapping", str(edited)), 4, "200x200 grid",
                   "limits.max_routers")


# ----------------------------------------------------------------------------- reports


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One real run with warnings: 3 frames asked of a file holding 2, values outside [0, 1]."""
    root = tmp_path_factory.mktemp("run")
    images = np.linspace(-0.5, 1.5, 2 * 8 * 8).reshape(2, 8, 8)
    np.savez(root / "two.npz", x=images, y=np.array([3, 7]))
    proc = run_cli("map", "--data", f"npz:{root / 'two.npz'}", "--frames", "3", "--quiet",
                   "--set", "data.adapt=resize", "--out", str(root / "out"))
    return root / "out", proc


def test_warnings_are_one_line_each_and_the_run_completes(finished_run) -> None:
    out, proc = finished_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("canmore-sim: ")]
    assert warnings == [
        "canmore-sim: warning: asked for 3 frames but --data npz:"
        f"{out.parent / 'two.npz'} (test split) holds 2; simulating all 2",
        f"canmore-sim: warning: npz:{out.parent / 'two.npz'}: 64 of 128 float image values lie "
        "outside [0, 1] and were clipped (float images are intensities in [0, 1])"]
    assert len(json.loads((out / "report.json").read_text())["frames"]["data_index"]) == 2


def _damage(report: dict[str, object], how: str) -> dict[str, object]:
    if how == "drop-mean":
        report.pop("mean")
    elif how == "mean-as-list":
        report["mean"] = [1, 2, 3]
    elif how == "frames-uneven":
        report["frames"]["hops"] = report["frames"]["hops"][:-1]  # type: ignore[index]
    elif how == "layer-name-number":
        report["layers"][0]["weight_kib"] = "many"  # type: ignore[index]
    elif how == "huge-mesh":
        report["noc"]["routers"] = [100000, 100000]  # type: ignore[index]
    return report


@pytest.mark.parametrize(("how", "words"), [
    ("drop-mean", ["mean", "Field required"]),
    ("mean-as-list", ["mean", "dictionary"]),
    ("frames-uneven", ["frames.hops has 1 values"]),
    ("layer-name-number", ["layers.0.weight_kib"]),
    ("huge-mesh", ["noc.routers 100000x100000"]),
])
def test_damaged_report_json(tmp_path, finished_run, how, words) -> None:
    out, proc = finished_run
    assert proc.returncode == 0
    report = _damage(json.loads((out / "report.json").read_text()), how)
    folder = tmp_path / "damaged"
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps(report))
    one_line_error(run_cli("report", str(folder)), 3, "damaged report.json", *words)
    one_line_error(_map_here(tmp_path, "--energy", "truenorth", "--energy-reference",
                        str(folder / "report.json")), 3, "report.json")


# ----------------------------------------------------------------------------- Ctrl-C


def _loading_libraries(pid: int) -> bool:
    """Whether the process has begun loading numpy's or torch's compiled code."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False
    return "numpy" in maps or "libtorch" in maps


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_ctrl_c_during_start_up_is_one_line_and_exit_130(tmp_path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "canmore_sim.cli", "map", "--quiet", "--out",
                             str(tmp_path / "out")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + TIMEOUT_S
    while not _loading_libraries(proc.pid) and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.005)  # until numpy and torch are loading: the start-up of the tool
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert err.strip() == "canmore-sim: interrupted"
