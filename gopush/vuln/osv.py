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
cannot read; the caller bounds how many bytes it hands over.
"""

from __future__ import annotations

from dataclasses import dataclass

from gopush.errors import ExitCode, GopushError


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
    raise NotImplementedError


def parse_db_index(data: bytes) -> str:
    """Return ``modified`` of ``index/db.json``."""
    raise NotImplementedError


def parse_modules_index(data: bytes) -> dict[str, tuple[IndexedVuln, ...]]:
    """Return ``index/modules.json`` as module path → its vulns."""
    raise NotImplementedError
