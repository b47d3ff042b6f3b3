"""Messages that name the real cause: a mistyped OWNER/REPO against a real `gopush serve`,
whoami on a host that is no Cloudsmith API, a redirect loop, progress after a 307/308 of
the upload, and an out-of-range --request-timeout.

Registries are a real `gopush serve` subprocess or a small HTTP server on 127.0.0.1
(``test_registry_text.registry``); gopush runs as a subprocess.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gopush.errors import ExitCode
from tests.cli.test_registry_text import KEY, Reply, Routes, _json, gopush, registry

__all__ = ["registry"]  # a fixture


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[str]:
    """A real `gopush serve` with the repositories acme/pub and acme/priv (no others)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen([sys.executable, "-m", "gopush", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--data", str(tmp_path / "data"),
                             "--api-key", KEY, "--repo", "acme/pub", "--repo", "acme/priv"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        stop = time.monotonic() + 30
        while time.monotonic() < stop and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(("typed", "named"), [
    ("ACME/pub", "it can see no repository of ACME; close matches: acme/pub;"),
    ("acmee/pub", "it can see no repository of acmee; close matches: acme/pub;"),
    ("acme/pubb", "the repositories of acme it can see: acme/priv, acme/pub;")])
def test_a_mistyped_repository_leads_with_the_cause_and_names_close_matches(
        serve: str, module_zip: Path, tmp_path: Path, typed: str, named: str) -> None:
    """The first line says the repository does not exist (the step that met the 404 in
    parentheses); the hint names the near repositories, and gopush serve only
    conditionally (the client cannot tell which registry it talks to)."""
    ran = gopush(serve, tmp_path, "push", "go", typed, str(module_zip))
    assert ran.returncode == ExitCode.REJECTED, ran.stderr
    error, hint = ran.stderr.splitlines()[-2:]
    assert error.startswith(f"error: {typed} at {serve} does not exist or is not visible to "
                            "this key (look up existing packages: the registry answered 404")
    assert hint.startswith(f"hint: {named} if this is gopush serve, declare the repository")


def test_whoami_404_hints_at_the_api_host(registry: Callable[[Routes], str],
                                          tmp_path: Path) -> None:
    """whoami names no repository: its 404 hint is about the API host, not OWNER/REPO."""
    url = registry(lambda method, path, headers: _json(404, {"detail": "Not found."}))
    ran = gopush(url, tmp_path, "whoami")
    assert ran.returncode == ExitCode.REJECTED, ran.stderr
    assert "OWNER/REPO" not in ran.stderr
    assert f"hint: {url} has no /user/self/" in ran.stderr and "--api-host" in ran.stderr


def test_a_redirect_loop_is_named(registry: Callable[[Routes], str], tmp_path: Path) -> None:
    """A same-origin 302 to itself: after 5 redirects followed, "too many redirects"."""
    url = registry(lambda method, path, headers: (302, b"", {"Location": path}))
    ran = gopush(url, tmp_path, "whoami")
    assert ran.returncode == ExitCode.REJECTED, ran.stderr
    assert (f"ask who the API key belongs to: too many redirects (a loop?): 5 followed within "
            f"{url}, and the last reply redirects again (302) to {url}/user/self/") in ran.stderr


@pytest.mark.parametrize("status", [307, 308])
def test_progress_counts_the_final_upload_only(registry: Callable[[Routes], str],
                                               module_zip: Path, tmp_path: Path,
                                               status: int) -> None:
    """The presigned upload URL answers 307/308 to another of its paths: the body is sent
    again there, and progress counts it once ("N of N bytes")."""
    def cloudsmith(method: str, path: str, headers: dict[str, str]) -> Reply:
        if path.startswith("/packages/") and method == "GET":
            return _json(200, [])
        if path.endswith(("/validate-upload/go/", "/validate/")):
            return 204, b""
        if path == "/files/acme/gomods/":
            return _json(202, {"identifier": "ID1", "upload_url": f"{url}/_upload/ID1/",
                               "upload_fields": {"key": "k"}})
        if path.startswith("/_upload/"):
            return status, b"", {"Location": "/_upload2/ID1/"}
        if path.startswith("/_upload2/"):
            return 204, b""
        if path.endswith("/upload/go/"):
            return _json(201, {"slug": "abc", "is_sync_completed": True})
        return _json(404, {"detail": "Not found."})

    url = registry(cloudsmith)
    ran = gopush(url, tmp_path, "push", "go", "acme/gomods", str(module_zip), "--output",
                 "plain")
    assert ran.returncode == ExitCode.OK, ran.stderr
    size = module_zip.stat().st_size
    assert f"upload v1.0.0.zip: done ({size} of {size} bytes)" in ran.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1", "NaN"])
def test_an_out_of_range_request_timeout_is_a_usage_error(tmp_path: Path, value: str) -> None:
    """Every value outside 0.1..86400, NaN included, exits 2 naming the range."""
    ran = gopush("http://127.0.0.1:9", tmp_path, "whoami", "--request-timeout", value)
    assert ran.returncode == ExitCode.USAGE, ran.stderr
    assert "is not in the range 0.1<=x<=86400" in ran.stderr

