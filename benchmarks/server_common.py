"""Shared helpers of the server benchmarks: start `gopush serve`, build and push module zips.

Not a benchmark itself; ``server_download.py`` and ``server_upload_rss.py`` import it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from gopush.modzip.create import create_zip
from gopush.sources.directory import files_from_dir

KEY = "bench-key-not-secret"


@contextmanager
def gopush_serve(data: Path, *args: str, env: dict[str, str] | None = None,
                 ) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run `gopush serve --port 0` on ``data`` (``env`` added to its environment, e.g.
    GOPUSH_SERVE_DATABASE); yield the process and its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "gopush", "serve", "--json", "--port", "0",
                             "--data", str(data), "--new-repos", *args],
                            env={**os.environ, "GOPUSH_SERVE_API_KEYS": KEY, **(env or {})},
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    lines: list[bytes] = []
    while not lines or lines[-1].rstrip() != b"}":
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("gopush serve did not start")
        lines.append(line)
    url = json.loads(b"".join(lines))["url"]
    for _ in range(200):
        try:
            httpx.get(f"{url}/status/check/basic/")
            break
        except httpx.TransportError:
            time.sleep(0.05)
    try:
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(20)


def make_module(root: Path, module: str, version: str, sizes: list[int],
                seed: int) -> tuple[Path, str]:
    """Write a module of incompressible files (seeded), zip it as go would; return zip and h1."""
    tree = root / f"src-{seed}"
    (tree / "data").mkdir(parents=True, exist_ok=True)
    (tree / "go.mod").write_text(f"module {module}\n\ngo 1.21\n")
    rng = random.Random(seed)
    for n, size in enumerate(sizes):
        with (tree / "data" / f"{n}.bin").open("wb") as out:
            for left in range(size, 0, -(8 << 20)):
                out.write(rng.randbytes(min(left, 8 << 20)))
    dest = root / f"zip-{seed}" / f"{version}.zip"
    dest.parent.mkdir(parents=True, exist_ok=True)
    created = create_zip(dest, module, version, files_from_dir(tree))
    return dest, created.sum


def md5_of(path: Path) -> str:
    """Return the hex MD5 of a file, read in 1 MiB pieces."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def push(url: str, repo: str, zip_path: Path, part_size: int = 100 << 20) -> dict[str, object]:
    """Push a zip as the official CLI does (form POST below 100 MiB, else parts)."""
    size = zip_path.stat().st_size
    method = "put_parts" if size >= part_size else "post"
    with httpx.Client(base_url=url, headers={"X-Api-Key": KEY}, timeout=600) as api:
        slot = api.post(f"/files/{repo}/", json={"filename": zip_path.name,
                                                 "md5_checksum": md5_of(zip_path),
                                                 "method": method}).json()
        if method == "post":
            with zip_path.open("rb") as f:
                reply = httpx.post(slot["upload_url"], data=slot["upload_fields"],
                                   files={"file": (zip_path.name, f)}, timeout=600)
        else:
            for number, offset in enumerate(range(0, size, part_size), start=1):
                reply = api.put(slot["upload_url"], content=_range(zip_path, offset, part_size),
                                params={"upload_id": slot["identifier"],
                                        "part_number": number})
                reply.raise_for_status()
            reply = api.post(f"/files/{repo}/{slot['identifier']}/complete/", json={})
        reply.raise_for_status()
        created = api.post(f"/packages/{repo}/upload/go/",
                           json={"package_file": slot["identifier"]})
        created.raise_for_status()
        return dict(created.json())


def _range(path: Path, offset: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(offset)
        while length > 0 and (chunk := f.read(min(1 << 20, length))):
            length -= len(chunk)
            yield chunk


def web_push(url: str, repo: str, zip_path: Path, layout: bool = False) -> dict[str, object]:
    """Upload a zip through the web page's form (sign in, then the repository's upload
    form, streamed from the file); return the package once processed. With ``layout``,
    through the layout form instead, with the zip's .mod (its go.mod) and .info beside it."""
    import re
    import time

    def csrf(page: str) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found, page
        return found.group(1)

    with httpx.Client(base_url=url, headers={"Origin": url}, timeout=600) as web:
        web.post("/web/login", data={"csrf": csrf(web.get("/web/login").text), "api_key": KEY})
        token = csrf(web.get(f"/web/{repo}").text)
        with zip_path.open("rb") as f:
            if layout:
                reply = web.post(f"/web/{repo}/upload-layout", data={"csrf": token},
                                 files=_layout_parts(zip_path, f))
            else:
                reply = web.post(f"/web/{repo}/upload", data={"csrf": token},
                                 files={"file": (zip_path.name, f, "application/zip")})
        assert reply.status_code == 303, reply.text
        slug = reply.headers["location"].rpartition("uploaded=")[2]
    with httpx.Client(base_url=url, headers={"X-Api-Key": KEY}, timeout=60) as api:
        while True:
            package = dict(api.get(f"/packages/{repo}/{slug}/").json())
            if not package["is_sync_in_flight"]:
                return package
            time.sleep(0.05)


def _layout_parts(zip_path: Path, f: object) -> list[tuple[str, tuple[str, object, str]]]:
    """Return the layout form's parts for a zip: its .mod, its .info, and the zip itself."""
    import json

    from gopush.modzip.accept import accept_zip

    accepted = accept_zip(zip_path)
    info = json.dumps({"Version": accepted.version, "Time": "2024-01-02T03:04:05Z"}).encode()
    stem = zip_path.stem
    return [("layout", (f"{stem}.mod", accepted.gomod, "text/plain")),
            ("layout", (f"{stem}.info", info, "application/json")),
            ("layout", (zip_path.name, f, "application/zip"))]
