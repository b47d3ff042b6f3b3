"""The test vulnerability database and a loopback HTTP server that serves it as vuln.go.dev does.

``DATA`` is tests/vulndb/data/: 20 real advisories from golang/vulndb in the exact vuln.go.dev
layout (``index/db.json``, ``index/modules.json``, ``index/vulns.json``, ``ID/GO-*.json``),
written by scripts/vulndb_testdata.py, which says which case each entry stands for.

``VulnDbServer`` serves a database directory on 127.0.0.1 with ``Content-Encoding: gzip``
when the request accepts it (as vuln.go.dev does), ``404`` for what is not there, and logs
every request (``log``: path, and the encoding sent) so a test can count them. Fixtures (in
tests/conftest.py, so every test directory has them):

- ``vulndb_data``: a writable copy of ``DATA`` in the test's temporary directory;
- ``vulndb_http``: ``start(directory=DATA) -> VulnDbServer``; every server stops after the test.
"""

from __future__ import annotations

import gzip
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

DATA = Path(__file__).parent / "vulndb" / "data"


@dataclass(frozen=True)
class Served:
    """One request the server answered."""

    path: str
    status: int
    encoding: str  # "gzip" or "identity"


class VulnDbServer:
    """A vuln.go.dev-like server over ``directory`` on 127.0.0.1; ``url`` has no trailing /."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.log: list[Served] = []
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._closed = False
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def paths(self) -> list[str]:
        """Return the paths requested so far, in order."""
        with self._lock:
            return [s.path for s in self.log]

    def clear(self) -> None:
        with self._lock:
            self.log.clear()

    def close(self) -> None:
        """Stop serving and close the port (a client then finds nothing listening)."""
        if self._closed:
            return
        self._closed = True
        self._http.shutdown()
        self._http.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = unquote(urlsplit(handler.path).path)
        file = (self.directory / path.lstrip("/")).resolve()
        if not file.is_relative_to(self.directory.resolve()) or not file.is_file():
            self._send(handler, path, 404, b"not found\n", gzipped=False)
            return
        accepts = "gzip" in handler.headers.get("accept-encoding", "")
        body = file.read_bytes()
        self._send(handler, path, 200, gzip.compress(body, mtime=0) if accepts else body,
                   gzipped=accepts)

    def _send(self, handler: BaseHTTPRequestHandler, path: str, status: int, body: bytes,
              *, gzipped: bool) -> None:
        with self._lock:
            self.log.append(Served(path, status, "gzip" if gzipped else "identity"))
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        if gzipped:
            handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._answer(self)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def vulndb_data(tmp_path: Path) -> Path:
    """Return a writable copy of the test database (for tests that change it)."""
    return Path(shutil.copytree(DATA, tmp_path / "vulndb"))


@pytest.fixture
def vulndb_http() -> Iterator[Callable[..., VulnDbServer]]:
    """Return start(directory=DATA) -> a running ``VulnDbServer``; all stop after the test."""
    servers: list[VulnDbServer] = []

    def start(directory: Path = DATA) -> VulnDbServer:
        servers.append(VulnDbServer(directory))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
