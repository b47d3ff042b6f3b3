"""SQLite metadata for the embedded registry: schema, one connection, serialised transactions.

The server's metadata is small (repositories, read-token digests, upload slots, packages and
module versions), so one connection in WAL mode with ``synchronous=FULL`` is enough; a lock
serialises transactions across the server's worker threads. A module version becomes visible
in the same transaction that records its package, after its blobs are already on disk, so
a reader never sees a version whose bytes are missing. Secrets are never stored: read tokens
are kept as SHA-256 digests and API keys are not written at all.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS repos (
    owner TEXT NOT NULL, name TEXT NOT NULL,
    private INTEGER NOT NULL DEFAULT 0,
    upstream TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, name)
);
CREATE TABLE IF NOT EXISTS read_tokens (
    owner TEXT NOT NULL, name TEXT NOT NULL, token_sha256 TEXT NOT NULL,
    PRIMARY KEY (owner, name, token_sha256)
);
CREATE TABLE IF NOT EXISTS files (
    identifier TEXT PRIMARY KEY,
    owner TEXT NOT NULL, name TEXT NOT NULL,
    filename TEXT NOT NULL, md5 TEXT NOT NULL, method TEXT NOT NULL,
    signature_sha256 TEXT NOT NULL,
    state TEXT NOT NULL,            -- awaiting, complete
    blob_sha256 TEXT, size INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_state ON files (state, created_at);
CREATE TABLE IF NOT EXISTS packages (
    slug_perm TEXT PRIMARY KEY,
    slug TEXT NOT NULL,
    owner TEXT NOT NULL, name TEXT NOT NULL,
    file_identifier TEXT,
    module TEXT, version TEXT,
    filename TEXT NOT NULL, size INTEGER, md5 TEXT, blob_sha256 TEXT,
    sum TEXT,
    state TEXT NOT NULL,            -- queued, syncing, completed, failed, deleted
    reason TEXT,
    tags TEXT NOT NULL DEFAULT '',
    uploaded_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (owner, name, slug)
);
CREATE INDEX IF NOT EXISTS packages_by_file ON packages (file_identifier);
CREATE TABLE IF NOT EXISTS versions (
    owner TEXT NOT NULL, name TEXT NOT NULL,
    module TEXT NOT NULL, version TEXT NOT NULL,
    zip_sha256 TEXT NOT NULL, mod_sha256 TEXT NOT NULL,
    sum TEXT NOT NULL, time TEXT NOT NULL,
    origin TEXT NOT NULL,           -- upload, upstream
    package TEXT,                   -- slug_perm of the package that published it
    PRIMARY KEY (owner, name, module, version)
);
"""


class Database:
    """The metadata database at ``path``; use ``tx()`` for every read and write."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one immediate transaction: committed on success, else rolled back."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        """Return the first row of a read-only query, or None."""
        with self.tx() as conn:
            row: sqlite3.Row | None = conn.execute(sql, args).fetchone()
            return row

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        """Return every row of a read-only query."""
        with self.tx() as conn:
            return list(conn.execute(sql, args).fetchall())

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
