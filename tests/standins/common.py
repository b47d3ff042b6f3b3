"""What the Gitea and Artifactory stand-ins share: an HTTP/1.1 server process on 127.0.0.1,
credentials from the request, a request log and injected faults, all for tests only.

Each stand-in runs as its own process (``python tests/standins/NAME.py CONFIG.json``), prints
its port on the first line of stdout, and stops on SIGTERM. Beside the server's own routes it
answers ``/-/standin/...`` (never part of the real server):

- ``GET /-/standin/requests``: every request so far (method, raw path, headers), in order;
- ``POST /-/standin/faults``: JSON ``{"drop_reply": {"method": M, "contains": S}}`` makes the
  next matching request take effect and then close the connection without any reply (a
  lost reply); ``{"corrupt": {...}}`` flips a byte of the next matching body before the
  server reads it (bytes changed in transit).
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

MAX_BODY = 64 * 1024 * 1024  # the tests' modules are small; bound what a stand-in reads


class Credentials:
    """What a request presents: Basic user/secret, or a bearer/``token`` secret."""

    def __init__(self, header: str | None) -> None:
        self.user: str | None = None
        self.secret: str | None = None
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() == "basic":
            user, _, secret = base64.b64decode(value).decode().partition(":")
            self.user, self.secret = user, secret
        elif scheme.lower() in ("bearer", "token"):
            self.secret = value.strip()


class StandinServer(ThreadingHTTPServer):
    """A threading server holding the stand-in's state behind one lock."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], config: dict[str, Any]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.config = config
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.faults: dict[str, dict[str, str]] = {}


class StandinHandler(BaseHTTPRequestHandler):
    """Base handler: logs, reads bodies (bounded), replies, applies faults."""

    protocol_version = "HTTP/1.1"
    server: StandinServer

    def log_message(self, *args: Any) -> None:
        """Quiet: the request log is the record."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        if self.path.startswith("/-/standin/"):
            self._control(method)
            return
        with self.server.lock:
            self.server.requests.append({"method": method, "path": self.path,
                                         "headers": {k.lower(): v for k, v in self.headers.items()}})
        self.route(method, self.path.split("?", 1)[0])

    def route(self, method: str, path: str) -> None:
        """Answer one request (the stand-in's routes)."""
        raise NotImplementedError

    def _control(self, method: str) -> None:
        if method == "GET" and self.path == "/-/standin/requests":
            with self.server.lock:
                self.reply(200, self.server.requests)
        elif method == "POST" and self.path == "/-/standin/faults":
            faults = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
            with self.server.lock:
                self.server.faults.update(faults)
            self.reply(204, b"")
        else:
            self.reply(404, b"")

    def fault(self, name: str, method: str) -> bool:
        """Take the fault ``name`` if it matches this request (each fault fires once)."""
        with self.server.lock:
            wanted = self.server.faults.get(name)
            if wanted and wanted.get("method") == method and wanted.get("contains", "") in self.path:
                del self.server.faults[name]
                return True
        return False

    def body(self) -> bytes:
        """Return the request body (Content-Length only; at most ``MAX_BODY``)."""
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large for a stand-in")
        data = self.rfile.read(length) if length else b""
        if data and self.fault("corrupt", self.command):
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        return data

    def credentials(self) -> Credentials:
        """Return what the request presents in Authorization."""
        return Credentials(self.headers.get("authorization"))

    def lose_reply(self) -> bool:
        """Close the connection without replying if a ``drop_reply`` fault matches (the
        request has taken effect already); tell whether it did."""
        if not self.fault("drop_reply", self.command):
            return False
        self.close_connection = True
        return True

    def reply(self, status: int, body: Any, *, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        """Send ``body`` (bytes as they are, str as UTF-8 text, anything else as JSON)."""
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data, content_type = body.encode(), "text/plain;charset=utf-8"
        else:
            data = json.dumps(body).encode()
        if status >= 400:
            self.close_connection = True  # the body may be unread: never reuse the connection
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data or status not in (204, 304):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def segments(path: str) -> list[str]:
    """Return the percent-decoded segments of a raw path (a ``%2F`` stays inside its segment)."""
    return [unquote(part) for part in path.strip("/").split("/")]


def serve(handler: type[StandinHandler]) -> None:
    """Run the stand-in named on the command line: config from argv[1], port to stdout."""
    config = json.loads(Path(sys.argv[1]).read_text())
    server = StandinServer(handler, config)
    print(server.server_address[1], flush=True)
    server.serve_forever()
