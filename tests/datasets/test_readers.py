"""Readers of the standard data formats, on small files the tests write in those formats."""

from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from canmore_sim.cli.main import main
from canmore_sim.datasets.readers import load_frames, read_cifar10_batch, read_idx, shape_frames
from canmore_sim.errors import DataError

RNG = np.random.default_rng(0)


def _idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_gzipped_or_not(tmp_path, gz: bool) -> None:
    images = RNG.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    for stem, array in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        data = _idx_bytes(array)
        (tmp_path / (stem + (".gz" if gz else ""))).write_bytes(gzip.compress(data) if gz
                                                               else data)
    frames, y, ids = load_frames(f"mnist:{tmp_path}", (1, 28, 28), 5)
    assert frames.shape == (5, 1, 28, 28) and np.array_equal(y, labels[ids])
    assert np.allclose(frames, images[ids][:, None] / 255.0)
    flat, _, _ = load_frames(f"fashion-mnist:{tmp_path}", (784,), 2)
    assert flat.shape == (2, 784)


def test_corrupt_idx(tmp_path) -> None:
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x05")
    with pytest.raises(DataError, match="IDX"):
        read_idx(tmp_path / "bad")
    with pytest.raises(DataError, match="t10k-images"):
        load_frames(f"mnist:{tmp_path}", (1, 28, 28), 1)


def test_cifar10_python_batch(tmp_path) -> None:
    data = RNG.integers(0, 256, (4, 3072)).astype(np.uint8)
    with open(tmp_path / "test_batch", "wb") as handle:
        pickle.dump({b"batch_label": b"testing", b"data": data, b"labels": [3, 1, 4, 1]}, handle,
                    protocol=2)
    images, labels = read_cifar10_batch(tmp_path / "test_batch")
    assert images.shape == (4, 3, 32, 32) and labels.tolist() == [3, 1, 4, 1]
    assert np.array_equal(images[2, 1].reshape(-1), data[2, 1024:2048])
    frames, _, _ = load_frames(f"cifar10:{tmp_path}", (3, 32, 32), 4)
    assert frames.shape == (4, 3, 32, 32) and frames.min() >= 0 and frames.max() <= 1


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_cifar10_batch_that_would_run_code_is_refused(tmp_path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": _Evil(str(marker))}))
    with pytest.raises(DataError, match="refused"):
        read_cifar10_batch(tmp_path / "test_batch")
    assert not marker.exists()


def test_npy_and_npz(tmp_path) -> None:
    np.save(tmp_path / "a.npy", RNG.random((3, 16, 16, 3)).astype(np.float32))  # N, H, W, C
    frames, labels, _ = load_frames(f"npy:{tmp_path / 'a.npy'}", (1, 32, 32), 3,
                                    adapt="resize")
    assert frames.shape == (3, 1, 32, 32) and (labels == -1).all()
    np.savez(tmp_path / "b.npz", images=RNG.integers(0, 256, (6, 8, 8)), labels=np.arange(6))
    frames, labels, ids = load_frames(f"npz:{tmp_path / 'b.npz'}", (3, 8, 8), 6, seed=1,
                                      adapt="resize")
    assert frames.shape == (6, 3, 8, 8) and np.array_equal(labels, ids)
    np.savez(tmp_path / "c.npz", z=np.zeros(3))
    with pytest.raises(DataError, match="'x' or 'images'"):
        load_frames(f"npz:{tmp_path / 'c.npz'}", (1, 8, 8), 1)
    with pytest.raises(DataError, match="not found"):
        load_frames(f"npy:{tmp_path / 'none.npy'}", (1, 8, 8), 1)
    with pytest.raises(DataError, match="unknown source"):
        load_frames("imagenet:/data", (1, 8, 8), 1)


def test_shape_frames_rejects_odd_inputs() -> None:
    with pytest.raises(DataError):
        shape_frames(np.zeros((2, 5)), (1, 8, 8))
    with pytest.raises(DataError, match="square"):
        shape_frames(np.zeros((2, 8, 8)), (10,))


def test_map_with_data_flag(tmp_path, capsys) -> None:
    np.savez(tmp_path / "d.npz", x=RNG.integers(0, 256, (4, 28, 28)), y=np.arange(4))
    code = main(["map", "--model", "mlp", "--weights", "synthetic", "--data",
                 f"npz:{tmp_path / 'd.npz'}", "--frames", "2", "--out", str(tmp_path / "o"),
                 "--quiet"])
    assert code == 0
    assert main(["map", "--data", "cifar10:/nonexistent", "--out", str(tmp_path / "p")]) == 3
    assert "not found" in capsys.readouterr().err


def test_digits_read_without_sklearn_equal_sklearns_own(monkeypatch) -> None:
    import sys

    from sklearn.datasets import load_digits

    import canmore_sim.datasets.digits as digits

    pixels, labels = digits.read_digits()
    bunch = load_digits()
    assert np.array_equal(pixels, bunch.data) and np.array_equal(labels, bunch.target)
    assert pixels.shape == (1797, 64)
    # without the data file it falls back to scikit-learn's loader, same numbers
    monkeypatch.setattr(digits, "_digits_file", lambda: None)
    again, again_labels = digits.read_digits()
    assert np.array_equal(again, pixels) and np.array_equal(again_labels, labels)
    # and without scikit-learn at all: one clear error
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(DataError, match="scikit-learn"):
        digits.read_digits()
