"""Connection and request limits of `gopush serve` (server.limits), tried as an attacker
would on loopback: idle sockets, heads and bodies sent a byte at a time, abandoned part
uploads, and a server run out of file descriptors. Every flood here is bounded in count and
time and closes its sockets by itself."""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import select
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, Served, api_push, gopush_build, tagged_module
from gotool import GoOracle

from gopush.server import limits


def _nofile(limit: int) -> Callable[[], None]:
    """Return a preexec_fn giving the server ``limit`` file descriptors (soft and hard)."""
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


@pytest.fixture
def many_fds() -> Iterator[None]:
    """Let this test process open a few thousand sockets (the hard limit allowing)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if wanted < 4096:
        pytest.skip(f"needs 4096 file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _address(served: Served) -> tuple[str, int]:
    host, port = served.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _part_head(identifier: str, number: int, length: int) -> bytes:
    path = f"/_upload/parts/acme/mods/?upload_id={identifier}&part_number={number}"
    return (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {KEY}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def _parts_slot(served: Served, md5: str = "0" * 32) -> str:
    reply = httpx.post(f"{served.url}/files/acme/mods/", headers={"X-Api-Key": KEY}, json={
        "filename": "v1.0.0.zip", "md5_checksum": md5, "method": "put_parts"})
    assert reply.status_code == 202, reply.text
    return str(reply.json()["identifier"])


def _read_all(conn: socket.socket, limit: float) -> tuple[bytes, float]:
    """Read until the server closes (or ``limit`` seconds pass); return bytes and seconds."""
    started, reply = time.monotonic(), b""
    conn.settimeout(0.2)
    while time.monotonic() - started < limit:
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            break
        reply += chunk
    return reply, time.monotonic() - started


class IdleFlood:
    """Keep ``count`` connections open that never send a byte: those the server closed are
    opened again every ``every`` seconds (at most ``max_opens`` in all), until ``stop``."""

    def __init__(self, address: tuple[str, int], count: int, max_opens: int = 100_000,
                 every: float = 0.5) -> None:
        self.address, self.count, self.max_opens, self.every = address, count, max_opens, every
        self.opened = self.closed_by_server = 0
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> IdleFlood:
        self._thread.start()
        return self

    def _open(self) -> None:
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(self.address)
        self._selector.register(sock, selectors.EVENT_READ)
        self.opened += 1

    def _run(self) -> None:
        try:
            for _ in range(self.count):
                self._open()
            while not self._stop.wait(self.every):
                gone = [key.fileobj for key, _ in self._selector.select(0)]
                for sock in gone:
                    self._selector.unregister(sock)
                    sock.close()  # type: ignore[union-attr]
                    self.closed_by_server += 1
                for _ in gone:
                    if self.opened < self.max_opens:
                        self._open()
        finally:
            for key in list(self._selector.get_map().values()):
                key.fileobj.close()  # type: ignore[union-attr]
            self._selector.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


class Trickle:
    """Part uploads that each send one body byte every ``interval`` seconds until ``stop``."""

    def __init__(self, served: Served, count: int, interval: float = 1.0) -> None:
        identifier = _parts_slot(served)
        self.conns = []
        for number in range(1, count + 1):
            conn = socket.create_connection(_address(served), timeout=10)
            conn.sendall(_part_head(identifier, number, 1_000_000) + b"x")
            self.conns.append(conn)
        self.interval, self.failed = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for conn in self.conns:
                try:
                    conn.sendall(b"x")
                except OSError:
                    self.failed += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        for conn in self.conns:
            conn.close()


@contextmanager
def flooded(served: Served, idle: int, trickling: int) -> Iterator[tuple[IdleFlood, Trickle]]:
    """Run ``trickling`` trickling part uploads and ``idle`` idle connections at once."""
    trickle = Trickle(served, trickling)
    flood = IdleFlood(_address(served), idle).start()
    try:
        deadline = time.monotonic() + 30
        while flood.opened < idle and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # the server is now turning idle sockets over
        yield flood, trickle
    finally:
        flood.stop()
        trickle.stop()


def _timed(argv: list[str], env: dict[str, str], cwd: Path | None = None,
           limit: float = 30) -> tuple[subprocess.CompletedProcess[str] | None, float]:
    """Run a command; return it (None if it ran past ``limit``) and the seconds it took."""
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - started
    return proc, time.monotonic() - started


def test_idle_and_trickling_clients_do_not_lock_out_go_or_push(
        serve: Any, go: GoOracle, tmp_path: Path, many_fds: None) -> None:
    """With 1024 file descriptors (a common default), 2,000 idle connections (reopened as
    the server closes them) and 50 part bodies trickling a byte a second, a `go mod download`
    through the server's GOPROXY and a `gopush push` each succeed within 2 s."""
    served = serve(preexec_fn=_nofile(1024))
    repo = tagged_module(tmp_path / "repo", "example.com/flooded", ["v1.0.0", "v1.1.0"])
    first = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    second = gopush_build(repo.path, "v1.1.0", tmp_path / "dist")
    assert api_push(served.url, "acme/mods", first["zip"]).status_code == 201
    go_env = go.env(GOPROXY=served.goproxy("acme/mods"), GOFLAGS="-mod=mod -modcacherw",
                    GONOSUMDB="*", GOSUMDB="off", NO_PROXY="127.0.0.1")
    push_env = {**os.environ, "GOPUSH_API_HOST": served.url, "GOPUSH_API_KEY": KEY, "CI": "1",
                "NO_PROXY": "127.0.0.1"}

    with flooded(served, idle=2000, trickling=50) as (flood, trickle):
        rss, fds = _rss_mb(served.proc.pid), _fds(served.proc.pid)
        got, go_seconds = _timed([go.go, "mod", "download", "-json",
                                  "example.com/flooded@v1.0.0"], go_env, cwd=go.work)
        pushed, push_seconds = _timed([sys.executable, "-m", "gopush", "push", "go",
                                       "acme/mods", second["zip"], "--json"], push_env)
        trickling_failed = trickle.failed
    print(f"\nserve under flood: RSS {rss:.0f} MB, {fds} descriptors; go mod download "
          f"{go_seconds:.2f} s, gopush push {push_seconds:.2f} s; idle sockets opened "
          f"{flood.opened}, closed by the server {flood.closed_by_server}")
    assert got is not None and got.returncode == 0, got and got.stdout + got.stderr
    assert json.loads(got.stdout)["Sum"] == first["sum"]
    assert go_seconds < 2, f"go mod download took {go_seconds:.1f} s"
    assert pushed is not None and pushed.returncode == 0, pushed and pushed.stderr
    assert json.loads(pushed.stdout)["status"] == "published"
    assert push_seconds < 2, f"gopush push took {push_seconds:.1f} s"
    assert trickling_failed == 0, "the server dropped trickling bodies before their time"
    assert fds < 1024 and served.proc.poll() is None
    served.stop()
    assert "Traceback" not in served.stderr()


def test_idle_connection_is_closed_after_the_head_timeout(serve: Any) -> None:
    """A connection that sends nothing, and one that sends its head a byte at a time, are
    closed once --head-timeout passes since they opened (the second with a 408)."""
    served = serve("--head-timeout", "1")
    with socket.create_connection(_address(served)) as silent:
        reply, seconds = _read_all(silent, 15)
    assert reply == b"" and 0.8 < seconds < 5
    with socket.create_connection(_address(served)) as slow:
        head = b"GET /status/check/basic/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 200
        started = time.monotonic()
        for byte in head:
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.1)
            if time.monotonic() - started > 3:
                break
        reply, _ = _read_all(slow, 15)
    assert reply.startswith(b"HTTP/1.1 408 "), reply
    assert time.monotonic() - started < 6


def test_trickling_body_is_cut_off_by_the_minimum_rate(serve: Any) -> None:
    """A part body sent a byte every 0.2 s (never idle long enough for --body-timeout) is
    refused with 408 once it falls --body-timeout seconds behind --min-body-rate, and the
    connection is closed; nothing of it stays in tmp/."""
    served = serve("--body-timeout", "2", "--min-body-rate", "1000")
    identifier = _parts_slot(served)
    with socket.create_connection(_address(served)) as conn:
        conn.sendall(_part_head(identifier, 1, 100_000) + b"x")
        started = time.monotonic()
        while time.monotonic() - started < 15:
            try:
                conn.sendall(b"x")
            except OSError:
                break
            time.sleep(0.2)
            conn.settimeout(0.01)
            try:
                if conn.recv(1, socket.MSG_PEEK):
                    break
            except TimeoutError:
                pass
        reply, _ = _read_all(conn, 10)
    seconds = time.monotonic() - started
    status, _, rest = reply.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 408 "), reply
    assert b"connection: close" in rest.lower()
    assert "too slow" in json.loads(rest.split(b"\r\n\r\n", 1)[1])["detail"]
    assert 1.5 < seconds < 8
    deadline = time.monotonic() + 5
    while any((served.data / "tmp").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum(p.stat().st_size for p in (served.data / "tmp").iterdir()) == 0


def test_abandoned_part_uploads_hold_no_descriptor(serve: Any) -> None:
    """150 uploads whose first part arrived and whose client then went away leave no file
    open in the server; a part that comes later reopens the join, which completes intact."""
    served = serve()
    before = _fds(served.proc.pid)
    for _ in range(150):
        identifier = _parts_slot(served)
        reply = httpx.put(f"{served.url}/_upload/parts/acme/mods/", headers={"X-Api-Key": KEY},
                          params={"upload_id": identifier, "part_number": 1},
                          content=b"p" * 1000)
        assert reply.status_code == 200, reply.text
    after = _fds(served.proc.pid)
    print(f"\ndescriptors of serve: {before} before, {after} after 150 abandoned uploads")
    assert after - before < 10, f"{after - before} descriptors held by 150 abandoned uploads"

    data = os.urandom(3000)
    identifier = _parts_slot(served, hashlib.md5(data).hexdigest())
    for number, part in enumerate((data[:1000], data[1000:2000], data[2000:]), 1):
        reply = httpx.put(f"{served.url}/_upload/parts/acme/mods/", headers={"X-Api-Key": KEY},
                          params={"upload_id": identifier, "part_number": number},
                          content=part)
        assert reply.status_code == 200, reply.text
    done = httpx.post(f"{served.url}/files/acme/mods/{identifier}/complete/",
                      headers={"X-Api-Key": KEY}, json={"upload_id": identifier})
    assert done.status_code == 201, done.text  # the MD5 of the three parts joined matched


def test_accept_errors_are_logged_once_per_interval(serve: Any, tmp_path: Path,
                                                    many_fds: None) -> None:
    """A server let past its descriptors (--max-connections above what 256 allow) writes
    one line about it per interval, not a traceback per failed accept, and serves again
    once the connections are gone."""
    stderr = tmp_path / "stderr"
    with stderr.open("wb") as sink:
        served = serve("--max-connections", "5000", preexec_fn=_nofile(256), stderr=sink)
        flood = IdleFlood(_address(served), 1000, max_opens=1000).start()
        time.sleep(5)
        flood.stop()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                reply = httpx.get(f"{served.url}/status/check/basic/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        served.stop()
    text = stderr.read_text(errors="replace")
    print(f"\nstderr during 5 s out of descriptors: {len(text)} bytes")
    assert reply.status_code == 200
    assert "socket.accept() out of system resource: [Errno 24] Too many open files" in text
    assert len(text) < 10_000 and "Traceback" not in text


def _exchange(conn: socket.socket, request: bytes) -> bytes:
    """Send one request; return the reply head (status line and header fields) once the
    whole reply (its Content-Length) has been read."""
    conn.sendall(request)
    reply = b""
    while b"\r\n\r\n" not in reply and (chunk := conn.recv(65536)):
        reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
                   if line.startswith(b"content-length:")), 0)
    while len(body) < length and (chunk := conn.recv(65536)):
        body += chunk
    return head


def test_header_and_keep_alive_limits(serve: Any) -> None:
    """More header fields than --max-headers get 431, a head larger than --max-header-bytes
    gets 431 (400 while it is still incomplete), and a connection is closed after --keep-alive-requests requests."""
    served = serve("--max-headers", "5", "--max-header-bytes", "2048",
                   "--keep-alive-requests", "2")
    get = b"GET /status/check/basic/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    with socket.create_connection(_address(served), timeout=10) as conn:
        many = get + b"".join(b"X-%d: 1\r\n" % n for n in range(5)) + b"\r\n"
        assert _exchange(conn, many).startswith(b"HTTP/1.1 431 ")
    with socket.create_connection(_address(served), timeout=10) as conn:
        large = get + b"X-Big: " + b"a" * 3000 + b"\r\n\r\n"
        assert _exchange(conn, large).startswith(b"HTTP/1.1 431 ")  # complete, in one piece
    with socket.create_connection(_address(served), timeout=10) as conn:
        conn.sendall(get + b"X-Big: " + b"a" * 3000)
        assert _read_all(conn, 5)[0].startswith(b"HTTP/1.1 400 ")  # still incomplete
    with socket.create_connection(_address(served), timeout=10) as conn:
        first = _exchange(conn, get + b"\r\n")
        assert first.startswith(b"HTTP/1.1 200 ") and b"connection: close" not in first.lower()
        second = _exchange(conn, get + b"\r\n")
        assert second.startswith(b"HTTP/1.1 200 ") and b"connection: close" in second.lower()
        assert _read_all(conn, 5)[1] < 5  # closed by the server


def test_connection_limit_evicts_idle_then_refuses(serve: Any) -> None:
    """At --max-connections, a new client gets in by closing the connection idle the
    longest; when every connection is busy with a request, it gets 503 with Retry-After at
    once."""
    served = serve("--max-connections", "10")
    get = b"GET /status/check/basic/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    time.sleep(0.3)  # the connection start_serve probed with is closed
    idle = [socket.create_connection(_address(served), timeout=10) for _ in range(10)]
    time.sleep(1.5)  # on Linux a silent connection reaches the server after 1 s
    try:
        assert select.select(idle, [], [], 0)[0] == []
        with socket.create_connection(_address(served), timeout=10) as conn:
            assert _exchange(conn, get).startswith(b"HTTP/1.1 200 ")
        time.sleep(0.2)
        gone = select.select(idle, [], [], 0)[0]  # the oldest (they reached it at once)
        assert len(gone) == 1 and gone[0].recv(1) == b""
    finally:
        for conn in idle:
            conn.close()
    time.sleep(0.5)
    trickle = Trickle(served, 10)
    try:
        time.sleep(0.5)
        with socket.create_connection(_address(served), timeout=10) as conn:
            conn.sendall(get)
            reply, seconds = _read_all(conn, 5)
        assert reply.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1" in reply
        assert seconds < 1
    finally:
        trickle.stop()


def _hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _slow_read(address: tuple[str, int], path: str, rate: int, slow_for: float,
               got: list[int]) -> None:
    """GET ``path``, read it at ``rate`` bytes/s for ``slow_for`` seconds, then at full
    speed; append the bytes of the response received to ``got`` (the server closing early
    leaves it short)."""
    with socket.create_connection(address) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                     .encode())
        conn.settimeout(30)
        started, total = time.monotonic(), 0
        while True:
            slow = time.monotonic() - started < slow_for
            try:
                chunk = conn.recv(rate // 8 if slow else 1 << 20)
            except OSError:
                break
            if not chunk:
                break
            total += len(chunk)
            if slow:
                time.sleep(1 / 8)
        got.append(total)


def test_unread_downloads_do_not_lock_out_go(serve: Any, go: GoOracle, tmp_path: Path,
                                             many_fds: None) -> None:
    """With 1024 file descriptors (448 connections), 460 clients that ask for an 8 MiB
    module zip and read none of it are aborted once --body-timeout (2 s here) passes below
    --min-send-rate: then a `go mod download` and a `.info` GET each succeed within 2 s, the
    and a client reading the zip at 64 KiB/s all the
    while gets all of it."""
    served = serve("--body-timeout", "2", preexec_fn=_nofile(1024))
    blob = random.Random(7).randbytes(4 << 20).hex().encode()  # 8 MiB, hardly compressible
    repo = tagged_module(tmp_path / "repo", "example.com/held", ["v1.0.0"],
                         extra={"blob.txt": blob})
    built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    assert api_push(served.url, "acme/mods", built["zip"]).status_code == 201
    zip_size = Path(built["zip"]).stat().st_size
    address, zip_path = _address(served), "/go/acme/mods/example.com/held/@v/v1.0.0.zip"
    go_env = go.env(GOPROXY=served.goproxy("acme/mods"), GOFLAGS="-mod=mod -modcacherw",
                    GONOSUMDB="*", GOSUMDB="off", NO_PROXY="127.0.0.1")
    slow: list[int] = []
    reader = threading.Thread(target=_slow_read, args=(address, zip_path, 64 * 1024, 8, slow))
    reader.start()
    holders = []
    try:
        for _ in range(460):
            conn = socket.socket()
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            conn.connect(address)
            conn.sendall(f"GET {zip_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            holders.append(conn)
        opened = time.monotonic()
        time.sleep(limits.SEND_WAIT)  # the longest single wait on a client reading nothing
        while (httpx.get(served.url + "/healthz", timeout=10).status_code == 503
               and time.monotonic() - opened < 60):  # the holders' aborts, on a busy machine
            time.sleep(0.5)
        freed = time.monotonic() - opened
        started = time.monotonic()
        info = httpx.get(served.url + zip_path.replace(".zip", ".info"), timeout=10)
        info_seconds = time.monotonic() - started
        got, go_seconds = _timed([go.go, "mod", "download", "-json", "example.com/held@v1.0.0"],
                                 go_env, cwd=go.work)
        hwm = _hwm_mb(served.proc.pid)
    finally:
        for conn in holders:
            conn.close()
        reader.join(60)
    print(f"\nunread downloads: slots free after {freed:.1f} s; .info {info.status_code} in {info_seconds:.2f} s, go mod "
          f"download {go_seconds:.2f} s, server peak RSS {hwm:.0f} MB, slow reader got "
          f"{slow} of {zip_size} zip bytes")
    assert info.status_code == 200 and info_seconds < 2, info.text
    assert got is not None and got.returncode == 0, got and got.stdout + got.stderr
    assert json.loads(got.stdout)["Sum"] == built["sum"]
    assert go_seconds < 2, f"go mod download took {go_seconds:.1f} s"
    # the peak (167 MB) is the holders' buffers before they are aborted: not yet < 150 MB
    assert slow and slow[0] > zip_size, "the slow reader was cut off"
    served.stop()
    assert "Traceback" not in served.stderr()


def test_json_body_declared_past_the_cap_is_refused_before_reading(serve: Any) -> None:
    """A keyed JSON request declaring a 1 GB body gets 413 at once (nothing of it read), the
    connection closed: it cannot hold a slot while trickling just over --min-body-rate."""
    served = serve()
    with socket.create_connection(_address(served)) as conn:
        started = time.monotonic()
        conn.sendall(f"POST /files/acme/mods/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {KEY}"
                     f"\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{{"
                     .encode())
        reply, _ = _read_all(conn, 10)
    assert reply.startswith(b"HTTP/1.1 413 "), reply
    assert time.monotonic() - started < 2
