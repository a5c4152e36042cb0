"""A user's own DTA-TTFS network, made the way the official code makes one (issue 26).

* CIFAR-10 "python version" files written here (``data_batch_1``, ``test_batch``): 32x32
  colour images whose class decides where a bright square sits, plus noise;
* a VGG-like network in the official layer layout (``conv.{i}.cnn``, ``fc.{i}.linear``,
  3x3 convs with padding 1, no biases) written here in PyTorch, independently of
  canmore-sim's neuron code, with the official proxy model's equations in activation
  space (``a = 1 - t_rel``, papers/004 Eq. 6 rewritten):

  - layer 1 takes the normalized values ``x_i``: ``W_j = sum_i w_ij [x_i > 0]``,
    ``P_j = sum_i w_ij x_i`` over every input (negative values too);
  - every hidden layer: ``a_j = (W_j + P_j) / (1 + W_j)``, ``a_j = 1`` where ``P_j >= 1``,
    ``a_j = 0`` where ``W_j + P_j <= 0``; it fires where ``a_j > 0``, at
    ``t_j = (l + 1 - a_j) Tw``; max pooling takes the largest ``a`` (earliest spike);
  - the output is ``P_j`` (the potential at the output window start); class = argmax;

* trained for a few seconds on the training file, normalized as the official code does
  (``ToTensor`` then ``Normalize`` with the CIFAR-10 mean and std), and saved as a bare
  state_dict.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)
#: Conv widths and pools of the small VGG-like network, then its dense layers.
CONVS = ((4, True), (8, True), (8, True))
DENSE = (16, 10)
SPEC = "32x32x3:4C3-P2-8C3-P2-8C3-P2-16F-10F"


def write_cifar(folder: Path, n_train: int = 400, n_test: int = 40, seed: int = 0) -> Path:
    """CIFAR-10 python batches in ``folder``: ``data_batch_1`` and ``test_batch``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("data_batch_1", n_train), ("test_batch", n_test)):
        labels = rng.integers(0, 10, n)
        images = rng.normal(110, 40, (n, 3, 32, 32))
        for i, c in enumerate(labels):
            y, x = 4 + 6 * (c // 5) * 2, 2 + 6 * (c % 5)
            images[i, c % 3, y:y + 8, x:x + 6] += 120
            images[i, (c + 1) % 3, :, :] -= 20 * (c % 2)
        data = np.clip(images, 0, 255).astype(np.uint8).reshape(n, 3072)
        with open(folder / name, "wb") as handle:
            pickle.dump({b"batch_label": name.encode(), b"data": data,
                         b"labels": [int(c) for c in labels]}, handle, protocol=2)
    return folder


def read_normalized(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A batch as the official code feeds it: ``(x / 255 - mean) / std``, float64."""
    with open(path, "rb") as handle:
        batch = pickle.load(handle, encoding="bytes")  # the test's own file
    x = np.asarray(batch[b"data"], dtype=np.float64).reshape(-1, 3, 32, 32) / 255.0
    x = (x - np.reshape(MEAN, (1, 3, 1, 1))) / np.reshape(STD, (1, 3, 1, 1))
    return x, np.asarray(batch[b"labels"], dtype=np.int64)


class _Conv(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.cnn = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)


class _Dense(nn.Module):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out, bias=False)


def _activation(w_sum: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """The proxy model's ``a_j`` from ``W_j`` and ``P_j``."""
    denom = torch.where(1.0 + w_sum > 0, 1.0 + w_sum, torch.ones_like(w_sum))
    a = (w_sum + p) / denom
    a = torch.where(w_sum + p <= 0, torch.zeros_like(a), a)
    return torch.where(p >= 1.0, torch.ones_like(a), a)


class ProxyNet(nn.Module):
    """The official proxy model of a small VGG in the official layer layout."""

    def __init__(self) -> None:
        super().__init__()
        widths = [3] + [c for c, _ in CONVS]
        self.conv = nn.ModuleList(_Conv(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        side = 32 // 2 ** sum(pool for _, pool in CONVS)
        sizes = [CONVS[-1][0] * side * side, *DENSE]
        self.fc = nn.ModuleList(_Dense(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    def layers(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Per hidden layer its activations before pooling, and the output ``P``."""
        a, spiked = x, (x > 0).to(x.dtype)  # layer 1: the normalized values themselves
        hidden = []
        for (_, pool), conv in zip(CONVS, self.conv, strict=True):
            w = conv.cnn.weight
            a = _activation(F.conv2d(spiked, w, padding=1), F.conv2d(a, w, padding=1))
            hidden.append(a)
            if pool:
                a = F.max_pool2d(a, 2)
            spiked = (a > 0).to(a.dtype)
        a, spiked = a.flatten(1), spiked.flatten(1)
        for dense in self.fc[:-1]:
            w = dense.linear.weight
            a = _activation(spiked @ w.T, a @ w.T)
            hidden.append(a)
            spiked = (a > 0).to(a.dtype)
        return hidden, a @ self.fc[-1].linear.weight.T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)[1]


def train(folder: Path, steps: int = 150, seed: int = 0) -> tuple[ProxyNet, float]:
    """The network trained on ``folder/data_batch_1`` (Adam, batches of 32; one torch
    thread: a few seconds); and its accuracy on the training file."""
    x, y = read_normalized(folder / "data_batch_1")
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: threads only contend on a shared machine
    try:
        torch.manual_seed(seed)
        net = ProxyNet()
        for module in net.modules():  # slightly positive weights, so the net is not silent
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                scale = 1.0 / np.sqrt(module.weight[0].numel())
                nn.init.normal_(module.weight, 0.02 * scale, scale)
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        rng = np.random.default_rng(seed)
        for _ in range(steps):
            idx = torch.as_tensor(rng.choice(len(xt), 32, replace=False))
            loss = F.cross_entropy(net(xt[idx]) * 4.0, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            accuracy = float((net(xt).argmax(1) == yt).float().mean())
    finally:
        torch.set_num_threads(threads)
    return net, accuracy


def reference(weights: list[np.ndarray], x: np.ndarray,
              tw: float = 1.0) -> tuple[list[np.ndarray], np.ndarray]:
    """Spike times per hidden layer before pooling (``inf``: none) and the output ``P``,
    of the proxy model with ``weights`` (in state_dict order) on normalized ``x``."""
    net = ProxyNet().double()
    params = [m.cnn.weight for m in net.conv] + [m.linear.weight for m in net.fc]
    with torch.no_grad():
        for p, w in zip(params, weights, strict=True):
            p.copy_(torch.as_tensor(np.asarray(w, dtype=np.float64)))
        hidden, out = net.layers(torch.as_tensor(x, dtype=torch.float64))
    times = [np.where(a.numpy() > 0, (l + 1 - a.numpy()) * tw, np.inf)
             for l, a in enumerate(hidden, start=1)]
    return times, out.numpy()


def save_state_dict(net: ProxyNet, path: Path) -> Path:
    """The bare state_dict, as the official code saves it."""
    torch.save(net.state_dict(), path)
    return path
