"""Retries as a user sees them: in a real process, where no test harness captures logging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gopush.errors import ExitCode


class _BusyOnce(BaseHTTPRequestHandler):
    """Answers the first request 503 (Retry-After: 0), every later one as /user/self/."""

    answered = 0

    def do_GET(self) -> None:  # http.server calls do_<METHOD>
        type(self).answered += 1
        if type(self).answered == 1:
            self.send_response(503)
            self.send_header("Retry-After", "0")
            body = b'{"detail": "busy"}'
        else:
            self.send_response(200)
            body = json.dumps({"authenticated": True, "slug": "ci-bot", "name": "CI bot",
                               "email": "ci@example.com"}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Keep the test's output clean."""


@pytest.fixture
def busy_once() -> Iterator[str]:
    """A loopback API that fails its first request with 503; yield its URL."""
    _BusyOnce.answered = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BusyOnce)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("flags", [["-q"], ["--json"], []])
def test_a_retry_prints_no_library_log_lines(busy_once: str, tmp_path: Path,
                                             flags: list[str]) -> None:
    """The retry library's own log records never reach stderr: -q keeps errors only, and
    gopush reports retries itself (with -v)."""
    env = {**os.environ, "CI": "1", "GOPUSH_API_KEY": "retry-key-5c1e", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "NO_PROXY": "127.0.0.1"}
    done = subprocess.run([sys.executable, "-m", "gopush", *flags, "whoami", "acme/repo",
                           "--api-host", busy_once], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == ExitCode.OK, done.stderr
    assert _BusyOnce.answered == 2  # the retry did happen
    assert "stamina" not in done.stderr and "retry_scheduled" not in done.stderr
    if flags == ["-q"]:
        assert done.stderr == ""
    if flags == ["--json"]:
        assert json.loads(done.stdout)["username"] == "ci-bot"


def test_https_to_a_plain_http_server_is_not_retried(busy_once: str, tmp_path: Path) -> None:
    """A host written without a scheme means https; against a plain-http server the TLS
    handshake fails the same way every time: one try, and a hint to write http://."""
    env = {**os.environ, "CI": "1", "GOPUSH_API_KEY": "retry-key-5c1e", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "NO_PROXY": "127.0.0.1"}
    done = subprocess.run([sys.executable, "-m", "gopush", "-v", "whoami", "acme/repo",
                           "--api-host", busy_once.removeprefix("http://")], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == ExitCode.UNAVAILABLE, done.stderr
    assert "WRONG_VERSION_NUMBER" in done.stderr or "SSL" in done.stderr
    assert "write the API host as http://HOST:PORT" in done.stderr
    assert "retry 1/" not in done.stderr


def _free_port() -> int:
    """Return a loopback port nothing listens on (bound, then closed again)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k != "CI" and not k.startswith(("GOPUSH_", "CLOUDSMITH_"))}
    return {**env, "GOPUSH_API_KEY": "retry-key-5c1e", "HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path / "config"), "NO_PROXY": "127.0.0.1", **extra}


def test_a_wrong_port_gives_up_after_three_tries_and_shows_each(tmp_path: Path) -> None:
    """Nothing listens on the port (a wrong --api-host port): in CI, without -v, each retry
    is a line saying why and when; after 3 tries (not 6 over 37 s) exit 6 with a hint
    naming the port."""
    url = f"http://127.0.0.1:{_free_port()}"
    done = subprocess.run([sys.executable, "-m", "gopush", "whoami", "--api-host", url],
                          env=_clean_env(tmp_path, CI="true"), capture_output=True, text=True,
                          timeout=120, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == ExitCode.UNAVAILABLE, done.stderr
    retries = [line for line in done.stderr.splitlines() if "; try " in line]
    assert len(retries) == 2, done.stderr
    assert retries[0].startswith(f"ask who the API key belongs to: cannot reach {url} "
                                 "(ConnectError")
    assert "try 2 of 3 in" in retries[0] and "try 3 of 3 in" in retries[1]
    assert "tried 3 times" in done.stderr
    assert f"nothing listens at {url}" in done.stderr


def test_retries_show_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal (rich output) the retries are shown too, marked as retries, never with
    the tick of a step that succeeded."""
    import pty
    import select

    url = f"http://127.0.0.1:{_free_port()}"
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gopush", "whoami", "--api-host", url],
                            stdin=slave, stdout=slave, stderr=slave,
                            env=_clean_env(tmp_path, TERM="xterm", COLUMNS="200"),
                            close_fds=True)
    os.close(slave)
    seen = b""
    try:
        while proc.poll() is None or select.select([master], [], [], 0.2)[0]:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
        assert proc.wait(60) == ExitCode.UNAVAILABLE
    finally:
        proc.kill()
        os.close(master)
    text = seen.decode(errors="replace")
    assert "try 2 of 3 in" in text and "try 3 of 3 in" in text, text
    retries = [line for line in text.splitlines() if "cannot reach" in line and " of 3 in" in line]
    assert retries and all("✓" not in line and "↻" in line for line in retries), retries


def test_a_retried_503_is_shown_without_verbose(busy_once: str, tmp_path: Path) -> None:
    """A 503 that a retry gets past: in CI the retry is one line, then the result."""
    done = subprocess.run([sys.executable, "-m", "gopush", "whoami", "acme/repo",
                           "--api-host", busy_once], env=_clean_env(tmp_path, CI="1"),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == ExitCode.OK, done.stderr
    assert "ask who the API key belongs to: the registry answered 503; try 2 of 6 in" \
        in done.stderr
