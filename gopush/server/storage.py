"""The registry's storage: metadata (``server.db``: SQLite or PostgreSQL) plus content-addressed blobs.

Everything the HTTP layer needs goes through ``Storage``. The rules that make it safe:

- bytes are written to a temporary file, fsynced and renamed to their SHA-256 address before
  any row points at them (``server.blobs``), so a crash leaves at most an unused blob;
- a module version appears in one transaction (package row plus version row), whole or not
  at all, and ``publish`` decides inside that transaction, so of two concurrent uploads of the
  same module@version exactly one creates it and the other is told what happened;
- versions are immutable: the same content again is a no-op, other content raises
  ``VersionExists`` unless republishing was asked for;
- every write that makes a row need a blob puts the blob in place (or finds it there)
  inside the transaction that writes the row, and removes it again if that transaction
  rolls back and the blob was not there before (``_place``); a running server deletes a
  blob only after a transaction that found no row needing it has committed, before the next
  transaction starts (``Database.on_commit``). Transactions are serialised, so no row ever
  points at a blob that was deleted.

Blobs no row needs are deleted while serving, not only at start (``sweep_orphans``): those
a crash left between renaming a blob into place and committing its row, and any other a
deletion missed. A deleted package's blobs, a republished version's old ones and an expired
upload's are deleted at once, in the transaction that drops the last row needing them. An upload in progress is never one of them: until its transaction
commits, its bytes are a scratch file under ``tmp/`` (which only a start sweeps on SQLite;
instances sharing a PostgreSQL database delete one untouched for the upload expiry instead),
or parts the blob store keeps (``Blobs.put_part``) until the upload completes or is forgotten.

A full disk raises ``space.DiskFull`` from any write (``server.space``); nothing
half-written remains: temporary files are deleted by their callers, transactions roll back.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from gopush.errors import GopushError, VersionExists
from gopush.modzip.accept import RFC3339, AcceptedZip
from gopush.server.blobs import Blobs, Incoming, open_blobs
from gopush.server.db import (
    SWEEP_LOCK,
    Connection,
    Database,
    digest,
    open_database,
    sqlite_url,
)
from gopush.server.entitlements import Entitlement, Entitlements
from gopush.server.publish_tokens import PublishTokens
from gopush.server.records import FileSlot, Package, Repo, Version, from_row
from gopush.server.retention import Removal, RetentionStore, Rules, doomed
from gopush.server.space import DiskFull, Space
from gopush.server.tags import join_tags, split_tags

log = logging.getLogger("gopush.server")

# A finished upload's bytes are needed while the upload may still become a package, or is one;
# a package's upload is no longer needed once the package is deleted.
_NEEDED_BLOBS = (
    "SELECT zip_sha256 AS sha FROM versions UNION SELECT mod_sha256 FROM versions "
    "UNION SELECT blob_sha256 FROM packages WHERE state != 'deleted' "
    "UNION SELECT f.blob_sha256 FROM files f WHERE f.state = 'complete' AND NOT "
    "EXISTS (SELECT 1 FROM packages p WHERE p.file_identifier = f.identifier "
    "AND p.state = 'deleted')")
# An upload slot that did not become a live package (for ``FROM files``).
_NO_LIVE_PACKAGE = ("NOT EXISTS (SELECT 1 FROM packages p WHERE p.file_identifier = "
                    "files.identifier AND p.state != 'deleted')")
# A republished version's row replaces the old one's every column (``_publish``).
_REPLACE_VERSION = ("ON CONFLICT (owner, name, module, version) DO UPDATE SET " + ", ".join(
    f"{column} = excluded.{column}" for column in
    ("zip_sha256", "mod_sha256", "sum", "time", "origin", "package")))


def default_database(root: Path) -> str:
    """Return the database a data directory holds unless ``--database`` names another."""
    return sqlite_url(root / "registry.sqlite3")


class SlotGone(GopushError):
    """The upload slot was forgotten (it expired) while a request was using it."""


def now() -> str:
    """Return the current UTC time as RFC 3339 with a ``Z`` (as Go's .info files use)."""
    return rfc3339(time.time())


def rfc3339(timestamp: float) -> str:
    """Return a Unix time as RFC 3339 UTC text with a ``Z``, to the second."""
    return datetime.fromtimestamp(timestamp, UTC).strftime(RFC3339)


def version_time(accepted: AcceptedZip, upstream: str | None = None) -> str:
    """Return the Time a version's ``.info`` serves: ``upstream``'s when it gave one, else
    the gate's rule (a pseudo-version's own time, else now, when it is published)."""
    return upstream or accepted.time(datetime.now(UTC)).strftime(RFC3339)


class Storage:
    """Repositories, upload slots, packages and module versions under one data directory."""

    def __init__(self, root: Path, database: str | Database | None = None,
                 blobs: str | None = None) -> None:
        """Open the data directory ``root`` (scratch files, and by default the blobs and
        the SQLite database), the metadata database ``database`` (a URL,
        ``server.db.open_database``, or one already open; by default ``registry.sqlite3`` in
        ``root``) and the blob store ``blobs`` (a ``--blobs`` value, ``blobs.open_blobs``)."""
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.space = Space(root, root / "tmp")
        (root / "tmp").mkdir(exist_ok=True)  # scratch files, and the probe of a full disk
        self.db = database if isinstance(database, Database) else open_database(
            database or default_database(root), self.space)
        self.blobs: Blobs = open_blobs(blobs, data=root, space=self.space, database=self.db)
        self.entitlements = Entitlements(self.db)
        self.retention = RetentionStore(self.db)
        self.publish_tokens = PublishTokens(self.db)  # trusted publishing (issue 13)
        # the file descriptor whose lock keeps other servers out (server.run.open_storage;
        # SQLite only: instances sharing a PostgreSQL database share the directory)
        self.data_lock: int | None = None
        # blobs no row needed at the last sweep (the grace of ``sweep_orphans``)
        self._unneeded_before: set[str] = set()

    def recover(self, *, unused_before: str | None = None) -> int:
        """Forget uploads a previous run did not finish, and delete blobs nothing needs any
        more; return how many files were removed.

        With ``unused_before`` (RFC 3339 UTC), finished uploads opened before it that did not
        become a live package (never used, refused, or their package was deleted) are
        forgotten too, so their blobs go: the same rule ``server.expiry`` applies while
        serving.

        SQLite: only call this before serving (the data-directory lock guarantees no other
        writer): it deletes every temporary file without the care ``forget_slot`` takes, and
        ends the claims a killed run held on packages (processed again at once). On a
        full disk the temporary files go first (they may free enough); if the database still
        cannot take the deletions, they wait for the next start and the server starts in
        read-only mode (``server.space``).

        A shared database (PostgreSQL): other instances may be serving, and their unfinished
        uploads and scratch files are not leftovers. Nothing unfinished is touched (a slot
        left by a dead instance goes by age, ``server.expiry``; its scratch files by age, in
        ``sweep_orphans``); only finished uploads older than ``unused_before`` are forgotten,
        and blobs swept, by one instance at a time (``SWEEP_LOCK``).
        """
        if self.db.shared:
            with self.db.exclusively(SWEEP_LOCK) as mine:
                if not mine:
                    return 0
                if unused_before is not None:
                    with self.db.tx() as conn:
                        conn.execute(f"DELETE FROM files WHERE created_at < ? AND "
                                     f"{_NO_LIVE_PACKAGE} AND state = 'complete'",
                                     (unused_before,))
            return self.sweep_orphans()
        removed = self.blobs.sweep()
        try:
            with self.db.tx() as conn:
                unfinished = [row[0] for row in conn.execute(
                    "SELECT identifier FROM files WHERE state = 'awaiting'")]
                conn.execute("DELETE FROM files WHERE state = 'awaiting'")
                # no other instance: a claim still running was a dead run's (claimable now)
                conn.execute("UPDATE packages SET lease_until = NULL WHERE state = 'syncing'")
                self.db.on_commit(lambda: self._delete_parts(unfinished))
                if unused_before is not None:
                    conn.execute(f"DELETE FROM files WHERE created_at < ? AND "
                                 f"{_NO_LIVE_PACKAGE}", (unused_before,))
        except DiskFull:
            pass  # read-only start: logged by Space; awaiting slots hold no blob
        return removed + self.sweep_orphans()

    def sweep_orphans(self, scratch_age: float | None = None) -> int:
        """Delete the blobs no row needs (see the module docstring); return how many.

        Safe while serving: the blobs on disk are listed first, without the lock; then, in
        one transaction, those that no version, live package or finished upload (that is
        not a deleted package's) needs are deleted once it commits. A blob put in place
        after the listing is not looked at; one that a row came to need meanwhile is kept,
        since that row committed before this transaction began.

        A shared database (PostgreSQL, several instances): one instance sweeps at a time
        (``SWEEP_LOCK``; the others skip the round and return 0), and a blob is deleted only
        if it was already unneeded at this instance's previous sweep (a grace of one sweep
        interval, whatever the store): a blob another instance has just stored for a row it
        has not committed yet is never deleted, even should transactions stop being
        serialised by ``WRITE_LOCK`` (which, today, alone makes the in-process argument
        above hold across processes). With ``scratch_age`` seconds, scratch files untouched
        for that long (a killed instance's) are deleted too.
        """
        if not self.db.shared:
            return self._sweep_orphans(grace=False)
        with self.db.exclusively(SWEEP_LOCK) as mine:
            if not mine:
                log.info("blob sweep skipped: another instance is sweeping")
                return 0
            removed = 0 if scratch_age is None else self.blobs.sweep(
                older_than=time.time() - scratch_age)
            swept = self._sweep_orphans(grace=True)
            log.info("blob sweep: %d unneeded blobs and %d old scratch files deleted",
                     swept, removed)
            return swept + removed

    def _sweep_orphans(self, *, grace: bool) -> int:
        on_disk = list(self.blobs.names())
        if not on_disk:
            self._unneeded_before = set()
            return 0
        with self.db.tx() as conn:
            needed = {row[0] for row in conn.execute(_NEEDED_BLOBS) if row[0]}
            unneeded = {sha for sha in on_disk if sha not in needed}
            orphans = sorted(unneeded & self._unneeded_before if grace else unneeded)
            self._unneeded_before = unneeded.difference(orphans)
            if orphans:
                self.db.on_commit(lambda: self.blobs.delete(orphans))
        return len(orphans)

    def _delete_parts(self, uploads: list[str]) -> None:
        """Delete the parts the blob store keeps for these forgotten uploads."""
        for upload in uploads:
            self.blobs.delete_parts(upload)

    @staticmethod
    def _blob_needed(conn: Connection, sha256: str) -> bool:
        return conn.execute(f"SELECT 1 FROM ({_NEEDED_BLOBS}) AS needed WHERE sha = ? LIMIT 1",
                            (sha256,)).fetchone() is not None

    # -- repositories ----------------------------------------------------------------------

    def repo(self, owner: str, name: str) -> Repo | None:
        """Return the repository ``owner/name``, or None."""
        row = self.db.one("SELECT * FROM repos WHERE owner = ? AND name = ?", owner, name)
        return from_row(Repo, row) if row else None

    def repos(self) -> list[Repo]:
        """Return every repository, by name."""
        return [from_row(Repo, r) for r in self.db.all("SELECT * FROM repos ORDER BY owner, name")]

    def ensure_repo(self, owner: str, name: str, *, private: bool | None = None,
                    upstream: str | None = None) -> Repo:
        """Create ``owner/name`` if missing (public unless told); update what is given.

        A repository that already is as asked is not written (a restart on a full disk
        with the same ``--repo`` options must not need space).
        """
        found = self.repo(owner, name)
        if found is not None and (private is None or bool(found.private) == private) and (
                upstream is None or (found.upstream or "") == upstream):
            return found
        with self.db.tx() as conn:
            conn.execute("INSERT INTO repos (owner, name, private, created_at) VALUES "
                         "(?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (owner, name, int(bool(private)), now()))
            if private is not None:
                conn.execute("UPDATE repos SET private = ? WHERE owner = ? AND name = ?",
                             (int(private), owner, name))
            if upstream is not None:
                conn.execute("UPDATE repos SET upstream = ? WHERE owner = ? AND name = ?",
                             (upstream or None, owner, name))
        repo = self.repo(owner, name)
        assert repo is not None
        return repo

    def add_read_token(self, owner: str, name: str, token: str) -> None:
        """Seed ``token`` as an entitlement of ``owner/name`` (``--read-token``; stored as a
        digest), unless this seed was applied before (``Entitlements.seed``)."""
        self.entitlements.seed(owner, name, token)

    def read_access(self, owner: str, name: str,
                    token: str) -> tuple[bool | None, Entitlement | None]:
        """Return whether ``owner/name`` is private (None: no such repository) and the
        entitlement ``token`` is of (None: none), in one query whatever exists
        (``Entitlements.read_access``)."""
        return self.entitlements.read_access(owner, name, token)

    # -- upload slots ----------------------------------------------------------------------

    def new_file(self, repo: Repo, filename: str, md5: str, method: str) -> tuple[FileSlot, str]:
        """Open an upload slot; return it and the signature the upload must present."""
        identifier, signature = secrets.token_urlsafe(9), secrets.token_urlsafe(24)
        with self.db.tx() as conn:
            conn.execute("INSERT INTO files (identifier, owner, name, filename, md5, method, "
                         "signature_sha256, state, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                         (identifier, repo.owner, repo.name, filename, md5.lower(), method,
                          digest(signature), "awaiting", now()))
        slot = self.file(identifier)
        assert slot is not None
        return slot, signature

    def file(self, identifier: str) -> FileSlot | None:
        """Return the upload slot ``identifier``, or None."""
        row = self.db.one("SELECT * FROM files WHERE identifier = ?", identifier)
        return from_row(FileSlot, row) if row else None

    def complete_file(self, slot: FileSlot, incoming: Incoming) -> FileSlot:
        """Store the received bytes as a blob and mark the slot complete.

        Raises:
            SlotGone: the slot was forgotten meanwhile (it expired); the bytes are dropped.
        """
        incoming.finish()  # fsync a large file before taking the database lock
        with self.db.tx() as conn:
            if not self._slot_exists(conn, slot.identifier):
                incoming.discard()
                raise _slot_gone()
            sha = self._place(incoming)  # in the transaction: see the module docstring
            conn.execute("UPDATE files SET state = 'complete', blob_sha256 = ?, size = ? "
                         "WHERE identifier = ?", (sha, incoming.size, slot.identifier))
        done = self.file(slot.identifier)
        assert done is not None
        return done

    @staticmethod
    def _slot_exists(conn: Connection, identifier: str) -> bool:
        return conn.execute("SELECT 1 FROM files WHERE identifier = ?",
                            (identifier,)).fetchone() is not None

    def expired_slots(self, *, opened_before: str, finished_since: str) -> list[FileSlot]:
        """Return the upload slots opened before ``opened_before`` (RFC 3339 UTC, as
        ``now()`` writes) that did not become a live package: every unfinished one, and the
        finished ones opened at or after ``finished_since``.

        The caller examines each stretch of time once (``server.expiry``), so the cost is
        two index range scans over the slots that expired since, not one over every upload
        ever made.
        """
        rows = self.db.all(
            "SELECT * FROM files WHERE state = 'awaiting' AND created_at < ? UNION ALL "
            "SELECT * FROM files WHERE state = 'complete' AND created_at >= ? AND "
            f"created_at < ? AND {_NO_LIVE_PACKAGE} ORDER BY created_at",
            opened_before, finished_since, opened_before)
        return [from_row(FileSlot, row) for row in rows]

    def forget_slot(self, slot: FileSlot) -> bool:
        """Delete an upload slot that did not become a live package, the part files kept for
        it, and its blob unless a row still needs the same bytes; return whether it was
        forgotten (not when it became a package meanwhile)."""
        with self.db.tx() as conn:
            row = conn.execute(f"SELECT blob_sha256 FROM files WHERE identifier = ? AND "
                               f"{_NO_LIVE_PACKAGE}", (slot.identifier,)).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM files WHERE identifier = ?", (slot.identifier,))
            self._delete_unneeded(conn, [row[0]])
        self.blobs.delete_parts(slot.identifier)
        return True

    # -- packages --------------------------------------------------------------------------

    def package(self, repo: Repo, slug: str) -> Package | None:
        """Return a live package of ``repo`` by slug or slug_perm, or None."""
        row = self.db.one("SELECT * FROM packages WHERE owner = ? AND name = ? AND "
                          "(slug = ? OR slug_perm = ?) AND state != 'deleted'",
                          repo.owner, repo.name, slug, slug)
        return from_row(Package, row) if row else None

    def package_for_file(self, slot: FileSlot) -> Package | None:
        """Return the live package an upload slot already became, or None (idempotent POSTs)."""
        row = self.db.one("SELECT * FROM packages WHERE file_identifier = ? AND "
                          "state != 'deleted'", slot.identifier)
        return from_row(Package, row) if row else None

    def packages(self, repo: Repo) -> list[Package]:
        """Return the live packages of ``repo``, newest first."""
        rows = self.db.all("SELECT * FROM packages WHERE owner = ? AND name = ? AND "
                           "state != 'deleted' ORDER BY uploaded_at DESC, rowid DESC",
                           repo.owner, repo.name)
        return [from_row(Package, r) for r in rows]

    def fail_package(self, repo: Repo, slot: FileSlot, reason: str, tags: str) -> Package:
        """Record an upload that cannot become a module version, with the reason."""
        with self.db.tx() as conn:
            perm = self._insert_package(conn, repo, slot, "failed", reason, tags)
        return self._by_perm(perm)

    def queue_package(self, repo: Repo, slot: FileSlot, named: tuple[str, str] | None,
                      tags: str, *, republish: bool = False) -> tuple[Package | None, bool]:
        """Record an upload waiting to be processed (queued), named for what its zip claims;
        return the package and whether it is new.

        If the upload already became a package (a retried upload/go), that package is
        returned, not new. If the version it names is published (or was, then deleted), or
        another package for it is being processed, nothing is queued and (None, False) is returned: the caller
        decides such an upload itself, after the other one, so that of two uploads of one
        version the second hears at once whether it was identical or refused.
        ``republish`` is kept in the row: whichever instance claims the package honours it.
        """
        module, version = named if named else (None, None)
        with self.db.tx() as conn:
            row = conn.execute("SELECT slug_perm FROM packages WHERE file_identifier = ? AND "
                               "state != 'deleted'", (slot.identifier,)).fetchone()
            if row:
                return self._by_perm_in(conn, row[0]), False
            if named and (self._version_busy(conn, repo, *named)
                          or self._deleted_sum(conn, repo, *named) is not None):
                return None, False
            perm = self._insert_package(conn, repo, slot, "queued", None, tags,
                                        module=module, version=version)
            if republish:
                conn.execute("UPDATE packages SET republish = 1 WHERE slug_perm = ?", (perm,))
            return self._by_perm_in(conn, perm), True

    @staticmethod
    def _version_busy(conn: Connection, repo: Repo, module: str, version: str) -> bool:
        """Tell whether module@version is published, or a package for it is in processing."""
        where = (repo.owner, repo.name, module, version)
        return bool(conn.execute("SELECT 1 FROM versions WHERE owner = ? AND name = ? AND "
                                 "module = ? AND version = ?", where).fetchone()
                    or conn.execute("SELECT 1 FROM packages WHERE owner = ? AND name = ? AND "
                                    "module = ? AND version = ? AND state IN "
                                    "('queued', 'syncing')", where).fetchone())

    def version_busy(self, repo: Repo, module: str, version: str) -> bool:
        """Tell whether a package for module@version is still being processed."""
        return self.db.one("SELECT 1 FROM packages WHERE owner = ? AND name = ? AND "
                           "module = ? AND version = ? AND state IN ('queued', 'syncing')",
                           repo.owner, repo.name, module, version) is not None

    def claim_package(self, worker: str, lease: float) -> Package | None:
        """Claim the oldest package to process for ``worker`` for ``lease`` seconds; return
        it (now syncing), or None when there is none.

        Claimable: queued, or syncing with a lapsed lease (its instance died or stalled) or
        one ``worker`` holds itself (a claim it could not finish: a full disk). On
        PostgreSQL the row is taken with ``FOR UPDATE SKIP LOCKED`` and the lease is checked
        again on the locked row, so two instances never claim one package while its lease
        runs; an idle queue costs one indexed read without any lock (``db.one``).
        """
        stamp = time.time()
        claimable = ("(state = 'queued' OR (state = 'syncing' AND (lease_until IS NULL OR "
                     "lease_until < ? OR claimed_by = ?)))")
        if self.db.one(f"SELECT 1 FROM packages WHERE {claimable} LIMIT 1",
                       int(stamp), worker) is None:
            return None
        with self.db.tx() as conn:
            row = conn.execute(self.db.skip_locked(
                f"SELECT slug_perm FROM packages WHERE {claimable} ORDER BY rowid LIMIT 1"),
                (int(stamp), worker)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE packages SET state = 'syncing', claimed_by = ?, "
                         "lease_until = ?, updated_at = ? WHERE slug_perm = ?",
                         (worker, int(stamp + lease), now(), row[0]))
            return self._by_perm_in(conn, row[0])

    def renew_claim(self, package: Package, worker: str, lease: float) -> bool:
        """Extend ``worker``'s claim on a syncing package by ``lease`` seconds from now;
        return whether it still holds it (False: processed, deleted, or claimed by another
        instance after the lease lapsed)."""
        with self.db.tx() as conn:
            return bool(conn.execute(
                "UPDATE packages SET lease_until = ? WHERE slug_perm = ? AND "
                "state = 'syncing' AND claimed_by = ?",
                (int(time.time() + lease), package.slug_perm, worker)).rowcount)

    def package_by_perm(self, perm: str) -> Package | None:
        """Return a package by its slug_perm, whatever its state, or None."""
        row = self.db.one("SELECT * FROM packages WHERE slug_perm = ?", perm)
        return from_row(Package, row) if row else None

    def set_package_state(self, package: Package, state: str, *, was: tuple[str, ...],
                          reason: str | None = None) -> bool:
        """Move a package to ``state`` (with ``reason``) if it is in one of the ``was`` states;
        return whether it moved (it may have been deleted or processed meanwhile)."""
        marks = ",".join("?" * len(was))
        with self.db.tx() as conn:
            moved = conn.execute(f"UPDATE packages SET state = ?, reason = ?, updated_at = ? "
                                 f"WHERE slug_perm = ? AND state IN ({marks})",
                                 (state, reason, now(), package.slug_perm, *was)).rowcount
        return bool(moved)

    def retag(self, package: Package,
              change: Callable[[list[str], list[str]], tuple[list[str], list[str]]]
              ) -> Package | None:
        """Set a package's (tags, immutable tags) to ``change(tags, immutable)`` of the ones
        it has, in one transaction (two clients tagging at once both count); return the
        package, or None if it was deleted meanwhile. Whatever ``change`` raises (a
        ``tags.TagError``) leaves the tags as they were."""
        with self.db.tx() as conn:
            row = conn.execute("SELECT tags, tags_immutable FROM packages WHERE slug_perm = ? "
                               "AND state != 'deleted'", (package.slug_perm,)).fetchone()
            if row is None:
                return None
            tags, immutable = change(split_tags(row[0]), split_tags(row[1]))
            conn.execute("UPDATE packages SET tags = ?, tags_immutable = ? WHERE slug_perm = ?",
                         (join_tags(tags), join_tags(immutable), package.slug_perm))
            return self._by_perm_in(conn, package.slug_perm)

    def delete_package(self, package: Package) -> None:
        """Delete a package; its module version stops being served (410 Gone), and its zip
        and go.mod blobs are deleted unless another row needs the same bytes."""
        with self.db.tx() as conn:
            blobs = [package.blob_sha256, *(row[0] for row in conn.execute(
                "SELECT mod_sha256 FROM versions WHERE package = ?", (package.slug_perm,)))]
            conn.execute("UPDATE packages SET state = 'deleted', updated_at = ? "
                         "WHERE slug_perm = ?", (now(), package.slug_perm))
            conn.execute("DELETE FROM versions WHERE package = ?", (package.slug_perm,))
            self._delete_unneeded(conn, blobs)

    def retain(self, repo: Repo, rules: Rules | None = None, *, trigger: Package | None = None,
               dry_run: bool = False) -> list[Removal]:
        """Apply ``repo``'s retention rules (``rules``: these instead of the stored ones) and
        return what they removed, or with ``dry_run`` would remove (``retention.doomed``:
        ``trigger``'s group only, else every group). Each removal is ``delete_package``."""
        removals = doomed(self.packages(repo), rules or self.retention.get(repo),
                          trigger=trigger)
        if not dry_run:
            for removal in removals:
                self.delete_package(removal.package)
                log.info("retention removed %s@%s from %s: %s", removal.package.module,
                         removal.package.version, repo.full_name, removal.why)
        return removals

    def _delete_unneeded(self, conn: Connection, sha256s: list[str | None]) -> None:
        """Delete, once the transaction commits, those of these blobs no row needs then."""
        unneeded = [sha for sha in sha256s if sha and not self._blob_needed(conn, sha)]
        if unneeded:
            self.db.on_commit(lambda: self.blobs.delete(unneeded))

    def _place(self, incoming: Incoming) -> str:
        """Put a finished upload in place as a blob, inside the current transaction; return
        its SHA-256. Should the transaction roll back (a full disk at COMMIT), a blob this
        call put there is removed again: it was absent, so no committed row needs it."""
        sha, new = self.blobs.commit(incoming)
        if new:
            self.db.on_rollback(lambda: self.blobs.delete([sha]))
        return sha

    def publish(self, repo: Repo, slot: FileSlot, accepted: AcceptedZip, *, republish: bool,
                tags: str = "", queued: Package | None = None) -> tuple[Package, bool]:
        """Make a validated upload a module version; return its package and whether it is new.

        Without ``queued`` a new package row is made (or, for content already published, the
        existing package is returned); with it, that queued package becomes the version's
        package, unless it was deleted meanwhile (then it is returned unchanged).

        Raises:
            VersionExists: the version exists with other content and ``republish`` is false,
                or (for a queued package) with the same content under another package.
        """
        gomod = self.blobs.incoming("gomod")
        try:
            gomod.write(accepted.gomod)
            gomod.finish()
            return self._publish(repo, slot, accepted, gomod, republish=republish, tags=tags,
                                 queued=queued)
        finally:
            gomod.discard()  # a no-op once committed (renamed into place)

    def _publish(self, repo: Repo, slot: FileSlot, accepted: AcceptedZip, gomod: Incoming, *,
                 republish: bool, tags: str, queued: Package | None) -> tuple[Package, bool]:
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM versions WHERE owner = ? AND name = ? AND "
                               "module = ? AND version = ?",
                               (repo.owner, repo.name, accepted.module, accepted.version)
                               ).fetchone()
            existing = from_row(Version, row) if row else None
            if existing and existing.sum == accepted.sum and existing.package:
                if queued is None or existing.package == queued.slug_perm:
                    # (the second: an instance whose lease lapsed finishes a package that
                    # another one published meanwhile; the same outcome, not a duplicate)
                    return self._by_perm_in(conn, existing.package), False
                raise _duplicate(repo, accepted, self._by_perm_in(conn, existing.package))
            if existing and existing.sum != accepted.sum and not republish:
                raise _version_exists(repo, accepted, existing)
            gone = None if existing else self._deleted_sum(conn, repo, accepted.module,
                                                           accepted.version)
            if gone is not None and gone != accepted.sum and not republish:
                raise _version_deleted(repo, accepted, gone)
            if queued is None:
                perm = self._insert_package(conn, repo, slot, "completed", None, tags,
                                            module=accepted.module, version=accepted.version,
                                            summary=accepted.sum)
            elif not self._complete_queued(conn, queued, accepted):
                return self._by_perm_in(conn, queued.slug_perm), False
            else:
                perm = queued.slug_perm
            if existing and existing.package:
                conn.execute("UPDATE packages SET state = 'deleted', updated_at = ? "
                             "WHERE slug_perm = ?", (now(), existing.package))
            mod_sha = self._place(gomod)  # in the transaction: see the module docstring
            conn.execute(f"INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?,?) {_REPLACE_VERSION}",
                         (repo.owner, repo.name, accepted.module, accepted.version,
                          slot.blob_sha256, mod_sha, accepted.sum, version_time(accepted),
                          "upload", perm))
            if existing:  # republished: the replaced version's blobs, unless still needed
                self._delete_unneeded(conn, [existing.zip_sha256, existing.mod_sha256])
            return self._by_perm_in(conn, perm), True

    @staticmethod
    def _deleted_sum(conn: Connection, repo: Repo, module: str, version: str) -> str | None:
        """Return the h1: ``module@version`` was last served with before it was deleted, or
        None if it never was: consumers' go.sum files remember that hash, so other content
        under the same version would break their builds (see ``_version_deleted``)."""
        row = conn.execute("SELECT sum FROM packages WHERE owner = ? AND name = ? AND "
                           "module = ? AND version = ? AND state = 'deleted' AND sum IS NOT "
                           "NULL ORDER BY updated_at DESC, rowid DESC LIMIT 1",
                           (repo.owner, repo.name, module, version)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _complete_queued(conn: Connection, queued: Package, accepted: AcceptedZip) -> bool:
        return bool(conn.execute(
            "UPDATE packages SET state = 'completed', reason = NULL, module = ?, version = ?, "
            "sum = ?, updated_at = ? WHERE slug_perm = ? AND state IN ('queued', 'syncing')",
            (accepted.module, accepted.version, accepted.sum, now(), queued.slug_perm)).rowcount)

    def _insert_package(self, conn: Connection, repo: Repo, slot: FileSlot, state: str,
                        reason: str | None, tags: str, *, module: str | None = None,
                        version: str | None = None, summary: str | None = None) -> str:
        if not self._slot_exists(conn, slot.identifier):
            raise _slot_gone()  # its blob may be deleted already: no package may point at it
        perm = secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")
        slug = _free_slug(conn, repo, _slug_base(module, version, slot.filename), perm)
        stamp = now()
        conn.execute(
            "INSERT INTO packages (slug_perm, slug, owner, name, file_identifier, module, "
            "version, filename, size, md5, blob_sha256, sum, state, reason, tags, uploaded_at, "
            "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (perm, slug, repo.owner, repo.name, slot.identifier, module, version,
             slot.filename, slot.size, slot.md5, slot.blob_sha256, summary, state, reason,
             tags, stamp, stamp))
        return perm

    def _by_perm(self, perm: str) -> Package:
        row = self.db.one("SELECT * FROM packages WHERE slug_perm = ?", perm)
        assert row is not None
        return from_row(Package, row)

    @staticmethod
    def _by_perm_in(conn: Connection, perm: str) -> Package:
        row = conn.execute(
            "SELECT * FROM packages WHERE slug_perm = ?", (perm,)).fetchone()
        return from_row(Package, row)

    # -- module versions -------------------------------------------------------------------

    def versions(self, repo: Repo, module: str) -> list[Version]:
        """Return the versions of ``module`` that ``repo`` serves."""
        rows = self.db.all("SELECT * FROM versions WHERE owner = ? AND name = ? AND module = ?",
                           repo.owner, repo.name, module)
        return [from_row(Version, r) for r in rows]

    def modules(self, repo: Repo) -> list[str]:
        """Return the paths of the modules ``repo`` serves a version of, sorted."""
        rows = self.db.all("SELECT DISTINCT module FROM versions WHERE owner = ? AND name = ? "
                           "ORDER BY module", repo.owner, repo.name)
        return [str(r["module"]) for r in rows]

    def version(self, repo: Repo, module: str, version: str) -> Version | None:
        """Return ``module@version`` as ``repo`` serves it, or None."""
        row = self.db.one("SELECT * FROM versions WHERE owner = ? AND name = ? AND module = ? "
                          "AND version = ?", repo.owner, repo.name, module, version)
        return from_row(Version, row) if row else None

    def known_sum(self, repo: Repo, module: str, version: str) -> str | None:
        """Return the h1: consumers may hold for ``module@version`` here: the served one,
        else the one it had before it was deleted (``_deleted_sum``); None if never served."""
        served = self.version(repo, module, version)
        if served is not None:
            return served.sum
        with self.db.tx() as conn:
            return self._deleted_sum(conn, repo, module, version)

    def was_deleted(self, repo: Repo, module: str, version: str) -> bool:
        """Tell whether ``module@version`` was published here and then deleted."""
        return self.db.one("SELECT 1 FROM packages WHERE owner = ? AND name = ? AND "
                           "module = ? AND version = ? AND state = 'deleted'",
                           repo.owner, repo.name, module, version) is not None

    def cache_version(self, repo: Repo, zip_incoming: Incoming, accepted: AcceptedZip,
                      upstream_time: str | None = None) -> Version:
        """Keep a version fetched from the upstream GOPROXY (first writer wins), with the
        upstream's ``.info`` Time when it gave one (see ``version_time``)."""
        gomod = self.blobs.incoming("gomod")
        try:
            gomod.write(accepted.gomod)
            for incoming in (zip_incoming, gomod):
                incoming.finish()  # fsync before taking the database lock
            with self.db.tx() as conn:  # blobs put in place in it: see the module docstring
                zip_sha, mod_sha = self._place(zip_incoming), self._place(gomod)
                conn.execute("INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?,?) "
                             "ON CONFLICT DO NOTHING",
                             (repo.owner, repo.name, accepted.module, accepted.version,
                              zip_sha, mod_sha, accepted.sum,
                              version_time(accepted, upstream_time), "upstream", None))
        finally:
            gomod.discard()  # a no-op once committed
        cached = self.version(repo, accepted.module, accepted.version)
        assert cached is not None
        return cached


def _slot_gone() -> SlotGone:
    return SlotGone("This upload expired (--upload-expiry) and was deleted; upload the file "
                    "again.")


def _slugify(text: str, limit: int = 80) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


def _slug_base(module: str | None, version: str | None, filename: str) -> str:
    """Return the readable part of a package slug: module and version (the module cut so
    that the version always shows), else the file name."""
    if module and version:
        tail = _slugify(version, 60)
        return f"{_slugify(module, 79 - len(tail)) or 'package'}-{tail}"
    return _slugify(filename) or "package"


def _free_slug(conn: Connection, repo: Repo, base: str, perm: str) -> str:
    """Return ``base`` plus the shortest prefix of ``perm`` (4 characters at least) that no
    package of ``repo`` has yet: slugs are unique per repository, and two uploads of one
    version (a republish, a failed one retried) share their base."""
    for length in (4, 6, 8, len(perm)):
        slug = f"{base}-{perm[:length].lower()}"
        taken = conn.execute(
            "SELECT 1 FROM packages WHERE owner = ? AND name = ? AND slug = ?",
            (repo.owner, repo.name, slug)).fetchone()
        if taken is None:
            return slug
    return f"{base}-{perm}"  # slug_perm itself is unique


def _version_exists(repo: Repo, accepted: AcceptedZip, existing: Version) -> VersionExists:
    return VersionExists(
        f"{accepted.module}@{accepted.version} already exists in {repo.full_name} with different "
        f"content ({existing.sum}; this upload is {accepted.sum}). Versions are immutable: "
        "consumers that already downloaded it would hit a checksum mismatch (go.sum / "
        "sumdb). Publish a new version instead, or republish explicitly if no one can "
        "have fetched it yet.",
        status=409, data={"published_sum": existing.sum, "sum": accepted.sum})


def _version_deleted(repo: Repo, accepted: AcceptedZip, gone: str) -> VersionExists:
    return VersionExists(
        f"{accepted.module}@{accepted.version} was deleted from {repo.full_name}, and it was "
        f"served with other content ({gone}; this upload is {accepted.sum}). Consumers that "
        "downloaded it keep that hash in their go.sum (and the checksum database may hold "
        "it): the same version with other content would fail their builds with a checksum "
        "mismatch. Publish a new version instead, or republish explicitly if no one can have "
        "fetched it.", status=409, data={"published_sum": gone, "sum": accepted.sum})


def _duplicate(repo: Repo, accepted: AcceptedZip, published: Package) -> VersionExists:
    return VersionExists(
        f"{accepted.module}@{accepted.version} is already published in {repo.full_name} with "
        f"the same content ({accepted.sum}) as package {published.slug}; this upload is a "
        "duplicate of it.", status=409, data={"published_sum": accepted.sum, "sum": accepted.sum})
