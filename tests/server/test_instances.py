"""Several `gopush serve` instances on one PostgreSQL database and one --data directory
(issue 14 point 3): real subprocesses, no balancer (each test talks to each instance).

Pushes through every instance are downloaded by the real go through every instance; ten
concurrent pushes of one version store one; an instance killed (SIGKILL) while it holds a
claim on a package loses nothing it acknowledged, another instance finishes the queue; the
upload expiry and the blob sweep run on one instance at a time (an advisory lock). On SQLite
the data-directory lock still refuses a second instance.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import (
    KEY,
    Served,
    api_push,
    api_upload,
    gopush_build,
    settle,
    start_serve,
    tagged_module,
)
from gitrepo import GitRepo
from gotool import GoOracle
from pgdatabases import Databases, unavailable

from gopush.server.db import EXPIRY_LOCK, SWEEP_LOCK

pytestmark = pytest.mark.both_databases

Start = Callable[..., Served]
# several instances share a database only on PostgreSQL (SQLite: the last test)
POSTGRESQL = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)


@pytest.fixture
def instances(tmp_path: Path, pg_databases: Databases) -> Iterator[tuple[str, Start]]:
    """Return (database URL, starter): each start is one more `gopush serve` on the same
    PostgreSQL database and the same --data directory, stderr to a file; all are stopped
    after the test."""
    if why := unavailable():
        pytest.skip(why)
    url = pg_databases.new()
    started: list[Served] = []

    def start(*args: str) -> Served:
        log = (tmp_path / f"instance{len(started)}.log").open("wb")
        served = start_serve(tmp_path / "data", *args, env={"GOPUSH_SERVE_DATABASE": url},
                             stderr=log)
        served.database = url
        started.append(served)
        return served

    yield url, start
    for served in started:
        served.stop()


def _log(tmp_path: Path, n: int) -> str:
    return (tmp_path / f"instance{n}.log").read_text(errors="replace")


def _rows(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql, args).fetchall())


def _until(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    """Wait until ``check()`` is truthy (bounded); return its value."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"not reached in {timeout}s: {what}"
        time.sleep(0.05)
    return value


@POSTGRESQL
def test_pushes_through_each_instance_download_through_every_instance(
        db_backend: str, instances: tuple[str, Start], go: GoOracle, tmp_path: Path) -> None:
    """Three instances: a version pushed through each is downloaded by go through each,
    with the h1: gopush build computed; each package was processed exactly once."""
    url, start = instances
    servers = [start() for _ in range(3)]
    repo = tagged_module(tmp_path / "repo", "example.com/multi", ["v1.0.0", "v1.1.0", "v1.2.0"])
    built = {tag: gopush_build(repo.path, tag, tmp_path / "dist")
             for tag in ("v1.0.0", "v1.1.0", "v1.2.0")}
    for served, doc in zip(servers, built.values(), strict=True):
        pushed = api_push(served.url, "acme/mods", doc["zip"])
        assert pushed.status_code == 201 and pushed.package["status_str"] == "Completed", pushed.text
    for n, served in enumerate(servers):
        for tag, doc in built.items():
            got = go.download("example.com/multi", tag, GOPROXY=served.goproxy("acme/mods"),
                              GOMODCACHE=str(tmp_path / f"modcache{n}"))
            assert got["Sum"] == doc["sum"]
    assert _rows(url, "SELECT count(*) FROM versions") == [(3,)]
    assert _rows(url, "SELECT count(*) FROM packages WHERE state = 'completed'") == [(3,)]


@POSTGRESQL
def test_ten_concurrent_pushes_of_one_version_store_one(
        db_backend: str, instances: tuple[str, Start], tmp_path: Path) -> None:
    """Ten pushes of module@v1.0.0 at once over three instances, five with one content and
    five with another: one version row and one live package; every push of the content that
    won gets 201 and that package, every other the 409 "already exists with different
    content" a single server gives."""
    url, start = instances
    servers = [start() for _ in range(3)]
    zips = []
    for side in ("a", "b"):
        repo = GitRepo(tmp_path / f"repo-{side}")
        repo.commit("release", {"go.mod": "module example.com/race\n\ngo 1.21\n",
                                "lib.go": f"package lib\n\nconst Side = \"{side}\"\n"})
        repo.git("tag", "v1.0.0")
        zips.append(gopush_build(repo.path, "v1.0.0", tmp_path / f"dist-{side}"))
    jobs = [(servers[n % 3], zips[n % 2]) for n in range(10)]
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda job: (job[1], api_push(job[0].url, "acme/mods",
                                                              job[1]["zip"])), jobs))
    assert _rows(url, "SELECT count(*) FROM versions") == [(1,)]
    (winner_sum,) = _rows(url, "SELECT sum FROM versions")[0]
    live = _rows(url, "SELECT slug_perm FROM packages WHERE state = 'completed'")
    assert len(live) == 1
    for doc, result in results:
        if doc["sum"] == winner_sum:
            assert result.status_code in (200, 201), result.text
            assert result.package["slug_perm"] == live[0][0]
        else:
            assert result.status_code == 409, result.text
            assert "already exists in acme/mods with different content" in result.text
    assert sum(doc["sum"] == winner_sum for doc, _ in results) == 5


@POSTGRESQL
def test_killed_instance_holding_a_claim_loses_nothing(
        db_backend: str, instances: tuple[str, Start], go: GoOracle, tmp_path: Path) -> None:
    """Instance A claims a package and is held mid-processing (test hook), with a second
    package acknowledged (queued) behind it; B cannot take the claim while A renews it;
    kill -9 of A: once the lease lapses B processes both, and go downloads them through B."""
    url, start = instances
    hold = tmp_path / "hold"
    hold.mkdir()
    lease = "3"
    first = start("--queue-lease", lease, "--hold-processing", str(hold))
    repo = tagged_module(tmp_path / "repo", "example.com/killed", ["v1.0.0", "v1.1.0"])
    built = [gopush_build(repo.path, tag, tmp_path / "dist") for tag in ("v1.0.0", "v1.1.0")]
    replies = []
    for doc in built:  # acknowledged: 201, queued
        identifier = api_upload(first.url, "acme/mods", doc["zip"])
        reply = httpx.post(f"{first.url}/packages/acme/mods/upload/go/",
                           headers={"X-Api-Key": KEY}, json={"package_file": identifier},
                           timeout=60)
        assert reply.status_code == 201, reply.text
        replies.append(reply)
    claimed = _until("A claims the first package", lambda: list(hold.glob("claimed-*")))
    perm = claimed[0].name.removeprefix("claimed-")
    worker = claimed[0].read_text()
    assert worker.split(":")[1] == str(first.proc.pid)
    second = start("--queue-lease", lease)
    (lease_before,) = _rows(url, "SELECT lease_until FROM packages WHERE slug_perm = %s", perm)[0]
    _until("A renews its lease", lambda: _rows(
        url, "SELECT lease_until FROM packages WHERE slug_perm = %s", perm)[0][0] > lease_before)
    assert _rows(url, "SELECT state, claimed_by FROM packages WHERE slug_perm = %s",
                 perm) == [("syncing", worker)]  # B polled meanwhile and left it
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    for reply in replies:
        done = settle(reply, second.url)
        assert done.package["status_str"] == "Completed", done.package
    finished = _rows(url, "SELECT claimed_by FROM packages WHERE state = 'completed'")
    assert len(finished) == 2
    assert all(by.split(":")[1] == str(second.proc.pid) for (by,) in finished)
    for doc in built:
        got = go.download("example.com/killed", doc["version"],
                          GOPROXY=second.goproxy("acme/mods"))
        assert got["Sum"] == doc["sum"]


@POSTGRESQL
def test_an_instance_starting_leaves_uploads_in_progress_alone(
        db_backend: str, instances: tuple[str, Start], go: GoOracle, tmp_path: Path) -> None:
    """A multipart upload half sent to instance A (a part kept in a file of its own, the
    joined file parked) is completed after instance B started on the same database and
    --data: B's start-up recovery deleted neither the slot nor its files."""
    import hashlib

    _, start = instances
    first = start()
    repo = tagged_module(tmp_path / "repo", "example.com/inflight", ["v1.0.0"],
                         {"data.txt": "x" * 300_000})
    doc = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    data = Path(doc["zip"]).read_bytes()
    pieces = [data[:100_000], data[100_000:200_000], data[200_000:]]
    with httpx.Client(base_url=first.url, headers={"X-Api-Key": KEY}, timeout=60) as client:
        slot = client.post("/files/acme/mods/", json={
            "filename": "v1.0.0.zip", "md5_checksum": hashlib.md5(data).hexdigest(),
            "method": "put_parts"}).json()
        for number in (1, 3):  # 1 joins; 3 waits in a file of its own
            reply = client.put(slot["upload_url"], content=pieces[number - 1], params={
                "upload_id": slot["identifier"], "part_number": number})
            assert reply.status_code == 200, reply.text
        scratch = sorted(p.name for p in (tmp_path / "data" / "tmp").iterdir())
        assert scratch  # the joined file and part 3
        second = start()  # recovers at start: must not take these for a crash's leftovers
        assert sorted(p.name for p in (tmp_path / "data" / "tmp").iterdir()) == scratch
        reply = client.put(slot["upload_url"], content=pieces[1], params={
            "upload_id": slot["identifier"], "part_number": 2})
        assert reply.status_code == 200, reply.text
        done = client.post(f"/files/acme/mods/{slot['identifier']}/complete/",
                           json={"upload_id": slot["identifier"], "complete": True})
        assert done.status_code == 201, done.text
        reply = client.post("/packages/acme/mods/upload/go/",
                            json={"package_file": slot["identifier"]})
    assert settle(reply, first.url).package["status_str"] == "Completed"
    got = go.download("example.com/inflight", "v1.0.0", GOPROXY=second.goproxy("acme/mods"))
    assert got["Sum"] == doc["sum"]


@POSTGRESQL
def test_expiry_and_sweep_run_on_one_instance_at_a_time(
        db_backend: str, instances: tuple[str, Start], tmp_path: Path) -> None:
    """While the test holds the expiry and sweep advisory locks, no instance forgets an
    expired upload slot, though each checked (opening a slot runs a check before the 202),
    nor deletes an orphan blob, nor anything at its start; once released, the instances
    forget every expired slot and delete the orphan (the second sweep to find it unneeded)."""
    import hashlib

    import psycopg

    url, start = instances
    holder = psycopg.connect(url, autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s), pg_advisory_lock(%s)",
                       (SWEEP_LOCK, EXPIRY_LOCK))
        servers = [start("--upload-expiry", "0.0005") for _ in range(3)]  # 1.8 s
        content = b"a blob no row needs"
        sha = hashlib.sha256(content).hexdigest()
        orphan = tmp_path / "data" / "blobs" / "sha256" / sha[:2] / sha
        orphan.parent.mkdir(parents=True, exist_ok=True)
        orphan.write_bytes(content)
        _open_slot(servers[0])
        _until("the first slot is expired", lambda: _rows(
            url, "SELECT count(*) FROM files WHERE created_at < %s",
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))) == [(1,)])
        for served in servers:
            _open_slot(served)  # each instance checked for expired slots, and skipped
        assert _rows(url, "SELECT count(*) FROM files") == [(4,)]
        assert orphan.exists()
        holder.execute("SELECT pg_advisory_unlock(%s), pg_advisory_unlock(%s)",
                       (SWEEP_LOCK, EXPIRY_LOCK))
        _until("every expired slot is forgotten",
               lambda: _rows(url, "SELECT count(*) FROM files") == [(0,)])
        _until("the orphan is swept", lambda: not orphan.exists())
    finally:
        holder.close()


def _open_slot(served: Served) -> None:
    slot = httpx.post(f"{served.url}/files/acme/mods/", headers={"X-Api-Key": KEY},
                      json={"filename": "v1.0.0.zip", "md5_checksum": "0" * 32,
                            "method": "post"}, timeout=30)
    assert slot.status_code == 202, slot.text


@POSTGRESQL
def test_sweep_and_expiry_skip_while_another_instance_runs_them(
        db_backend: str, pg_databases: Databases, tmp_path: Path) -> None:
    """Two storages on one database and directory (two instances in one process): while
    one holds the sweep lock the other's sweep deletes nothing (0) and keeps the orphan;
    after, the orphan goes at its second sweep (the grace); the expiry check likewise."""
    from gopush.server.assembly import Assemblies
    from gopush.server.expiry import SlotExpiry
    from gopush.server.storage import Storage

    url = pg_databases.new()
    one, other = Storage(tmp_path, url), Storage(tmp_path, url)
    orphan = one.blobs.put_bytes(b"stored, its row never committed", "crash")
    repo = one.ensure_repo("acme", "mods")
    slot, _ = one.new_file(repo, "v1.0.0.zip", "0" * 32, "post")
    expiry = SlotExpiry(other, Assemblies(), 60, clock=lambda: time.time() + 3600)
    with one.db.exclusively(SWEEP_LOCK) as held, one.db.exclusively(EXPIRY_LOCK) as too:
        assert held and too
        assert other.sweep_orphans() == 0 and other.sweep_orphans() == 0
        assert expiry.sweep() == 0 and other.file(slot.identifier) is not None
    assert orphan in other.blobs.names()
    assert other.sweep_orphans() == 0  # first seen unneeded: the grace
    assert other.sweep_orphans() == 1 and orphan not in other.blobs.names()
    assert expiry.sweep() == 1 and other.file(slot.identifier) is None


def test_data_directory_lock_only_on_sqlite(db_backend: str, serve: Any,
                                             tmp_path: Path) -> None:
    """SQLite: a second `gopush serve` on the same --data is refused (exit 3, the lock);
    PostgreSQL: a second instance on the same --data and database starts and serves."""
    first = serve()
    env = {**os.environ, "GOPUSH_SERVE_API_KEYS": KEY}
    if first.database:
        env["GOPUSH_SERVE_DATABASE"] = first.database
    argv = [*first.argv[:first.argv.index("--port") + 1], "0", *first.argv[
        first.argv.index("--port") + 2:]]
    if db_backend == "sqlite":
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60,
                              check=False)
        assert proc.returncode == 3
        assert "is in use by another gopush serve" in proc.stderr
        return
    second = serve(data=first.data)
    assert second.data == first.data and second.url != first.url
    for served in (first, second):
        assert httpx.get(f"{served.url}/readyz", timeout=10).status_code == 200
