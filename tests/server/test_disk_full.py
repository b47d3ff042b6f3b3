"""A full disk: `gopush serve` with its data directory on a small tmpfs, filled by real
`gopush push` runs of distinct modules; reads by the real go command.

The push that does not fit gets 507 and exits 6 naming the disk at once (no retries); reads
keep working; a restart on the full disk serves reads in read-only mode (log and /readyz say
so); freeing space lets the next push through without a restart. Also: blobs no row needs
disappear while the server runs.
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
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, Served
from gotool import GoOracle

from gopush.errors import ExitCode
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

DISK_BYTES = 12 << 20
ROOM_FOR_PUSHES = 5 << 20  # left free for the pushes: four 1 MiB modules, not a fifth
MODULE_BYTES = 1 << 20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """Mount a 12 MiB tmpfs; unmount it afterwards (skip if this process may not mount)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs",
                           str(mount)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root or CAP_SYS_ADMIN): "
                    f"{done.stderr.strip()}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)  # a process lingers


def _fill(path: Path, leave: int = 0) -> None:
    """Write a filler file until only ``leave`` bytes are free (0: until ENOSPC)."""
    found = os.statvfs(path.parent)
    with path.open("wb", buffering=0) as out:
        if leave:
            out.write(b"\xff" * (found.f_bavail * found.f_frsize - leave))
            return
        try:
            while True:
                out.write(b"\xff" * (64 << 10))
        except OSError:
            pass  # the disk is full


def _zip(tmp_path: Path, n: int) -> Path:
    """Return a module zip of about 1 MiB (incompressible) for example.com/fill{n}."""
    module = f"example.com/fill{n}"
    out = tmp_path / "zips" / f"fill{n}.zip"
    out.parent.mkdir(exist_ok=True)
    create_zip(out, module, "v1.0.0",
               [DataFile("go.mod", f"module {module}\n\ngo 1.21\n".encode()),
                DataFile("fill.go", b"package fill\n"),
                DataFile("data.bin", random.Random(n).randbytes(MODULE_BYTES))])
    return out


def _push(served: Served, zip_path: Path) -> tuple[int, dict[str, Any], str, float]:
    """Run `gopush -v push go acme/gomods ZIP --json`; return code, document, stderr, seconds."""
    env = {**os.environ, "GOPUSH_API_HOST": served.url, "GOPUSH_API_KEY": KEY, "CI": "1",
           "NO_PROXY": "127.0.0.1"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "gopush", "push", "go", "acme/gomods",
                           str(zip_path), "--json", "-v"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode, json.loads(proc.stdout), proc.stderr, time.monotonic() - started


def _start(data: Path, *args: str) -> Served:
    """Start `gopush serve -v` (access log on stderr) on ``data``."""
    from conftest import start_serve

    return start_serve(data, "-v", *args)


def _readyz(served: Served) -> httpx.Response:
    return httpx.get(f"{served.url}/readyz", timeout=30)


def test_full_disk_507_reads_restart_read_only_and_space_freed(
        small_disk: Path, tmp_path: Path, go: GoOracle) -> None:
    data = small_disk / "data"
    served = _start(data, "--repo", "acme/gomods")
    servers = [served]
    try:
        _fill(small_disk / "filler", leave=ROOM_FOR_PUSHES)
        assert _readyz(served).status_code == 200
        published: list[dict[str, Any]] = []
        for n in range(10):
            code, doc, err, seconds = _push(served, _zip(tmp_path, n))
            if code != ExitCode.OK:
                break
            published.append(doc)
        else:
            pytest.fail("ten 1 MiB pushes fit in 5 MiB")
        # the push that does not fit: 507, exit 6 naming the disk, at once and not retried
        assert len(published) >= 2, err
        assert code == ExitCode.UNAVAILABLE, err
        assert "507" in doc["error"]["message"], doc
        assert "out of disk space" in doc["error"]["message"], doc
        assert seconds < 10, f"the push that did not fit took {seconds:.1f} s"
        failed_zip = tmp_path / "zips" / f"fill{len(published)}.zip"
        # nothing of it is left: no temporary file, no blob
        assert list((data / "tmp").iterdir()) == []
        failed_sha = hashlib.sha256(failed_zip.read_bytes()).hexdigest()
        assert not (data / "blobs" / "sha256" / failed_sha[:2] / failed_sha).exists()
        # reads keep working
        proxy = served.goproxy("acme/gomods")
        first = published[0]
        info = go.download(first["module"], "v1.0.0", GOPROXY=proxy, NO_PROXY="127.0.0.1")
        assert info["Sum"] == first["sum"]
        ready = _readyz(served)
        assert ready.status_code == 503 and ready.json()["status"] == "read-only", ready.text

        # stopped and restarted on a disk with no byte free: starts read-only, serves reads
        served.stop()
        assert served.proc.stdout is not None
        access_log = served.proc.stdout.read().decode()  # uvicorn writes it to stdout
        assert access_log.count('" 507') == 1, access_log  # one request refused, no retry
        _fill(small_disk / "filler2")
        assert os.statvfs(small_disk).f_bavail == 0
        served = _start(data, "--repo", "acme/gomods")
        servers.append(served)
        assert httpx.get(f"{served.url}/healthz").status_code == 200
        ready = _readyz(served)
        assert ready.status_code == 503, ready.text
        assert ready.json()["status"] == "read-only"
        assert "out of disk space" in ready.json()["reason"]
        second = published[1]
        info = go.download(second["module"], "v1.0.0", GOPROXY=served.goproxy("acme/gomods"),
                           NO_PROXY="127.0.0.1")
        assert info["Sum"] == second["sum"]
        code, doc, err, seconds = _push(served, failed_zip)
        assert code == ExitCode.UNAVAILABLE and "out of disk space" in doc["error"]["message"]
        assert seconds < 10

        # space freed: the next push goes through, no restart
        (small_disk / "filler").unlink()
        (small_disk / "filler2").unlink()
        code, doc, err, _ = _push(served, failed_zip)
        assert code == ExitCode.OK, err
        assert doc["status"] == "published"
        assert _readyz(served).status_code == 200
        info = go.download(doc["module"], "v1.0.0", GOPROXY=served.goproxy("acme/gomods"),
                           NO_PROXY="127.0.0.1")
        assert info["Sum"] == doc["sum"]
    finally:
        for one in servers:
            one.stop()
    log = servers[1].stderr()
    assert "out of disk space" in log and "serving reads only" in log, log
    assert "uploads resume" in log, log
    assert "Traceback" not in servers[0].stderr() + log


def test_unneeded_blobs_are_swept_while_serving(serve: Any, tmp_path: Path,
                                                go: GoOracle) -> None:
    """A blob no row points at (as a crash between renaming it into place and committing
    its row leaves) disappears while the server runs; a deleted package's blobs go with
    it; the blobs of published modules stay and are served."""
    served = serve("--upload-expiry", "0.001", data=tmp_path / "data")  # sweeps every 1.8 s
    zips = [_zip(tmp_path, n) for n in (1, 2)]
    kept, deleted = (_push(served, path)[1] for path in zips)
    assert kept["status"] == deleted["status"] == "published"
    blobs = tmp_path / "data" / "blobs" / "sha256"
    orphan_bytes = b"renamed into place, then the server died before COMMIT"
    orphan_sha = hashlib.sha256(orphan_bytes).hexdigest()
    orphan = blobs / orphan_sha[:2] / orphan_sha
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(orphan_bytes)
    deleted_sha = hashlib.sha256(zips[1].read_bytes()).hexdigest()
    assert (blobs / deleted_sha[:2] / deleted_sha).exists()
    gone = httpx.delete(f"{served.url}/packages/acme/gomods/{deleted['package']}/",
                        headers={"X-Api-Key": KEY})
    assert gone.status_code == 204
    assert not (blobs / deleted_sha[:2] / deleted_sha).exists()
    deadline = time.monotonic() + 20
    while orphan.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not orphan.exists(), "the orphan blob is still there after 20 s"
    assert served.proc.poll() is None
    info = go.download(kept["module"], "v1.0.0", GOPROXY=served.goproxy("acme/gomods"),
                       NO_PROXY="127.0.0.1")
    assert info["Sum"] == kept["sum"]


def test_official_cli_stops_at_once_on_a_full_disk(small_disk: Path, tmp_path: Path,
                                                   cloudsmith_cli: Path) -> None:
    """`cloudsmith push go` to a registry whose disk fills during the upload gets the 507
    and stops: 507 is not among the statuses it retries, so it neither re-sends the form
    POST without its body (and hangs) nor retries for half a minute."""
    from test_cloudsmith_cli import push

    served = _start(small_disk / "data", "--repo", "acme/gomods")
    try:
        _fill(small_disk / "filler", leave=MODULE_BYTES // 2)
        started = time.monotonic()
        code, out = push(cloudsmith_cli, served, "acme/gomods", str(_zip(tmp_path, 1)))
        seconds = time.monotonic() - started
    finally:
        served.stop()
    assert code != 0 and "status: 507 - Insufficient Storage" in out, out
    assert seconds < 20, f"the official CLI took {seconds:.1f} s"
    assert served.proc.stdout is not None
    assert served.proc.stdout.read().decode().count('" 507') == 1


def test_a_new_registry_on_a_full_disk_is_refused_clearly(small_disk: Path) -> None:
    """A data directory that does not exist yet cannot be created on a full disk: exit 3
    naming the disk, no traceback (there is nothing to serve read-only)."""
    _fill(small_disk / "filler")
    proc = subprocess.run([sys.executable, "-m", "gopush", "serve", "--port", "0", "--data",
                           str(small_disk / "data")], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == ExitCode.CONFIG, proc.stderr
    assert "its disk is full" in proc.stderr and "Traceback" not in proc.stderr


def test_a_part_that_does_not_fit_is_507_and_cut_off(small_disk: Path, tmp_path: Path) -> None:
    """Multipart: a part the disk cannot hold is answered 507 at once (not a 500 the
    client retries) and its bytes are cut off the joined file; once space is freed the
    same part is sent again, completes and publishes, without a restart."""
    served = _start(small_disk / "data", "--repo", "acme/gomods")
    try:
        data = _zip(tmp_path, 3).read_bytes()
        half = len(data) // 2
        with httpx.Client(base_url=served.url, headers={"X-Api-Key": KEY}, timeout=60) as api:
            slot = api.post("/files/acme/gomods/", json={
                "filename": "v1.0.0.zip", "md5_checksum": hashlib.md5(data).hexdigest(),
                "method": "put_parts"}).json()
            _fill(small_disk / "filler", leave=MODULE_BYTES // 4)

            def put(number: int, content: bytes) -> httpx.Response:
                return api.put(slot["upload_url"], content=content,
                               params={"upload_id": slot["identifier"],
                                       "part_number": number})

            refused = put(1, data[:half])
            assert refused.status_code == 507, refused.text
            assert refused.json() == {"detail": "The registry is out of disk space."}
            tmp = small_disk / "data" / "tmp"
            assert sum(p.stat().st_size for p in tmp.iterdir()) == 0  # cut off
            assert put(1, data[:half]).status_code == 507  # read-only: refused at once
            (small_disk / "filler").unlink()
            assert put(1, data[:half]).status_code == 200
            assert put(2, data[half:]).status_code == 200
            done = api.post(f"/files/acme/gomods/{slot['identifier']}/complete/",
                            json={"upload_id": slot["identifier"], "complete": True})
            assert done.status_code == 201, done.text
            created = api.post("/packages/acme/gomods/upload/go/",
                               json={"package_file": slot["identifier"]})
            assert created.status_code == 201, created.text
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                got = api.get(f"{served.goproxy('acme/gomods')}example.com/fill3/@v/v1.0.0.zip")
                if got.status_code == 200:
                    break
                time.sleep(0.05)
            assert got.content == data
    finally:
        served.stop()


def test_an_old_registry_needing_a_schema_upgrade_on_a_full_disk(small_disk: Path) -> None:
    """A data directory from before the scan tables (schema 0) on a full disk cannot be
    upgraded: exit 3 saying so, and its database is left as it was (still schema 0)."""
    import sqlite3

    from gopush.server.db import SCHEMA

    data = small_disk / "data"
    data.mkdir()
    with sqlite3.connect(data / "registry.sqlite3") as old:
        old.executescript(SCHEMA)
        old.execute("PRAGMA journal_mode=WAL")
    _fill(small_disk / "filler")
    proc = subprocess.run([sys.executable, "-m", "gopush", "serve", "--port", "0", "--data",
                           str(data)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == ExitCode.CONFIG, proc.stderr
    assert "needs a schema upgrade" in proc.stderr and "Traceback" not in proc.stderr
    (small_disk / "filler").unlink()
    with sqlite3.connect(data / "registry.sqlite3") as kept:
        assert kept.execute("PRAGMA user_version").fetchone()[0] == 0
