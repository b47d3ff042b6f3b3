"""An overall deadline per HTTP request, enforced at the socket.

httpx's timeouts bound each socket operation, so a registry that sends one byte every few
seconds (or an endless reply) is never cut off: every read restarts the clock. Here every
read, write and connect made while a request runs is bounded by that request's deadline
as well:

    a request must end (connection, request sent, reply's head and body read) within
    ``seconds`` plus one second per ``MIN_RATE`` bytes of request body sent so far (and,
    for a download, of reply received so far).

The allowance grows only with bytes actually moved, so a 100 MiB part on a slow link gets
the time it needs as long as the link averages ``MIN_RATE`` (a link slower than that is cut
off), while a trickle of a few bytes a second gets ``seconds`` and no more. A reply kept in
memory (JSON, at most ``http.MAX_JSON_BYTES``) earns no allowance: it ends within
``seconds``. A download earns it, and is bounded by its own size cap (the 500 MiB of a
module zip), so the time of any request is bounded.

The deadline belongs to the thread that sends the request (``running``), and the network
backend of the HTTP transport (``DeadlineBackend``) consults it on each socket operation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpcore

MIN_RATE = 64 * 1024  # bytes per second a transfer must average beyond the base deadline

T = TypeVar("T")


class Deadline:
    """The time left to one request; ``expired`` tells whether it ran out."""

    def __init__(self, seconds: float, *, downloads: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock, self.downloads = seconds, clock, downloads
        self.started = clock()
        self.moved = 0
        self.expired = False

    def left(self) -> float:
        """Return the seconds left (negative once past the deadline)."""
        return self.started + self.seconds + self.moved / MIN_RATE - self.clock()

    def allowed(self) -> float:
        """Return the whole time this request is allowed at the bytes moved so far."""
        return self.seconds + self.moved / MIN_RATE

    def bound(self, timeout: float | None) -> float:
        """Return ``timeout`` capped by the time left; when none is left, mark the deadline
        expired and raise ``httpcore.ReadTimeout`` (httpx maps it to its own)."""
        left = self.left()
        if left <= 0:
            self.expired = True
            raise httpcore.ReadTimeout("the request's deadline passed")
        return left if timeout is None else min(timeout, left)


_current = threading.local()


@contextmanager
def running(seconds: float, *, downloads: bool = False) -> Iterator[Deadline]:
    """Bound every socket operation of this thread by one new deadline while in the block;
    with ``downloads``, bytes received earn time as bytes sent do."""
    deadline = Deadline(seconds, downloads=downloads)
    outer = getattr(_current, "deadline", None)
    _current.deadline = deadline
    try:
        yield deadline
    finally:
        _current.deadline = outer


def _active() -> Deadline | None:
    return getattr(_current, "deadline", None)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes end by the running request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read as the inner stream does, within the deadline."""
        deadline = _active()
        if deadline is None:
            return self._inner.read(max_bytes, timeout)
        data = _bounded(deadline, lambda t: self._inner.read(max_bytes, t), timeout)
        if deadline.downloads:
            deadline.moved += len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write as the inner stream does, within the deadline."""
        deadline = _active()
        if deadline is None:
            return self._inner.write(buffer, timeout)
        _bounded(deadline, lambda t: self._inner.write(buffer, t), timeout)
        deadline.moved += len(buffer)
        return None

    def close(self) -> None:
        """Close the inner stream."""
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        """Start TLS on the inner stream (the handshake within the deadline)."""
        deadline = _active()
        start = self._inner.start_tls
        if deadline is None:
            return DeadlineStream(start(ssl_context, server_hostname, timeout))
        return DeadlineStream(_bounded(
            deadline, lambda t: start(ssl_context, server_hostname, t), timeout))

    def get_extra_info(self, info: str) -> Any:
        """Answer as the inner stream does."""
        return self._inner.get_extra_info(info)


def _bounded(deadline: Deadline, operation: Callable[[float | None], T],
             timeout: float | None) -> T:
    """Run ``operation(timeout)`` with the timeout capped by the deadline; a timeout that
    fires because the deadline passed marks it expired."""
    try:
        return operation(deadline.bound(timeout))
    except httpcore.TimeoutException:
        if deadline.left() <= 0:
            deadline.expired = True
        raise


class DeadlineBackend(httpcore.NetworkBackend):
    """The default synchronous network backend, its streams bounded by ``running``."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        """Connect as the inner backend does, within the deadline."""
        def connect(t: float | None) -> httpcore.NetworkStream:
            return self._inner.connect_tcp(host, port, t, local_address, socket_options)

        deadline = _active()
        stream = connect(timeout) if deadline is None else _bounded(deadline, connect, timeout)
        return DeadlineStream(stream)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        """Connect as the inner backend does (unused by gopush; kept complete)."""
        return DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        """Sleep as the inner backend does."""
        self._inner.sleep(seconds)
