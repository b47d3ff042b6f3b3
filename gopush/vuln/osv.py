"""OSV entries and the vuln.go.dev indexes as data, parsed within fixed bounds (pure).

The published layout (https://go.dev/security/vuln/database):

- ``index/db.json``: ``{"modified": RFC3339}``, the time of the newest change to the database.
- ``index/modules.json``: ``[{"path": MODULE, "vulns": [{"id", "modified", "fixed"?}]}]``;
  the standard library is ``stdlib``, the go command ``toolchain``.
- ``ID/GO-YYYY-NNNN.json``: one OSV entry (schema 1.3+): ``id``, ``modified``, ``published``,
  ``withdrawn``?, ``aliases``, ``summary``, ``details``, ``affected[]`` with
  ``package.name`` (the module path), ``ranges[]`` (``type`` ``SEMVER``, ``events`` of
  ``introduced`` / ``fixed``; versions without the ``v``) and
  ``ecosystem_specific.imports[]`` (``path``, ``symbols``, ``goos``, ``goarch``).

Every parser takes bytes and raises ``VulnDbError`` (never a traceback) on anything it
cannot read, naming the field (``affected[0].ranges[1].events[0]``); the caller bounds how
many bytes it hands over (``MAX_*_BYTES``: each far above any published document, far below
what would strain memory once decoded) and names the document. JSON depth and numbers are
bounded by ``boundedjson``. Only what gopush uses is read: ``ranges`` of type ``SEMVER``,
their ``introduced`` / ``fixed`` events (the Go database writes no others; an unknown event
is skipped, which can only widen a range), and the import paths of the affected packages.
Every string that names a file in the layout (a vuln id) is checked to be a plain name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gopush import boundedjson
from gopush.errors import ExitCode, GopushError

MAX_DB_INDEX_BYTES = 64 * 1024  # index/db.json: one field, some 40 bytes
MAX_MODULES_INDEX_BYTES = 8 * 1024 * 1024  # index/modules.json: 0.5 MB in 2026; 8 MiB parse to ~65 MB
MAX_ENTRY_BYTES = 1024 * 1024  # ID/GO-*.json: the largest published is 13 kB

# A vuln id as it appears in a file name of the layout (GO-2022-0969): no path separators,
# no dot-only names, short.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_EVENT_KINDS = ("introduced", "fixed")
Where = tuple[str | int, ...]  # a field's place in the document, named on error (_named)


class VulnDbError(GopushError):
    """The vulnerability database cannot be read, or answered something unreadable."""

    exit_code = ExitCode.UNAVAILABLE


@dataclass(frozen=True)
class Event:
    """One OSV range event: ``kind`` is "introduced" or "fixed"; ``version`` as published
    (no ``v``; "0" for "since the beginning")."""

    kind: str
    version: str


@dataclass(frozen=True)
class Affected:
    """One ``affected[]`` item: a module, its SEMVER ranges' events (in order), the packages."""

    module: str
    ranges: tuple[tuple[Event, ...], ...]  # one tuple of events per SEMVER range
    packages: tuple[str, ...]  # ecosystem_specific.imports[].path; () = the whole module


@dataclass(frozen=True)
class Entry:
    """One OSV entry (``ID/GO-....json``)."""

    id: str
    modified: str  # RFC 3339, as published
    aliases: tuple[str, ...]
    summary: str
    affected: tuple[Affected, ...]
    withdrawn: str = ""  # RFC 3339 when withdrawn; "" otherwise


@dataclass(frozen=True)
class IndexedVuln:
    """One ``vulns[]`` item of ``index/modules.json``."""

    id: str
    modified: str
    fixed: str = ""


def parse_entry(data: bytes) -> Entry:
    """Parse one OSV entry. Raises ``VulnDbError`` naming what is wrong."""
    doc = _object(_load(data, MAX_ENTRY_BYTES), ("the entry",))
    aliases = _list(doc.get("aliases", []), ("aliases",))
    affected = _list(doc.get("affected", []), ("affected",))
    return Entry(
        id=vuln_id(doc.get("id"), "id"),
        modified=timestamp(doc.get("modified"), "modified"),
        aliases=tuple(_string(a, ("aliases", i)) for i, a in enumerate(aliases)),
        summary=_string(doc.get("summary", ""), ("summary",)),
        affected=tuple(_affected(a, ("affected", i)) for i, a in enumerate(affected)),
        withdrawn=timestamp(doc["withdrawn"], "withdrawn") if doc.get("withdrawn") else "",
    )


def parse_db_index(data: bytes) -> str:
    """Return ``modified`` of ``index/db.json``."""
    doc = _object(_load(data, MAX_DB_INDEX_BYTES), ("index/db.json",))
    return timestamp(doc.get("modified"), "modified")


def parse_modules_index(data: bytes) -> dict[str, tuple[IndexedVuln, ...]]:
    """Return ``index/modules.json`` as module path → its vulns."""
    index: dict[str, tuple[IndexedVuln, ...]] = {}
    for i, item in enumerate(_list(_load(data, MAX_MODULES_INDEX_BYTES), ("the index",))):
        module = _object(item, (i,))
        path = _string(module.get("path"), (i, "path"))
        if not path or path in index:
            raise VulnDbError(f"[{i}].path: {'empty' if not path else f'{path!r} twice'}")
        vulns = _list(module.get("vulns", []), (i, "vulns"))
        index[path] = tuple(_indexed(v, (i, "vulns", j)) for j, v in enumerate(vulns))
    return index


def vuln_id(value: Any, where: str | Where) -> str:
    """Return ``value`` if it is a vuln id usable as a file name (``GO-2022-0969``)."""
    if not isinstance(value, str) or not _ID.fullmatch(value) or set(value) <= {"."}:
        raise VulnDbError(f"{_named(where)}: {_shown(value)} is not a vulnerability id")
    return value


def timestamp(value: Any, where: str | Where) -> str:
    """Return ``value`` if it is an RFC 3339 time with a zone ("2024-05-03T09:11:36Z")."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            if datetime.fromisoformat(value).tzinfo is not None:
                return value
        except ValueError:
            pass
    raise VulnDbError(f"{_named(where)}: {_shown(value)} is not an RFC 3339 time")


def moment(value: str) -> datetime:
    """Return the instant a ``timestamp`` names, for comparing two of them (the text may
    differ in precision or zone)."""
    return datetime.fromisoformat(value)


def _affected(value: Any, where: Where) -> Affected:
    item = _object(value, where)
    package = _object(item.get("package"), (*where, "package"))
    module = _string(package.get("name"), (*where, "package", "name"))
    if not module:
        raise VulnDbError(f"{_named((*where, 'package', 'name'))}: empty")
    ranges = _list(item.get("ranges", []), (*where, "ranges"))
    specific = _object(item.get("ecosystem_specific", {}), (*where, "ecosystem_specific"))
    imports = _list(specific.get("imports", []), (*where, "ecosystem_specific", "imports"))
    return Affected(
        module=module,
        ranges=tuple(_events(r, (*where, "ranges", i)) for i, r in enumerate(ranges)
                     if _object(r, (*where, "ranges", i)).get("type") == "SEMVER"),
        packages=_packages(imports, (*where, "ecosystem_specific", "imports")),
    )


def _packages(imports: list[Any], where: Where) -> tuple[str, ...]:
    """The import paths, in order, once each (an entry may list a package once per GOOS)."""
    paths = (_string(_object(p, (*where, i)).get("path"), (*where, i, "path"))
             for i, p in enumerate(imports))
    return tuple(dict.fromkeys(p for p in paths if p))


def _events(value: dict[str, Any], where: Where) -> tuple[Event, ...]:
    events = []
    for i, item in enumerate(_list(value.get("events"), (*where, "events"))):
        event = _object(item, (*where, "events", i))
        for kind in _EVENT_KINDS:
            if kind in event:
                version = _string(event[kind], (*where, "events", i, kind))
                if not version:
                    raise VulnDbError(f"{_named((*where, 'events', i, kind))}: empty")
                events.append(Event(kind, version))
    return tuple(events)


def _indexed(value: Any, where: Where) -> IndexedVuln:
    item = _object(value, where)
    return IndexedVuln(id=vuln_id(item.get("id"), (*where, "id")),
                       modified=timestamp(item.get("modified"), (*where, "modified")),
                       fixed=_string(item.get("fixed", ""), (*where, "fixed")))


def _load(data: bytes, limit: int) -> Any:
    if len(data) > limit:
        raise VulnDbError(f"{len(data):,} bytes, more than the {limit:,} gopush reads")
    try:
        return boundedjson.loads(data)
    except boundedjson.UnreadableJson as exc:
        raise VulnDbError(exc.why) from None


def _object(value: Any, where: Where) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise VulnDbError(f"{_named(where)}: not a JSON object")
    return value


def _list(value: Any, where: Where) -> list[Any]:
    if not isinstance(value, list):
        raise VulnDbError(f"{_named(where)}: not a JSON array")
    return value


def _string(value: Any, where: Where) -> str:
    if not isinstance(value, str):
        raise VulnDbError(f"{_named(where)}: not a string")
    return value


def _named(where: str | Where) -> str:
    """Name a field for a message: ("affected", 0, "package") → "affected[0].package".
    Fields are named as tuples and formatted only here, when something is wrong: an
    entry has some 40 fields, and the cache reads a thousand entries per run."""
    if isinstance(where, str):
        return where
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in where)
    return text.lstrip(".")


def _shown(value: Any) -> str:
    """``value`` for a message: short, on one line (escaped at the output boundary)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
