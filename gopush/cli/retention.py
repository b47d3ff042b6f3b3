"""``gopush retention OWNER/REPO``: show or change a repository's retention rules, list what
they would remove (``--dry-run``), or apply them now (``--apply``).

Same credentials, registry options and exit codes as ``push``. ``--apply`` removes versions:
it asks on a terminal and needs ``--yes`` elsewhere (CI, pipes).
"""

from __future__ import annotations

from typing import Any

import click

from gopush.cli.app import App, output_options, pass_app
from gopush.cli.packages import confirmed, package_json
from gopush.cli.push import connect, registry_options

HEADERS = ["MODULE", "VERSION", "WHY", "PACKAGE"]


def rule_changes(enable: bool | None, keep: int | None, days: int | None, size: int | None,
                 by_name: bool | None, by_kind: bool | None, query: str | None
                 ) -> dict[str, Any]:
    """Return the Cloudsmith retention fields the options give (None: not given)."""
    given = {"retention_enabled": enable, "retention_count_limit": keep,
             "retention_days_limit": days, "retention_size_limit": size,
             "retention_group_by_name": by_name, "retention_group_by_package_type": by_kind,
             "retention_package_query_string": query}
    return {k: v for k, v in given.items() if v is not None}


def describe(rules: dict[str, Any]) -> str:
    """Return one line saying what the rules keep."""
    limits = [f"keep {rules['retention_count_limit']}" if rules.get("retention_count_limit")
              else "", f"{rules['retention_days_limit']} days"
              if rules.get("retention_days_limit") else "",
              f"{rules['retention_size_limit']} bytes" if rules.get("retention_size_limit")
              else ""]
    groups = [g for k, g in (("retention_group_by_name", "module"),
                             ("retention_group_by_package_type", "release/prerelease/pseudo"))
              if rules.get(k)]
    query = rules.get("retention_package_query_string")
    return (("enabled" if rules.get("retention_enabled") else "disabled") + ": "
            + (", ".join(x for x in limits if x) or "no limits")
            + (f" per {' and '.join(groups)}" if groups else " in the whole repository")
            + (f"; only versions matching {query!r} may go" if query else ""))


def _report(app: App, repository: str, doc: dict[str, Any], key: str, verb: str) -> None:
    """Report a dry run's or an apply's list (``key``: its name in ``--json``)."""
    packages = [p for p in doc.get("packages") or [] if isinstance(p, dict)]
    rows = [[str(p.get(k) or "") for k in ("name", "version", "retention_reason", "slug")]
            for p in packages]
    text = f"{len(rows)} version{'s' * (len(rows) != 1)} {verb}"
    app.reporter.table(f"{repository}: {text}", HEADERS, rows)
    app.reporter.result({"repository": repository, "rules": doc.get("retention_rules"),
                         key: [{**package_json(p), "retention_reason": p.get(
                             "retention_reason")} for p in packages]}, text)


@click.command("retention")
@click.argument("repository", metavar="OWNER/REPO")
@click.option("--enable/--disable", default=None, help="Turn the rules on or off.")
@click.option("--keep", type=click.IntRange(0, 10000), metavar="N",
              help="Keep the N highest versions (Go's version order) per group; 0: no limit.")
@click.option("--days", type=click.IntRange(0, 180), metavar="N",
              help="Remove versions uploaded more than N days before the latest; 0: none.")
@click.option("--size", type=click.IntRange(0, 20 * 1024 ** 3), metavar="BYTES",
              help="Keep the highest versions whose zips fit in BYTES; 0: no limit.")
@click.option("--by-name/--not-by-name", "by_name", default=None,
              help="Each module is a group (else the whole repository is one).")
@click.option("--by-kind/--not-by-kind", "by_kind", default=None,
              help="Releases, prereleases and pseudo-versions are separate groups.")
@click.option("--query", metavar="QUERY", help="Only versions this package query selects "
              "may go, e.g. '~tag:keep' exempts those tagged keep (\"\" lifts it).")
@click.option("--dry-run", is_flag=True,
              help="List what the rules (with these changes, not saved) would remove now.")
@click.option("--apply", "apply_now", is_flag=True,
              help="Apply the rules to every module now (asks; --yes where it cannot).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before --apply.")
@registry_options
@output_options
@pass_app
def command(app: App, /, repository: str, dry_run: bool, apply_now: bool, yes: bool,
            **options: Any) -> None:
    """Show or change the retention rules of OWNER/REPO.

    \b
    gopush retention acme/gomods                                   show them
    gopush retention acme/gomods --keep 3 --by-name --enable       keep 3 per module
    gopush retention acme/gomods --keep 2 --dry-run                what would go
    gopush retention acme/gomods --apply --yes                     remove it now
    """
    from gopush.registry.retention import retention_of

    changes = rule_changes(*(options.pop(k) for k in (
        "enable", "keep", "days", "size", "by_name", "by_kind", "query")))
    if dry_run and apply_now:
        raise click.UsageError("--dry-run and --apply exclude each other")
    if apply_now and not confirmed(app, f"Remove what the retention rules of {repository} "
                                        "remove now?", yes):
        app.reporter.result({"repository": repository, "removed": []}, "nothing removed")
        return
    registry = connect(app, options, repository)
    try:
        client = retention_of(registry)
        if dry_run:
            return _report(app, repository, client.dry_run(changes), "would_remove",
                           "would be removed")
        rules = client.update(changes) if changes else client.read()
        if apply_now:
            return _report(app, repository, client.apply(), "removed", "removed")
    finally:
        registry.close()
    app.reporter.result({"repository": repository, "rules": rules},
                        f"{repository}: {describe(rules)}")
