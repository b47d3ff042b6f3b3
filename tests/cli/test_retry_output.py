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
