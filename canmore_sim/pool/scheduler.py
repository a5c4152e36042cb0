"""Dask scheduler addresses: parsed and checked before anything runs, reached with a deadline.

``--scheduler`` takes what ``distributed.Client`` takes: ``SCHEME://HOST:PORT`` with the
scheme ``tcp`` (the default when none is given: ``HOST:PORT``) or ``tls``, or an in-process
address ``inproc://...``. :func:`parse_scheduler` checks the scheme, the host and the port
at start-up, so a typo is one line before any model loads.

``distributed.Client(address, timeout=...)`` does not bound everything: a server that
accepts the connection and never answers (a plain HTTP server waits for a request) hangs
it, and one that answers anything else has its first eight bytes read as a frame length
(an HTTP reply asked for 3 EiB). :func:`probe_scheduler` therefore first connects itself,
with one deadline for the connection and the scheduler's greeting: a Dask scheduler speaks
first (its handshake: an 8-byte length, then that many bytes), so anything else within the
deadline, or nothing, is refused with one line naming the address.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

from canmore_sim.errors import ConfigError

__all__ = ["CONNECT_DEADLINE_S", "SchedulerAddress", "parse_scheduler", "probe_scheduler"]

#: Seconds to connect to a Dask scheduler and receive its handshake.
CONNECT_DEADLINE_S = 10.0
#: Largest handshake a scheduler sends, bytes (a few hundred in practice).
MAX_HANDSHAKE_BYTES = 1 << 20
_SCHEMES = ("tcp", "tls", "inproc")


@dataclass(frozen=True)
class SchedulerAddress:
    """A checked scheduler address: ``scheme``, ``host`` and ``port`` (0 for inproc)."""

    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        """The address as ``distributed`` takes it."""
        if self.scheme == "inproc":
            return f"inproc://{self.host}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_scheduler(text: str) -> SchedulerAddress:
    """Check ``--scheduler``: scheme tcp/tls/inproc, a host, a port in 1..65535.

    Raises
    ------
    ConfigError
        One line naming the address and what is wrong with it (key ``scheduler``).
    """
    def bad(why: str) -> ConfigError:
        return ConfigError(f"--scheduler {text!r}: {why}; expected tcp://HOST:PORT "
                           "(e.g. tcp://127.0.0.1:8786), tls://HOST:PORT or inproc://...",
                           key="scheduler")

    scheme, sep, rest = text.strip().partition("://")
    if not sep:
        scheme, rest = "tcp", text.strip()
    if scheme not in _SCHEMES:
        raise bad(f"unknown scheme {scheme!r} (valid: {', '.join(_SCHEMES)})")
    if scheme == "inproc":
        if not rest:
            raise bad("no in-process address")
        return SchedulerAddress("inproc", rest, 0)
    if ":" not in rest:
        raise bad("no port" if rest else "no host")
    if rest.startswith("["):  # [IPv6]:port
        host, close, tail = rest[1:].partition("]")
        port_text = tail[1:] if close and tail.startswith(":") else ""
    else:
        host, _, port_text = rest.rpartition(":")
    if not host or "/" in host or " " in host:
        raise bad("no host" if not host else f"bad host {host!r}")
    if not port_text:
        raise bad("no port")
    if not port_text.isdigit() or len(port_text) > 5 or not 1 <= int(port_text) <= 65535:
        raise bad(f"port {port_text[:20]!r} is not a number in 1..65535")
    return SchedulerAddress(scheme, host, int(port_text))


def probe_scheduler(address: SchedulerAddress, deadline_s: float = CONNECT_DEADLINE_S) -> None:
    """Connect and wait for a Dask scheduler's greeting, all within ``deadline_s``.

    ``tls`` addresses are only connected to (the greeting comes inside TLS); ``inproc``
    ones are not probed.

    Raises
    ------
    ConfigError
        Cannot connect, no greeting in time, or a greeting that is not a Dask handshake;
        one line naming the address.
    """
    if address.scheme == "inproc":
        return
    end = time.monotonic() + deadline_s

    def fail(why: str) -> ConfigError:
        return ConfigError(f"cannot reach the Dask scheduler at {address.url}: {why}",
                           key="scheduler")

    try:
        with socket.create_connection((address.host, address.port), timeout=deadline_s) as sock:
            if address.scheme == "tls":
                return
            head = _receive(sock, 8, end)
            if head is None:
                raise fail(f"no Dask handshake within {deadline_s:g} s (is it a Dask scheduler, "
                           "not its dashboard or another server?)")
            if not head:
                raise fail("it closed the connection without a Dask handshake")
            (length,) = struct.unpack("<Q", head)
            if not 0 < length <= MAX_HANDSHAKE_BYTES:
                raise fail("it answered, but not as a Dask scheduler does (is it the "
                           "dashboard or another server?)")
            if not _receive(sock, length, end):
                raise fail(f"its handshake did not arrive whole within {deadline_s:g} s")
    except ConfigError:
        raise
    except socket.gaierror as exc:
        raise fail(f"unknown host ({exc.strerror or exc})") from None
    except TimeoutError:
        raise fail(f"no connection within {deadline_s:g} s") from None
    except OSError as exc:
        raise fail(exc.strerror or str(exc)) from None


def _receive(sock: socket.socket, count: int, end: float) -> bytes | None:
    """Exactly ``count`` bytes before the monotonic time ``end``; None when the deadline
    passed first, and ``b""`` when the peer closed the connection first."""
    data = bytearray()
    while len(data) < count:
        left = end - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(min(count - len(data), 65536))
        except TimeoutError:
            return None
        if not chunk:
            return b""
        data += chunk
    return bytes(data)
