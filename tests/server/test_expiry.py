"""server.expiry: unfinished upload slots are forgotten after the expiry, with their files,
unless a request is working on them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from conftest import stored_upload

from gopush.server.assembly import Assemblies
from gopush.server.expiry import SlotExpiry
from gopush.server.storage import Storage, rfc3339

pytestmark = pytest.mark.both_databases

DAY = 24 * 3600.0


def test_expired_unfinished_slots_go_with_their_files(tmp_path: Path, storage_db: str | None) -> None:
    """A day-old slot with a joined file and a part file of its own is forgotten with both;
    a younger slot and a finished upload of the same age stay."""
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "mods")
    assemblies = Assemblies()
    old, _ = storage.new_file(repo, "v1.0.0.zip", "0" * 32, "put_parts")
    joined = assemblies.start(old.identifier, lambda: storage.blobs.incoming("joined")).joined
    joined.write(b"part one")
    storage.blobs.put_part(old.identifier, 3, _incoming(storage, b"part three"))
    finished, _ = storage.new_file(repo, "v1.0.1.zip", "0" * 32, "post")
    storage.complete_file(finished, _incoming(storage, b"done"))
    for slot in (old, finished):
        with storage.db.tx() as conn:
            conn.execute("UPDATE files SET created_at = ? WHERE identifier = ?",
                         (rfc3339(time.time() - DAY - 60), slot.identifier))
    young, _ = storage.new_file(repo, "v1.0.2.zip", "0" * 32, "put_parts")
    expiry = SlotExpiry(storage, assemblies, DAY)

    assert expiry.sweep() == 1
    assert storage.file(old.identifier) is None and assemblies.get(old.identifier) is None
    assert not joined.path.exists() and storage.blobs.parts(old.identifier) == {}
    assert storage.file(young.identifier) is not None
    assert storage.file(finished.identifier) is not None
    assert expiry.sweep() == 0


def test_a_slot_in_use_is_left_for_the_next_sweep(tmp_path: Path, storage_db: str | None) -> None:
    """An expired slot whose part is being appended, or whose complete holds the lock, stays."""
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "mods")
    assemblies = Assemblies()
    slot, _ = storage.new_file(repo, "v1.0.0.zip", "0" * 32, "put_parts")
    assembly = assemblies.start(slot.identifier, lambda: storage.blobs.incoming("joined"))
    expiry = SlotExpiry(storage, assemblies, 60.0, clock=lambda: 4_000_000_000.0)

    assembly.busy = True
    assert expiry.sweep() == 0 and storage.file(slot.identifier) is not None
    assembly.busy = False

    async def complete_running() -> int:
        async with assembly.lock:
            return expiry.sweep()

    assert asyncio.run(complete_running()) == 0 and storage.file(slot.identifier) is not None
    assert expiry.sweep() == 1 and storage.file(slot.identifier) is None


def test_joins_of_uploads_completed_elsewhere_are_dropped(tmp_path: Path,
                                                          storage_db: str | None) -> None:
    """Parts of one upload reach several instances, and each starts a join; the instance
    that completes the upload drops only its own. At the next check, each instance drops its
    joins of uploads that are complete or gone (not of one still awaiting parts, nor of one
    in use), long before any expiry."""
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "mods")
    assemblies = Assemblies()
    slots = [storage.new_file(repo, f"v1.0.{n}.zip", "0" * 32, "put_parts")[0]
             for n in range(4)]
    joins = [assemblies.start(slot.identifier, lambda: storage.blobs.incoming("joined"))
             for slot in slots]
    for join in joins:
        join.joined.write(b"part one, appended here")
    completed_elsewhere, _awaiting, gone, in_use = slots
    storage.complete_file(completed_elsewhere, _incoming(storage, b"joined by another"))
    storage.complete_file(in_use, _incoming(storage, b"being completed"))
    storage.forget_slot(gone)
    joins[3].busy = True
    expiry = SlotExpiry(storage, assemblies, DAY)

    assert expiry.sweep() == 0  # nothing expired
    assert [assemblies.get(slot.identifier) is not None for slot in slots] == \
        [False, True, False, True]
    assert [join.joined.path.exists() for join in joins] == [False, True, False, True]
    joins[3].busy = False
    expiry.sweep()
    assert assemblies.get(in_use.identifier) is None and not joins[3].joined.path.exists()


def _incoming(storage: Storage, data: bytes):  # type: ignore[no-untyped-def]
    incoming = storage.blobs.incoming("form")
    incoming.write(data)
    return incoming


def test_finished_uploads_without_a_package_expire_while_serving(tmp_path: Path, storage_db: str | None) -> None:
    """Finished uploads that expire after the start and did not become a live package are
    forgotten with their blob, unless another upload holds the same bytes; one a package
    was made from stays; one that was being completed when it expired is examined again."""
    storage = Storage(tmp_path, storage_db)
    repo = storage.ensure_repo("acme", "mods")
    assemblies = Assemblies()
    now = [time.time()]
    expiry = SlotExpiry(storage, assemblies, 60.0, clock=lambda: now[0])
    unused = stored_upload(storage, b"uploaded, then refused with 409")
    twin = stored_upload(storage, b"same bytes twice")
    twin_young, _ = storage.new_file(repo, "v1.0.0.zip", "0" * 32, "post")
    used = stored_upload(storage, b"became a package")
    storage.fail_package(repo, used, "invalid zip", "")
    completing, _ = storage.new_file(repo, "v1.0.1.zip", "0" * 32, "put_parts")
    assembly = assemblies.start(completing.identifier, lambda: storage.blobs.incoming("j"))
    assembly.busy = True

    now[0] += 120  # every slot above is now two minutes old, past the 60 s expiry
    storage.complete_file(twin_young, _incoming(storage, b"same bytes twice"))
    _age(storage, twin_young.identifier, rfc3339(now[0]))
    assert expiry.sweep() == 2  # unused and twin; completing is busy
    blobs = set(storage.blobs.names())
    assert unused.blob_sha256 not in blobs and storage.file(unused.identifier) is None
    assert twin.blob_sha256 in blobs  # twin_young, still open, has the same bytes
    assert used.blob_sha256 in blobs and storage.file(used.identifier) is not None

    assembly.busy = False
    assemblies.drop(completing.identifier)
    storage.complete_file(completing, _incoming(storage, b"finished after it expired"))
    now[0] += 1
    assert expiry.sweep() == 1 and storage.file(completing.identifier) is None


def _age(storage: Storage, identifier: str, created_at: str) -> None:
    with storage.db.tx() as conn:
        conn.execute("UPDATE files SET created_at = ? WHERE identifier = ?",
                     (created_at, identifier))
