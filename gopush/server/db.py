"""The registry's metadata database: one interface, SQLite or PostgreSQL behind it.

The server's metadata is small (repositories, entitlement digests, upload slots, packages
and module versions). Every module that reads or writes it (``server.storage`` and the
stores beside it) writes its SQL once, through ``Database.tx`` / ``one`` / ``all``, in the
dialect both engines share; what differs lives here and nowhere else:

- placeholders are written ``?`` (PostgreSQL's driver is given ``%s``);
- a broken unique (or other integrity) constraint raises ``Conflict``, whichever engine;
- rows are read by column name or by position on both (``Row``);
- upserts are ``INSERT ... ON CONFLICT (...) DO UPDATE/NOTHING``, ``RETURNING`` gives a new
  row's number: both engines speak them as written;
- the arrival order of ``packages`` and ``read_tokens`` is ``rowid``: SQLite's own column,
  an identity column of that name on PostgreSQL (``ROWID_TABLES``); SQLite's 64-bit
  ``INTEGER`` is PostgreSQL's ``BIGINT`` (``_postgres_ddl``);
- the schema version is SQLite's ``user_version``, a ``schema_version`` table on PostgreSQL.

Transactions. SQLite: one connection in WAL mode with ``synchronous=FULL``; a lock
serialises transactions across the server's worker threads. PostgreSQL (READ COMMITTED,
a small pool of connections): every ``tx`` holds one cluster-wide advisory lock
(``WRITE_LOCK``) from before its BEGIN until its ``on_commit``/``on_rollback`` actions have
run, so transactions are serialised exactly as the SQLite lock serialises them, across
every process that shares the database; ``one``/``all`` are single statements that read
committed rows without waiting.

Several instances (issue 14 point 3) and what each write relies on. Correct by row locks
and guarded single statements, so they would stay correct without ``WRITE_LOCK``: the
processing queue (``Storage.claim_package``: ``skip_locked`` gives ``SELECT ... FOR UPDATE
SKIP LOCKED`` and PostgreSQL re-checks the lease on the locked row; ``renew_claim`` and
``set_package_state`` are single ``UPDATE``s guarded by the claim or the state),
``count_download`` (one guarded UPDATE), ``PublishTokens.mint`` (a replayed jti: the primary
key decides). Who runs the upload expiry and the orphan sweep is decided by advisory locks
of their own (``EXPIRY_LOCK``, ``SWEEP_LOCK``, ``exclusively``: the others skip the round),
not by ``WRITE_LOCK``. Still needing ``WRITE_LOCK`` (each would need its own row lock,
constraint-and-retry or lock to drop it): ``Storage.publish`` / ``queue_package`` (read the
version, then write it: the versions primary key would refuse a second row, but the loser
would get a ``Conflict`` instead of today's answer, "identical" or "exists with other
content"), ``_free_slug`` (read, then insert a slug: the unique key would refuse, with no
retry), the blob rules of ``server.storage`` (a transaction that finds no row needing a blob
deletes it in ``on_commit``; without the lock another instance could meanwhile reuse that
blob, found already stored, for a row it commits after the check: ``sweep_orphans``' grace
protects new blobs, not reused ones), ``Entitlements.create`` (the count limit),
``VulnStore.save`` (the next scan id), ``retag`` (read-modify-write of a package's tags, a
``FOR UPDATE`` would do), migrations (two instances starting at once migrate once).

A module version becomes visible in the same transaction that records its package, after
its blobs are already in place, so a reader never sees a version whose bytes are missing.
Secrets are never stored: entitlement tokens and trusted publishers' push tokens are kept as
SHA-256 digests and API keys are not written at all; a PostgreSQL URL's password is never
shown (``Database.shown``, through the one redaction).

SQLite on a full disk (SQLITE_FULL) raises ``space.DiskFull`` from ``tx`` after the
transaction was rolled back, COMMIT included (SQLite may have rolled it back itself, or left
it open: either way the connection is usable for the next transaction). A database opened on
a full disk cannot create its shared-memory index (``-shm``, 32 KiB), and SQLite then
refuses even to read; the database is then opened in exclusive locking mode, which keeps
that index in the process's memory (one connection in one process, under the data-directory
lock, is all a server has), so the registry still serves reads (``server.space``, read-only
mode). PostgreSQL's own disk is its server's business: its errors are raised as they are.

Schema changes after the first release are migrations (``MIGRATIONS``): a database at
version n gets migrations n+1.. in order, each in its own transaction with the new version
number, so a crash leaves it at a version it fully has (on PostgreSQL under ``WRITE_LOCK``:
two instances starting at once migrate once). A database written by a newer gopush (a
version beyond ``SCHEMA_VERSION``) is refused rather than guessed at. A SQLite migration
needs a few kilobytes: on a full disk a data directory that still needs one cannot start
(``DiskFull``), one that does not opens read-only as above.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import select
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, unquote, urlsplit

from gopush.errors import ConfigError
from gopush.server.redaction import redacted
from gopush.server.space import DiskFull, Space

log = logging.getLogger("gopush.server")


class ByDialect(NamedTuple):
    """A migration statement that each engine spells its own way (data migrations)."""

    sqlite: str
    postgresql: str


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
MIGRATIONS: tuple[tuple[str | ByDialect, ...], ...] = (
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
        ByDialect(
            sqlite="""INSERT INTO entitlements (slug_perm, owner, name, ent_name, token_sha256,
                                               created_at, updated_at)
                SELECT lower(hex(randomblob(8))), owner, name, 'read-token-' || rowid,
                       token_sha256, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
                       strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                FROM read_tokens""",
            postgresql="""INSERT INTO entitlements (slug_perm, owner, name, ent_name,
                                                   token_sha256, created_at, updated_at)
                SELECT substr(md5(random()::text), 1, 16), owner, name,
                       'read-token-' || rowid, token_sha256,
                       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                FROM read_tokens"""),
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
    (  # 6 (branch i14-multi): the processing queue claimed from the database by several
       # instances (server.sync): the republish flag a package was queued with, and who
       # holds the claim on it until when (Unix seconds; a lapsed lease is claimable again)
        "ALTER TABLE packages ADD COLUMN republish INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE packages ADD COLUMN claimed_by TEXT",
        "ALTER TABLE packages ADD COLUMN lease_until INTEGER",
        "CREATE INDEX IF NOT EXISTS packages_by_state ON packages (state)",
    ),
    (  # 7 (branch i14-blobs): --blobs postgresql (server.pgblobs): each blob's large object,
       # and the large objects of multipart uploads' parts; nothing on SQLite
        ByDialect(sqlite="SELECT 1", postgresql="""CREATE TABLE IF NOT EXISTS blobs (
            sha256 TEXT PRIMARY KEY,        -- the content's SHA-256: written once
            oid OID NOT NULL,               -- the large object holding it
            size BIGINT NOT NULL
        )"""),
        ByDialect(sqlite="SELECT 1", postgresql="""CREATE TABLE IF NOT EXISTS blob_parts (
            upload TEXT NOT NULL, number INTEGER NOT NULL,
            oid OID NOT NULL, size BIGINT NOT NULL,
            PRIMARY KEY (upload, number)
        )"""),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
# the advisory lock every PostgreSQL transaction holds (any fixed 64-bit number: "gopush" in ASCII)
WRITE_LOCK = 0x676F70757368
# the advisory lock of the orphan-blob sweep (``Database.exclusively``): one instance at a
# time runs it ("gopush" + "sw")
SWEEP_LOCK = 0x676F707573687377
# the advisory lock of upload expiry (``server.expiry``): one instance at a time ("gopush" + "ex")
EXPIRY_LOCK = 0x676F707573686578
# the tables whose rowid (arrival order) queries read: SQLite has it, PostgreSQL gets it
ROWID_TABLES = ("read_tokens", "packages")
STREAM_ROWS = 500  # rows a PostgreSQL server-side cursor fetches at a time (Connection.stream)
_STREAMS = itertools.count()  # names those cursors apart
POOL_SIZE = 8  # PostgreSQL connections per process (the worker threads share them)


class Conflict(Exception):
    """A write broke a unique (or other integrity) constraint; the transaction is rolled back
    once this leaves ``tx`` (PostgreSQL aborts it at once: raise it out of ``tx``)."""


class Row(Protocol):
    """A result row: by position (or slice) or column name, on both engines."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """What ``Connection.execute`` returns: the rows, and how many a write changed."""

    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Column(NamedTuple):
    """A table column as both engines declare it (``Database.columns``): export and import
    check every value against it."""

    name: str
    integer: bool  # INTEGER (SQLite) / BIGINT (PostgreSQL); else TEXT
    nullable: bool


def digest(secret: str) -> str:
    """Return the SHA-256 hex of a secret, the only form in which one is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Connection:
    """The connection a ``tx`` block uses: ``execute`` in the shared dialect (see above)."""

    def __init__(self, raw: Any, database: Database) -> None:
        self._raw = raw
        self._database = database

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        """Run one statement with ``?`` placeholders; return its cursor.

        Raises:
            Conflict: it broke a constraint.
        """
        return self._database._execute(self._raw, sql, tuple(args))

    def stream(self, sql: str, args: Sequence[Any] = ()) -> Iterator[Row]:
        """Yield a query's rows without holding them all in memory (SQLite's cursor steps
        through them; PostgreSQL's would fetch them all, so a server-side cursor is used,
        ``STREAM_ROWS`` at a time)."""
        return self._database._stream(self._raw, sql, tuple(args))


class Database:
    """The metadata database; use ``tx()`` for every write (``one``/``all`` for reads).

    Open one with ``open_database``. ``shown`` names it for messages (no password).
    """

    dialect = ""
    shown = ""
    shared = False  # may other processes (instances) use this database at the same time?

    def __init__(self) -> None:
        self._local = threading.local()  # the current transaction's after-actions

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """Run a block as one transaction, serialised with every other (see the module
        docstring): committed on success, else rolled back.

        Raises:
            DiskFull: (SQLite) the disk is full (the transaction was rolled back).
            Conflict: a statement broke a constraint (rolled back).
        """
        with self._session() as raw:
            self._local.after = []
            try:
                raw.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
                try:
                    yield Connection(raw, self)
                    raw.execute("COMMIT")
                except BaseException:
                    with suppress(Exception):  # "no transaction is active": SQLite did it
                        raw.execute("ROLLBACK")
                    self._run_after(committed=False)
                    raise
                self._run_after(committed=True)
            except Exception as err:
                failure = self._failure(err)
                if failure is None:
                    raise
                raise failure from err

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the current transaction has committed, before the next one
        starts (call it inside ``tx``): file deletions that must not happen if the rows
        that allowed them are rolled back."""
        self._local.after.append((True, action))

    def on_rollback(self, action: Callable[[], None]) -> None:
        """Run ``action`` if the current transaction rolls back, before the next one starts
        (call it inside ``tx``): undo a file placed for rows that were not written."""
        self._local.after.append((False, action))

    def _run_after(self, *, committed: bool) -> None:
        actions, self._local.after = self._local.after, []
        for when, action in actions:
            if when == committed:
                try:
                    action()
                except OSError as err:  # a file left behind is swept later; never fail a tx
                    log.warning("cleaning up after a transaction failed: %s", err)

    def one(self, sql: str, *args: Any) -> Row | None:
        """Return the first row of a read-only query, or None."""
        with self.tx() as conn:
            row: Row | None = conn.execute(sql, args).fetchone()
            return row

    def all(self, sql: str, *args: Any) -> list[Row]:
        """Return every row of a read-only query."""
        with self.tx() as conn:
            return list(conn.execute(sql, args).fetchall())

    def skip_locked(self, select: str) -> str:
        """Return a ``SELECT`` that, inside ``tx``, locks the rows it returns and passes over
        rows another transaction holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL): a queue
        claimed by several instances. SQLite serialises whole transactions, so the query is
        run as written."""
        return select

    @contextmanager
    def exclusively(self, key: int) -> Iterator[bool]:
        """Hold the advisory lock ``key`` for the block if no other process holds it; yield
        whether it is held (False: another instance is doing the work, skip it). SQLite: a
        single server (the data-directory lock), so always True."""
        yield True
    # -- a whole registry at once (server.transfer: --export / --import) ---------------------

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """Run a block of reads that all see one committed state, taking no write lock:
        SQLite's deferred transaction in WAL mode (the snapshot of its first read) or a
        PostgreSQL REPEATABLE READ, READ ONLY transaction. Writers go on meanwhile; what
        they commit is not seen."""
        with self._reading() as raw:
            raw.execute("BEGIN" if self.dialect == "sqlite" else
                        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            try:
                yield Connection(raw, self)
            finally:
                with suppress(Exception):
                    raw.execute("ROLLBACK")  # nothing was written

    def columns(self, conn: Connection, table: str) -> list[Column]:
        """Return ``table``'s columns in declaration order (with ``rowid`` first for
        ``ROWID_TABLES``, which SQLite keeps implicit)."""
        raise NotImplementedError

    def advance_identities(self, conn: Connection) -> None:
        """After rows were written with their own ids (an import), make the ids the engine
        hands out next follow them: nothing to do on SQLite (``rowid`` and AUTOINCREMENT
        follow the largest id written); PostgreSQL's identity sequences are set to their
        column's largest value."""

    # -- what each engine provides ---------------------------------------------------------

    def _reading(self) -> Any:
        """A context manager giving a raw connection for ``snapshot`` (no write lock)."""
        return self._session()

    def _stream(self, raw: Any, sql: str, args: tuple[Any, ...]) -> Iterator[Row]:
        yield from self._execute(raw, sql, args)

    def _session(self) -> Any:
        """A context manager giving the raw connection a transaction runs on, serialised."""
        raise NotImplementedError

    def _execute(self, raw: Any, sql: str, args: tuple[Any, ...]) -> Cursor:
        raise NotImplementedError

    def _failure(self, err: Exception) -> BaseException | None:
        """Return what a failed transaction raises instead of ``err`` (None: ``err``)."""
        return None

    def newer_schema(self) -> int | None:
        """Return the schema version if another gopush migrated the database beyond this
        one's while it serves, else None. SQLite: None (the data-directory lock keeps any
        other gopush out while this one serves)."""
        return None

    def close(self) -> None:
        """Close the connection(s)."""
        raise NotImplementedError


class DatabaseUnavailable(ConfigError):
    """PostgreSQL cannot be reached or refuses the login. At start, a configuration error
    (exit 3); while serving (a database restarted under the instances), a request that
    needs a new connection gets 503, which clients retry, and the pool connects again on
    the next request once the server is back."""


def open_database(url: str, space: Space) -> Database:
    """Open the database ``url`` names (``sqlite:///PATH`` or ``postgresql://...``), with
    the schema migrated to ``SCHEMA_VERSION``.

    Raises:
        ConfigError: an unknown scheme, a database newer than this gopush, PostgreSQL
            unreachable or its driver missing.
        DiskFull: (SQLite) the database must be created or migrated and the disk is full.
        sqlite3.Error: the file is not a database, or cannot be read.
    """
    scheme = database_scheme(url)
    if scheme == "sqlite":
        return SqliteDatabase(sqlite_path(url), space)
    return PostgresDatabase(url)


_URL_HINT = "pass --database sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB"


def database_scheme(url: str) -> str:
    """Return the scheme of a ``--database`` URL: ``sqlite`` or ``postgresql``.

    The text itself is never quoted in the error: a value that is not a well-formed URL
    (libpq's ``host=... password=...`` form, a stray ``[``) cannot be redacted reliably.

    Raises:
        ConfigError: not a well-formed URL, or another scheme (named).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing it is the check (a port out of range, a stray ']')
    except ValueError:
        raise ConfigError("--database: not a well-formed URL (not shown: it may hold a "
                          "password)", hint=_URL_HINT) from None
    scheme = parts.scheme.lower()
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    if scheme != "sqlite":
        named = f"its scheme is {scheme!r}" if scheme else "it has no scheme"
        raise ConfigError(f"--database: not a sqlite:/// or postgresql:// URL ({named}; the "
                          "URL is not shown: it may hold a password)", hint=_URL_HINT)
    return scheme


def sqlite_schema_version(path: Path) -> int | None:
    """Return the schema version of the SQLite registry database at ``path``, read without
    writing anything (no schema made, no migration), or None when no registry is there.

    Raises:
        sqlite3.Error: the file is not a database, or cannot be read.
    """
    if not path.is_file():
        return None
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'repos'").fetchone() is None:
            return None
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def sqlite_path(url: str) -> Path:
    """Return the file a ``sqlite:///PATH`` URL names (``sqlite:////abs`` or
    ``sqlite:///rel``, as SQLAlchemy writes them)."""
    database_scheme(url)  # a well-formed URL (its text may be quoted below)
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
        raise ConfigError(f"--database {redacted(url)}: a SQLite URL is sqlite:///PATH",
                          hint="e.g. sqlite:////var/lib/gopush/registry.sqlite3")
    return Path(unquote(parts.path[1:]))


def sqlite_url(path: Path) -> str:
    """Return the ``sqlite:///PATH`` URL of a database file (the default under ``--data``),
    percent-encoded so that any path (``#``, ``?``, ``%`` in a name) comes back whole from
    ``sqlite_path``."""
    return f"sqlite:///{quote(str(path))}"


def _newer(shown: str, found: int, hint: str) -> ConfigError:
    return ConfigError(f"{shown} was written by a newer gopush (schema {found}; this one knows "
                       f"up to {SCHEMA_VERSION})", hint=hint)


def _statement(step: str | ByDialect, dialect: str) -> str:
    if isinstance(step, ByDialect):
        return step.sqlite if dialect == "sqlite" else step.postgresql
    return step


# -- SQLite ------------------------------------------------------------------------------------


class SqliteDatabase(Database):
    """The database in one SQLite file: one connection, one lock.

    Raises (when opened):
        DiskFull: the database does not exist yet and the disk is full.
        sqlite3.Error: the file is not a database, or cannot be read.
    """

    dialect = "sqlite"

    def __init__(self, path: Path, space: Space) -> None:
        super().__init__()
        self.path = path
        self.shown = str(path)
        self._space = space
        self._lock = threading.Lock()
        try:
            self._conn = _sqlite_connect(path, exclusive=False)
        except sqlite3.Error as err:
            cause = space.full_cause(err)
            if cause is None:
                raise
            self._conn = _sqlite_connect_when_full(path, space, err)
            space.full(path, cause)  # read-only mode; the log says why

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def _execute(self, raw: Any, sql: str, args: tuple[Any, ...]) -> Cursor:
        try:
            cursor: Cursor = raw.execute(sql, args)
        except sqlite3.IntegrityError as err:
            raise Conflict(str(err)) from err
        return cursor

    def columns(self, conn: Connection, table: str) -> list[Column]:
        rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
        found = [Column(str(r["name"]), "INT" in str(r["type"]).upper(), not r["notnull"])
                 for r in rows]
        return [Column("rowid", True, False), *found] if table in ROWID_TABLES else found

    def _failure(self, err: Exception) -> BaseException | None:
        if not isinstance(err, sqlite3.Error):
            return None
        cause = self._space.full_cause(err)
        return None if cause is None else self._space.full(self.path, cause)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _sqlite_connect_when_full(path: Path, space: Space,
                              first: sqlite3.Error) -> sqlite3.Connection:
    """Open the database in exclusive locking mode after ``first`` said the disk is full.

    Raises:
        DiskFull: even so it cannot be opened (a new database needs room).
    """
    try:
        return _sqlite_connect(path, exclusive=True)
    except sqlite3.Error as err:
        cause = space.full_cause(err)
        if cause is None:
            raise
        raise DiskFull(path, cause) from first


def _sqlite_connect(path: Path, *, exclusive: bool) -> sqlite3.Connection:
    """Open the database in WAL mode with ``synchronous=FULL`` and the schema in place."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        if exclusive:  # before the first access: no shared-memory index file (-shm)
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        _sqlite_migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _sqlite_migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations the database at ``path`` lacks, one transaction each.

    Raises:
        ConfigError: the database is newer than this gopush knows.
        sqlite3.Error: a migration failed (it was rolled back: the version did not move).
    """
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise _newer(str(path), found, "run that gopush version, or pass another --data DIR")
    for number in range(found, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for step in MIGRATIONS[number]:
                conn.execute(_statement(step, "sqlite"))
            conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        log.info("database %s migrated to schema %d", path, number + 1)


# -- PostgreSQL --------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _postgres_sql(sql: str) -> str:
    """Return a statement with ``?`` placeholders as psycopg's ``%s`` (a literal ``%``
    doubled). Our statements hold no ``?`` inside a string literal."""
    return sql.replace("%", "%%").replace("?", "%s")


def _postgres_ddl(sql: str) -> str:
    """Return SQLite DDL as PostgreSQL's: SQLite's INTEGER is 64-bit, an
    ``INTEGER PRIMARY KEY AUTOINCREMENT`` is an identity column, and the tables of
    ``ROWID_TABLES`` get the ``rowid`` SQLite gives every table."""
    sql = sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT",
                      "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
    sql = re.sub(rf"(CREATE TABLE IF NOT EXISTS ({'|'.join(ROWID_TABLES)}) \()",
                 r"\1 rowid BIGINT GENERATED BY DEFAULT AS IDENTITY,", sql)
    return re.sub(r"\bINTEGER\b", "BIGINT", sql)


class _PgRow(tuple[Any, ...]):
    """A PostgreSQL row, by position or column name (as ``sqlite3.Row``)."""

    _names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._names.index(key))
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._names)


def _pg_row_factory(cursor: Any) -> Callable[[Sequence[Any]], _PgRow]:
    names = tuple(column.name for column in cursor.description or ())

    def make(values: Sequence[Any]) -> _PgRow:
        row = _PgRow(values)
        row._names = names
        return row

    return make


def _bool_as_integer() -> type:
    """Return a psycopg dumper that sends a bool as 0 or 1: flags are INTEGER columns, as
    SQLite keeps them (a bool is no integer to PostgreSQL)."""
    from psycopg.types.numeric import Int8Dumper

    class BoolAsInteger(Int8Dumper):
        def dump(self, obj: Any) -> bytes:
            return b"1" if obj else b"0"

    return BoolAsInteger


def _connection_lost(err: Exception, raw: Any) -> bool:
    """Tell whether ``err`` (a psycopg OperationalError) means the server went away, as
    opposed to a statement that failed on a live connection (a deadlock, a lock timeout):
    the connection is broken, or SQLSTATE class 08 (connection exception) or 57P01-03
    (the server shutting down, or not yet accepting connections)."""
    sqlstate = getattr(err, "sqlstate", None) or ""
    return bool(raw.broken) or sqlstate.startswith("08") or sqlstate in (
        "57P01", "57P02", "57P03")


class Pool:
    """At most ``POOL_SIZE`` autocommit connections to one PostgreSQL database, each lent to
    one ``with`` block at a time."""

    def __init__(self, connect: Callable[[], Any], psycopg: Any) -> None:
        self._connect, self._psycopg = connect, psycopg
        self._idle: list[Any] = []
        self._idle_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(POOL_SIZE)

    @contextmanager
    def lend(self) -> Iterator[Any]:
        """Lend a connection; one given back broken or inside a transaction is closed."""
        with self._slots:
            with self._idle_lock:
                raw = self._idle.pop() if self._idle else None
            if raw is not None and select.select([raw.fileno()], [], [], 0)[0]:
                raw = self._checked(raw)  # an idle connection has nothing to say but EOF
            if raw is None or raw.closed:
                raw = self._connect()
            try:
                yield raw
            finally:
                idle = self._psycopg.pq.TransactionStatus.IDLE
                if raw.closed or raw.broken or raw.info.transaction_status != idle:
                    raw.close()
                else:
                    with self._idle_lock:
                        self._idle.append(raw)

    def _checked(self, raw: Any) -> Any:
        """Return an idle connection that became readable if it still answers, else None
        (closed): after a database restart the pool's connections are dead (the server
        closed them), and no request should pay for that."""
        try:
            raw.execute("SELECT 1")
        except self._psycopg.Error:
            raw.close()
            return None
        return raw

    def close(self) -> None:
        """Close the idle connections."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()


class PostgresDatabase(Database):
    """The database on a PostgreSQL server (psycopg 3): a pool of ``POOL_SIZE`` connections,
    every transaction under ``WRITE_LOCK``.

    Raises (when opened):
        ConfigError: psycopg is missing, the server cannot be reached or refuses the login,
            or the database is newer than this gopush.
    """

    dialect = "postgresql"
    shared = True

    def __init__(self, url: str) -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError:
            raise ConfigError("--database postgresql:// needs the psycopg driver",
                              hint="pip install 'gopush[postgresql]'") from None
        self._psycopg = psycopg
        self._url = url
        self.shown = redacted(url)
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError:  # libpq's reason quotes the text: a password, maybe
            raise ConfigError(f"--database {self.shown}: PostgreSQL cannot read this URL",
                              hint="percent-encode any %, @, :, / or ? in the user name or "
                                   "password (%25, %40, %3A, %2F, %3F)") from None
        self._pool = Pool(self._connect, psycopg)
        self._pools = [self._pool]
        with self._session() as raw:
            self._migrate(raw)

    def _connect(self) -> Any:
        try:
            raw = self._psycopg.connect(self._url, autocommit=True,
                                        row_factory=_pg_row_factory, connect_timeout=10)
        except self._psycopg.OperationalError as err:
            reason = " ".join(str(err).split())  # libpq's lines, as one
            raise DatabaseUnavailable(
                f"cannot reach the database {self.shown}: {redacted(reason)}",
                hint="check --database URL and that PostgreSQL runs") from None
        raw.adapters.register_dumper(bool, _bool_as_integer())
        return raw

    def _connection(self) -> AbstractContextManager[Any]:
        """Lend a pooled connection (autocommit: transactions are explicit BEGIN/COMMIT)."""
        return self._pool.lend()

    def new_pool(self) -> Pool:
        """Return a pool of connections of its own to this database, closed with it
        (``server.pgblobs``: blob I/O must never wait for a slot that a transaction waiting
        for ``WRITE_LOCK`` holds, while that lock's holder waits for blob I/O)."""
        pool = Pool(self._connect, self._psycopg)
        self._pools.append(pool)
        return pool

    @property
    def driver(self) -> Any:
        """Return the psycopg module (its exceptions, ``Rollback``)."""
        return self._psycopg

    @contextmanager
    def _session(self) -> Iterator[Any]:
        with self._connection() as raw:
            raw.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
            try:
                yield raw
            finally:
                if not raw.closed and not raw.broken:
                    try:
                        raw.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))
                    except self._psycopg.Error:
                        raw.close()  # the server ends the lock with the session

    def _execute(self, raw: Any, sql: str, args: tuple[Any, ...]) -> Cursor:
        try:
            cursor: Cursor = raw.execute(_postgres_sql(sql), args)
        except self._psycopg.IntegrityError as err:
            raise Conflict(str(err).strip()) from err
        except self._psycopg.OperationalError as err:
            if not _connection_lost(err, raw):
                raise
            raise DatabaseUnavailable(f"lost the connection to the database {self.shown}: "
                                      f"{redacted(' '.join(str(err).split()))}") from err
        return cursor

    def skip_locked(self, select: str) -> str:
        return f"{select} FOR UPDATE SKIP LOCKED"

    @contextmanager
    def exclusively(self, key: int) -> Iterator[bool]:
        # a session lock on a connection kept out of the pool for the block; it ends with the
        # session should the process die, so a killed instance never blocks the others
        with self._connection() as raw:
            row = raw.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if not row[0]:
                yield False
                return
            try:
                yield True
            finally:
                if not raw.closed and not raw.broken:
                    try:
                        raw.execute("SELECT pg_advisory_unlock(%s)", (key,))
                    except self._psycopg.Error:
                        raw.close()
    def _reading(self) -> Any:
        return self._connection()

    def _stream(self, raw: Any, sql: str, args: tuple[Any, ...]) -> Iterator[Row]:
        with raw.cursor(name=f"stream_{next(_STREAMS)}") as cursor:  # lives in the tx
            cursor.itersize = STREAM_ROWS
            yield from cursor.execute(_postgres_sql(sql), args)

    def columns(self, conn: Connection, table: str) -> list[Column]:
        rows = conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,)).fetchall()
        return [Column(str(r[0]), r[1] in ("bigint", "integer"), r[2] == "YES") for r in rows]

    def advance_identities(self, conn: Connection) -> None:
        identities = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE "
            "table_schema = current_schema() AND is_identity = 'YES'").fetchall()
        for table, column in identities:  # names from the catalogue, not from input
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                         f"max({column})) FROM {table} HAVING max({column}) IS NOT NULL")

    def one(self, sql: str, *args: Any) -> Row | None:
        """Return the first row of a read-only query (one statement: no lock), or None."""
        with self._connection() as raw:
            row: Row | None = raw.execute(_postgres_sql(sql), args).fetchone()
            return row

    def all(self, sql: str, *args: Any) -> list[Row]:
        """Return every row of a read-only query (one statement: no lock)."""
        with self._connection() as raw:
            return list(raw.execute(_postgres_sql(sql), args).fetchall())

    def _migrate(self, raw: Any) -> None:
        """Create the schema (version 0) if absent and apply the migrations it lacks, one
        transaction each (DDL is transactional on PostgreSQL), under ``WRITE_LOCK``.

        Raises:
            ConfigError: the database is newer than this gopush knows.
        """
        raw.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        row = raw.execute("SELECT max(version) FROM schema_version").fetchone()
        found = row[0]
        if found is None:
            with raw.transaction():
                raw.execute(_postgres_ddl(SCHEMA))
                raw.execute("INSERT INTO schema_version (version) VALUES (0)")
            found = 0
        if found > SCHEMA_VERSION:
            raise _newer(f"database {self.shown}", found,
                         "run that gopush version, or pass another --database URL")
        for number in range(found, SCHEMA_VERSION):
            with raw.transaction():
                for step in MIGRATIONS[number]:
                    raw.execute(_postgres_ddl(_statement(step, "postgresql")))
                raw.execute("UPDATE schema_version SET version = %s", (number + 1,))
            log.info("database %s migrated to schema %d", self.shown, number + 1)

    def newer_schema(self) -> int | None:
        """Return the database's schema version if another gopush migrated it beyond this
        one's since the start (``--migrate-only`` by a newer release), else None."""
        row = self.one("SELECT max(version) FROM schema_version")
        found = None if row is None else row[0]
        return int(found) if found is not None and found > SCHEMA_VERSION else None

    def close(self) -> None:
        for pool in self._pools:
            pool.close()
