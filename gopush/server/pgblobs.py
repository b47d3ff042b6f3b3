"""Blobs as PostgreSQL large objects in the ``--database`` database (``--blobs postgresql``).

The table ``blobs`` (``db.MIGRATIONS``) maps a SHA-256 to the large object holding those
bytes and its size; ``blob_parts`` maps (upload, part number) to the large object of one part
of a multipart upload. The rules:

- **written once**: ``commit`` creates the large object, writes the scratch file into it a
  MiB at a time and inserts the row, all in one transaction. The primary key on ``sha256``
  decides between two instances storing the same bytes at once: the second insert waits for
  the first transaction, finds the row, and that call rolls back, which drops its own large
  object (a large object made in a transaction that rolls back is gone with it). Nothing is
  left behind either way; a crash mid-write leaves nothing either.
- **verified on read**: ``chunks`` reads with ``lo_get`` a MiB per statement (no
  transaction, no connection held between chunks, so a slow download pins nothing) and
  raises ``BlobCorrupt`` after the last chunk if the content does not hash to its name.
- **deleted with its row**: ``delete`` unlinks the large object and deletes the row in one
  transaction.
- nothing is held in memory beyond a chunk; only scratch files (``incoming``, ``local_copy``)
  touch the local disk, and they are this process's own.

Connections come from a pool of their own (``db.PostgresDatabase.new_pool``), never under
``WRITE_LOCK``: blob rows are not metadata, no metadata transaction waits for a write of
hundreds of MB, and a transaction that stores a blob (holding the lock and a metadata
connection) never waits for a metadata connection held by one queued for the lock.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gopush.errors import ConfigError
from gopush.server.blobs import (
    BlobCorrupt,
    BlobMissing,
    BlobStoreUnavailable,
    Incoming,
    _verified,
    sweep_scratch,
)
from gopush.server.db import PostgresDatabase
from gopush.server.space import Space

CHUNK_BYTES = 1 << 20  # what one lo_get / lo_put moves
_ALL_SCRATCH = "*"


class PostgresBlobs:
    """Blobs as large objects in the registry's PostgreSQL database."""

    def __init__(self, database: PostgresDatabase, space: Space, scratch: Path) -> None:
        self.db = database
        self._pool = database.new_pool()  # never the metadata's: see db.PostgresDatabase.new_pool
        self.space = space
        self.tmp = scratch
        scratch.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        """Return how logs name the store (the database's URL without its password)."""
        return f"large objects in {self.db.shown}"

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        """Lend a pooled connection; an unreachable server, or one that refuses a statement,
        raises ``BlobStoreUnavailable`` naming why."""
        psycopg = self.db.driver  # the pool is the database's, shared
        try:
            with self._pool.lend() as raw:
                yield raw
        except ConfigError as err:  # the pool's "cannot reach the database"
            raise BlobStoreUnavailable(f"the blob store ({self.describe()}) cannot be "
                                       f"reached: {err}") from None
        except psycopg.Error as err:  # connection lost, permission denied, table gone...
            reason = " ".join(str(err).split())
            raise BlobStoreUnavailable(f"the blob store ({self.describe()}) failed: "
                                       f"{reason}",
                                       cause="its database refused the request") from None

    def check(self) -> None:
        """Raise ``BlobStoreUnavailable`` unless the blob table can be read."""
        with self._conn() as raw:
            raw.execute("SELECT 1 FROM blobs LIMIT 1").fetchone()

    # -- scratch files --------------------------------------------------------------------

    def incoming(self, label: str = "upload") -> Incoming:
        """Return a new, empty local scratch file to fill."""
        return Incoming(self.tmp / f"{label}-{secrets.token_hex(8)}", self.space)

    def sweep(self, older_than: float | None = None) -> int:
        """Delete scratch files left by an interrupted run (with ``older_than``, only those
        last written before that Unix time: see ``Blobs.sweep``)."""
        return sweep_scratch(self.tmp.glob(_ALL_SCRATCH), older_than)

    # -- blobs --------------------------------------------------------------------------------

    def commit(self, incoming: Incoming) -> tuple[str, bool]:
        """Store a finished scratch file as a large object (see the module docstring);
        return its SHA-256 and whether this call stored it. The scratch file is removed."""
        incoming.finish()
        sha = incoming.sha256
        try:
            if self.exists(sha):
                return sha, False
            with self._conn() as raw, raw.transaction():
                oid = self._write(raw, incoming.path)
                stored = raw.execute("INSERT INTO blobs (sha256, oid, size) VALUES (%s, %s, %s) "
                                     "ON CONFLICT (sha256) DO NOTHING",
                                     (sha, oid, incoming.size)).rowcount == 1
                if not stored:  # another instance stored the same bytes meanwhile
                    raise self.db.driver.Rollback()  # drops this call's large object
            return sha, stored
        finally:
            incoming.path.unlink(missing_ok=True)

    @staticmethod
    def _write(raw: Any, path: Path) -> int:
        """Create a large object holding the file at ``path`` (inside a transaction)."""
        oid: int = raw.execute("SELECT lo_create(0)").fetchone()[0]
        offset = 0
        with path.open("rb") as source:
            while chunk := source.read(CHUNK_BYTES):
                raw.execute("SELECT lo_put(%s::oid, %s, %s)", (oid, offset, chunk))
                offset += len(chunk)
        return oid

    def put_bytes(self, data: bytes, label: str = "small") -> str:
        """Store small ``data`` (a go.mod); return its SHA-256."""
        incoming = self.incoming(label)
        try:
            incoming.write(data)
            return self.commit(incoming)[0]
        finally:
            incoming.discard()

    def read_bytes(self, sha256: str) -> bytes:
        """Return the verified content of a small blob."""
        return b"".join(self.chunks(sha256))

    def _located(self, sha256: str) -> tuple[int, int]:
        with self._conn() as raw:
            row = raw.execute("SELECT oid, size FROM blobs WHERE sha256 = %s",
                              (sha256,)).fetchone()
        if row is None:
            raise BlobMissing(f"blob {sha256} is missing from {self.describe()}")
        return int(row[0]), int(row[1])

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """Yield the blob's content a MiB at a time (one ``lo_get`` each); raise
        ``BlobCorrupt`` after the last one unless it hashes to ``sha256``."""
        oid, size = self._located(sha256)
        digest = hashlib.sha256()
        yield from self._read(oid, size, digest, sha256)
        _verified(sha256, digest.hexdigest(), self.describe())

    def _read(self, oid: int, size: int, digest: Any, name: str) -> Iterator[bytes]:
        """Yield a large object's content in ``CHUNK_BYTES`` pieces; a large object shorter
        than ``size`` (changed behind the registry's back) raises ``BlobCorrupt``."""
        offset = 0
        while True:
            with self._conn() as raw:
                try:
                    row = raw.execute("SELECT lo_get(%s::oid, %s, %s)",
                                      (oid, offset, CHUNK_BYTES)).fetchone()
                except self.db.driver.errors.UndefinedObject:
                    raise BlobCorrupt(f"blob {name}: its large object {oid} is gone from "
                                      f"{self.describe()}") from None
            chunk = bytes(row[0])
            if not chunk:
                break
            digest.update(chunk)
            offset += len(chunk)
            yield chunk
        if offset != size:
            raise BlobCorrupt(f"blob {name} in {self.describe()} has {offset} bytes, not "
                              f"{size}: nothing was served from it")

    @contextmanager
    def local_copy(self, sha256: str) -> Iterator[Path]:
        """Give a verified scratch copy of the blob, removed after the ``with`` block."""
        copy = self.incoming("copy")
        try:
            for chunk in self.chunks(sha256):
                copy.write(chunk)
            copy.finish()
            yield copy.path
        finally:
            copy.discard()

    def exists(self, sha256: str) -> bool:
        """Tell whether the blob has a row."""
        with self._conn() as raw:
            return raw.execute("SELECT 1 FROM blobs WHERE sha256 = %s",
                               (sha256,)).fetchone() is not None

    def names(self) -> list[str]:
        """Return the SHA-256 of every blob."""
        with self._conn() as raw:
            return [row[0] for row in raw.execute("SELECT sha256 FROM blobs").fetchall()]

    def delete(self, sha256s: Iterable[str]) -> None:
        """Unlink these blobs' large objects and delete their rows, in one transaction."""
        wanted = list(sha256s)
        if not wanted:
            return
        with self._conn() as raw, raw.transaction():
            raw.execute("SELECT lo_unlink(oid) FROM blobs WHERE sha256 = ANY(%s)", (wanted,))
            raw.execute("DELETE FROM blobs WHERE sha256 = ANY(%s)", (wanted,))

    # -- the parts of multipart uploads -------------------------------------------------------

    def put_part(self, upload: str, number: int, incoming: Incoming) -> None:
        """Keep a finished scratch file as part ``number`` of ``upload``, replacing (and
        unlinking) one sent before under that number, in one transaction. The scratch file
        is removed."""
        incoming.finish()
        try:
            with self._conn() as raw, raw.transaction():
                # one writer per upload at a time: a part re-sent to two instances at once
                # must not leave the loser's large object without a row
                raw.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (upload,))
                oid = self._write(raw, incoming.path)
                raw.execute("SELECT lo_unlink(oid) FROM blob_parts WHERE upload = %s AND "
                            "number = %s", (upload, number))
                raw.execute("INSERT INTO blob_parts (upload, number, oid, size) VALUES "
                            "(%s, %s, %s, %s) ON CONFLICT (upload, number) DO UPDATE SET "
                            "oid = excluded.oid, size = excluded.size",
                            (upload, number, oid, incoming.size))
        finally:
            incoming.path.unlink(missing_ok=True)

    def parts(self, upload: str) -> dict[int, int]:
        """Return the parts of ``upload`` kept so far: number → size in bytes."""
        with self._conn() as raw:
            rows = raw.execute("SELECT number, size FROM blob_parts WHERE upload = %s",
                               (upload,)).fetchall()
        return {int(row[0]): int(row[1]) for row in rows}

    def part_chunks(self, upload: str, number: int) -> Iterator[bytes]:
        """Yield the content of one part a MiB at a time."""
        with self._conn() as raw:
            row = raw.execute("SELECT oid, size FROM blob_parts WHERE upload = %s AND "
                              "number = %s", (upload, number)).fetchone()
        if row is None:
            raise BlobMissing(f"part {number} of upload {upload} is missing from "
                              f"{self.describe()}")
        yield from self._read(int(row[0]), int(row[1]), hashlib.sha256(),
                              f"part {number} of upload {upload}")

    def delete_parts(self, upload: str) -> None:
        """Unlink every part of ``upload`` and delete their rows, in one transaction."""
        with self._conn() as raw, raw.transaction():
            raw.execute("SELECT lo_unlink(oid) FROM blob_parts WHERE upload = %s", (upload,))
            raw.execute("DELETE FROM blob_parts WHERE upload = %s", (upload,))
