"""`gopush serve` command line: usage errors, a taken port, and what it prints at start."""

from __future__ import annotations

import hashlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from badzips import write_zip
from conftest import KEY, api_upload, create_package


def run_serve(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `gopush serve` expecting it to exit at once."""
    return subprocess.run([sys.executable, "-m", "gopush", "serve", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_bad_repo_spec_is_a_usage_error(tmp_path: Path) -> None:
    """--repo without OWNER/REPO, or an unknown visibility, exits 2 naming the option."""
    bad = run_serve("--data", str(tmp_path), "--repo", "justone")
    assert bad.returncode == 2 and "--repo" in bad.stderr
    worse = run_serve("--data", str(tmp_path), "--repo", "a/b:secret")
    assert worse.returncode == 2 and "public or private" in worse.stderr


def test_repo_name_the_api_cannot_address_is_refused_at_start(tmp_path: Path) -> None:
    """--repo follows the API's slug rule (at most 100 characters): a name no request could
    reach is a usage error at start, not a repository served as 404 (if the server started,
    the 20 s timeout fails the test)."""
    long_name = "r" * 101
    done = subprocess.run([sys.executable, "-m", "gopush", "serve", "--port", "0", "--data",
                           str(tmp_path), "--repo", f"acme/{long_name}"],
                          capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 2 and "--repo" in done.stderr and long_name in done.stderr


def test_tls_options_go_together(tmp_path: Path) -> None:
    """--tls-cert without --tls-key is a usage error."""
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    proc = run_serve("--data", str(tmp_path), "--tls-cert", str(cert))
    assert proc.returncode == 2 and "--tls-key" in proc.stderr


def test_taken_port_is_a_config_error(tmp_path: Path) -> None:
    """A port already in use exits 3 with a hint instead of a traceback, and creates
    nothing on disk (the data directory included)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        proc = run_serve("--data", str(tmp_path / "data"),
                         "--port", str(taken.getsockname()[1]))
    assert proc.returncode == 3
    assert "cannot listen" in proc.stderr and "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "data").exists()


def test_unusable_tls_files_are_a_config_error(tmp_path: Path) -> None:
    """A certificate/key that is not PEM exits 3 before printing a URL or creating the data
    directory (it used to print the URL, make the directory, then fail with exit 1)."""
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    proc = run_serve("--data", str(tmp_path / "data"), "--port", "0",
                     "--tls-cert", str(junk), "--tls-key", str(junk))
    assert proc.returncode == 3, proc.stderr
    assert "cannot use --tls-cert" in proc.stderr and "PEM" in proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert not (tmp_path / "data").exists()


def _part_head(identifier: str, number: int, length: int) -> bytes:
    path = f"/_upload/parts/acme/mods/?upload_id={identifier}&part_number={number}"
    return (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {KEY}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


@contextmanager
def _part_upload(served: Any, length: int, first: bytes) -> Iterator[socket.socket]:
    """Open a multipart upload and start sending part 1 (``length`` bytes, ``first`` of
    them now) on a raw connection; yield it once the server is reading the body."""
    slot = httpx.post(f"{served.url}/files/acme/mods/", headers={"X-Api-Key": KEY}, json={
        "filename": "v1.0.0.zip", "md5_checksum": "0" * 32, "method": "put_parts"}).json()
    host, port = served.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(_part_head(slot["identifier"], 1, length) + first)
        time.sleep(0.3)
        yield conn


def test_sigterm_stops_cleanly_with_exit_0(serve: Any, tmp_path: Path) -> None:
    """SIGTERM (systemd, docker stop) while a part is being received: the part is still
    received and answered, then the server exits 0 with its database closed (no SQLite
    write-ahead log left) and the data directory free for the next server."""
    served = serve(data=tmp_path / "data")
    with _part_upload(served, 200_000, b"a" * 100_000) as conn:
        served.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        conn.sendall(b"b" * 100_000)
        reply = conn.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200"), reply
    assert served.proc.wait(20) == 0
    assert "Traceback" not in served.stderr()
    assert not (tmp_path / "data" / "registry.sqlite3-wal").exists()
    again = serve(data=tmp_path / "data")  # the lock was released
    assert httpx.get(f"{again.url}/status/check/basic/").status_code == 200


def test_a_trickling_body_cannot_hold_the_stop(serve: Any, tmp_path: Path) -> None:
    """A client sending a part one byte at a time never stalls long enough for
    --body-timeout; --stop-timeout bounds the stop anyway: SIGTERM, and the server is gone
    within seconds (exit 0, database closed), not when the client gives up."""
    served = serve("--stop-timeout", "1", data=tmp_path / "data")
    with _part_upload(served, 1_000_000, b"a" * 1000) as conn:
        served.proc.send_signal(signal.SIGTERM)
        stopped_at, deadline = time.monotonic(), time.monotonic() + 20
        while served.proc.poll() is None and time.monotonic() < deadline:
            try:
                conn.sendall(b"b")  # a byte every 0.2 s: never stalled
            except OSError:
                pass
            time.sleep(0.2)
    assert served.proc.poll() == 0, "the server still waited for the trickling client"
    assert time.monotonic() - stopped_at < 10
    assert not (tmp_path / "data" / "registry.sqlite3-wal").exists()


def test_start_prints_urls_and_hides_secrets(serve: Any) -> None:
    """The start document has the base URL and each repository's GOPROXY URL; neither the
    API key nor read tokens are printed."""
    served = serve("--repo", "acme/pub", "--repo", "acme/priv:private",
                   "--read-token", "acme/priv=tok-visible-nowhere")
    repos = {r["repository"]: r for r in served.doc["repositories"]}
    assert repos["acme/priv"]["private"] is True and repos["acme/pub"]["private"] is False
    assert repos["acme/pub"]["goproxy"] == f"{served.url}/go/acme/pub/"
    assert httpx.get(f"{served.url}/status/check/basic/").status_code == 200
    served.stop()
    printed = str(served.doc) + served.stderr()
    assert KEY not in printed and "tok-visible-nowhere" not in printed


def test_upload_expiry_must_be_positive(tmp_path: Path) -> None:
    """--upload-expiry 0 would delete every upload as it starts: a usage error."""
    proc = run_serve("--data", str(tmp_path), "--upload-expiry", "0")
    assert proc.returncode == 2 and "--upload-expiry" in proc.stderr


def test_upload_expiry_deletes_an_abandoned_upload(serve: Any, tmp_path: Path) -> None:
    """With --upload-expiry 0.0005 (1.8 s), a multipart upload left after one part is gone,
    temporary file included, once a later upload starts after that time."""
    served = serve("--upload-expiry", "0.0005", data=tmp_path / "data")
    auth = {"X-Api-Key": KEY}
    slot = httpx.post(f"{served.url}/files/acme/mods/", headers=auth, json={
        "filename": "v1.0.0.zip", "md5_checksum": "0" * 32, "method": "put_parts"}).json()
    part = httpx.put(slot["upload_url"], headers=auth, content=b"x" * 5000,
                     params={"upload_id": slot["identifier"], "part_number": 1})
    assert part.status_code == 200
    tmp = tmp_path / "data" / "tmp"
    assert sum(p.stat().st_size for p in tmp.iterdir()) == 5000
    time.sleep(3.2)  # the expiry, plus the database's whole-second timestamps
    httpx.post(f"{served.url}/files/acme/mods/", headers=auth, json={
        "filename": "v1.0.1.zip", "md5_checksum": "0" * 32, "method": "put_parts"})
    assert list(tmp.iterdir()) == []
    late = httpx.put(slot["upload_url"], headers=auth, content=b"y",
                     params={"upload_id": slot["identifier"], "part_number": 2})
    assert late.status_code == 404


def test_upload_expiry_deletes_refused_and_unused_uploads(serve: Any, tmp_path: Path) -> None:
    """With --upload-expiry 0.0005 (1.8 s), and no other upload starting: an upload refused
    with 409 (the version exists) and one no package was made from are deleted with their
    blobs while the server runs; the published version's zip and go.mod stay and serve."""
    served = serve("--upload-expiry", "0.0005", data=tmp_path / "data")
    zips = [write_zip(tmp_path / f"z{n}.zip", "example.com/m@v1.0.0/", {
        "go.mod": b"module example.com/m\n", "m.go": f"package m // {n}\n".encode()})
        for n in range(3)]
    published = create_package(served.url, "acme/mods", api_upload(served.url, "acme/mods",
                                                                   zips[0]))
    refused = api_upload(served.url, "acme/mods", zips[1])
    assert create_package(served.url, "acme/mods", refused).status_code == 409
    api_upload(served.url, "acme/mods", zips[2])  # never made a package
    blobs = tmp_path / "data" / "blobs" / "sha256"
    assert len(list(blobs.glob("??/*"))) == 4  # 3 zips, 1 go.mod
    deadline = time.monotonic() + 15
    while len(list(blobs.glob("??/*"))) > 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    kept = {p.name for p in blobs.glob("??/*")}
    assert kept == {published.package["checksum_sha256"],
                    hashlib.sha256(b"module example.com/m\n").hexdigest()}
    proxy = served.goproxy("acme/mods") + "example.com/m/@v/v1.0.0.zip"
    assert httpx.get(proxy).content == zips[0].read_bytes()
    again = httpx.post(f"{served.url}/packages/acme/mods/upload/go/", headers={
        "X-Api-Key": KEY}, json={"package_file": refused, "republish": True})
    assert again.status_code == 422
