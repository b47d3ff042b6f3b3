"""A whole registry moved between backends: ``gopush serve --export DIR`` / ``--import DIR``.

An export is a directory that describes itself::

    DIR/manifest.json              what the export holds (written last: none, no export)
    DIR/rows/TABLE.jsonl           every row of TABLE, one JSON object (column: value) a line
    DIR/blobs.jsonl                the blob manifest: {"sha256": HEX, "size": BYTES} a line
    DIR/blobs/sha256/AB/ABCD...    every blob a row needs, named by its SHA-256

``manifest.json`` names the format (``FORMAT``, ``FORMAT_VERSION``), the schema version the
rows were read at (``db.SCHEMA_VERSION``), and for each rows file and the blob manifest its
size, SHA-256 and line count, so a file cut short or altered is found before anything is
written. Secrets are not in it, as they are not in the database: entitlement tokens and
trusted publishers' push tokens are SHA-256 digests there and here.

What moves (``TABLES``): repositories, the ``--read-token`` seeds already applied,
entitlements (download counts included), retention rules, finished upload slots (those
packages came from, and those a client may still turn into a package within
``--upload-expiry``), packages in every state (deleted ones keep the ``h1:`` that makes their
version 410 and refuses other content under it; failed ones their reason; queued ones are
processed by the importing registry's first start), module versions, vulnerability scans and
the vulnerability database state they came from, and the trusted publishers' spent ID tokens
and live push tokens (minutes-lived; moved so that an ID token exchanged just before the
move cannot be exchanged again after it). What does not: upload slots still waiting for
bytes and the parts of multipart uploads in progress (a start forgets them anyway), the
vulnerability database's cache (fetched again). The blobs are exactly those the rows need
(``storage._NEEDED_BLOBS``, the one statement of that rule).

Export reads every row in one snapshot (``Database.snapshot``: no write lock, so the
registry keeps serving), then copies the blobs those rows need, each verified as it is read
(``Blobs.chunks``). A push that lands meanwhile is not in the export (its rows are not in the
snapshot); a blob deleted meanwhile (a package deleted, retention, a republish after the
snapshot) makes the export start again with a new snapshot, at most ``MAX_TRIES`` times.
It is written into ``.DIR.partial-*`` beside DIR and renamed to DIR once whole.

Import treats the directory as untrusted input. ``read_export`` checks it whole before the
target is opened: the manifest (at most ``MAX_MANIFEST_BYTES``; another format or schema
version is refused), every rows file (size, SHA-256, line count; lines of at most
``MAX_LINE_BYTES``; every row's columns and value types against this gopush's schema) and
every blob (size and SHA-256). Files are opened below DIR only, by names this module makes
(never a path from the manifest), component by component without following a symbolic link.
``import_into`` then writes, in one transaction of the target (which must hold no row): the
rows with their own ids (PostgreSQL's identity sequences set past them), then the blobs they
need, each verified again as it is copied (``Blobs.incoming``/``commit``), inside that
transaction as ``storage`` places every blob; a failure rolls the rows back and removes the
blobs it placed. Memory: one row at a time, plus a few hundred bytes per blob (the blob
manifest's index and the list of blobs the rows need); blobs are streamed a MiB at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, NamedTuple, Self

from gopush import __version__
from gopush.boundedjson import UnreadableJson, loads
from gopush.errors import ConfigError, ExitCode, GopushError
from gopush.server.blobs import BlobCorrupt, BlobMissing, Blobs, is_sha256
from gopush.server.db import (
    SCHEMA_VERSION,
    Column,
    Conflict,
    Connection,
    Database,
    SqliteDatabase,
)
from gopush.server.space import Space
from gopush.server.storage import _NEEDED_BLOBS, now

log = logging.getLogger("gopush.server")

FORMAT = "gopush-registry-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BLOB_MANIFEST = "blobs.jsonl"
MAX_MANIFEST_BYTES = 1 << 20  # manifest.json: a few hundred bytes a table
MAX_LINE_BYTES = 16 << 20  # one row (the largest: a vulnerability scan's inputs, a reason)
MAX_BLOB_LINE_BYTES = 256  # {"sha256": ..., "size": ...}
MAX_TRIES = 3  # exports restarted when a blob was deleted after the snapshot
_CHUNK = 1 << 20
_INT64 = 1 << 63


class Table(NamedTuple):
    """A table an export carries: its rows in ``order`` (so that two exports of one state
    are the same bytes), those matching ``where``."""

    name: str
    order: str
    where: str = ""


TABLES = (
    Table("repos", "owner, name"),
    Table("read_tokens", "rowid"),
    Table("entitlements", "identifier"),
    Table("retention_rules", "owner, name"),
    Table("files", "identifier", "state = 'complete'"),
    Table("packages", "rowid"),
    Table("versions", "owner, name, module, version"),
    Table("vuln_scans", "owner, name, module, version, sum"),
    Table("vuln_db", "url"),
    Table("oidc_jtis", "issuer, jti"),
    Table("publish_tokens", "token_sha256"),
)


class Damaged(GopushError):
    """An export directory (or, exporting, the registry) is not whole: a file missing, cut
    short, altered, or not what the manifest says. Nothing was written."""

    exit_code = ExitCode.INVALID_MODULE


class Summary(NamedTuple):
    """What an export or import moved."""

    directory: Path
    rows: dict[str, int]
    blobs: int
    blob_bytes: int

    def as_json(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "schema_version": SCHEMA_VERSION,
                "rows": self.rows, "blobs": self.blobs, "blob_bytes": self.blob_bytes}


class _DeletedMeanwhile(Exception):
    """A blob the snapshot's rows need was deleted by the running registry since."""


# -- the two functions that touch a blob store (the Blobs protocol) --------------------------


def _read_blob(blobs: Blobs, sha256: str) -> Iterator[bytes]:
    """Yield a stored blob's content, about a MiB at a time, verified against its name
    (``Blobs.chunks``: ``BlobCorrupt`` after the last piece, ``BlobMissing``)."""
    return blobs.chunks(sha256)


def _store_blob(db: Database, blobs: Blobs, source: IO[bytes], sha256: str,
                size: int) -> None:
    """Store ``source``'s bytes as blob ``sha256`` inside the current transaction, refusing
    them unless they are ``size`` bytes hashing to ``sha256``; removed again should the
    transaction roll back (unless the store held them before).

    Raises:
        Damaged: the bytes are not the blob the manifest names (changed since checked).
    """
    incoming = blobs.incoming("import")
    try:
        while chunk := source.read(_CHUNK):
            incoming.write(chunk)
        if incoming.sha256 != sha256 or incoming.size != size:
            raise Damaged(f"{_blob_name(sha256)} changed while it was imported (now "
                          f"{incoming.size} bytes hashing to {incoming.sha256})",
                          hint="import from an export nothing writes to")
        stored, new = blobs.commit(incoming)
    finally:
        incoming.discard()  # a no-op once committed
    if new:
        db.on_rollback(lambda: blobs.delete([stored]))


# -- export -------------------------------------------------------------------------------------


def export_registry(db: Database, blobs: Blobs, out: Path) -> Summary:
    """Write the registry in ``db`` and ``blobs`` to the new directory ``out``.

    Raises:
        ConfigError: ``out`` exists and is not an empty directory, or cannot be written;
            blobs kept being deleted under the export (``MAX_TRIES``).
        Damaged: a blob a row needs is missing from the store or corrupt.
    """
    _check_new_directory(out)
    for _ in range(MAX_TRIES):
        partial = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
        try:
            summary = _export_once(db, blobs, partial)
            os.replace(partial, out)  # over an empty directory too
        except _DeletedMeanwhile as err:
            log.info("export: %s; starting again from a new snapshot", err)
            continue
        except OSError as err:
            raise ConfigError(f"cannot write the export to {out}: {err.strerror or err}",
                              hint="pass --export DIR on a writable disk with room") from None
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        _fsync_directory(out.parent)
        return summary._replace(directory=out)
    raise ConfigError(f"the registry deleted blobs during {MAX_TRIES} exports in a row",
                      hint="export again when fewer packages are being deleted")


def _check_new_directory(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--export {out}: not a new or empty directory",
                          hint="pass a directory that does not exist yet (nothing is "
                               "overwritten)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create {out.parent}: {err.strerror}") from None


def _export_once(db: Database, blobs: Blobs, partial: Path) -> Summary:
    """Write one export into ``partial``: the rows of one snapshot, then their blobs."""
    (partial / "rows").mkdir(parents=True)
    needed = partial / "needed.tmp"
    with db.snapshot() as conn:
        tables = [_export_rows(db, conn, table, partial) for table in TABLES]
        with needed.open("w") as listing:
            for row in conn.stream(f"SELECT sha FROM ({_NEEDED_BLOBS}) AS needed "
                                   "WHERE sha IS NOT NULL ORDER BY sha"):
                listing.write(f"{row[0]}\n")
    blob_entry = _export_blobs(db, blobs, needed, partial)
    needed.unlink()
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "schema_version": SCHEMA_VERSION, "exported_at": now(), "gopush": __version__,
                "tables": tables, "blobs": blob_entry}
    _write_file(partial / MANIFEST, json.dumps(manifest, indent=1).encode() + b"\n")
    return Summary(partial, {t["name"]: t["rows"] for t in tables}, blob_entry["count"],
                   blob_entry["total_bytes"])


def _export_rows(db: Database, conn: Connection, table: Table,
                 partial: Path) -> dict[str, Any]:
    """Write ``table``'s rows to ``rows/TABLE.jsonl``; return its manifest entry."""
    names = [column.name for column in db.columns(conn, table.name)]
    where = f" WHERE {table.where}" if table.where else ""
    name = f"rows/{table.name}.jsonl"
    with _Digesting(partial / name) as out:
        for row in conn.stream(f"SELECT {', '.join(names)} FROM {table.name}{where} "
                               f"ORDER BY {table.order}"):
            line = json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False,
                              separators=(",", ":")).encode() + b"\n"
            if len(line) > MAX_LINE_BYTES:  # an export import would refuse is not written
                raise ConfigError(f"a row of {table.name} is {len(line)} bytes, more than an "
                                  f"import reads ({MAX_LINE_BYTES})")
            out.write(line)
    return {"name": table.name, "file": name, "columns": names, **out.entry()}


def _export_blobs(db: Database, blobs: Blobs, needed: Path,
                  partial: Path) -> dict[str, Any]:
    """Copy every blob listed in ``needed`` into ``partial``; return the blob manifest's
    manifest entry (its size, SHA-256, line count, and the blobs' total size)."""
    total = 0
    with needed.open() as shas, _Digesting(partial / BLOB_MANIFEST) as listing:
        for line in shas:
            sha = line.strip()
            size = _copy_out(db, blobs, sha, partial / _blob_name(sha))
            listing.write(json.dumps({"sha256": sha, "size": size}).encode() + b"\n")
            total += size
    entry = listing.entry()
    return {"file": BLOB_MANIFEST, "count": entry["rows"], "total_bytes": total,
            "bytes": entry["bytes"], "sha256": entry["sha256"]}


def _copy_out(db: Database, blobs: Blobs, sha: str, dest: Path) -> int:
    """Copy one stored blob to ``dest``; return its size.

    Raises:
        _DeletedMeanwhile: it is gone and no row needs it any more.
        Damaged: it is missing though a row needs it, or corrupt.
    """
    if not is_sha256(sha):
        raise Damaged(f"the registry names a blob {sha[:80]!r}, which is no SHA-256")
    dest.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with dest.open("xb") as out:
            for chunk in _read_blob(blobs, sha):
                out.write(chunk)
                size += len(chunk)
            os.fsync(out.fileno())
    except BlobMissing:
        if db.one(f"SELECT 1 FROM ({_NEEDED_BLOBS}) AS needed WHERE sha = ?", sha) is None:
            raise _DeletedMeanwhile(f"blob {sha} was deleted after the snapshot") from None
        raise Damaged(f"blob {sha} is missing from the registry's store, and a row needs it",
                      hint="check --data (the registry's blobs), or restore the blob from a "
                           "backup") from None
    except BlobCorrupt as err:
        raise Damaged(str(err), hint=err.hint) from None
    return size


class _Digesting:
    """A new file written through, counting lines and bytes and hashing them (fsynced)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("xb")
        self._sha256 = hashlib.sha256()
        self.lines = self.size = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._file:
            if exc[0] is None:
                self._file.flush()
                os.fsync(self._file.fileno())

    def write(self, line: bytes) -> None:
        self._file.write(line)
        self._sha256.update(line)
        self.lines += 1
        self.size += len(line)

    def entry(self) -> dict[str, Any]:
        return {"rows": self.lines, "bytes": self.size, "sha256": self._sha256.hexdigest()}


def _write_file(path: Path, data: bytes) -> None:
    with path.open("xb") as out:
        out.write(data)
        os.fsync(out.fileno())


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _blob_name(sha256: str) -> str:
    """Where blob ``sha256`` lies in an export (a name this module makes, never read)."""
    return f"blobs/sha256/{sha256[:2]}/{sha256}"


# -- import: checking the export ----------------------------------------------------------------


@dataclass
class Export:
    """An export directory checked whole by ``read_export``."""

    root: Path
    manifest: dict[str, Any]
    columns: dict[str, list[Column]]  # this gopush's schema, by table
    blob_sizes: dict[str, int] = field(default_factory=dict)

    def open(self, name: str) -> IO[bytes]:
        """Open the regular file ``name`` (a name this module made) below the root."""
        return _open_below(self.root, name)

    def table_entry(self, table: str) -> dict[str, Any]:
        return next(t for t in self.manifest["tables"] if t["name"] == table)


def read_export(root: Path) -> Export:
    """Check the export in ``root`` whole (see the module docstring) without writing
    anything; return it.

    Raises:
        ConfigError: not an export, or one of another format or schema version.
        Damaged: a file missing, cut short or altered, a row that does not fit the schema.
    """
    if not root.is_dir():
        raise ConfigError(f"--import {root}: no such directory")
    manifest = _read_manifest(root)
    export = Export(root, manifest, _schema_columns())
    for table in TABLES:
        for _ in _rows(export, table.name):
            pass
    export.blob_sizes = _read_blob_manifest(export)
    for sha, size in export.blob_sizes.items():
        _check_blob(export, sha, size)
    return export


@lru_cache(maxsize=1)
def _schema_columns() -> dict[str, list[Column]]:
    """Return the columns of every exported table in this gopush's schema, as an empty
    in-memory SQLite database made by ``db.SCHEMA`` and ``db.MIGRATIONS`` has them."""
    memory = SqliteDatabase(Path(":memory:"), Space(Path("."), Path(".")))
    try:
        with memory.tx() as conn:
            return {table.name: memory.columns(conn, table.name) for table in TABLES}
    finally:
        memory.close()


def _read_manifest(root: Path) -> dict[str, Any]:
    try:
        with _open_below(root, MANIFEST) as source:
            data = source.read(MAX_MANIFEST_BYTES + 1)
    except Damaged as err:
        raise ConfigError(f"--import {root}: {err.message}; not an export, or one that did "
                          "not finish", hint="pass a directory gopush serve --export wrote") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise Damaged(f"{root / MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        manifest = loads(data)
    except UnreadableJson as err:
        raise Damaged(f"{root / MANIFEST}: {err.why}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ConfigError(f"{root / MANIFEST} is not a gopush registry export")
    _check_versions(root, manifest)
    _check_entries(root, manifest)
    return manifest


def _check_versions(root: Path, manifest: dict[str, Any]) -> None:
    fmt, schema = manifest.get("format_version"), manifest.get("schema_version")
    if not isinstance(fmt, int) or not isinstance(schema, int) or not (
            _is_count(fmt) and _is_count(schema)):
        raise Damaged(f"{root / MANIFEST}: format_version and schema_version are not numbers")
    if fmt > FORMAT_VERSION or schema > SCHEMA_VERSION:
        raise ConfigError(f"{root} was exported by a newer gopush (format {fmt}, schema "
                          f"{schema}; this one knows format {FORMAT_VERSION}, schema "
                          f"{SCHEMA_VERSION})", hint="import it with that gopush version")
    if fmt < FORMAT_VERSION or schema < SCHEMA_VERSION:
        raise ConfigError(f"{root} was exported at schema {schema}; this gopush imports "
                          f"schema {SCHEMA_VERSION}",
                          hint="import it with the gopush that exported it, then start this "
                               "one on the imported registry (it migrates the schema)")


def _check_entries(root: Path, manifest: dict[str, Any]) -> None:
    """Check that the manifest lists each table of ``TABLES`` once, and the blob manifest,
    each with a size, SHA-256 and count."""
    tables = manifest.get("tables")
    names = [t.get("name") for t in tables if isinstance(t, dict)] if isinstance(
        tables, list) else []
    if sorted(map(str, names)) != sorted(t.name for t in TABLES) or len(names) != len(tables or ()):
        raise Damaged(f"{root / MANIFEST}: its tables are {names}, not "
                      f"{[t.name for t in TABLES]}")
    for entry in [*tables, manifest.get("blobs")]:  # type: ignore[misc]
        if not (isinstance(entry, dict) and _is_count(entry.get("bytes"))
                and is_sha256(entry.get("sha256"))
                and _is_count(entry.get("rows", entry.get("count")))):
            raise Damaged(f"{root / MANIFEST}: an entry lacks its bytes, sha256 or count: "
                          f"{json.dumps(entry)[:200]}")


def _rows(export: Export, table: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) of ``rows/TABLE.jsonl``, each checked against the schema;
    after the last, check the file's size, SHA-256 and row count against the manifest.

    Raises:
        Damaged: a line too long, cut short, not JSON, not a row of the table, or the file
            not what the manifest says.
    """
    entry = export.table_entry(table)
    name = f"rows/{table}.jsonl"
    columns = {column.name: column for column in export.columns[table]}
    listed = entry.get("columns")
    if not isinstance(listed, list) or sorted(map(str, listed)) != sorted(columns):
        raise Damaged(f"{export.root / MANIFEST}: the columns of {table} are {listed}, not "
                      f"{sorted(columns)}")
    for number, line in _lines(export, name, entry, entry["rows"], MAX_LINE_BYTES):
        yield number, _row(f"{export.root / name} line {number}", line, columns)


def _lines(export: Export, name: str, entry: dict[str, Any], count: int,
           limit: int) -> Iterator[tuple[int, bytes]]:
    """Yield (number, line) of a JSON-lines file, checking it against its manifest entry."""
    where = export.root / name
    with export.open(name) as source:
        size = os.fstat(source.fileno()).st_size
        if size != entry["bytes"]:
            raise Damaged(f"{where} is {size} bytes; the manifest says {entry['bytes']} "
                          "(cut short or altered)")
        sha256 = hashlib.sha256()
        number = 0
        while line := source.readline(limit + 1):
            number += 1
            sha256.update(line)
            if len(line) > limit or not line.endswith(b"\n"):
                raise Damaged(f"{where} line {number}: " + (
                    f"longer than {limit} bytes" if len(line) > limit else "cut short"))
            yield number, line
    if number != count or sha256.hexdigest() != entry["sha256"]:
        raise Damaged(f"{where} holds {number} lines hashing to {sha256.hexdigest()}; the "
                      f"manifest says {count} lines, {entry['sha256']} (altered)")


def _row(where: str, line: bytes, columns: dict[str, Column]) -> dict[str, Any]:
    try:
        row = loads(line)
    except UnreadableJson as err:
        raise Damaged(f"{where}: {err.why}") from None
    if not isinstance(row, dict) or set(row) != set(columns):
        raise Damaged(f"{where}: not a row of the table's columns {sorted(columns)}")
    for name, value in row.items():
        if (why := _unfit(columns[name], value)) is not None:
            raise Damaged(f"{where}: column {name}: {why}")
    return row


def _unfit(column: Column, value: object) -> str | None:
    """Return why ``value`` cannot go in ``column`` on both engines, or None."""
    if value is None:
        return None if column.nullable else "null in a NOT NULL column"
    if column.integer:
        ok = isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64
        return None if ok else f"{json.dumps(value)[:80]} is not a 64-bit integer"
    if not isinstance(value, str):
        return f"{json.dumps(value)[:80]} is not text"
    return "a NUL character (PostgreSQL text cannot hold it)" if "\0" in value else None


def _read_blob_manifest(export: Export) -> dict[str, int]:
    """Return the blob manifest as {SHA-256: size}, checked against its manifest entry."""
    entry = export.manifest["blobs"]
    sizes: dict[str, int] = {}
    for number, line in _lines(export, BLOB_MANIFEST, entry, entry.get("count", -1),
                               MAX_BLOB_LINE_BYTES):
        where = f"{export.root / BLOB_MANIFEST} line {number}"
        try:
            item = loads(line)
        except UnreadableJson as err:
            raise Damaged(f"{where}: {err.why}") from None
        if not (isinstance(item, dict) and set(item) == {"sha256", "size"}
                and is_sha256(item["sha256"]) and _is_count(item["size"])):
            raise Damaged(f"{where}: not {{\"sha256\": HEX, \"size\": BYTES}}")
        if item["sha256"] in sizes:
            raise Damaged(f"{where}: blob {item['sha256']} is listed twice")
        sizes[item["sha256"]] = item["size"]
    return sizes


def _check_blob(export: Export, sha: str, size: int) -> None:
    """Check that blob ``sha`` is in the export: ``size`` bytes hashing to ``sha``."""
    name = _blob_name(sha)
    with export.open(name) as source:
        found = os.fstat(source.fileno()).st_size
        if found != size:
            raise Damaged(f"{export.root / name} is {found} bytes; the blob manifest says "
                          f"{size} (cut short or altered)")
        sha256 = hashlib.sha256()
        while chunk := source.read(_CHUNK):
            sha256.update(chunk)
    if sha256.hexdigest() != sha:
        raise Damaged(f"{export.root / name} does not hash to its name (its SHA-256 is "
                      f"{sha256.hexdigest()}): altered", hint="export the registry again")


def _open_below(root: Path, name: str) -> IO[bytes]:
    """Open the regular file ``root/name`` for reading, each component of ``name`` opened
    without following a symbolic link (so nothing outside ``root`` is ever read).

    Raises:
        Damaged: it is missing, a symbolic link, or not a regular file (a named pipe is
            refused at once, not waited on).
    """
    parts = name.split("/")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            fd = _swap(fd, os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                                   dir_fd=fd))
        # O_NONBLOCK: opening a FIFO to read would wait for a writer for ever (it changes
        # nothing for a regular file's reads)
        fd = _swap(fd, os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK,
                               dir_fd=fd))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Damaged(f"{root / name} is not a regular file")
    except FileNotFoundError:
        os.close(fd)
        raise Damaged(f"{root / name} is missing", hint="export the registry again") from None
    except OSError as err:  # ELOOP, ENOTDIR: a symbolic link where a file or directory is
        os.close(fd)
        raise Damaged(f"{root / name} cannot be read ({err.strerror}): an export holds no "
                      "symbolic links") from None
    except Damaged:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _swap(old: int, new: int) -> int:
    os.close(old)
    return new


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _INT64


# -- import: writing it -------------------------------------------------------------------------


def import_into(db: Database, blobs: Blobs, export: Export) -> Summary:
    """Write a checked export into the empty registry ``db`` + ``blobs``, in one transaction
    (see the module docstring).

    Raises:
        ConfigError: the target registry holds rows.
        Damaged: the export changed since it was checked, a row breaks a constraint (a
            duplicate), or a row needs a blob the export does not hold. Nothing was written.
    """
    with db.tx() as conn:
        _refuse_rows(db, conn)
        counts = {table.name: _insert_rows(conn, export, table.name) for table in TABLES}
        db.advance_identities(conn)
        needed = [str(row[0]) for row in conn.execute(
            f"SELECT sha FROM ({_NEEDED_BLOBS}) AS needed WHERE sha IS NOT NULL ORDER BY sha")]
        for sha in needed:
            if sha not in export.blob_sizes:
                raise Damaged(f"a row of {export.root} needs blob {sha}, which its blob "
                              "manifest does not list", hint="export the registry again")
            with export.open(_blob_name(sha)) as source:
                _store_blob(db, blobs, source, sha, export.blob_sizes[sha])
    return Summary(export.root, counts, len(needed), sum(export.blob_sizes[s] for s in needed))


def _refuse_rows(db: Database, conn: Connection) -> None:
    for table in TABLES:
        if conn.execute(f"SELECT 1 FROM {table.name} LIMIT 1").fetchone() is not None:
            raise ConfigError(f"the target registry ({db.shown}) is not empty: {table.name} "
                              "has rows", hint="import into a new database (a new --data "
                                               "DIR, or a new --database); nothing was written")


def _insert_rows(conn: Connection, export: Export, table: str) -> int:
    """Insert every row of ``rows/TABLE.jsonl``; return how many."""
    names = [column.name for column in export.columns[table]]  # this gopush's, not the file's
    insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    count = 0
    for number, row in _rows(export, table):
        try:
            conn.execute(insert, [row[name] for name in names])
        except Conflict as err:
            raise Damaged(f"{export.root}/rows/{table}.jsonl line {number}: {err}") from None
        count += 1
    return count
