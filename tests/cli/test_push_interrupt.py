"""Ctrl-C during an upload: gopush stops at once, exits 130 and says what the registry holds.

A real ``gopush push`` process talks to a small Cloudsmith-shaped server on 127.0.0.1 whose
upload endpoint reads the body slowly; the test sends a real SIGINT once the upload began.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cli.conftest import stop_with

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

KEY = "interrupt-test-key-7f3a"


class SlowUploadApi(BaseHTTPRequestHandler):
    """Just enough of the Cloudsmith API to reach the upload, which then crawls."""

    upload_started = threading.Event()

    def do_GET(self) -> None:
        if self.path.startswith("/packages/"):
            self._reply(200, [])
        elif self.path.startswith("/user/self"):
            self._reply(200, {"authenticated": True, "slug": "dev"})
        else:
            self._reply(404, {"detail": "Not found."})

    def do_POST(self) -> None:
        if self.path.startswith("/_upload"):
            type(self).upload_started.set()
            length = int(self.headers.get("Content-Length", "0"))
            while length > 0:  # about 64 KiB per second: minutes for the whole body
                chunk = self.rfile.read(min(length, 65536))
                if not chunk:
                    return
                length -= len(chunk)
                threading.Event().wait(1)
            self._reply(204, None)
        elif self.path.rstrip("/").endswith("/acme/gomods"):
            url = f"http://127.0.0.1:{self.server.server_address[1]}/_upload/"
            self._reply(202, {"identifier": "id1", "upload_url": url, "upload_fields": {}})
        else:
            self._reply(204, None)

    def _reply(self, status: int, body: object) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)) \
            if self.command == "POST" and not self.path.startswith("/_upload") else None
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_during_upload(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    """SIGINT (Ctrl-C) or SIGTERM (a CI cancel) mid-upload: exit 130 or 143, the state named
    (nothing published), no traceback, no key."""
    SlowUploadApi.upload_started.clear()
    zip_path = tmp_path / "v1.0.0.zip"
    create_zip(zip_path, "example.com/slow", "v1.0.0",
               [DataFile("go.mod", b"module example.com/slow\n"),
                DataFile("blob.bin", os.urandom(4 << 20))])
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowUploadApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**os.environ, "GOPUSH_API_KEY": KEY, "CI": "true", "NO_PROXY": "127.0.0.1",
           "GOPUSH_API_HOST": f"http://127.0.0.1:{server.server_address[1]}",
           "PYTHONFAULTHANDLER": "1"}  # a hang is reported with every thread's stack
    proc = subprocess.Popen([sys.executable, "-m", "gopush", "push", "go", "acme/gomods",
                             str(zip_path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert SlowUploadApi.upload_started.wait(60), "the upload never started"
        out, err = stop_with(proc, sig)
    finally:
        proc.kill()
        server.shutdown()
        server.server_close()
    assert proc.returncode == code, err
    assert "interrupted while uploading" in err and "no new package" in err
    assert "stopped (" in err  # the progress line does not claim "done"
    assert "Traceback" not in err
    assert KEY not in out + err


def test_ctrl_c_while_the_cli_loads() -> None:
    """A Ctrl-C that lands while the CLI is still being imported (click, here) exits 130
    with one line, as later ones do, not with a traceback from the import machinery."""
    interrupt_on_click = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'click':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from gopush.__main__ import run\n"
        "sys.exit(run())\n")
    done = subprocess.run([sys.executable, "-c", interrupt_on_click, "push", "go", "acme/x"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "interrupted (nothing was done yet)"
