"""The contract every ``--blobs`` store keeps (``server.blobs.Blobs``), run on each store:
written once (two instances committing the same bytes at once: one stores, nothing left
behind), verified reads (a blob changed behind the store's back raises ``BlobCorrupt``, and
the real go's download through `gopush serve` fails rather than getting wrong bytes), the
parts of multipart uploads, deletion, missing blobs.

The stores: a directory, PostgreSQL large objects, and S3 on a real Ceph RADOS Gateway (one
for the session, tests/conftest.py ``ceph_gateway``; a new bucket per test, and the AWS
variables in the environment of every `gopush serve` a test starts)."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from conftest import api_push, gopush_build, seeded_bytes, start_serve, tagged_module
from gotool import GoError, GoOracle
from pgdatabases import Databases, unavailable

from gopush.server.blobs import (
    BlobCorrupt,
    BlobMissing,
    Blobs,
    BlobStoreUnavailable,
    DirectoryBlobs,
    open_blobs,
)
from gopush.server.db import open_database
from gopush.server.scratch import OWNER
from gopush.server.space import Space

STORES = ["directory", "postgresql", "s3"]
S3_PREFIX = "team/blobs"


class Harness:
    """A store, a way to open another instance of it, and a way to damage it behind its back."""

    def __init__(self, kind: str, root: Path, databases: Databases,
                 bucket: str | None = None) -> None:
        self.kind, self.root, self.bucket = kind, root, bucket
        self.url = databases.new() if kind == "postgresql" else None
        self.opened: list[Any] = []

    @property
    def blobs(self) -> str:
        """The ``--blobs`` value of this store."""
        return {"postgresql": "postgresql", "s3": f"s3://{self.bucket}/{S3_PREFIX}"}.get(
            self.kind, f"dir:{self.root / 'shared'}")

    def _s3(self) -> Any:
        """A plain S3 client: another program, behind the store's back."""
        import boto3

        return boto3.client("s3")

    def open(self, name: str = "a") -> Blobs:
        """Open an instance of the store with scratch space of its own (``name``)."""
        data = self.root / name
        data.mkdir(exist_ok=True)
        space = Space(data, data / "tmp")
        if self.kind == "postgresql":
            db = open_database(self.url or "", space)
            self.opened.append(db)
            return open_blobs("postgresql", data=data, space=space, database=db)
        return open_blobs(self.blobs, data=data, space=space)

    def corrupt(self, sha256: str, at: int = 10) -> None:
        """Change one byte of a stored blob without telling the store: by default byte 10, in
        a zip the first local header's modification time, which go's unzip never reads, so
        only the registry's verification can keep the changed zip from go."""
        if self.kind == "postgresql":
            with psycopg.connect(self.url or "", autocommit=True) as conn:
                oid = conn.execute("SELECT oid FROM blobs WHERE sha256 = %s",
                                   (sha256,)).fetchone()[0]
                old = conn.execute("SELECT lo_get(%s::oid, %s, 1)", (oid, at)).fetchone()[0]
                conn.execute("SELECT lo_put(%s::oid, %s, %s)", (oid, at, bytes([old[0] ^ 1])))
            return
        if self.kind == "s3":
            key = f"{S3_PREFIX}/sha256/{sha256}"
            s3 = self._s3()
            data = bytearray(s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            data[at] ^= 1
            s3.put_object(Bucket=self.bucket, Key=key, Body=bytes(data))
            return
        path = self.root / "shared" / "sha256" / sha256[:2] / sha256
        data = bytearray(path.read_bytes())
        data[at] ^= 1
        path.write_bytes(bytes(data))

    def leftovers(self) -> int:
        """Count the stored objects no row names (large objects, hidden copies; in S3, any
        object but a blob, parts included, and unfinished multipart uploads)."""
        if self.kind == "postgresql":
            with psycopg.connect(self.url or "", autocommit=True) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_largeobject_metadata m WHERE NOT EXISTS "
                    "(SELECT 1 FROM blobs b WHERE b.oid = m.oid) AND NOT EXISTS "
                    "(SELECT 1 FROM blob_parts p WHERE p.oid = m.oid)").fetchone()
                return int(row[0])
        if self.kind == "s3":
            s3 = self._s3()
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])]
            uploads = s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
            blob = re.compile(rf"{S3_PREFIX}/sha256/[0-9a-f]{{64}}")
            return len(uploads) + sum(1 for key in keys if not blob.fullmatch(key))
        return len(list((self.root / "shared" / "sha256").glob("??/.*")))

    def close(self) -> None:
        for db in self.opened:
            db.close()


@pytest.fixture(params=STORES)
def harness(request: pytest.FixtureRequest, tmp_path: Path,
            pg_databases: Databases) -> Iterator[Harness]:
    if request.param == "postgresql" and (why := unavailable()):
        pytest.skip(why)
    bucket = request.getfixturevalue("s3_bucket") if request.param == "s3" else None
    made = Harness(request.param, tmp_path, pg_databases, bucket)
    yield made
    made.close()


def _scratch(store: Blobs, data: bytes) -> Any:
    incoming = store.incoming("test")
    incoming.write(data)
    return incoming


def test_written_once_and_read_back(harness: Harness) -> None:
    """A commit stores the bytes under their SHA-256 and removes the scratch file; the same
    bytes again are not new; reads give them back, in chunks, and as a local copy."""
    store = harness.open()
    data = seeded_bytes(1, (3 << 20) + 5)  # more than one chunk
    incoming = _scratch(store, data)
    sha, new = store.commit(incoming)
    assert (sha, new) == (hashlib.sha256(data).hexdigest(), True)
    assert not incoming.path.exists()
    again = _scratch(store, data)
    assert store.commit(again) == (sha, False) and not again.path.exists()
    assert store.exists(sha) and sha in set(store.names())
    pieces = list(store.chunks(sha))
    assert len(pieces) > 1 and b"".join(pieces) == data
    assert store.read_bytes(sha) == data
    with store.local_copy(sha) as path:
        assert path.read_bytes() == data
    small = store.put_bytes(b"module example.com/m\n")
    assert store.read_bytes(small) == b"module example.com/m\n"
    store.check()
    assert harness.leftovers() == 0


def test_concurrent_commits_of_the_same_bytes_store_one(harness: Harness) -> None:
    """Two instances committing the same bytes at the same moment: one stores them, the other
    is told they were there, nothing is left behind."""
    stores = [harness.open("a"), harness.open("b")]
    data = seeded_bytes(2, 4 << 20)
    incomings = [_scratch(store, data) for store in stores]
    for incoming in incomings:
        incoming.finish()
    results: list[tuple[str, bool]] = []
    start = threading.Barrier(2)

    def commit(store: Blobs, incoming: Any) -> None:
        start.wait()
        results.append(store.commit(incoming))

    threads = [threading.Thread(target=commit, args=pair) for pair in zip(stores, incomings)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sha = hashlib.sha256(data).hexdigest()
    assert sorted(results) == [(sha, False), (sha, True)]
    assert list(stores[0].names()) == [sha] and stores[1].read_bytes(sha) == data
    assert harness.leftovers() == 0
    assert not any(incoming.path.exists() for incoming in incomings)


def test_a_blob_changed_behind_the_store_is_never_read(harness: Harness) -> None:
    """Reads are verified: chunks raise BlobCorrupt after the last one; read_bytes and
    local_copy raise before giving anything."""
    store = harness.open()
    data = seeded_bytes(3, (2 << 20) + 100)
    sha = store.commit(_scratch(store, data))[0]
    harness.corrupt(sha)
    chunks = store.chunks(sha)
    with pytest.raises(BlobCorrupt, match=sha):
        for _ in chunks:
            pass
    with pytest.raises(BlobCorrupt):
        store.read_bytes(sha)
    with pytest.raises(BlobCorrupt), store.local_copy(sha):
        pytest.fail("local_copy gave a corrupt blob")


def test_parts_are_kept_replaced_and_deleted(harness: Harness) -> None:
    """Parts put by one instance are seen by another; a part sent again replaces the first;
    delete_parts drops them all and leaves nothing behind."""
    first, second = harness.open("a"), harness.open("b")
    upload = "a1b2c3d4e5f6"
    first.put_part(upload, 1, _scratch(first, b"one" * 1000))
    second.put_part(upload, 3, _scratch(second, b"three"))
    first.put_part(upload, 2, _scratch(first, b"old two"))
    second.put_part(upload, 2, _scratch(second, b"two, sent again"))
    assert first.parts(upload) == {1: 3000, 2: 15, 3: 5}
    assert b"".join(second.part_chunks(upload, 1)) == b"one" * 1000
    assert b"".join(first.part_chunks(upload, 2)) == b"two, sent again"
    assert first.parts("other") == {}
    with pytest.raises(BlobMissing):
        list(first.part_chunks(upload, 4))
    second.delete_parts(upload)
    assert first.parts(upload) == {} and harness.leftovers() == 0
    first.delete_parts(upload)  # nothing left: no error


def test_delete_and_missing(harness: Harness) -> None:
    """A deleted blob is missing (BlobMissing, not an empty read); deleting a missing one is
    no error; unknown names are missing."""
    store = harness.open()
    sha = store.put_bytes(b"short-lived")
    store.delete([sha, "0" * 64])
    assert not store.exists(sha) and sha not in set(store.names())
    with pytest.raises(BlobMissing):
        store.read_bytes(sha)
    with pytest.raises(BlobMissing):
        list(store.chunks("f" * 64))
    assert harness.leftovers() == 0


def test_postgresql_blobs_need_a_postgresql_database(tmp_path: Path) -> None:
    """--blobs postgresql over SQLite is refused with the reason; an s3:// URL that names
    no bucket is refused; an unknown scheme is named."""
    from gopush.errors import ConfigError

    space = Space(tmp_path, tmp_path / "tmp")
    with pytest.raises(ConfigError, match="must then be postgresql://"):
        open_blobs("postgresql", data=tmp_path, space=space, database=None)
    with pytest.raises(ConfigError, match="is not an S3 bucket name"):
        open_blobs("s3://B/prefix", data=tmp_path, space=space)
    with pytest.raises(ConfigError, match="names no blob store"):
        open_blobs("ftp://user:secret@host/x", data=tmp_path, space=space)
    assert isinstance(open_blobs(str(tmp_path / "b"), data=tmp_path, space=space),
                      DirectoryBlobs)


def test_a_postgresql_store_that_refuses_says_so(tmp_path: Path,
                                                pg_databases: Databases) -> None:
    """A store whose server refuses its statements raises BlobStoreUnavailable naming the
    cause (readyz: 503)."""
    if why := unavailable():
        pytest.skip(why)
    url = pg_databases.new()
    space = Space(tmp_path, tmp_path / "tmp")
    db = open_database(url, space)
    store = open_blobs("postgresql", data=tmp_path, space=space, database=db)
    store.check()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE blobs")  # as good as unreachable for the store
    with pytest.raises(BlobStoreUnavailable, match='relation "blobs" does not exist'):
        store.check()
    db.close()


# -- the real go through `gopush serve` -----------------------------------------------------


def _serve_with(harness: Harness, tmp_path: Path) -> Any:
    if harness.kind == "postgresql":
        return start_serve(tmp_path / "data", env={"GOPUSH_SERVE_DATABASE": harness.url or "",
                                                   "GOPUSH_SERVE_BLOBS": "postgresql"},
                           stderr=(tmp_path / "stderr").open("wb"))
    return start_serve(tmp_path / "data", "--blobs", harness.blobs,
                       stderr=(tmp_path / "stderr").open("wb"))


def test_go_never_downloads_a_corrupt_zip(harness: Harness, go: GoOracle,
                                          tmp_path: Path) -> None:
    """A zip changed in the store after it was pushed: go's download fails (the response is
    cut before its last chunk), the server logs which blob, and the intact .mod still
    serves; a second server on the same store serves what the first stored."""
    served = _serve_with(harness, tmp_path)
    try:
        repo = tagged_module(tmp_path / "repo", "example.com/damaged", ["v1.0.0"],
                             {"assets/data.bin": seeded_bytes(4, 3 << 20)})
        built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
        assert api_push(served.url, "acme/mods", built["zip"]).status_code == 201
        proxy = served.goproxy("acme/mods")
        good = go.download("example.com/damaged", "v1.0.0", GOPROXY=proxy)
        assert good["Sum"] == built["sum"]
        go.run(["clean", "-modcache"])
        harness.corrupt(hashlib.sha256(Path(built["zip"]).read_bytes()).hexdigest())
        with pytest.raises(GoError):
            go.download("example.com/damaged", "v1.0.0", GOPROXY=proxy)
        mod = httpx.get(proxy + "example.com/damaged/@v/v1.0.0.mod")
        assert mod.status_code == 200 and mod.text.startswith("module example.com/damaged")
    finally:
        served.stop()
    log = (tmp_path / "stderr").read_text()
    assert "download of the .zip of example.com/damaged@v1.0.0" in log and "corrupt" in log
    assert "Traceback" not in log


@pytest.mark.slow
def test_108_mib_in_parts_with_nothing_on_local_disk(
        cloudsmith_cli: Path, go: GoOracle, big_module: dict[str, Any], tmp_path: Path,
        pg_databases: Databases) -> None:
    """--database postgresql:// --blobs postgresql without --data: the official CLI pushes a
    108 MiB zip in parts, go downloads it with the pushed h1:, the server's memory stays far
    below the zip's size (streamed in chunks), and when it stops nothing of it is left on
    local disk (its scratch directory is removed; no default data directory was made)."""
    if why := unavailable():
        pytest.skip(why)
    import time

    from conftest import cloudsmith

    size_mib = Path(big_module["zip"]).stat().st_size / (1 << 20)
    served = start_serve(None, env={"GOPUSH_SERVE_DATABASE": pg_databases.new(),
                                        "GOPUSH_SERVE_BLOBS": "postgresql"})
    scratch = Path(served.doc["data"])
    try:
        assert served.doc["blobs"].startswith("large objects in postgresql://")
        served.reset_peak_rss()
        began = time.monotonic()
        proc = cloudsmith(cloudsmith_cli, served, "push", "go", "acme/gomods",
                          big_module["zip"], "--wait-interval", "0.2")
        pushed = time.monotonic() - began
        assert proc.returncode == 0, proc.stdout + proc.stderr
        push_rss = served.peak_rss_mib()
        served.reset_peak_rss()
        began = time.monotonic()
        info = go.download("example.com/big", "v1.0.0", GOPROXY=served.goproxy("acme/gomods"))
        fetched = time.monotonic() - began
        download_rss = served.peak_rss_mib()
        assert info["Sum"] == big_module["sum"]
        left = sorted(p.name for p in scratch.rglob("*") if p.is_file() and p.name != OWNER)
    finally:
        served.stop()
    print(f"\n{size_mib:.1f} MiB zip, --blobs postgresql: push {pushed:.1f} s (peak server "
          f"RSS {push_rss:.0f} MiB), go download {fetched:.1f} s (peak server RSS "
          f"{download_rss:.0f} MiB); files left in scratch while serving: {left}")
    assert push_rss < size_mib and download_rss < size_mib
    assert left == []  # no blob, part or scratch file (no data-directory lock on PostgreSQL)
    assert scratch.name.startswith("gopush-scratch-") and not scratch.exists()
    assert not (Path.home() / ".local" / "share" / "gopush").exists()


def test_parts_of_one_upload_reach_different_instances(harness: Harness, go: GoOracle,
                                                       tmp_path: Path,
                                                       pg_databases: Databases) -> None:
    """Two instances on one PostgreSQL database and one blob store: the parts of a multipart
    upload alternate between them, complete reaches the one that did not see part 1 (and
    again the other), and go downloads the module from either with gopush build's h1:."""
    if why := unavailable():
        pytest.skip(why)
    from conftest import KEY, create_package

    auth = {"X-Api-Key": KEY}

    database = harness.url or pg_databases.new()
    env = {"GOPUSH_SERVE_DATABASE": database, "GOPUSH_SERVE_BLOBS": harness.blobs}
    first = start_serve(tmp_path / "a", env=env)
    second = start_serve(tmp_path / "b", env=env)
    try:
        repo = tagged_module(tmp_path / "repo", "example.com/spread", ["v1.0.0"],
                             {"assets/data.bin": seeded_bytes(5, 3 << 20)})
        built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
        data = Path(built["zip"]).read_bytes()
        third = len(data) // 3
        pieces = [data[:third], data[third:2 * third], data[2 * third:]]
        slot = httpx.post(f"{first.url}/files/acme/mods/", headers=auth, json={
            "filename": "v1.0.0.zip", "md5_checksum": hashlib.md5(data).hexdigest(),
            "method": "put_parts"}).json()
        for number, served in ((1, first), (2, second), (3, first)):
            reply = httpx.put(f"{served.url}/_upload/parts/acme/mods/", headers=auth,
                              content=pieces[number - 1], timeout=60,
                              params={"upload_id": slot["identifier"], "part_number": number})
            assert reply.status_code == 200, reply.text
        for served in (second, first):  # the second complete finds it complete
            done = httpx.post(f"{served.url}/files/acme/mods/{slot['identifier']}/complete/",
                              headers=auth, timeout=60,
                              json={"upload_id": slot["identifier"], "complete": True})
            assert done.status_code == 201, done.text
        assert create_package(first.url, "acme/mods", slot["identifier"]).package[
            "is_sync_completed"] is True
        for served in (first, second):
            info = go.download("example.com/spread", "v1.0.0",
                               GOPROXY=served.goproxy("acme/mods"))
            assert info["Sum"] == built["sum"]
            go.run(["clean", "-modcache"])
        assert harness.leftovers() == 0
        if harness.kind == "directory":
            assert list((harness.root / "shared" / "parts").iterdir()) == []
        elif harness.kind == "postgresql":
            with psycopg.connect(database) as conn:
                assert conn.execute("SELECT count(*) FROM blob_parts").fetchone()[0] == 0
    finally:
        first.stop()
        second.stop()


@pytest.mark.parametrize(("blobs", "says"), [
    ("postgresql", "--blobs postgresql keeps blobs in the --database database"),
    ("s3://user:hunter2@bucket/prefix", "never credentials or a host"),
    ("ftp://user:hunter2@host/x", "names no blob store"),
    # a directory under a file: the blob directory is named (was "cannot use data
    # directory DATA: Not a directory"), and DATA, made by this start, is removed
    ("dir:{tmp}/a-file/blobs",
     "cannot use the blob directory {tmp}/a-file/blobs: Not a directory"),
])
def test_serve_refuses_a_blob_store_it_cannot_use(tmp_path: Path, blobs: str,
                                                  says: str) -> None:
    """`gopush serve --blobs` with a store it cannot open exits 3 with the reason, creates
    nothing on disk and prints no password."""
    import subprocess
    import sys

    data = tmp_path / "data"
    (tmp_path / "a-file").write_text("not a directory")
    blobs, says = blobs.format(tmp=tmp_path), says.format(tmp=tmp_path)
    proc = subprocess.run([sys.executable, "-m", "gopush", "serve", "--port", "0", "--data",
                           str(data), "--blobs", blobs], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 3, proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert "hunter2" not in proc.stdout + proc.stderr
    assert not data.exists()


def test_readyz_says_when_the_blob_store_is_gone(tmp_path: Path) -> None:
    """/readyz answers 503 naming the blob store while its directory is gone (a lost mount),
    and 200 again once it is back."""
    import shutil

    store = tmp_path / "mounted"
    served = start_serve(tmp_path / "data", "--blobs", f"dir:{store}")
    try:
        assert httpx.get(f"{served.url}/readyz").status_code == 200
        shutil.move(store, tmp_path / "unmounted")
        gone = httpx.get(f"{served.url}/readyz")
        assert gone.status_code == 503 and "blob store" in gone.json()["reason"]
        shutil.move(tmp_path / "unmounted", store)
        assert httpx.get(f"{served.url}/readyz").status_code == 200
    finally:
        served.stop()
