"""Connection and request limits of ``gopush serve``, around uvicorn's h11 protocol.

uvicorn gives a keep-alive idle timeout, a head size limit (h11's incomplete-event size) and a
graceful stop; the rest is here, each rule at the place where the resource is spent:

- **Descriptors.** ``Listener.accept`` is where a connection takes a file descriptor, so the
  connection limit is enforced there. Below the limit a connection is accepted. At the
  limit, a new connection whose request has arrived takes the place of the connection that
  has waited longest for a request head (one that never sent a request before one kept
  alive after a request), which costs the registry nothing to lose. On Linux a connection is
  only handed over once it has sent data, or after ``DEFER_ACCEPT`` seconds of silence
  (``TCP_DEFER_ACCEPT``): idle sockets then cost the process nothing for a second, and one
  that arrives silent at the limit is turned away, as is any new connection when all are
  busy with requests (``503`` with ``Retry-After``).
  The default limit is derived from ``RLIMIT_NOFILE`` (``max_connections_for``), leaving room
  for the file each request may have open and for the database, logs and upstream fetches.
- **Heads.** A request head must be complete ``head_timeout`` seconds after the connection
  opened, or after its first byte on a kept-alive connection (whose idle wait is uvicorn's
  keep-alive timeout); else the connection is closed (``408`` if part of a head came).
  Heads are at most ``max_header_bytes`` and ``max_headers`` fields (431; an incomplete head
  beyond the size gets h11's 400).
- **Bodies.** ``BodyRate``: after ``grace`` seconds a body must have averaged ``min_rate``
  bytes/s, else ``408`` and the connection is closed (``receive.chunks`` also gives up a body
  that stalls for ``--body-timeout``).
- **Responses.** The mirror of ``BodyRate``, in ``GuardedH11Protocol``: a response whose
  send waits on a full socket buffer (the client reads slower than we write) may wait
  ``send_grace`` seconds at most if ``min_send_rate`` is 0; else once it has been sending
  for ``send_grace`` seconds it must have averaged ``min_send_rate`` bytes/s (counted when the buffer fills, so a slow
  application is never blamed on the client); else the transport is aborted, so its
  buffers and descriptor go at once. At the limit, a connection whose send has waited
  ``STALLED`` seconds may be evicted too, after the idle ones.
- **Logs.** ``QuietFloods`` lets a repeated error through once per ``interval`` as one line
  with a count: accept errors (EMFILE…) and uvicorn's "Invalid HTTP request received.".
  It also matters because asyncio (3.11) retries ``accept`` up to the backlog (2048) times in
  one tick after EMFILE, logging a traceback each time; ``Listener`` stops that batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import socket
import time
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from gopush.server.responses import ApiError
from gopush.server.settings import ConnectionLimits

RESERVED_FDS = 128  # the database, logs, the listener, worker threads' files, upstream sockets
FDS_PER_CONNECTION = 2  # its socket, and the blob or upload file a request may hold open
MAX_CONNECTIONS_CEILING = 10_000  # a derived limit stops here: memory, not descriptors
_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
_ACCEPT_RETRY = 1.0  # seconds asyncio waits before accepting again after EMFILE
SETTLE = 0.5  # seconds an accepted connection may take to reach its protocol (TLS handshake)
DEFER_ACCEPT = 1  # seconds Linux keeps a connection that sent nothing from accept()
SLACK = 32  # connections past the limit while those evicted to make room are being closed
SEND_WAIT = 10.0  # seconds one send may wait on a full buffer at least (see _send_deadline)
STALLED = 30.0  # seconds a send waits on a client that reads nothing before it is evictable


def max_connections_for(nofile: int) -> int:
    """Return the connection limit for a soft ``RLIMIT_NOFILE`` of ``nofile``."""
    return max(16, min(MAX_CONNECTIONS_CEILING, (nofile - RESERVED_FDS) // FDS_PER_CONNECTION))


class Connections:
    """The server's open connections, counted from accept to close: which of them are idle
    (waiting for a request head), and which have no protocol yet (accepted moments ago, or
    in their TLS handshake)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[int, socket.socket] = {}  # by descriptor, as accepted
        self._unmade: dict[int, float] = {}  # descriptor -> when accepted, until connection_made
        # Idle connections, oldest first; those that never sent a request go before
        # kept-alive ones, which proved to be clients.
        self._fresh: dict[GuardedH11Protocol, None] = {}
        self._kept: dict[GuardedH11Protocol, None] = {}
        # Connections whose send waits on a full socket buffer -> since when, oldest first.
        self._stalled: dict[GuardedH11Protocol, float] = {}

    def has_room(self, extra: int = 0) -> bool:
        """Tell whether one more connection stays within the limit (plus ``extra``); closed
        ones are forgotten here (asyncio closes the socket objects ``accept`` returned)."""
        if len(self._open) >= self.limit + extra:
            for fd, sock in list(self._open.items()):
                if sock.fileno() == -1:
                    del self._open[fd]
                    self._unmade.pop(fd, None)
        return len(self._open) < self.limit + extra

    def add(self, sock: socket.socket) -> None:
        """Count an accepted connection."""
        self._open[sock.fileno()] = sock
        self._unmade[sock.fileno()] = time.monotonic()

    def made(self, fd: int) -> None:
        """Record that the connection on descriptor ``fd`` has its protocol."""
        self._unmade.pop(fd, None)

    def idle(self, protocol: GuardedH11Protocol, *, kept: bool) -> None:
        """Record that ``protocol`` waits for a request head (it may be evicted); ``kept``:
        it has served a request before."""
        self.busy(protocol)
        (self._kept if kept else self._fresh)[protocol] = None

    def busy(self, protocol: GuardedH11Protocol) -> None:
        """Record that ``protocol`` serves a request, or is gone."""
        self._fresh.pop(protocol, None)
        self._kept.pop(protocol, None)

    def stalled(self, protocol: GuardedH11Protocol, since: float | None) -> None:
        """Record that ``protocol``'s send waits on a full buffer ``since`` then (monotonic
        time), or (None) no longer does."""
        self._stalled.pop(protocol, None)
        if since is not None:
            self._stalled[protocol] = since

    def make_room(self) -> bool:
        """Close the connection idle the longest (one that never sent a request first), or
        else the one whose send has waited over ``STALLED`` seconds the longest, or one whose
        TLS handshake has taken over ``SETTLE`` seconds; tell whether room is on its way
        (also when connections accepted just now may turn out idle)."""
        oldest = next(iter(self._fresh), None) or next(iter(self._kept), None)
        stalled = next(iter(self._stalled.items()), None)
        if oldest is None and stalled is not None and time.monotonic() - stalled[1] > STALLED:
            oldest = stalled[0]
        if oldest is not None:
            self.busy(oldest)
            self.stalled(oldest, None)
            oldest.transport.abort()  # no graceful TLS close: its descriptor is wanted now
            return True
        for fd, accepted in list(self._unmade.items()):
            if self._open[fd].fileno() == -1:
                del self._unmade[fd]
            elif time.monotonic() - accepted < SETTLE:
                return True
            else:  # shut down under asyncio's feet: its transport sees the end and closes
                del self._unmade[fd]
                with contextlib.suppress(OSError):
                    self._open[fd].shutdown(socket.SHUT_RDWR)
                return True
        return False


def _refusal() -> bytes:
    body = json.dumps({"detail": "The registry is at its connection limit; retry shortly."})
    return (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body.encode()))


_REFUSAL = _refusal()


class Listener(socket.socket):
    """A listening socket whose ``accept`` keeps the server within ``connections.limit``."""

    connections: Connections
    tls: bool = False
    deferred: bool = False  # the system hands over a connection once it has sent data
    _resume_at = 0.0

    @classmethod
    def adopt(cls, sock: socket.socket, connections: Connections, *, tls: bool) -> Listener:
        """Return a Listener for the bound socket ``sock`` (which it takes over)."""
        listener = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        listener.connections, listener.tls = connections, tls
        with contextlib.suppress(AttributeError, OSError):  # Linux only
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, DEFER_ACCEPT)
            listener.deferred = True
        return listener

    def accept(self) -> tuple[socket.socket, Any]:
        """Accept a connection within the limit, making room for it if need be.

        Raises:
            BlockingIOError: nothing to accept now; asyncio ends this round of accepts.
            OSError: EMFILE and the like, once per pause (asyncio then pauses accepting).
        """
        while True:
            if time.monotonic() < self._resume_at:
                raise BlockingIOError  # asyncio would retry accept() after EMFILE up to 2048x
            if not self.connections.has_room(extra=SLACK):
                raise BlockingIOError  # next round, once the connections evicted are closed
            conn, address = self._accept_counting()
            if self.connections.has_room() or self._room_for(conn):
                self.connections.add(conn)
                return conn, address

    def _accept_counting(self) -> tuple[socket.socket, Any]:
        try:
            return super().accept()
        except OSError as err:
            if err.errno in _OUT_OF_DESCRIPTORS:
                self._resume_at = time.monotonic() + _ACCEPT_RETRY
            raise

    def _room_for(self, conn: socket.socket) -> bool:
        """At the limit: make room for ``conn`` or turn it away (closed, 503 if plain HTTP).

        A connection whose request has arrived displaces the connection idle the longest.
        One that has sent nothing is turned away where accepts are deferred (it has been
        silent for ``DEFER_ACCEPT`` seconds): when idle sockets are closed and reopened as
        fast as the server can go, each would displace another, and requests queued behind
        them would wait. Elsewhere it may be a client about to send its request.
        """
        sent = _peek(conn)
        wanted = sent != b"" and (sent is not None or not self.deferred)
        if wanted and self.connections.make_room() and self.connections.has_room(extra=SLACK):
            return True
        try:
            if sent:
                conn.recv(65536, socket.MSG_DONTWAIT)  # unread bytes would turn close into RST
            if sent != b"" and not self.tls:
                conn.send(_REFUSAL, socket.MSG_DONTWAIT)
        except OSError:
            pass
        finally:
            conn.close()
        return False


def _peek(conn: socket.socket) -> bytes | None:
    """Return a byte the client has sent, b"" if it has gone, None if it sent nothing."""
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return None
    except OSError:
        return b""


_SEND_TOO_SLOW = "Response send too slow: connection aborted"
_HEAD_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                 b"Content-Length: 0\r\n\r\n")


class _ResponseMeter:
    """A transport that counts what the current response wrote to it (``written`` bytes,
    the first ``started`` at loop time); everything else is the transport's own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self.written, self.started = 0, None  # type: tuple[int, float | None]

    def next_response(self) -> None:
        self.written, self.started = 0, None

    def write(self, data: bytes) -> None:
        if self.started is None:
            self.started = self._loop.time()
        self.written += len(data)
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the head timeout, per-connection request limit, minimum
    send rate, and idle bookkeeping for ``Connections``. Bound to a server by
    ``protocol_for``."""

    guard: Connections  # not `connections`: uvicorn's own name for its set of them
    limits: ConnectionLimits
    send_grace: float  # seconds before min_send_rate applies; the longest wait on one send

    # uvicorn's own H11Protocol narrows the argument to asyncio.Transport (with this ignore)
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn hands self.transport to each request cycle, which writes the response; the
        # meter passes everything on to the transport (__getattr__), which no type can say
        self.transport = self.meter = _ResponseMeter(transport, self.loop)  # type: ignore[assignment]
        self._send_timer: asyncio.TimerHandle | None = None
        self.guard.made(transport.get_extra_info("socket").fileno())
        self._served = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = False
        self._wait_for_head()
        self._arm_head_timer()  # a new connection's first head counts from the open

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._cancel_send_timer()
        self.guard.busy(self)
        self.guard.stalled(self, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._waiting:
            self._head_bytes = True
            if self._head_timer is None:
                self._arm_head_timer()  # a kept-alive connection starts its next head
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:
            self._head_complete()

    def on_response_complete(self) -> None:
        cycle = self.cycle
        super().on_response_complete()
        if self.cycle is not cycle:
            self._head_complete()  # a pipelined request was already waiting
        elif not self.transport.is_closing():
            self._wait_for_head()

    def _wait_for_head(self) -> None:
        self._waiting, self._head_bytes = True, False
        self.guard.idle(self, kept=self._served > 0)

    def pause_writing(self) -> None:
        """The client reads slower than we write: give it until the send deadline."""
        super().pause_writing()
        self.guard.stalled(self, time.monotonic())
        self._cancel_send_timer()
        self._send_timer = self.loop.call_at(self._send_deadline(), self._send_timed_out)

    def resume_writing(self) -> None:
        self._cancel_send_timer()
        self.guard.stalled(self, None)
        super().resume_writing()

    def _send_deadline(self) -> float:
        """Loop time at which a send waiting now is given up: ``send_grace`` from now, or
        sooner when the bytes the client took so far fall behind ``min_send_rate``."""
        # Linux wakes a writer only once a third of the send buffer (up to MBs) is free, so
        # a client reading steadily may wait seconds: one wait may last SEND_WAIT at least.
        deadline = self.loop.time() + max(self.send_grace, SEND_WAIT)
        rate, started = self.limits.min_send_rate, self.meter.started
        if rate and started is not None:
            taken = self.meter.written - self.meter.get_write_buffer_size()
            deadline = min(deadline, started + self.send_grace + taken / rate)
        return deadline

    def _cancel_send_timer(self) -> None:
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    def _send_timed_out(self) -> None:
        self._send_timer = None
        if not self.flow.write_paused:
            return
        logging.getLogger("uvicorn.error").warning(
            _SEND_TOO_SLOW + " (%d bytes of a response taken in %.0f s)",
            self.meter.written - self.meter.get_write_buffer_size(),
            self.loop.time() - (self.meter.started or self.loop.time()))
        self.guard.busy(self)
        self.guard.stalled(self, None)
        self.transport.abort()  # a close would wait, buffers and all, for the client to read

    def _head_complete(self) -> None:
        self._waiting = False
        self.meter.next_response()
        self._cancel_head_timer()
        self.guard.busy(self)
        self._served += 1
        if self._served >= self.limits.keep_alive_requests:
            # uvicorn answers a request that says "Connection: close" with that header and
            # then closes: say it for the client (keep_alive alone closes without saying).
            headers = self.cycle.scope["headers"]
            assert isinstance(headers, list)  # ASGI types it Iterable; uvicorn's h11 makes a list
            headers.append((b"connection", b"close"))
            self.cycle.keep_alive = False

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.limits.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._waiting or self.transport.is_closing():
            return
        self.guard.busy(self)
        if self._head_bytes and self.conn.our_state is h11.IDLE:
            self.transport.write(_HEAD_TIMEOUT)  # h11 answers only complete requests
        self.transport.close()


def protocol_for(connections: Connections, limits: ConnectionLimits,
                 send_grace: float) -> type[H11Protocol]:
    """Return the protocol class uvicorn should use for a server with these limits; a
    response's send may wait ``send_grace`` seconds (and ``limits.min_send_rate`` applies
    after as many)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,),
                {"guard": connections, "limits": limits, "send_grace": send_grace})


class HeaderLimit:
    """ASGI middleware: a request head with more than ``max_headers`` fields, or larger than
    ``max_bytes``, gets 431. (h11 refuses an *incomplete* head beyond ``max_bytes`` with 400,
    which bounds memory while a head arrives; a complete head read in one piece, up to the
    256 KiB asyncio reads at once, reaches this check.)"""

    def __init__(self, app: ASGIApp, max_headers: int, max_bytes: int) -> None:
        self.app, self.max_headers, self.max_bytes = app, max_headers, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            size = (len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
                    + sum(len(name) + len(value) + 4 for name, value in headers))
            if len(headers) > self.max_headers or size > self.max_bytes:
                error = ApiError(431, f"Request head too large (limits: {self.max_headers} "
                                      f"header fields, {self.max_bytes} bytes).", close=True)
                await error.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyRate:
    """ASGI middleware: a request body that falls more than ``grace`` seconds behind
    ``min_rate`` bytes/s is refused (``408``, connection closed) when the application next
    waits for it; ``min_rate`` 0 turns this off."""

    def __init__(self, app: ASGIApp, min_rate: float, grace: float) -> None:
        self.app, self.min_rate, self.grace = app, min_rate, grace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.min_rate:
            await self.app(scope, receive, send)
            return
        await self.app(scope, self._paced(receive), send)

    def _paced(self, receive: Receive) -> Receive:
        loop = asyncio.get_running_loop()
        started: float | None = None
        received, done = 0, False

        async def paced() -> Message:
            nonlocal started, received, done
            if done:
                return await receive()  # e.g. a response waiting for the client to go
            if started is None:
                started = loop.time()
            allowed = started + self.grace + received / self.min_rate - loop.time()
            try:
                async with asyncio.timeout(max(allowed, 0)):
                    message = await receive()
            except TimeoutError:
                raise ApiError(408, f"Request body too slow: below {self.min_rate:g} bytes/s "
                                    f"on average.", close=True) from None
            received += len(message.get("body", b""))
            done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        return paced


class QuietFloods(logging.Filter):
    """Let each flooding error through once per ``interval`` seconds, as one line that says
    how often it happened meanwhile (no traceback)."""

    FLOODS = ("socket.accept() out of system resource", "Invalid HTTP request received.",
              _SEND_TOO_SLOW)

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__()
        self.interval = interval
        self._last: dict[str, float] = {}
        self._count: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        flood = next((f for f in self.FLOODS if text.startswith(f)), None)
        if flood is None:
            return True
        self._count[flood] = self._count.get(flood, 0) + 1
        now = time.monotonic()
        if now - self._last.get(flood, -self.interval) < self.interval:
            return False
        times, self._count[flood], self._last[flood] = self._count[flood], 0, now
        cause = record.exc_info[1] if record.exc_info else None
        record.msg = (f"{flood.rstrip('.')}{f': {cause}' if cause else ''} ({times} times "
                      f"since the last such line; at most one every {self.interval:g} s)")
        record.args, record.exc_info, record.exc_text = (), None, None
        return True
