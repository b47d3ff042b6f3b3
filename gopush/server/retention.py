"""Retention rules: a repository keeps the versions its rules keep, and removes the rest.

One rule per repository, in Cloudsmith's fields (``GET``/``PATCH /repos/{owner}/{repo}/
retention/``, as its API and its Python client ``ReposApi.repo_retention_*`` name them):

- ``retention_enabled``: whether the rule runs at all (off by default);
- ``retention_count_limit`` (0-10000), ``retention_days_limit`` (0-180) and
  ``retention_size_limit`` (bytes, 0-20 GiB): 0 turns a limit off; a version outside *any*
  limit goes (they are disjunctive, as on Cloudsmith); with every limit 0 nothing goes;
- ``retention_group_by_name``: each module is its own group (else the whole repository is
  one); ``retention_group_by_package_type``: for Go modules, releases, prereleases and
  pseudo-versions are separate groups (their "types"), so a stream of pseudo-versions never
  pushes out a release; ``retention_group_by_format`` is stored and changes nothing (every
  package here is a Go module);
- ``retention_package_query_string``: ``server.query``'s language; only the versions it
  selects are in a group at all, so the others are never removed. As on Cloudsmith, it
  selects what *may* go: ``~tag:keep`` (or ``NOT tag:keep``) exempts the versions tagged
  ``keep``; ``prerelease:true`` lets only prereleases and pseudo-versions go.

How a group is trimmed (``doomed``): its versions are ranked by **Go's semantic version
order** (``gosem.semver``, as go picks ``@latest``; ties by upload time), not by upload time
as Cloudsmith ranks count limits, so that "keep 3" keeps the 3 versions go would choose
first. Count keeps the N highest; size keeps the highest versions whose zips fit in the
limit together (Cloudsmith also trims size by semantic version); days removes versions
uploaded more than N days before the group's reference time: the upload time of the package
that triggered the evaluation, or, when none did, of the group's latest upload.

When it runs: after a new module version is published (a push, a republish), on the group of
that version only, and the package that triggered it is never removed (Cloudsmith's rule:
so a push never removes what it just published; a backport below the kept versions stays
until the next push to its group). ``POST .../retention/apply/`` evaluates every group now
(and ``dry-run`` lists what that would remove, changing nothing). At most ``MAX_REMOVALS``
versions go per evaluation. A removed version is removed exactly as ``DELETE`` removes one
(``Storage.delete_package``: 410, its ``h1:`` remembered). Changing the rules removes
nothing by itself. Failed, queued and upstream-cached versions are never in a group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from gopush.gosem import pseudo, semver
from gopush.modzip.accept import RFC3339
from gopush.server.db import Database
from gopush.server.package_json import search_fields
from gopush.server.query import QueryError, compile_query
from gopush.server.records import Package, Repo, from_row

MAX_REMOVALS = 1000  # per evaluation, as Cloudsmith; the rest wait for the next one
# (lowest, highest) allowed for each limit, as Cloudsmith's API model bounds them
BOUNDS = {"retention_count_limit": (0, 10000), "retention_days_limit": (0, 180),
          "retention_size_limit": (0, 20 * 1024 ** 3)}


class RulesError(ValueError):
    """A field of a retention request that cannot be used: ``field`` and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Rules:
    """A repository's retention rule (Cloudsmith's field names; the defaults: off)."""

    retention_enabled: bool = False
    retention_count_limit: int = 0
    retention_days_limit: int = 0
    retention_size_limit: int = 0
    retention_group_by_name: bool = False
    retention_group_by_format: bool = False
    retention_group_by_package_type: bool = False
    retention_package_query_string: str = ""

    def limited(self) -> bool:
        """Tell whether any limit is set (with none, nothing is ever removed)."""
        return any((self.retention_count_limit, self.retention_days_limit,
                    self.retention_size_limit))

    def as_json(self) -> dict[str, Any]:
        """Return the RepositoryRetentionRules object of Cloudsmith's API."""
        return asdict(self)


_FIELDS = {f.name: f.type for f in fields(Rules)}


def changed(rules: Rules, body: dict[str, Any]) -> Rules:
    """Return ``rules`` with the fields ``body`` gives (a PATCH); null resets a field.

    Raises:
        RulesError: an unknown field, a wrong type, a limit out of its bounds, or a query
            ``server.query`` refuses (too long, too many terms, unreadable).
    """
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name not in _FIELDS:
            raise RulesError(str(name)[:60], "Not a retention rule field.")
        changes[name] = getattr(Rules(), name) if value is None else _checked(name, value)
    return replace(rules, **changes)


def _checked(name: str, value: Any) -> Any:
    if name == "retention_package_query_string":
        if not isinstance(value, str):
            raise RulesError(name, "A package query (text) is required.")
        try:
            compile_query(value)
        except QueryError as err:
            raise RulesError(name, str(err)) from None
        return value
    if name in BOUNDS:
        low, high = BOUNDS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise RulesError(name, f"A whole number from {low} to {high} is required.")
        return value
    if not isinstance(value, bool):
        raise RulesError(name, "true or false is required.")
    return value


# -- which versions go ----------------------------------------------------------------------


@dataclass(frozen=True)
class Removal:
    """A package the rules remove, and which limit removes it."""

    package: Package
    why: str


def version_kind(version: str) -> str:
    """Return a Go version's "type" for grouping: pseudo-version, prerelease or release."""
    if pseudo.is_pseudo_version(version):
        return "pseudo-version"
    return "prerelease" if semver.prerelease(version) else "release"


def doomed(packages: list[Package], rules: Rules, *,
           trigger: Package | None = None) -> list[Removal]:
    """Return the packages ``rules`` remove from ``packages`` (a repository's live ones),
    at most ``MAX_REMOVALS``, lowest versions first.

    With ``trigger`` (the package just published), only its group is evaluated and it is
    never removed; without, every group is.
    """
    if not (rules.retention_enabled and rules.limited()):
        return []
    wanted = compile_query(rules.retention_package_query_string)
    groups: dict[tuple[str, ...], list[Package]] = {}
    for package in packages:
        if package.state == "completed" and package.module and package.version:
            groups.setdefault(_group(package, rules), []).append(package)
    if trigger is not None:
        groups = {key: group for key, group in groups.items() if key == _group(trigger, rules)}
    found: list[Removal] = []
    for group in groups.values():
        found.extend(_trimmed([p for p in group if wanted(search_fields(p))], rules, trigger))
    return sorted(found, key=lambda removal: _rank(removal.package))[:MAX_REMOVALS]


def _group(package: Package, rules: Rules) -> tuple[str, ...]:
    return ((package.module or "") if rules.retention_group_by_name else "",
            version_kind(package.version or "") if rules.retention_group_by_package_type
            else "")


def _rank(package: Package) -> tuple[Any, ...]:
    """The sort key of Go's version order, then upload time: each version parsed once
    (``semver.precedence``), not once per comparison. Every version here was checked
    by the gate, so (0, "") for an invalid one only keeps the key total."""
    precedence = semver.precedence(package.version or "")
    if precedence is None:
        return (0, "", package.uploaded_at)
    return (1, precedence, package.uploaded_at)


def _trimmed(group: list[Package], rules: Rules, trigger: Package | None) -> list[Removal]:
    """Return the removals of one evaluation group (its query already applied)."""
    if not group:
        return []
    ranked = sorted(group, key=_rank, reverse=True)  # highest first
    reasons: dict[str, str] = {}
    tests = (_beyond_count(rules.retention_count_limit),
             _too_old(rules.retention_days_limit, _reference(group, trigger)),
             _beyond_size(rules.retention_size_limit))
    for test in tests:
        for package, why in test(ranked):
            reasons.setdefault(package.slug_perm, why)
    return [Removal(p, reasons[p.slug_perm]) for p in ranked
            if p.slug_perm in reasons and (trigger is None or p.slug_perm != trigger.slug_perm)]


Test = Callable[[list[Package]], list[tuple[Package, str]]]


def _beyond_count(limit: int) -> Test:
    def test(ranked: list[Package]) -> list[tuple[Package, str]]:
        if not limit:
            return []
        return [(p, f"not among the {limit} highest versions of its group")
                for p in ranked[limit:]]
    return test


def _too_old(days: int, reference: str) -> Test:
    def test(ranked: list[Package]) -> list[tuple[Package, str]]:
        if not days:
            return []
        cutoff = (datetime.strptime(reference, RFC3339) - timedelta(days=days)).strftime(
            RFC3339)
        return [(p, f"uploaded more than {days} days before {reference}")
                for p in ranked if p.uploaded_at < cutoff]
    return test


def _beyond_size(limit: int) -> Test:
    def test(ranked: list[Package]) -> list[tuple[Package, str]]:
        if not limit:
            return []
        why = f"beyond the {limit} bytes its group keeps for its highest versions"
        total = 0
        beyond: list[tuple[Package, str]] = []
        for package in ranked:
            total += package.size or 0
            if total > limit or beyond:
                beyond.append((package, why))
        return beyond
    return test


def _reference(group: list[Package], trigger: Package | None) -> str:
    """The time age is counted back from: the trigger's upload, else the latest upload."""
    if trigger is not None:
        return trigger.uploaded_at
    return max(p.uploaded_at for p in group)


# -- where the rules are kept ---------------------------------------------------------------


class RetentionStore:
    """The ``retention_rules`` table (migration 4 of ``server.db``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, repo: Repo) -> Rules:
        """Return ``repo``'s rules (the defaults, off, when none were ever set)."""
        row = self.db.one("SELECT * FROM retention_rules WHERE owner = ? AND name = ?",
                          repo.owner, repo.name)
        if row is None:
            return Rules()
        stored = from_row(Rules, row)
        # SQLite keeps a bool as 0/1: the bool fields, as bools (only those: hence Any)
        flags: dict[str, Any] = {k: bool(getattr(stored, k)) for k, t in _FIELDS.items()
                                 if t == "bool"}
        return replace(stored, **flags)

    def put(self, repo: Repo, rules: Rules, stamp: str) -> None:
        """Store ``repo``'s rules (``stamp``: RFC 3339 UTC, now)."""
        values = rules.as_json()
        names = ", ".join(values)
        marks = ", ".join("?" * len(values))
        updates = ", ".join(f"{name} = excluded.{name}" for name in values)
        with self.db.tx() as conn:
            conn.execute(f"INSERT INTO retention_rules (owner, name, {names}, updated_at) "
                         f"VALUES (?, ?, {marks}, ?) ON CONFLICT (owner, name) DO UPDATE SET "
                         f"{updates}, updated_at = excluded.updated_at",
                         (repo.owner, repo.name, *values.values(), stamp))
