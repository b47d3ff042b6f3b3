"""SQLite metadata for the embedded registry: schema, one connection, serialised transactions.

The server's metadata is small (repositories, read-token digests, upload slots, packages and
module versions), so one connection in WAL mode with ``synchronous=FULL`` is enough; a lock
serialises transactions across the server's worker threads. A module version becomes visible
in the same transaction that records its package, after its blobs are already on disk, so
a reader never sees a version whose bytes are missing. Secrets are never stored: entitlement
tokens and trusted publishers' push tokens are kept as SHA-256 digests and API keys are
not written at all. ``read_tokens`` now
records which ``--read-token`` seeds were applied (``server.entitlements``).

A full disk (SQLITE_FULL) raises ``space.DiskFull`` from ``tx`` after the transaction was
rolled back, COMMIT included (SQLite may have rolled it back itself, or left it open: either
way the connection is usable for the next transaction). A database opened on a full disk
cannot create its shared-memory index (``-shm``, 32 KiB), and SQLite then refuses even to
read; the database is then opened in exclusive locking mode, which keeps that index in the
process's memory (one connection in one process, under the data-directory lock, is all a
server has), so the registry still serves reads (``server.space``, read-only mode).

Schema changes after the first release are migrations (``MIGRATIONS``), counted in SQLite's
``user_version``: a database at version n gets migrations n+1.. in order, each in its own
transaction with the new version number, so a crash leaves it at a version it fully has. A
data directory written by a newer gopush (a version beyond ``SCHEMA_VERSION``) is refused
rather than guessed at. A migration needs a few kilobytes: on a full disk a data directory
that still needs one cannot start (``DiskFull``), one that does not opens read-only as above.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from gopush.errors import ConfigError
from gopush.server.space import DiskFull, Space

log = logging.getLogger("gopush.server")

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


# MIGRATIONS[n] brings a database from user_version n to n + 1; SCHEMA is version 0 (the
# tables of the first release, created as they were then).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: vulnerability scans and the database they came from (server.vulnstore, issue 12)
        """CREATE TABLE vuln_scans (
            owner TEXT NOT NULL, name TEXT NOT NULL,
            module TEXT NOT NULL, version TEXT NOT NULL,
            sum TEXT NOT NULL,          -- the h1: of the zip scanned (a republish is another)
            scan_id INTEGER NOT NULL,   -- new for every scan, increasing
            state TEXT NOT NULL,        -- scanned, failed (not scanned: reason says why)
            reason TEXT,                -- why not scanned, or what the scan could not check
            db_modified TEXT,           -- index/db.json's modified the scan used
            scanned_at TEXT NOT NULL,
            inputs TEXT NOT NULL,       -- JSON: the go.mod requirements, go line, imports
            findings TEXT NOT NULL,     -- JSON list of findings
            imported INTEGER NOT NULL,  -- findings in a package the module imports
            total INTEGER NOT NULL,     -- all findings
            PRIMARY KEY (owner, name, module, version, sum)
        )""",
        """CREATE TABLE vuln_db (
            url TEXT PRIMARY KEY,
            modified TEXT,              -- index/db.json's modified when last reached
            checked_at TEXT,            -- when it was last asked
            error TEXT                  -- why the last check failed ("" when it answered)
        )""",
    ),
    (  # 2: entitlement tokens managed at runtime (server.entitlements, issue 15); every
       # --read-token seeded before becomes one, named after its seed row
        """CREATE TABLE entitlements (
            identifier INTEGER PRIMARY KEY AUTOINCREMENT,
            slug_perm TEXT NOT NULL UNIQUE,
            owner TEXT NOT NULL, name TEXT NOT NULL,
            ent_name TEXT NOT NULL,
            token_sha256 TEXT NOT NULL,     -- the token itself is never stored
            is_active INTEGER NOT NULL DEFAULT 1,
            limit_date_range_from TEXT,     -- RFC 3339 UTC; reads refused before it
            limit_date_range_to TEXT,       -- RFC 3339 UTC; reads refused from it on
            limit_num_downloads INTEGER,    -- .zip downloads allowed (NULL: no limit)
            limit_package_query TEXT,       -- server.query text the read versions must match
            downloads INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            UNIQUE (owner, name, ent_name),
            UNIQUE (owner, name, token_sha256)
        )""",
        """INSERT INTO entitlements (slug_perm, owner, name, ent_name, token_sha256,
                                     created_at, updated_at)
           SELECT lower(hex(randomblob(8))), owner, name, 'read-token-' || rowid,
                  token_sha256, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
                  strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
           FROM read_tokens""",
    ),
    (  # 3: tags that remove, clear and replace leave in place (server.tags, issue 15)
        "ALTER TABLE packages ADD COLUMN tags_immutable TEXT NOT NULL DEFAULT ''",
    ),
    (  # 4: retention rules per repository, Cloudsmith's fields (server.retention, issue 15)
        """CREATE TABLE retention_rules (
            owner TEXT NOT NULL, name TEXT NOT NULL,
            retention_enabled INTEGER NOT NULL DEFAULT 0,
            retention_count_limit INTEGER NOT NULL DEFAULT 0,   -- 0: no count limit
            retention_days_limit INTEGER NOT NULL DEFAULT 0,    -- 0: no age limit
            retention_size_limit INTEGER NOT NULL DEFAULT 0,    -- bytes; 0: no size limit
            retention_group_by_name INTEGER NOT NULL DEFAULT 0,
            retention_group_by_format INTEGER NOT NULL DEFAULT 0,
            retention_group_by_package_type INTEGER NOT NULL DEFAULT 0,
            retention_package_query_string TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL,
            PRIMARY KEY (owner, name)
        )""",
    ),
    (  # 5: trusted publishing (server.publish_tokens, issue 13): the ID tokens exchanged
       # (their jti, kept until their exp and the leeway) and the push tokens minted (digests
       # only)
        """CREATE TABLE IF NOT EXISTS oidc_jtis (
            issuer TEXT NOT NULL, jti TEXT NOT NULL,
            expires INTEGER NOT NULL,       -- the ID token's exp (Unix seconds)
            PRIMARY KEY (issuer, jti)
        )""",
        "CREATE INDEX IF NOT EXISTS oidc_jtis_by_expiry ON oidc_jtis (expires)",
        """CREATE TABLE IF NOT EXISTS publish_tokens (
            token_sha256 TEXT PRIMARY KEY,  -- the token itself is never stored
            org TEXT NOT NULL, service TEXT NOT NULL, issuer TEXT NOT NULL,
            subject TEXT NOT NULL,          -- the ID token's sub, for the log
            expires INTEGER NOT NULL,       -- Unix seconds
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS publish_tokens_by_expiry ON publish_tokens (expires)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def digest(secret: str) -> str:
    """Return the SHA-256 hex of a secret, the only form in which one is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Database:
    """The metadata database at ``path``; use ``tx()`` for every read and write.

    Raises (when opened):
        DiskFull: the database does not exist yet and the disk is full.
        sqlite3.Error: the file is not a database, or cannot be read.
    """

    def __init__(self, path: Path, space: Space) -> None:
        self.path = path
        self._space = space
        self._lock = threading.Lock()
        self._after: list[tuple[bool, Callable[[], None]]] = []
        try:
            self._conn = _connect(path, exclusive=False)
        except sqlite3.Error as err:
            cause = space.full_cause(err)
            if cause is None:
                raise
            self._conn = _connect_when_full(path, space, err)
            space.full(path, cause)  # read-only mode; the log says why

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one immediate transaction: committed on success, else rolled back.

        Raises:
            DiskFull: the disk is full (the transaction was rolled back).
        """
        with self._lock:
            self._after = []
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:
                    with suppress(sqlite3.Error):  # "no transaction is active": SQLite did it
                        self._conn.execute("ROLLBACK")
                    self._run_after(committed=False)
                    raise
                self._run_after(committed=True)
            except sqlite3.Error as err:
                cause = self._space.full_cause(err)
                if cause is None:
                    raise
                raise self._space.full(self.path, cause) from err

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the current transaction has committed, before the next one
        starts (call it inside ``tx``): file deletions that must not happen if the rows
        that allowed them are rolled back."""
        self._after.append((True, action))

    def on_rollback(self, action: Callable[[], None]) -> None:
        """Run ``action`` if the current transaction rolls back, before the next one starts
        (call it inside ``tx``): undo a file placed for rows that were not written."""
        self._after.append((False, action))

    def _run_after(self, *, committed: bool) -> None:
        actions, self._after = self._after, []
        for when, action in actions:
            if when == committed:
                try:
                    action()
                except OSError as err:  # a file left behind is swept later; never fail a tx
                    log.warning("cleaning up after a transaction failed: %s", err)

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


def _connect_when_full(path: Path, space: Space, first: sqlite3.Error) -> sqlite3.Connection:
    """Open the database in exclusive locking mode after ``first`` said the disk is full.

    Raises:
        DiskFull: even so it cannot be opened (a new database needs room).
    """
    try:
        return _connect(path, exclusive=True)
    except sqlite3.Error as err:
        cause = space.full_cause(err)
        if cause is None:
            raise
        raise DiskFull(path, cause) from first


def _connect(path: Path, *, exclusive: bool) -> sqlite3.Connection:
    """Open the database in WAL mode with ``synchronous=FULL`` and the schema in place."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        if exclusive:  # before the first access: no shared-memory index file (-shm)
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        _migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations the database at ``path`` lacks, one transaction each.

    Raises:
        ConfigError: the database is newer than this gopush knows.
        sqlite3.Error: a migration failed (it was rolled back: the version did not move).
    """
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise ConfigError(f"{path} was written by a newer gopush (schema {found}; this one "
                          f"knows up to {SCHEMA_VERSION})",
                          hint="run that gopush version, or pass another --data DIR")
    for number in range(found, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        log.info("database %s migrated to schema %d", path, number + 1)
