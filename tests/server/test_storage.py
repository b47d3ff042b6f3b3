"""Storage rules: immutable versions decided atomically, crash leftovers swept, secrets kept
only as digests."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import stored_upload

from gopush.errors import VersionExists
from gopush.modzip.accept import AcceptedZip
from gopush.server.db import Conflict
from gopush.server.storage import Storage

pytestmark = pytest.mark.both_databases


def _accepted(module: str, version: str, sum_: str) -> AcceptedZip:
    """What the gate returns for a zip of ``module@version`` with this h1: (unchecked)."""
    return AcceptedZip(module, version, sum_, f"module {module}\n".encode(),
                       gomod_synthesized=False, valid=(), pseudo_time=None)


def _checked(sum_: str) -> AcceptedZip:
    return _accepted("example.com/m", "v1.0.0", sum_)


def test_concurrent_publish_has_one_winner(tmp_path: Path, storage_db: str | None) -> None:
    """Eight threads publish different content for one version: one creates it, the others
    get VersionExists, and one version row remains."""
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "mods")
    slots = [stored_upload(storage, bytes([n]) * 10) for n in range(8)]
    outcomes: list[object] = [None] * 8
    barrier = threading.Barrier(8)

    def publish(n: int) -> None:
        barrier.wait()
        try:
            outcomes[n] = storage.publish(repo, slots[n], _checked(f"h1:{n}"),  # type: ignore
                                          republish=False)[1]
        except VersionExists as err:
            outcomes[n] = err

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(o is True for o in outcomes) == 1
    assert sum(isinstance(o, VersionExists) for o in outcomes) == 7
    assert len(storage.versions(repo, "example.com/m")) == 1


def test_identical_publish_is_noop(tmp_path: Path, storage_db: str | None) -> None:
    """Publishing the same sum again returns the existing package, not a new one."""
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "mods")
    first, new = storage.publish(repo, stored_upload(storage, b"a"), _checked("h1:a"),  # type: ignore
                                 republish=False)
    again, new_again = storage.publish(repo, stored_upload(storage, b"a"),  # type: ignore
                                       _checked("h1:a"), republish=False)
    assert new and not new_again and again.slug_perm == first.slug_perm


def test_recover_sweeps_unfinished_uploads(tmp_path: Path, storage_db: str | None) -> None:
    """After a crash, temporary files and unfinished slots are removed at start (SQLite);
    on PostgreSQL, where other instances may be receiving them, both stay (they go by age:
    server.expiry, ``sweep_orphans(scratch_age=...)``)."""
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "mods")
    slot, _ = storage.new_file(repo, "v1.0.0.zip", "0" * 32, "post")
    storage.blobs.incoming().write(b"half an upload")
    storage.db.close()
    reopened = Storage(tmp_path, storage_db)
    if storage_db is None:
        assert reopened.recover() == 1
        assert reopened.file(slot.identifier) is None
        assert list(reopened.blobs.tmp.iterdir()) == []
    else:
        assert reopened.recover() == 0
        assert reopened.file(slot.identifier) is not None
        assert len(list(reopened.blobs.tmp.iterdir())) == 1
        assert reopened.sweep_orphans(scratch_age=3600) == 0  # written just now: kept
        assert reopened.sweep_orphans(scratch_age=0) == 1
        assert list(reopened.blobs.tmp.iterdir()) == []


def _sweep_twice_if_shared(storage: Storage) -> int:
    """Return what one more orphan sweep deletes on a shared database (PostgreSQL), where
    a blob goes at the second sweep that finds it unneeded (the grace); 0 on SQLite."""
    return storage.sweep_orphans() if storage.db.shared else 0


def test_secrets_are_stored_as_digests(tmp_path: Path, storage_db: str | None) -> None:
    """Read tokens and upload signatures never reach the data directory in clear."""
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "private", private=True)
    storage.add_read_token("acme", "private", "token-in-clear-123")
    _, signature = storage.new_file(repo, "v1.0.0.zip", "0" * 32, "post")
    private, entitlement = storage.read_access("acme", "private", "token-in-clear-123")
    assert private is True and entitlement is not None
    assert storage.read_access("acme", "private", "other") == (True, None)
    assert storage.read_access("acme", "nothing", "token-in-clear-123") == (None, None)
    storage.db.close()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"token-in-clear-123" not in content and signature.encode() not in content
    if storage_db is not None:  # PostgreSQL: every row of every table, as text
        import psycopg

        with psycopg.connect(storage_db) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            assert "entitlements" in tables and "files" in tables
            for table in tables:
                for (text,) in conn.execute(f"SELECT t::text FROM {table} t"):
                    assert "token-in-clear-123" not in text and signature not in text


@pytest.mark.parametrize("visibility", [True, False])
def test_ensure_repo_sets_visibility(tmp_path: Path, storage_db: str | None, visibility: bool) -> None:
    """ensure_repo creates a repository once and updates only what it is given."""
    storage = Storage(tmp_path, storage_db)
    storage.ensure_repo("acme", "r", private=visibility, upstream="http://up/")
    again = storage.ensure_repo("acme", "r")
    assert (bool(again.private), again.upstream) == (visibility, "http://up/")


def test_recover_deletes_blobs_nothing_needs(tmp_path: Path, storage_db: str | None) -> None:
    """At start, a blob left by a crash before its row was committed is removed, and the
    blobs of a deleted package are gone (deleted with it); the blobs of live versions, failed packages and finished
    uploads stay."""
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "mods")
    live, _ = storage.publish(repo, stored_upload(storage, b"live"), _checked("h1:live"),
                              republish=False)
    failed = storage.fail_package(repo, stored_upload(storage, b"bad"), "invalid", "")
    waiting = stored_upload(storage, b"uploaded, no package yet")
    gone, _ = storage.publish(repo, stored_upload(storage, b"gone"),
                              _accepted("example.com/gone", "v1.0.0", "h1:gone"),
                              republish=False)
    storage.delete_package(gone)  # deletes the version's zip and go.mod blobs at once
    orphan = storage.blobs.put_bytes(b"stored, then the server died", "crash")
    storage.db.close()
    reopened = Storage(tmp_path, storage_db)
    assert reopened.recover() + _sweep_twice_if_shared(reopened) == 1  # the orphan
    kept = set(reopened.blobs.names())
    assert {live.blob_sha256, failed.blob_sha256, waiting.blob_sha256} <= kept
    assert gone.blob_sha256 not in kept and orphan not in kept


def _age(storage: Storage, identifier: str, created_at: str) -> None:
    with storage.db.tx() as conn:
        conn.execute("UPDATE files SET created_at = ? WHERE identifier = ?",
                     (created_at, identifier))


def test_recover_forgets_old_uploads_no_package_used(tmp_path: Path, storage_db: str | None) -> None:
    """With an expiry, a finished upload older than it that did not become a live package
    goes (with its blob), as does an old one whose package was deleted; a newer one, and an
    old one a package uses, stay."""
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "mods")
    unused_old = stored_upload(storage, b"uploaded, then the client gave up")
    unused_new = stored_upload(storage, b"uploaded a minute ago")
    used_old, _ = storage.publish(repo, stored_upload(storage, b"published"),
                                  _checked("h1:p"), republish=False)
    deleted = storage.fail_package(repo, stored_upload(storage, b"bad"), "invalid", "")
    storage.delete_package(deleted)  # its blob goes at once
    assert deleted.blob_sha256 not in storage.blobs.names()
    _age(storage, unused_old.identifier, "2026-01-01T00:00:00Z")
    _age(storage, str(used_old.file_identifier), "2026-01-01T00:00:00Z")
    _age(storage, str(deleted.file_identifier), "2026-01-01T00:00:00Z")
    _age(storage, unused_new.identifier, "2026-01-03T00:00:00Z")
    storage.db.close()
    reopened = Storage(tmp_path, storage_db)
    assert reopened.recover(unused_before="2026-01-02T00:00:00Z") + _sweep_twice_if_shared(
        reopened) == 1  # the unused blob
    assert reopened.file(unused_old.identifier) is None
    assert reopened.file(str(deleted.file_identifier)) is None
    assert reopened.file(unused_new.identifier) is not None
    assert reopened.file(str(used_old.file_identifier)) is not None
    kept = set(reopened.blobs.names())
    assert unused_old.blob_sha256 not in kept
    assert {unused_new.blob_sha256, used_old.blob_sha256} <= kept


def test_sweep_orphans_while_serving_keeps_what_rows_need(tmp_path: Path, storage_db: str | None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The running server's sweep deletes a blob no row needs, but not one a row came to
    need between the listing and the sweep's transaction (an upload of the same bytes
    completed meanwhile), nor an upload still being received (a file under tmp/)."""
    storage = Storage(tmp_path, storage_db)
    orphan = storage.blobs.put_bytes(b"no row needs this", "crash")
    reused = storage.blobs.put_bytes(b"an upload of these bytes completes meanwhile", "crash")
    receiving = storage.blobs.incoming()
    receiving.write(b"half of a body")
    listing = storage.blobs.names

    def names_then_upload() -> list[str]:
        listed = listing()
        stored_upload(storage, b"an upload of these bytes completes meanwhile")
        return listed

    monkeypatch.setattr(storage.blobs, "names", names_then_upload)
    assert storage.sweep_orphans() + _sweep_twice_if_shared(storage) == 1
    assert set(listing()) == {reused}
    assert orphan not in listing() and receiving.path.exists()


# a trigger that refuses every update of ``files`` as a broken constraint, on each engine
_REFUSE_UPDATES = {
    "sqlite": [("CREATE TRIGGER refuse BEFORE UPDATE ON files "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END")],
    "postgresql": [("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$"),
                   ("CREATE TRIGGER refuse BEFORE UPDATE ON files FOR EACH ROW "
                    "EXECUTE FUNCTION refuse()")],
}


def test_a_rolled_back_transaction_takes_back_the_blob_it_placed(tmp_path: Path, storage_db: str | None) -> None:
    """A blob put in place for a row whose transaction rolls back (as a full disk at COMMIT
    does) is removed again; a blob that was there before stays."""
    storage = Storage(tmp_path, storage_db)
    before = stored_upload(storage, b"already stored")
    with storage.db.tx() as conn:
        for statement in _REFUSE_UPDATES[storage.db.dialect]:
            conn.execute(statement)
    for data in (b"new bytes", b"already stored"):
        repo = storage.ensure_repo("acme", "mods")
        slot, _ = storage.new_file(repo, "v1.0.0.zip", "0" * 32, "post")
        incoming = storage.blobs.incoming()
        incoming.write(data)
        with pytest.raises(Conflict):
            storage.complete_file(slot, incoming)
    assert storage.blobs.names() == [before.blob_sha256]
    assert storage.file(slot.identifier).state == "awaiting"  # type: ignore[union-attr]


def test_a_republished_version_drops_the_old_zip_keeps_a_shared_go_mod(tmp_path: Path, storage_db: str | None) -> None:
    """Republishing a version deletes the replaced zip's blob at once; the go.mod blob both
    versions share stays, since the new version row needs it."""
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "mods")
    old, _ = storage.publish(repo, stored_upload(storage, b"old zip"), _checked("h1:old"),
                             republish=False)
    new, _ = storage.publish(repo, stored_upload(storage, b"new zip"), _checked("h1:new"),
                             republish=True)
    version = storage.version(repo, "example.com/m", "v1.0.0")
    assert version is not None and version.zip_sha256 == new.blob_sha256
    assert set(storage.blobs.names()) == {new.blob_sha256, version.mod_sha256}
    assert old.blob_sha256 not in storage.blobs.names()


def test_package_slugs_stay_unique_when_their_random_part_repeats(
        tmp_path: Path, storage_db: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slugs are the module and version (the module cut so the version shows) plus the
    start of the package's random id: two packages whose ids begin alike, for modules long
    enough to be cut, still get distinct slugs (a search load test once hit the unique
    constraint with 300 long module paths)."""
    import secrets

    ids = iter(range(1000))  # every random id begins "abcd0000": only the whole id differs
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: f"abcd{next(ids):08d}")
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "mods")
    module = "example.com/" + "x" * 150 + "/m"
    slugs = []
    for version in ("v1.0.1", "v1.0.2", "v1.0.3"):
        checked = _accepted(module, version, f"h1:{version}")
        package, _ = storage.publish(repo, stored_upload(storage, version.encode()),  # type: ignore
                                     checked, republish=False)
        slugs.append(package.slug)
    assert len(set(slugs)) == 3, slugs
    assert all(len(slug) <= 90 and "-v1-0-" in slug for slug in slugs), slugs
