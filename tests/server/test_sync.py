"""Background processing of packages: queued at upload/go, then completed or failed by the
synchroniser, picked up again after a restart, and resynced only when that can help."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import stored_upload

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.server import sync as sync_module
from gopush.server.records import Package
from gopush.server.storage import Storage
from gopush.server.sync import DEAD_END, RETRYABLE, Synchroniser

pytestmark = pytest.mark.both_databases


def _module_zip(path: Path, module: str, version: str, gomod: str | None = None) -> bytes:
    files = [DataFile("lib.go", b"package lib\n"),
             DataFile("go.mod", (gomod or f"module {module}\n").encode())]
    create_zip(path, module, version, files)
    return path.read_bytes()


def _queued(storage: Storage, data: bytes, named: tuple[str, str]) -> Package:
    repo = storage.ensure_repo("acme", "mods")
    package, new = storage.queue_package(repo, stored_upload(storage, data), named, "")
    assert new and package is not None and package.state == "queued"
    return package


def _settled(storage: Storage, package: Package, timeout: float = 30) -> Package:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = storage.package_by_perm(package.slug_perm)
        assert now is not None
        if now.state not in ("queued", "syncing"):
            return now
        time.sleep(0.01)
    raise AssertionError(f"package {package.slug} still processing after {timeout}s")


def test_queued_package_left_by_a_stopped_server_is_processed_at_start(tmp_path: Path, storage_db: str | None) -> None:
    """A package queued (or syncing) when the server stopped is published on the next start,
    and only then does its version exist."""
    storage = Storage(tmp_path / "data", storage_db)
    data = _module_zip(tmp_path / "v1.0.0.zip", "example.com/later", "v1.0.0")
    package = _queued(storage, data, ("example.com/later", "v1.0.0"))
    storage.set_package_state(package, "syncing", was=("queued",))  # killed mid-processing
    repo = storage.ensure_repo("acme", "mods")
    assert storage.version(repo, "example.com/later", "v1.0.0") is None
    storage.db.close()
    reopened = Storage(tmp_path / "data", storage_db)
    sync = Synchroniser(reopened)
    sync.start()
    try:
        done = _settled(reopened, package)
    finally:
        sync.stop()
    assert done.state == "completed" and done.sum and done.sum.startswith("h1:")
    version = reopened.version(repo, "example.com/later", "v1.0.0")
    assert version is not None and version.package == package.slug_perm


def test_invalid_zip_fails_for_good_and_resync_does_not_requeue(tmp_path: Path, storage_db: str | None) -> None:
    """A zip whose go.mod names another module fails with a reason saying the package should
    be deleted; a resync leaves it failed."""
    storage = Storage(tmp_path / "data", storage_db)
    data = _module_zip(tmp_path / "v1.0.0.zip", "example.com/a", "v1.0.0",
                       gomod="module example.com/b\n")
    sync = Synchroniser(storage)
    sync.start()
    try:
        package = _queued(storage, data, ("example.com/a", "v1.0.0"))
        sync.submit(package)
        failed = _settled(storage, package)
        assert failed.state == "failed" and DEAD_END in (failed.reason or "")
        assert "example.com/b" in (failed.reason or "")
        assert sync.requeue(failed) is False
        assert storage.package_by_perm(package.slug_perm).state == "failed"  # type: ignore
    finally:
        sync.stop()


@pytest.mark.directory_blobs
def test_resync_after_a_server_failure_publishes(tmp_path: Path, storage_db: str | None) -> None:
    """A package that failed because the server could not read its blob is queued again by a
    resync and, once the blob is readable, completes."""
    storage = Storage(tmp_path / "data", storage_db)
    data = _module_zip(tmp_path / "v1.0.0.zip", "example.com/retry", "v1.0.0")
    package = _queued(storage, data, ("example.com/retry", "v1.0.0"))
    slot = storage.file(package.file_identifier or "")
    assert slot is not None and slot.blob_sha256
    blob = storage.blobs._path(slot.blob_sha256)  # the directory store's file
    hidden = blob.with_name("hidden")
    blob.rename(hidden)  # the blob is unreadable (say, a disk error) during processing
    sync = Synchroniser(storage)
    sync.start()
    try:
        sync.submit(package)
        failed = _settled(storage, package)
        assert failed.state == "failed"
        assert (failed.reason or "").startswith(RETRYABLE.split("(", 1)[0])
        hidden.rename(blob)
        assert sync.requeue(failed) is True
        assert _settled(storage, package).state == "completed"
    finally:
        sync.stop()


def test_second_upload_of_a_version_in_processing_is_not_queued(tmp_path: Path, storage_db: str | None) -> None:
    """While a package of module@version is queued, another upload of that version is not
    queued beside it (upload/go decides it after the first), and a retried upload/go of the
    same upload returns the same package."""
    storage = Storage(tmp_path / "data", storage_db)
    data = _module_zip(tmp_path / "v1.0.0.zip", "example.com/busy", "v1.0.0")
    first = _queued(storage, data, ("example.com/busy", "v1.0.0"))
    repo = storage.ensure_repo("acme", "mods")
    other, new = storage.queue_package(repo, stored_upload(storage, data),
                                       ("example.com/busy", "v1.0.0"), "")
    assert (other, new) == (None, False)
    slot = storage.file(first.file_identifier or "")
    assert slot is not None
    again, new_again = storage.queue_package(repo, slot, ("example.com/busy", "v1.0.0"), "")
    assert again is not None and again.slug_perm == first.slug_perm and not new_again


def test_a_full_disk_while_processing_is_retryable_or_waits_for_space(
        tmp_path: Path, storage_db: str | None, monkeypatch) -> None:
    """A package whose publishing runs out of disk space fails with a reason resync can
    help; if even that failure cannot be written, it stays in processing and is processed
    again as soon as space returns (no restart)."""
    import errno

    storage = Storage(tmp_path / "data", storage_db)
    publish, set_state = storage.publish, storage.set_package_state
    full = OSError(errno.ENOSPC, "No space left on device")

    def no_space(*args: object, **kwargs: object) -> object:
        raise storage.space.full(tmp_path / "data" / "tmp" / "gomod", full)

    monkeypatch.setattr(storage, "publish", no_space)
    first = _queued(storage, _module_zip(tmp_path / "a.zip", "example.com/a", "v1.0.0"),
                    ("example.com/a", "v1.0.0"))
    sync = Synchroniser(storage)
    sync.start()
    try:
        failed = _settled(storage, first)
        assert failed.state == "failed"
        assert failed.reason == RETRYABLE.format(error="the registry is out of disk space")
        assert storage.space.read_only

        def no_space_to_fail(package: Package, state: str, **kwargs: object) -> bool:
            if state == "failed":
                no_space()
            return set_state(package, state, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(storage, "set_package_state", no_space_to_fail)
        second = _queued(storage, _module_zip(tmp_path / "b.zip", "example.com/b", "v1.0.0"),
                         ("example.com/b", "v1.0.0"))
        sync.submit(second)
        time.sleep(0.3)
        stalled = storage.package_by_perm(second.slug_perm)
        assert stalled is not None and stalled.state == "syncing"
        monkeypatch.setattr(storage, "publish", publish)
        assert storage.space.check()  # space returned: read-only mode ends
        assert _settled(storage, second).state == "completed"
    finally:
        sync.stop()


def test_an_unexpected_exception_fails_the_package_and_the_queue_goes_on(
        tmp_path: Path, storage_db: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the check (here a RecursionError, as a 1000-element path once raised) fails
    the package with a reason naming it, instead of leaving it syncing for good; the next
    package is processed as usual."""
    storage = Storage(tmp_path / "data", storage_db)
    real_check = sync_module.check_upload
    broken = _module_zip(tmp_path / "broken.zip", "example.com/broken", "v1.0.0")
    fine = _module_zip(tmp_path / "fine.zip", "example.com/fine", "v1.0.0")

    def check_upload(path: Path) -> object:
        if path.read_bytes() == broken:
            raise RecursionError("maximum recursion depth exceeded")
        return real_check(path)

    monkeypatch.setattr(sync_module, "check_upload", check_upload)
    sync = Synchroniser(storage)
    sync.start()
    try:
        first = _queued(storage, broken, ("example.com/broken", "v1.0.0"))
        sync.submit(first)
        second = _queued(storage, fine, ("example.com/fine", "v1.0.0"))
        sync.submit(second)
        failed = _settled(storage, first)
        assert failed.state == "failed"
        assert "internal error: RecursionError" in (failed.reason or "")
        assert (failed.reason or "").startswith(RETRYABLE.split("(", 1)[0])
        assert _settled(storage, second).state == "completed"
    finally:
        sync.stop()


@pytest.mark.sqlite_only
def test_a_claim_left_by_a_killed_sqlite_server_is_processed_at_once(
        tmp_path: Path, storage_db: str | None) -> None:
    """SQLite has one server (the data-directory lock): a claim a killed run still held,
    its lease running for an hour, ends at the next start and the package is processed at
    once, not after the lease (on PostgreSQL another instance may hold it: it waits)."""
    storage = Storage(tmp_path / "data", storage_db)
    data = _module_zip(tmp_path / "v1.0.0.zip", "example.com/claimed", "v1.0.0")
    package = _queued(storage, data, ("example.com/claimed", "v1.0.0"))
    claimed = storage.claim_package("host:1:dead", 3600)
    assert claimed is not None and claimed.slug_perm == package.slug_perm
    storage.db.close()
    reopened = Storage(tmp_path / "data", storage_db)
    reopened.recover()
    sync = Synchroniser(reopened)
    sync.start()
    try:
        assert _settled(reopened, package, timeout=10).state == "completed"
    finally:
        sync.stop()


@pytest.mark.parametrize("republish", [True, False])
def test_the_republish_flag_lives_in_the_row(tmp_path: Path, storage_db: str | None,
                                             republish: bool) -> None:
    """A package queued with republish is processed with it by whichever worker claims it
    (here one that never saw the submission): when other content was published for the
    version meanwhile, republish replaces it, and without it the package fails."""
    from gopush.server.validate import check_upload

    storage = Storage(tmp_path / "data", storage_db)
    repo = storage.ensure_repo("acme", "mods")
    queued_zip = _module_zip(tmp_path / "a.zip", "example.com/re", "v1.0.0")
    _module_zip(tmp_path / "b.zip", "example.com/re", "v1.0.0",
                gomod="module example.com/re\n\ngo 1.21\n")
    package, new = storage.queue_package(repo, stored_upload(storage, queued_zip),
                                         ("example.com/re", "v1.0.0"), "", republish=republish)
    assert new and package is not None and package.republish == int(republish)
    # meanwhile other content is published for the version (an upstream fetch, say)
    storage.publish(repo, stored_upload(storage, (tmp_path / "b.zip").read_bytes()),
                    check_upload(tmp_path / "b.zip"), republish=False)
    elsewhere = Synchroniser(storage)  # another instance's worker: no submit() here
    elsewhere.start()
    try:
        done = _settled(storage, package)
    finally:
        elsewhere.stop()
    if republish:
        assert done.state == "completed", done.reason
        served = storage.version(repo, "example.com/re", "v1.0.0")
        assert served is not None and served.package == package.slug_perm
    else:
        assert done.state == "failed" and "already exists" in (done.reason or "")
