"""`server.retention.doomed` on package records: which versions each limit removes, in Go's
version order, per group (module, release kind), with the query's exemptions, the package
that triggered the evaluation kept, and the rules stored by migration 4."""

from __future__ import annotations

from pathlib import Path

import pytest

from gopush.server.records import Package, Repo
from gopush.server.retention import (
    MAX_REMOVALS,
    Rules,
    RulesError,
    changed,
    doomed,
    version_kind,
)

PSEUDO_OLD = "v0.0.0-20260101000000-abcdefabcdef"
PSEUDO_NEW = "v1.2.1-0.20260301000000-abcdefabcdef"


def pkg(version: str, module: str = "example.com/m", *, day: int = 1, size: int = 100,
        tags: str = "", state: str = "completed") -> Package:
    stamp = f"2026-01-{day:02d}T00:00:00Z"
    return Package(slug_perm=f"{module}@{version}", slug=version, owner="acme", name="r",
                   filename=f"{version}.zip", state=state, uploaded_at=stamp,
                   updated_at=stamp, module=module, version=version, size=size, tags=tags)


def gone(packages: list[Package], rules: Rules, trigger: Package | None = None) -> list[str]:
    return [r.package.slug_perm.split("@")[1] for r in doomed(packages, rules,
                                                               trigger=trigger)]


def keep(n: int, **more: object) -> Rules:
    return Rules(retention_enabled=True, retention_count_limit=n, **more)  # type: ignore[arg-type]


def test_count_ranks_by_go_version_order_not_upload_time() -> None:
    """v1.10.0 is above v1.9.0 (not text order); the upload days run backwards."""
    packages = [pkg(v, day=d) for v, d in (("v1.10.0", 1), ("v1.9.0", 2), ("v1.2.0", 3),
                                           ("v1.11.0", 4), ("v1.0.0", 5))]
    assert gone(packages, keep(3)) == ["v1.0.0", "v1.2.0"]


def test_off_or_unlimited_removes_nothing() -> None:
    packages = [pkg(f"v1.{n}.0") for n in range(5)]
    assert gone(packages, Rules(retention_count_limit=1)) == []
    assert gone(packages, Rules(retention_enabled=True)) == []


def test_groups_by_name_and_by_kind() -> None:
    """By name: each module keeps its own 1; by kind: releases, prereleases and
    pseudo-versions keep 1 each, so pseudo-versions never push out a release."""
    packages = [pkg("v1.0.0"), pkg("v1.1.0"), pkg("v1.0.0", "example.com/other"),
                pkg("v1.2.0-rc.1"), pkg("v1.3.0-rc.1"), pkg(PSEUDO_OLD), pkg(PSEUDO_NEW)]
    assert [version_kind(p.version or "") for p in packages[3:]] == [
        "prerelease", "prerelease", "pseudo-version", "pseudo-version"]
    by_name = gone(packages, keep(1, retention_group_by_name=True))
    # by name alone, the one kept is v1.3.0-rc.1: every release goes
    assert by_name == [PSEUDO_OLD, "v1.0.0", "v1.1.0", "v1.2.0-rc.1", PSEUDO_NEW]
    by_kind = gone(packages, keep(1, retention_group_by_name=True,
                                  retention_group_by_package_type=True))
    assert by_kind == [PSEUDO_OLD, "v1.0.0", "v1.2.0-rc.1"]


def test_query_exempts_and_prerelease_query_spares_releases() -> None:
    packages = [pkg("v1.0.0", tags="keep"), pkg("v1.1.0"), pkg("v1.2.0"), pkg("v1.3.0-rc.1"),
                pkg(PSEUDO_NEW)]
    assert gone(packages, keep(1, retention_package_query_string="~tag:keep")) == [
        "v1.1.0", "v1.2.0", PSEUDO_NEW]  # v1.3.0-rc.1 is the highest
    assert gone(packages, keep(1, retention_package_query_string="prerelease:true")) == [
        PSEUDO_NEW]


def test_days_count_back_from_the_trigger_or_the_latest_upload() -> None:
    packages = [pkg("v1.0.0", day=1), pkg("v1.1.0", day=5), pkg("v1.2.0", day=10)]
    rules = Rules(retention_enabled=True, retention_days_limit=4)
    assert gone(packages, rules) == ["v1.0.0", "v1.1.0"]  # before day 6
    assert gone(packages, rules, trigger=packages[1]) == []  # before day 1: none


def test_size_keeps_the_highest_that_fit() -> None:
    packages = [pkg("v1.0.0", size=50), pkg("v1.1.0", size=300), pkg("v1.2.0", size=100),
                pkg("v1.3.0", size=100)]
    rules = Rules(retention_enabled=True, retention_size_limit=250)
    assert gone(packages, rules) == ["v1.0.0", "v1.1.0"]  # v1.0.0 would fit, but is lower


def test_trigger_group_only_and_never_the_trigger() -> None:
    """A push evaluates its own module only; a backport below the kept ones stays."""
    mine = [pkg("v1.3.0"), pkg("v1.4.0"), pkg("v1.5.0")]
    backport = pkg("v1.1.1", day=9)
    other = [pkg("v0.1.0", "example.com/other"), pkg("v0.2.0", "example.com/other")]
    rules = keep(1, retention_group_by_name=True)
    assert gone([*mine, backport, *other], rules, trigger=backport) == ["v1.3.0", "v1.4.0"]
    assert gone([*mine, backport, *other], rules) == [
        "v0.1.0", "v1.1.1", "v1.3.0", "v1.4.0"]


def test_failed_and_queued_packages_are_never_in_a_group() -> None:
    packages = [pkg("v1.0.0", state="failed"), pkg("v1.1.0", state="queued"), pkg("v1.2.0")]
    assert gone(packages, keep(1)) == []


def test_at_most_max_removals_lowest_first() -> None:
    packages = [pkg(f"v1.{n}.0") for n in range(MAX_REMOVALS + 5)]
    found = gone(packages, keep(1))
    assert len(found) == MAX_REMOVALS and found[0] == "v1.0.0"


def test_changed_checks_every_field() -> None:
    rules = changed(Rules(), {"retention_count_limit": 3, "retention_enabled": True})
    assert (rules.retention_count_limit, rules.retention_enabled) == (3, True)
    assert changed(rules, {"retention_count_limit": None}).retention_count_limit == 0
    for body in ({"retention_count_limit": 10001}, {"retention_days_limit": 1.5},
                 {"retention_group_by_name": 1}, {"nope": 1},
                 {"retention_package_query_string": "uploaded:>someday"}):
        with pytest.raises(RulesError):
            changed(rules, body)


@pytest.mark.both_databases
def test_rules_are_stored_and_read_back(tmp_path: Path, storage_db: str | None) -> None:
    from gopush.server.storage import Storage

    storage = Storage(tmp_path / "data", storage_db)
    repo = storage.ensure_repo("acme", "r")
    assert storage.retention.get(repo) == Rules()
    wanted = keep(3, retention_group_by_name=True, retention_package_query_string="~tag:x")
    storage.retention.put(repo, wanted, "2026-01-01T00:00:00Z")
    assert storage.retention.get(Repo("acme", "r")) == wanted
    storage.db.close()


def test_migration_4_adds_the_rules_to_a_schema_3_directory(tmp_path: Path) -> None:
    """A data directory at schema 3 gets the retention_rules table (rules off) when opened."""
    import sqlite3

    from gopush.server.db import SCHEMA_VERSION
    from gopush.server.storage import Storage

    storage = Storage(tmp_path)
    storage.ensure_repo("acme", "r")
    storage.db.close()
    conn = sqlite3.connect(tmp_path / "registry.sqlite3")
    conn.execute("DROP TABLE retention_rules")
    for column in ("republish", "claimed_by", "lease_until"):  # the queue claims' (i14-multi)
        conn.execute(f"ALTER TABLE packages DROP COLUMN {column}")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    reopened = Storage(tmp_path)
    assert SCHEMA_VERSION >= 4  # later migrations (5: trusted publishing) run after it
    assert reopened.db.one("PRAGMA user_version")[0] == SCHEMA_VERSION  # type: ignore[index]
    assert reopened.retention.get(Repo("acme", "r")) == Rules()
    reopened.db.close()
