"""End to end: `gopush serve` killed and restarted in the middle of a push.

A real `gopush serve` on a fixed loopback port; `gopush push` (a subprocess) reaches it
through a small relay that passes the client's bytes at 2 MiB/s, so the upload of a 12 MiB
zip lasts long enough for the restart to land inside it: as three parts
(`--part-size 5`), or as one form POST (the default part size, 100 MiB). The server is
killed (SIGKILL) 7 MiB into the upload and started again on the same data directory and
port: it forgets the unfinished upload, so the retried part is answered 404 (the form POST
403, "Unknown or expired upload slot.", which gopush used to report as a key without write
access, exit 3). The push must start a new upload by itself and end with exit 0, and go
must download the module with the pushed h1:.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gotool import GoOracle

from gopush.errors import ExitCode
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

KEY = "restart-test-key-91c2"
MODULE = "example.com/restarted"
RATE = 2 * 1024 * 1024  # bytes per second the relay passes towards the server
MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_serve(data: Path, port: int) -> subprocess.Popen[bytes]:
    """Start `gopush serve` on ``port``; return once it accepts connections."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gopush", "serve", "--port", str(port), "--data", str(data),
         "--repo", "acme/gomods"],
        env={**os.environ, "GOPUSH_SERVE_API_KEYS": KEY},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = time.monotonic() + 30
    while time.monotonic() < stop:
        if proc.poll() is not None:
            pytest.fail(f"gopush serve exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("gopush serve did not accept connections within 30 s")


class SlowLink:
    """A TCP relay on 127.0.0.1 to ``port``: client bytes pass at ``RATE``, replies at once.

    ``sent`` counts the client bytes passed. A connection whose server goes away is closed.
    """

    def __init__(self, port: int) -> None:
        self.port, self.sent = port, 0
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._relay, "127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        started.set()
        self.loop.run_forever()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:  # the server is down: the client sees the connection close
            writer.close()
            return
        await asyncio.gather(self._pump(reader, up_writer, slow=True),
                             self._pump(up_reader, writer, slow=False))

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                    slow: bool) -> None:
        try:
            while data := await src.read(32 * 1024):
                dst.write(data)
                await dst.drain()
                if slow:
                    self.sent += len(data)
                    await asyncio.sleep(len(data) / RATE)
        except OSError:
            pass
        finally:
            dst.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def link_to_serve(tmp_path: Path) -> Iterator[tuple[SlowLink, Path, int, list]]:
    """A running `gopush serve` and the slow relay to it; everything is stopped after."""
    port, data = _free_port(), tmp_path / "registry"
    procs = [_start_serve(data, port)]
    link = SlowLink(port)
    yield link, data, port, procs
    link.close()
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


@pytest.mark.parametrize(("options", "gone"), [(["--part-size", "5"], 404), ([], 403)],
                         ids=["parts", "form"])
def test_push_survives_a_registry_restart_mid_upload(link_to_serve: tuple, tmp_path: Path,
                                                     go: GoOracle, options: list[str],
                                                     gone: int) -> None:
    link, data, port, procs = link_to_serve
    blob = random.Random(10).randbytes(12 * MIB)  # incompressible: the zip is about 12 MiB
    files = [DataFile("go.mod", f"module {MODULE}\n\ngo 1.21\n".encode()),
             DataFile("lib.go", b"package lib\n"), DataFile("LICENSE", b"MIT\n"),
             DataFile("data.bin", blob)]
    created = create_zip(tmp_path / "v1.0.0.zip", MODULE, "v1.0.0", files)
    env = {**os.environ, "CI": "1", "GOPUSH_API_KEY": KEY, "GOPUSH_API_HOST": link.url,
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "NO_PROXY": "127.0.0.1"}
    push = subprocess.Popen([sys.executable, "-m", "gopush", "-v", "push", "go", "acme/gomods",
                             str(tmp_path / "v1.0.0.zip"), *options],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stop = time.monotonic() + 120
        while link.sent < 7 * MIB:  # inside the second part, or the form POST
            assert push.poll() is None and time.monotonic() < stop, "the push ended early"
            time.sleep(0.02)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(10)
        procs.append(_start_serve(data, port))
        out, err = push.communicate(timeout=180)
    finally:
        if push.poll() is None:
            push.kill()
            push.wait()
    text = err.decode()
    print(text)  # the trace of the push: the retries, the lost slot, the new upload
    assert push.returncode == ExitCode.OK, text
    assert f"the upload slot is gone ({gone})" in text and "starting a new upload (1/2)" in text
    assert f"published {MODULE}@v1.0.0 {created.sum}" in out.decode()
    downloaded = go.download(MODULE, "v1.0.0", GOPROXY=f"http://127.0.0.1:{port}/go/acme/gomods/")
    assert downloaded["Sum"] == created.sum
    assert KEY not in out.decode() + text
