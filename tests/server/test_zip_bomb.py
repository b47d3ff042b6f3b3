"""Zip bombs pushed to a real `gopush serve`: a legal one is published with go's h1: and a
lying one is refused with go's reason, while the server stays under 150 MB and each
`gopush push` under 100 MB, three at once included; the same through an upstream GOPROXY
(the real go is the oracle)."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from conftest import KEY, Served, api_push
from gotool import GoOracle
from zipbomb import BOMB_BYTES, Measured, go_download, peak_rss_mb, run_measured, write_bomb

from gopush.errors import ExitCode

MODULE = "example.com/bomb"
REPO = "acme/bombs"
SERVER_LIMIT_MB = 150
CLIENT_LIMIT_MB = 100


def gopush_push(served: Served, zip_path: Path) -> Measured:
    """Run `gopush push go acme/bombs ZIP` against ``served``; measure its peak RSS."""
    env = {**os.environ, "CI": "1", "GOPUSH_API_HOST": served.url, "GOPUSH_API_KEY": KEY,
           "NO_PROXY": "127.0.0.1"}
    return run_measured([sys.executable, "-m", "gopush", "push", "go", REPO, str(zip_path)],
                        env, timeout=300)


def at_once(calls: list[Any]) -> list[Any]:
    """Run the calls in parallel threads; return their results in order."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def test_three_bombs_pushed_at_once_are_published_as_go_hashes_them(
        serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """Three 408 kB zips of 400 MiB of zeros each, pushed at once by three `gopush push`
    processes, are published; the same zip pushed three times more at once (three checks in
    request threads) is identical; go downloads it from the server with the h1: go computes
    itself. The server peaked at 1.8 GB for this when entries were inflated in one piece."""
    served = serve("--repo", REPO)
    bombs = [write_bomb(tmp_path / f"v1.0.{i}.zip", MODULE, f"v1.0.{i}") for i in range(3)]
    want, err = go_download(go, tmp_path / "direct", bombs[0], MODULE, "v1.0.0")
    assert want is not None, err

    pushed = at_once([lambda b=b: gopush_push(served, b) for b in bombs])
    for done in pushed:
        assert done.code == ExitCode.OK, done.err
        assert done.peak_mb < CLIENT_LIMIT_MB, f"gopush push peaked at {done.peak_mb:.0f} MB"
    assert f"published {MODULE}@v1.0.0 {want}" in pushed[0].out + pushed[0].err

    again = at_once([lambda: api_push(served.url, REPO, bombs[0]) for _ in range(3)])
    assert all(a.package["status_str"] == "Completed" for a in again), again

    peak = peak_rss_mb(served.proc.pid)
    print(f"serve peak {peak:.0f} MB; push peaks {[round(d.peak_mb) for d in pushed]} MB")
    assert peak < SERVER_LIMIT_MB, f"gopush serve peaked at {peak:.0f} MB"
    consumer = GoOracle(tmp_path / "consumer", go.go)
    got = consumer.download(MODULE, "v1.0.0", GOPROXY=served.goproxy(REPO))
    assert got["Sum"] == want


LIES = {  # fields for write_bomb, and the words go refuses the zip with
    "more than declared": ({"declared": 1 << 20}, "zip: not a valid zip file"),
    "less than declared": ({"size": 300 << 20, "declared": BOMB_BYTES}, "unexpected EOF"),
    "checksum": ({"crc": 0x12345678}, "zip: checksum error"),
}


def test_lying_bombs_uploaded_at_once_fail_with_gos_reason(serve: Any, go: GoOracle,
                                                           tmp_path: Path) -> None:
    """Bombs whose declared size or CRC lies, uploaded at once through the API (the gopush
    client would refuse to send them), fail to process with go's reason, naming the entry,
    and the server stays under 150 MB; `gopush push` of one refuses it locally (exit 4)
    under 100 MB."""
    served = serve("--repo", REPO)
    zips = {lie: write_bomb(tmp_path / f"{i}.zip", MODULE, f"v1.1.{i}", **fields)
            for i, (lie, (fields, _)) in enumerate(LIES.items())}
    for i, (lie, zip_path) in enumerate(zips.items()):
        theirs, go_error = go_download(go, tmp_path / f"go{i}", zip_path, MODULE, f"v1.1.{i}")
        assert theirs is None and LIES[lie][1] in go_error, go_error

    settled = at_once([lambda z=z: api_push(served.url, REPO, z) for z in zips.values()])
    for lie, result in zip(LIES, settled, strict=True):
        assert result.package["is_sync_failed"], result.package
        reason = result.package["status_reason"]
        assert f"{MODULE}@v1.1." in reason and "/zeros.bin" in reason
        assert LIES[lie][1] in reason, reason
    peak = peak_rss_mb(served.proc.pid)
    print(f"serve peak {peak:.0f} MB")
    assert peak < SERVER_LIMIT_MB, f"gopush serve peaked at {peak:.0f} MB"

    refused = gopush_push(served, zips["more than declared"])
    assert refused.code == ExitCode.INVALID_MODULE, refused.err
    assert "zip: not a valid zip file" in refused.err and "Traceback" not in refused.err
    assert refused.peak_mb < CLIENT_LIMIT_MB


def test_bombs_fetched_from_an_upstream_are_checked_in_bounded_memory(
        serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """A repository whose upstream (a static GOPROXY directory over HTTP) serves a legal bomb
    and one whose CRC lies: go downloads the legal one through gopush serve with the h1: go
    computes itself, the lying one is a 502 with go's reason, and the server stays under
    150 MB."""
    static = tmp_path / "static"
    legal = write_bomb(tmp_path / "legal.zip", MODULE, "v1.2.0")
    lying = write_bomb(tmp_path / "lying.zip", MODULE, "v1.2.1", crc=0x12345678)
    want, err = go_download(go, static, legal, MODULE, "v1.2.0")
    assert want is not None, err
    _, go_error = go_download(go, tmp_path / "lie", lying, MODULE, "v1.2.1")
    assert "zip: checksum error" in go_error
    shutil.copytree(tmp_path / "lie" / "proxy", static / "proxy", dirs_exist_ok=True)
    (static / "proxy" / MODULE / "@v" / "list").write_text("v1.2.0\nv1.2.1\n")
    with static_http(static / "proxy") as upstream:
        served = serve("--repo", "acme/mirror", "--upstream", f"acme/mirror={upstream}")
        refused = httpx.get(served.goproxy("acme/mirror") + f"{MODULE}/@v/v1.2.1.zip",
                            timeout=120)
        assert refused.status_code == 502 and "zip: checksum error" in refused.text
        consumer = GoOracle(tmp_path / "consumer", go.go)
        got = consumer.download(MODULE, "v1.2.0", GOPROXY=served.goproxy("acme/mirror"))
        assert got["Sum"] == want
        peak = peak_rss_mb(served.proc.pid)
        print(f"serve peak {peak:.0f} MB (upstream)")
        assert peak < SERVER_LIMIT_MB, f"gopush serve peaked at {peak:.0f} MB"


@contextmanager
def static_http(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on loopback (a static GOPROXY); yield its URL."""
    handler = partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass
