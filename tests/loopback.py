"""Small real HTTP servers on 127.0.0.1 for client tests: ``http.server`` in a thread.

A test hands ``start`` one function that answers every request (any method) on the raw
``BaseHTTPRequestHandler``, so it can misbehave at will: trickle, never end, lie.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handle = Callable[[BaseHTTPRequestHandler], None]


def drain_then(answer: Handle) -> Handle:
    """Return a handler that reads the request body (by Content-Length), closes the
    connection after the reply, then lets ``answer`` reply."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        if length:
            handler.rfile.read(length)
        handler.close_connection = True
        answer(handler)

    return handle


class Loopback:
    """The servers a test started; ``close`` stops them all."""

    def __init__(self) -> None:
        self._servers: list[ThreadingHTTPServer] = []

    def start(self, handle: Handle) -> str:
        """Serve every request with ``handle``; return the base URL (no trailing slash)."""
        methods = {f"do_{verb}": lambda self: handle(self) for verb in ("GET", "POST", "PUT")}
        cls = type("Handler", (BaseHTTPRequestHandler,),
                   {**methods, "log_message": lambda self, *args: None})
        server = ThreadingHTTPServer(("127.0.0.1", 0), cls)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
