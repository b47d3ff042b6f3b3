"""`gopush push` against registries that misbehave: it always ends, with the documented exit
code, a message naming the cause, bounded memory, and the API key never printed.

Each registry is a small real HTTP server on 127.0.0.1 (``http.server`` in a thread) that
answers every request with one fault; gopush runs as a subprocess, as a user starts it,
with a 2 s request deadline (``GOPUSH_REQUEST_TIMEOUT``). The first call of a push (the
package lookup, a JSON reply) meets the fault. Every server stops by itself: its handlers
give up after ``SERVER_LIMIT`` seconds or when the client hangs up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from loopback import drain_then

from gopush.errors import ExitCode
from gopush.registry.http import MAX_JSON_BYTES

KEY = "hostile-test-key-5e8a01"
DEADLINE = 2.0  # GOPUSH_REQUEST_TIMEOUT in these tests
SERVER_LIMIT = 60.0  # no handler runs longer than this
START_UP = 20.0  # interpreter start-up and the local zip check, on a busy machine
Answer = Callable[[BaseHTTPRequestHandler], None]


def _write(handler: BaseHTTPRequestHandler, data: bytes) -> bool:
    """Write ``data``; False once the client hung up."""
    try:
        handler.wfile.write(data)
        handler.wfile.flush()
        return True
    except OSError:
        return False


def endless(handler: BaseHTTPRequestHandler) -> None:
    """A 200 whose JSON body never ends, at about 160 KiB/s (above the upload rate the
    deadline allows for: a reply earns no extra time)."""
    _write(handler, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Connection: close\r\n\r\n[")
    chunk = b'{"name": "example.com/m", "version": "v1.0.0"},' * 170  # 8 kB
    stop = time.monotonic() + SERVER_LIMIT
    while time.monotonic() < stop and _write(handler, chunk):
        time.sleep(0.05)


def trickle_body(handler: BaseHTTPRequestHandler) -> None:
    """A complete head, then a body of one byte every 0.5 s."""
    _write(handler, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100000\r\n\r\n")
    _trickle(handler, b"[" + b" " * 99_998 + b"]")


def trickle_head(handler: BaseHTTPRequestHandler) -> None:
    """The status line and headers themselves, one byte every 0.5 s."""
    _trickle(handler, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"X-Padding: " + b"x" * 1000 + b"\r\nContent-Length: 2\r\n\r\n[]")


def _trickle(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    stop = time.monotonic() + SERVER_LIMIT
    for i in range(len(data)):
        if time.monotonic() > stop or not _write(handler, data[i:i + 1]):
            return
        time.sleep(0.5)


ITEM = b'{"name": "example.com/m", "version": "v1.0.0", "slug": "abc"},'
COUNT = 30_000_000 // len(ITEM) // 1000 * 1000
JSON_SIZE = COUNT * len(ITEM) + 1  # about 30 MB: "[" and COUNT items, the last "," a "]"


def json_30mb(handler: BaseHTTPRequestHandler, *, declared: bool) -> None:
    """A valid 30 MB JSON list of packages, fast, with or without Content-Length."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
    if declared:
        head += f"Content-Length: {JSON_SIZE}\r\n".encode()
    if not _write(handler, head + b"\r\n["):
        return
    for _ in range(COUNT // 1000 - 1):
        if not _write(handler, ITEM * 1000):
            return
    _write(handler, ITEM * 999 + ITEM[:-1] + b"]")


def redirect(target: str) -> Answer:
    """A 302 to ``target`` (``{port}`` is this server's port), for every request."""
    def answer(handler: BaseHTTPRequestHandler) -> None:
        location = target.format(port=handler.server.server_address[1], key=KEY)
        _write(handler, f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nConnection: close\r\n"
                        "Content-Length: 0\r\n\r\n".encode())
    return answer


@pytest.fixture
def registry(loopback: Callable[[Answer], str]) -> Callable[[Answer], str]:
    """Return start(answer) -> the URL of a loopback server answering every request so."""
    return lambda answer: loopback(drain_then(answer))


class Ran:
    """A finished `gopush push`: exit code, output, seconds and peak memory (MB)."""

    def __init__(self, code: int, out: str, err: str, seconds: float, peak_mb: float) -> None:
        self.code, self.out, self.err = code, out, err
        self.seconds, self.peak_mb = seconds, peak_mb


# Runs the command in argv[2:] and writes its peak RSS (kB) to argv[1]. A child's ru_maxrss
# includes the memory of the process it was forked from, before exec: measured straight
# from pytest, gopush would be charged with pytest's own 150 MB. This launcher is small.
LAUNCHER = ("import os, sys\n"
            "pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)\n"
            "_, status, usage = os.wait4(pid, 0)\n"
            "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
            "sys.exit(os.waitstatus_to_exitcode(status))\n")


def push(api_host: str, zip_path: Path, tmp_path: Path, *extra: str) -> Ran:
    """Run `gopush push go acme/gomods ZIP` as a subprocess; measure its peak RSS."""
    env = {**os.environ, "CI": "1", "GOPUSH_API_KEY": KEY, "GOPUSH_API_HOST": api_host,
           "GOPUSH_REQUEST_TIMEOUT": str(DEADLINE), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "NO_PROXY": "127.0.0.1"}
    out_path, err_path, rss_path = tmp_path / "stdout", tmp_path / "stderr", tmp_path / "rss"
    started = time.monotonic()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(rss_path), sys.executable,
                                 "-m", "gopush", "push", "go", "acme/gomods", str(zip_path),
                                 *extra], env=env, stdout=out, stderr=err,
                                start_new_session=True)
    try:
        proc.wait(SERVER_LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"gopush push did not end within {SERVER_LIMIT:.0f} s")
    seconds = time.monotonic() - started
    peak_mb = int(rss_path.read_text()) / 1024
    print(f"gopush push ended in {seconds:.2f} s, peak RSS {peak_mb:.1f} MB")
    return Ran(proc.returncode, out_path.read_text(), err_path.read_text(), seconds, peak_mb)


def _assert_no_key(ran: Ran) -> None:
    assert KEY not in ran.out and KEY not in ran.err


@pytest.mark.parametrize("answer", [endless, trickle_body, trickle_head],
                         ids=["endless", "trickle-body", "trickle-head"])
def test_slow_or_endless_reply_ends_at_the_deadline(registry: Callable[[Answer], str],
                                                    answer: Answer, module_zip: Path,
                                                    tmp_path: Path) -> None:
    """An endless body, a trickling body and a trickling head: the push ends once its 2 s
    deadline passed (not retried), exit 6, naming the registry and the deadline."""
    url = registry(answer)
    ran = push(url, module_zip, tmp_path)
    assert ran.code == ExitCode.UNAVAILABLE, ran.err
    assert f"{url} did not finish within the request deadline (2.0 s" in ran.err
    assert "GOPUSH_REQUEST_TIMEOUT" in ran.err
    assert ran.seconds < DEADLINE + START_UP
    _assert_no_key(ran)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_30_mb_json_reply_is_cut_at_the_cap(registry: Callable[[Answer], str], declared: bool,
                                            module_zip: Path, tmp_path: Path) -> None:
    """30 MB of valid JSON: reading stops past 2 MiB (or at once, when the size is
    declared), exit 6 naming the registry and the size; the client stays under 100 MB."""
    url = registry(lambda handler: json_30mb(handler, declared=declared))
    ran = push(url, module_zip, tmp_path)
    assert ran.code == ExitCode.UNAVAILABLE, ran.err
    size = f"{JSON_SIZE:,} bytes (declared)" if declared else "more than 2,"
    assert f"{url} sent a reply (200) of {size}" in ran.err
    assert ran.peak_mb < 100, f"peak RSS {ran.peak_mb:.0f} MB"
    assert ran.seconds < DEADLINE + START_UP
    _assert_no_key(ran)


def dense_json(handler: BaseHTTPRequestHandler) -> None:
    """A reply just under the 2 MiB cap that parses into the most objects: ``[{},{},...]``."""
    body = b"[" + b"{}," * (MAX_JSON_BYTES // 3 - 1) + b"{}]"
    _write(handler, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def test_the_densest_json_under_the_cap_stays_under_100_mb(
        registry: Callable[[Answer], str], module_zip: Path, tmp_path: Path) -> None:
    """Kept and parsed (the package list is a list: no match; the .info is not an object:
    exit 6), the reply that costs most memory per byte leaves the client under 100 MB."""
    url = registry(dense_json)
    ran = push(url, module_zip, tmp_path)
    assert ran.code == ExitCode.UNAVAILABLE, ran.err
    assert "not a JSON object" in ran.err
    assert ran.peak_mb < 100, f"peak RSS {ran.peak_mb:.0f} MB"
    _assert_no_key(ran)


def _other_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("where", ["other-origin", "same-origin"])
def test_redirect_with_credentials_is_refused_and_never_printed(
        registry: Callable[[Answer], str], where: str, module_zip: Path,
        tmp_path: Path) -> None:
    """A 302 whose Location carries user:KEY@ and ?api_key=KEY, to another port or to the
    registry itself: not followed, exit 5, the target named with its credentials masked."""
    port = _other_port() if where == "other-origin" else "{port}"
    url = registry(redirect(f"http://user:{{key}}@127.0.0.1:{port}/api/?page=2&api_key={{key}}"))
    ran = push(url, module_zip, tmp_path)
    assert ran.code == ExitCode.REJECTED, ran.err
    shown_port = port if where == "other-origin" else url.rsplit(":", 1)[1]
    assert (f"redirected (302) to http://***@127.0.0.1:{shown_port}/api/?page=2&api_key=***"
            in ran.err)
    why = "it carries credentials" if where == "same-origin" else f"it leaves {url}"
    assert f"gopush did not follow: {why}" in ran.err
    assert ran.seconds < DEADLINE + START_UP
    _assert_no_key(ran)


def test_redirect_within_the_origin_is_followed(registry: Callable[[Answer], str],
                                                module_zip: Path, tmp_path: Path) -> None:
    """A redirect to the same scheme, host and port is followed (here, to a path that
    redirects again: it ends after the redirect limit, exit 5, naming the last target)."""
    url = registry(redirect("http://127.0.0.1:{port}/again/?token={key}"))
    ran = push(url, module_zip, tmp_path, "-v")
    assert ran.code == ExitCode.REJECTED, ran.err
    assert ran.err.count("following a redirect (302) to") == 5, ran.err
    assert (f"too many redirects (a loop?): 5 followed within {url}, and the last reply "
            f"redirects again (302) to {url}/again/?token=***") in ran.err
    _assert_no_key(ran)
