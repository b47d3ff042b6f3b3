"""`gopush serve` command line: usage errors, a taken port, and what it prints at start."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from conftest import KEY


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


def test_tls_options_go_together(tmp_path: Path) -> None:
    """--tls-cert without --tls-key is a usage error."""
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    proc = run_serve("--data", str(tmp_path), "--tls-cert", str(cert))
    assert proc.returncode == 2 and "--tls-key" in proc.stderr


def test_taken_port_is_a_config_error(tmp_path: Path) -> None:
    """A port already in use exits 3 with a hint instead of a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        proc = run_serve("--data", str(tmp_path), "--port", str(taken.getsockname()[1]))
    assert proc.returncode == 3
    assert "cannot listen" in proc.stderr and "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr


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
