"""Entitlement tokens: who may read a private repository through GOPROXY, managed at runtime.

An entitlement is Cloudsmith's read token for one repository: a name (unique in the
repository), a token (16 or more letters and digits; 16 random ones unless given), and its
restrictions. Only the token's SHA-256 is stored: the token is shown once, in the reply that
created or refreshed it. A refresh gives the entitlement a new token and the old one stops
working at once.

A read with ``token:<TOKEN>`` is allowed when the entitlement is active (``enable`` /
``disable``), the time is within ``[limit_date_range_from, limit_date_range_to)``, fewer
than ``limit_num_downloads`` module zips were downloaded with it (``.zip`` requests count,
as package downloads do on Cloudsmith; ``reset`` sets the count back to 0), and, for a
version, when the version matches ``limit_package_query`` (``server.query``'s language, on
the fields a package search reads: ``name:example.com/mod*``). Versions outside the query are
left out of ``list`` and ``@latest`` and their files answer 404, as if they were not there.
Any other refusal is the one 401 of ``server.auth``; the server log says why.

``--read-token OWNER/REPO=TOKEN`` seeds a fresh registry: the first start that sees a token
creates its entitlement (``read-token-N``) and records the seed in ``read_tokens``; later
starts with the same option change nothing, so a seeded token that was deleted, refreshed
or restricted through the API stays so.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gopush.modzip.accept import RFC3339
from gopush.server.db import Conflict, Database, digest
from gopush.server.query import Matcher, QueryError, compile_query
from gopush.server.records import Repo, from_row

log = logging.getLogger("gopush.server")

TOKEN_CHARS = 16  # random token length (letters and digits: about 95 bits)
MAX_TOKEN_CHARS = 64
MAX_NAME_CHARS = 200
MAX_ENTITLEMENTS = 1000  # per repository: a list and its storage stay small
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_ALPHABET = string.ascii_letters + string.digits


class EntitlementError(ValueError):
    """A field of an entitlement request that cannot be used: ``field`` and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class EntitlementConflict(Exception):
    """The name (or the given token) is already another entitlement's in this repository."""


@dataclass(frozen=True)
class Entitlement:
    """One row of ``entitlements``."""

    identifier: int
    slug_perm: str
    owner: str
    name: str
    ent_name: str
    token_sha256: str
    is_active: int
    created_at: str
    updated_at: str
    downloads: int = 0
    limit_date_range_from: str | None = None
    limit_date_range_to: str | None = None
    limit_num_downloads: int | None = None
    limit_package_query: str | None = None

    def refusal(self, at: str) -> str | None:
        """Return why the entitlement reads nothing at time ``at`` (RFC 3339 UTC), or None."""
        if not self.is_active:
            return "disabled"
        if self.limit_date_range_from and at < self.limit_date_range_from:
            return f"not valid before {self.limit_date_range_from}"
        if self.limit_date_range_to and at >= self.limit_date_range_to:
            return f"expired at {self.limit_date_range_to}"
        if self.limit_num_downloads and self.downloads >= self.limit_num_downloads:
            return f"download limit of {self.limit_num_downloads} reached"
        return None

    def scope(self) -> Matcher | None:
        """Return the test a version's search fields must pass, or None (every version)."""
        return compiled_scope(self.limit_package_query or "")


@functools.lru_cache(maxsize=256)
def compiled_scope(query: str) -> Matcher | None:
    """Compile a stored package query once (it was checked when it was stored)."""
    return compile_query(query) if query.strip() else None


def new_token() -> str:
    """Return a random token of TOKEN_CHARS letters and digits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(TOKEN_CHARS))


def utc_now() -> str:
    """Return now as RFC 3339 UTC text, the form stored limits are compared in."""
    return datetime.now(UTC).strftime(RFC3339)


# -- checking what a client sends ------------------------------------------------------------


def check_name(value: object) -> str:
    """Return a valid entitlement name.

    Raises:
        EntitlementError: not text, empty, too long, or with control characters.
    """
    if not isinstance(value, str) or not value.strip():
        raise EntitlementError("name", "This field is required.")
    if len(value) > MAX_NAME_CHARS or not value.isprintable():
        raise EntitlementError("name", f"At most {MAX_NAME_CHARS} printable characters.")
    return value.strip()


def check_token(value: object) -> str:
    """Return a valid given token (16 to 64 letters and digits).

    Raises:
        EntitlementError: anything else.
    """
    if not (isinstance(value, str) and TOKEN_CHARS <= len(value) <= MAX_TOKEN_CHARS
            and _TOKEN.fullmatch(value)):
        raise EntitlementError("token", f"A token is {TOKEN_CHARS} to {MAX_TOKEN_CHARS} "
                                        "letters and digits.")
    return value


def check_time(field: str, value: object) -> str | None:
    """Return an ISO 8601 time (``2030-01-01T00:00:00Z``, any offset) as RFC 3339 UTC, or
    None for null or "" (no limit).

    Raises:
        EntitlementError: not a time with a date, or without a zone.
    """
    if value is None or value == "":
        return None
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise EntitlementError(field, "A UTC time such as 2030-12-31T00:00:00Z.")
    return when.astimezone(UTC).strftime(RFC3339)


def check_count(field: str, value: object) -> int | None:
    """Return a download limit (None for null or 0: no limit).

    Raises:
        EntitlementError: not a whole number from 0 to 2**63 - 1.
    """
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2 ** 63:
        raise EntitlementError(field, "A whole number of downloads (0: no limit).")
    return value


def check_query(value: object) -> str | None:
    """Return a package query the search language compiles (None for null or "").

    Raises:
        EntitlementError: not text, or a query ``server.query`` refuses (too long, too many
            terms, a quote left open).
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EntitlementError("limit_package_query", "A search query, as text.")
    try:
        compile_query(value)
    except QueryError as err:
        raise EntitlementError("limit_package_query", str(err)) from None
    return value


# Restrictions Cloudsmith has that gopush serve does not enforce: refused when set, so that
# no one believes a limit holds that does not. Their "none" values pass.
UNSUPPORTED = {"limit_num_clients": (None, 0), "limit_bandwidth": (None, 0),
               "limit_path_query": (None, ""),
               "scheduled_reset_period": (None, "", "Never Reset")}
EDITABLE = {"name": check_name, "token": check_token,
            "limit_date_range_from": lambda v: check_time("limit_date_range_from", v),
            "limit_date_range_to": lambda v: check_time("limit_date_range_to", v),
            "limit_num_downloads": lambda v: check_count("limit_num_downloads", v),
            "limit_package_query": check_query}


def checked_changes(body: dict[str, Any]) -> dict[str, Any]:
    """Return the columns a PATCH body sets (name, token, restrictions, ``is_active``).

    Raises:
        EntitlementError: a value cannot be used, or a restriction gopush does not enforce
            is set.
    """
    changes: dict[str, Any] = {}
    for field, allowed in UNSUPPORTED.items():
        if field in body and body[field] not in allowed:
            raise EntitlementError(field, "gopush serve does not enforce this restriction; "
                                          "use an expiry time, a download limit or a "
                                          "package query.")
    for field, check in EDITABLE.items():
        if field in body:
            changes["ent_name" if field == "name" else field] = check(body[field])
    if "is_active" in body:
        if not isinstance(body["is_active"], bool):
            raise EntitlementError("is_active", "true or false.")
        changes["is_active"] = int(body["is_active"])
    if "token" in changes:
        changes["token_sha256"] = digest(changes.pop("token"))
    return changes


# -- the store -------------------------------------------------------------------------------


class Entitlements:
    """The ``entitlements`` table: every read and write of entitlement tokens."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, repo: Repo) -> list[Entitlement]:
        """Return the repository's entitlements, by name."""
        return [from_row(Entitlement, r) for r in self.db.all(
            "SELECT * FROM entitlements WHERE owner = ? AND name = ? ORDER BY ent_name",
            repo.owner, repo.name)]

    def get(self, repo: Repo, slug_perm: str) -> Entitlement | None:
        """Return the entitlement ``slug_perm`` of ``repo``, or None."""
        row = self.db.one("SELECT * FROM entitlements WHERE owner = ? AND name = ? AND "
                          "slug_perm = ?", repo.owner, repo.name, slug_perm)
        return from_row(Entitlement, row) if row else None

    def create(self, repo: Repo, name: str, token: str) -> Entitlement:
        """Create an entitlement for ``token`` (already checked).

        Raises:
            EntitlementConflict: the name or token is taken in this repository.
            EntitlementError: the repository already has MAX_ENTITLEMENTS.
        """
        perm = secrets.token_hex(8)
        at = utc_now()
        try:
            with self.db.tx() as conn:
                count = conn.execute("SELECT count(*) FROM entitlements WHERE owner = ? AND "
                                     "name = ?", (repo.owner, repo.name)).fetchone()[0]
                if count >= MAX_ENTITLEMENTS:
                    raise EntitlementError("name", f"A repository holds at most "
                                                   f"{MAX_ENTITLEMENTS} entitlements.")
                conn.execute("INSERT INTO entitlements (slug_perm, owner, name, ent_name, "
                             "token_sha256, created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
                             "?, ?)", (perm, repo.owner, repo.name, name, digest(token), at, at))
        except Conflict:
            raise EntitlementConflict() from None
        found = self.get(repo, perm)
        assert found is not None
        return found

    def update(self, entitlement: Entitlement, changes: dict[str, Any]) -> Entitlement | None:
        """Set the columns ``changes`` names (from ``checked_changes`` or the server's own);
        return the entitlement as it now is, or None if it was deleted meanwhile.

        Raises:
            EntitlementConflict: the new name or token is another entitlement's.
        """
        columns = {**changes, "updated_at": utc_now()}
        assignments = ", ".join(f"{column} = ?" for column in columns)  # names from our code
        try:
            with self.db.tx() as conn:
                conn.execute(f"UPDATE entitlements SET {assignments} WHERE slug_perm = ?",
                             (*columns.values(), entitlement.slug_perm))
        except Conflict:
            raise EntitlementConflict() from None
        return self.get(Repo(entitlement.owner, entitlement.name), entitlement.slug_perm)

    def refresh(self, entitlement: Entitlement) -> tuple[Entitlement | None, str]:
        """Give the entitlement a new random token; return it and the token."""
        token = new_token()
        return self.update(entitlement, {"token_sha256": digest(token)}), token

    def delete(self, entitlement: Entitlement) -> None:
        """Delete the entitlement: its token reads nothing from now on."""
        with self.db.tx() as conn:
            conn.execute("DELETE FROM entitlements WHERE slug_perm = ?",
                         (entitlement.slug_perm,))

    def count_download(self, entitlement: Entitlement) -> bool:
        """Count one zip download; False (nothing counted) when the limit is reached, so
        two clients racing for the last download cannot both have it."""
        with self.db.tx() as conn:
            done = conn.execute("UPDATE entitlements SET downloads = downloads + 1 WHERE "
                                "slug_perm = ? AND (limit_num_downloads IS NULL OR downloads "
                                "< limit_num_downloads)", (entitlement.slug_perm,))
            return done.rowcount == 1

    def read_access(self, owner: str, name: str, token: str) -> tuple[bool | None, Entitlement | None]:
        """Return whether ``owner/name`` is private (None: no such repository) and the
        entitlement ``token`` is of it (None: none), in one query whose work is the same
        whether or not the repository exists (it always answers one row): ``auth.may_read``
        relies on that, so that a refusal's time does not tell which repositories exist."""
        row = self.db.one(
            "SELECT (SELECT private FROM repos WHERE owner = ? AND name = ?) AS private, e.* "
            "FROM (SELECT 1) AS one LEFT JOIN entitlements e ON e.owner = ? AND e.name = ? AND "
            "e.token_sha256 = ?", owner, name, owner, name, digest(token))
        assert row is not None
        private = None if row["private"] is None else bool(row["private"])
        found = from_row(Entitlement, row) if row["slug_perm"] is not None else None
        return private, found

    def seed(self, owner: str, name: str, token: str) -> bool:
        """Apply a ``--read-token`` seed unless it was applied before; True when it was new."""
        sha = digest(token)
        at = utc_now()
        with self.db.tx() as conn:
            added = conn.execute("INSERT INTO read_tokens (owner, name, token_sha256) VALUES "
                                 "(?, ?, ?) ON CONFLICT DO NOTHING RETURNING rowid",
                                 (owner, name, sha)).fetchone()
            if added is None:
                return False
            number = added[0]
            taken = conn.execute("SELECT 1 FROM entitlements WHERE owner = ? AND name = ? AND "
                                 "ent_name = ?", (owner, name, f"read-token-{number}")).fetchone()
            ent_name = f"read-token-{number}" + (f"-{secrets.token_hex(3)}" if taken else "")
            conn.execute("INSERT INTO entitlements (slug_perm, owner, name, ent_name, "
                         "token_sha256, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                         "ON CONFLICT DO NOTHING",
                         (secrets.token_hex(8), owner, name, ent_name, sha, at, at))
        log.info("--read-token for %s/%s seeded as entitlement %s", owner, name, ent_name)
        return True
