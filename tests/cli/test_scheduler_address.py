"""Dask scheduler addresses (issue 28): checked at start-up, before any model loads, and
reached with a real deadline whatever the other side does: a plain HTTP server on
127.0.0.1 (a dashboard port given by mistake) and a server that accepts and never answers
are one line each, in time, naming the address."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_bad_inputs import one_line_error

TIMEOUT_S = 120


def _map(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "canmore_sim.cli", "map", "--frames", "1",
                           "--quiet", "--out", str(tmp_path / "out"), "--executor", "dask",
                           *args], capture_output=True, text=True, timeout=TIMEOUT_S,
                          check=False, cwd=tmp_path)


@pytest.mark.parametrize(("address", "words"), [
    ("localhost", "--scheduler 'localhost': no port"),
    ("dask://127.0.0.1:8786", "unknown scheme 'dask' (valid: tcp, tls, inproc)"),
    ("tcp://:8786", "no host"),
    ("tcp://127.0.0.1:0", "port '0' is not a number in 1..65535"),
    ("tcp://127.0.0.1:99999", "port '99999' is not a number in 1..65535"),
    ("tcp://127.0.0.1:http", "port 'http' is not a number"),
])
def test_a_bad_address_is_one_line_before_any_model_loads(tmp_path, address, words) -> None:
    # the model does not exist: the address is checked first, so its error is the one shown
    proc = _map(tmp_path, "--scheduler", address, "--model", str(tmp_path / "absent.pt"))
    one_line_error(proc, 2, words)
    assert not (tmp_path / "out").exists()


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts connections and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.mark.parametrize("server", ["http_port", "silent_port"])
def test_a_server_that_is_not_a_scheduler_ends_in_one_line_within_the_deadline(
        tmp_path, request, server) -> None:
    from canmore_sim.pool.scheduler import CONNECT_DEADLINE_S

    port = request.getfixturevalue(server)
    started = time.monotonic()
    proc = _map(tmp_path, "--scheduler", f"tcp://127.0.0.1:{port}")
    took = time.monotonic() - started
    one_line_error(proc, 2, f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}",
                   "no Dask handshake")
    assert took < CONNECT_DEADLINE_S + 60, took  # the deadline, plus start-up on a busy machine


def test_a_closed_port_is_one_line(tmp_path) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now
    proc = _map(tmp_path, "--scheduler", f"127.0.0.1:{port}")
    one_line_error(proc, 2, f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")


def test_a_real_scheduler_passes_the_probe() -> None:
    distributed = pytest.importorskip("distributed")
    from canmore_sim.pool.scheduler import parse_scheduler, probe_scheduler

    with distributed.LocalCluster(n_workers=1, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        address = parse_scheduler(cluster.scheduler_address)
        assert address.url == cluster.scheduler_address
        probe_scheduler(address, deadline_s=30)


@pytest.mark.parametrize(("text", "url"), [
    ("127.0.0.1:8786", "tcp://127.0.0.1:8786"),
    ("tls://sched.example:8786", "tls://sched.example:8786"),
    ("tcp://[::1]:8786", "tcp://[::1]:8786"),
    ("inproc://10.0.0.1/123/1", "inproc://10.0.0.1/123/1"),
])
def test_good_addresses_parse(text, url) -> None:
    from canmore_sim.pool.scheduler import parse_scheduler

    assert parse_scheduler(text).url == url
