"""registry.http and registry.deadline against a real loopback server: the overall deadline
of a request, and the time a slow but steady upload or download earns.

The server is ``http.server`` in a thread on 127.0.0.1; every handler stops by itself.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import pytest

from gopush.errors import RegistryUnavailable
from gopush.registry import deadline
from gopush.registry.http import Session, make_client

Handler = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def server(loopback: Callable[[Handler], str]) -> Callable[[Handler], str]:
    """Return start(handler) -> base URL (with a trailing slash) of a loopback server."""
    return lambda handle: loopback(handle) + "/"


def _steady(handler: BaseHTTPRequestHandler, total: int, rate: int) -> None:
    """Send ``total`` bytes of body at ``rate`` bytes per second."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(total))
    handler.end_headers()
    step = rate // 10
    for start in range(0, total, step):
        try:
            handler.wfile.write(b"x" * min(step, total - start))
        except OSError:
            return
        time.sleep(0.1)


def _read_steadily(handler: BaseHTTPRequestHandler, rate: int) -> None:
    """Read the request body at ``rate`` bytes per second, then answer 200 {}."""
    left = int(handler.headers["Content-Length"])
    step = rate // 10
    while left > 0:
        left -= len(handler.rfile.read(min(step, left)))
        time.sleep(0.1)
    handler.send_response(200)
    handler.send_header("Content-Length", "2")
    handler.end_headers()
    handler.wfile.write(b"{}")


def test_a_reply_kept_in_memory_earns_no_time(server: Callable[[Handler], str]) -> None:
    """A JSON reply arriving steadily above MIN_RATE is still cut at the base deadline."""
    url = server(lambda h: _steady(h, 2 * 1024 * 1024, 4 * deadline.MIN_RATE))
    session = Session(make_client(url), timeout=1.0)
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable, match="did not finish within the request deadline"):
        session.request("GET", "x", what="read")
    assert time.monotonic() - started < 5  # 1 s, far less than the 8 s the reply takes


def test_a_download_above_min_rate_earns_the_time_it_needs(
        server: Callable[[Handler], str]) -> None:
    """A download at 4 x MIN_RATE takes about 3 s: past the 1 s base deadline, allowed,
    because each byte received extends it."""
    total = 12 * deadline.MIN_RATE
    url = server(lambda h: _steady(h, total, 4 * deadline.MIN_RATE))
    got = io.BytesIO()
    session = Session(make_client(url), timeout=1.0)
    session.request("GET", "x", what="download", sink=lambda chunks: [got.write(c) for c in chunks])
    assert got.tell() == total


def test_a_download_below_min_rate_is_cut(server: Callable[[Handler], str]) -> None:
    """A download at MIN_RATE / 4 falls behind the allowance and is cut off."""
    url = server(lambda h: _steady(h, 4 * deadline.MIN_RATE, deadline.MIN_RATE // 4))
    session = Session(make_client(url), timeout=1.0)
    with pytest.raises(RegistryUnavailable, match="did not finish within the request deadline"):
        session.request("GET", "x", what="download", sink=lambda chunks: list(chunks))


def test_an_upload_read_slowly_earns_the_time_it_needs(server: Callable[[Handler], str]) -> None:
    """A registry reading a part at 4 x MIN_RATE (3 s for 12 x MIN_RATE bytes) is given the
    time: the base deadline is 1 s, plus 1 s per MIN_RATE bytes sent."""
    url = server(lambda h: _read_steadily(h, 4 * deadline.MIN_RATE))
    body = b"p" * (12 * deadline.MIN_RATE)
    session = Session(make_client(url), timeout=1.0)
    started = time.monotonic()
    reply = session.request("PUT", "part", what="upload a part",
                            body=lambda: (iter([body]), {"Content-Length": str(len(body))}))
    assert reply.status_code == 200 and time.monotonic() - started > 1.0


def test_the_deadline_is_per_thread_and_ends_with_the_block() -> None:
    """Outside a ``running`` block no deadline applies; blocks nest and restore."""
    assert deadline._active() is None
    with deadline.running(5) as outer:
        with deadline.running(1) as inner:
            assert deadline._active() is inner
        assert deadline._active() is outer
    assert deadline._active() is None
