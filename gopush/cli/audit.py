"""``gopush audit``: options in, one call to ``actions.audit``, the findings out.

Also home of ``audit_policy`` and the ``--allow`` check, shared with ``push --audit``.
"""

from __future__ import annotations

import re
from itertools import groupby
from pathlib import Path
from typing import Any

import click

from gopush.cli.app import App, output_options, pass_app
from gopush.config.vulndb import FAIL_ON

# a Go vulnerability id, or one of the aliases entries carry (CVE, GHSA)
_FINDING_ID = re.compile(r"GO-\d{4}-\d{4,}|CVE-\d{4}-\d{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3}")


def check_allowed(ctx: click.Context, param: click.Parameter,
                  value: tuple[str, ...]) -> tuple[str, ...]:
    """Refuse an ``--allow`` value that names no finding (a typo would allow nothing)."""
    for item in value:
        if not _FINDING_ID.fullmatch(item):
            raise click.BadParameter(f"{item!r} is not a Go vulnerability id (GO-2023-1571) "
                                     "or an alias of one (CVE-…, GHSA-…)", ctx, param)
    return value


def audit_policy(app: App, db: str | None, fail_on: str, allow: tuple[str, ...],
                 config_file: Path | None) -> Any:
    """Return the ``AuditPolicy`` for these options, the environment and the config file.

    Raises:
        ConfigError: the database URL chosen is not usable.
    """
    import gopush.registry  # noqa: F401 - first: it keeps httpx's CLI (rich, 60 ms) unloaded
    from gopush.actions.audit import AuditPolicy
    from gopush.config.vulndb import vulndb_settings
    from gopush.errors import ConfigError
    from gopush.vuln.db import source_for

    settings = vulndb_settings(db, app.environ, config_file)
    try:
        source_for(settings.url)  # refused before any module is read, naming its origin
    except ConfigError as err:
        err.message = f"{err.message} (from {settings.source})"
        raise
    app.reporter.detail(f"vulnerability database: {settings.url} (from {settings.source}), "
                        f"cache {settings.cache_dir}")
    return AuditPolicy(settings.url, settings.cache_dir, fail_on, frozenset(allow))


@click.command("audit")
@click.argument("target", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--rev", default="HEAD", show_default=True,
              help="In a checkout: the git revision to audit.")
@click.option("--subdir", help="In a checkout: the module directory inside the repository.")
@click.option("--db", "db_url", metavar="URL",
              help="Go vulnerability database: https://… or file:///DIR in the vuln.go.dev "
                   "layout [env: GOVULNDB; config: vuln_db; default: https://vuln.go.dev].")
@click.option("--fail-on", type=click.Choice(FAIL_ON), default="imported", show_default=True,
              help="Exit 7 on a finding in a package the module imports, on any finding, "
                   "or never.")
@click.option("--allow", multiple=True, metavar="GO-ID", callback=check_allowed,
              help="Accept a known finding: it never fails the audit (repeatable).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="gopush config file [env: GOPUSH_CONFIG; default: "
                   "~/.config/gopush/config.toml].")
@output_options
@pass_app
def command(app: App, target: Path | None, rev: str, subdir: str | None, db_url: str | None,
            fail_on: str, allow: tuple[str, ...], config_file: Path | None) -> None:
    """Check a module's requirements against the Go vulnerability database.

    TARGET is a module zip, the --out directory of `gopush build` (every zip in it), a
    checkout, or nothing: the module of the current checkout at --rev. Each finding says
    whether the module's own code imports an affected package. Exits 7 when a finding
    fails the audit (see --fail-on, --allow).
    """
    from gopush.actions.audit import AuditRequest, audit, refusal

    policy = audit_policy(app, db_url, fail_on, allow, config_file)
    results = audit(AuditRequest(policy, target, rev, subdir), app.reporter)
    _show(app, results)
    refused = refusal(results, policy)
    if refused is not None:
        raise refused
    docs = [r.as_json() for r in results]
    app.reporter.result(docs[0] if len(docs) == 1 else {"modules": docs},
                        "\n".join(_summary(r) for r in results))


HEADERS = ["id", "requires", "fixed in", "imported", "packages", "aliases", "summary"]


def _show(app: App, results: list[Any]) -> None:
    """Draw one table per required module (one tab-separated line per finding in a pipe)."""
    several = len(results) > 1
    for result in results:
        for module, group in groupby(result.findings, key=lambda f: (f.module, f.version)):
            found = list(group)
            fixed = max((f.fixed for f in found if f.fixed), default="", key=_version_key)
            title = (f"{result.ref}: " if several else "") + (
                f"{module[0]} {module[1]}: {len(found)} "
                f"{'finding' if len(found) == 1 else 'findings'}"
                + (f", fixed in {fixed}" if fixed else ", no fixed version"))
            rows = [[f.id, f"{f.module}@{f.version}", f.fixed or "-",
                     "yes" if f.imported else "no", ", ".join(f.packages),
                     ", ".join(f.aliases), f.summary] for f in found]
            if several:
                rows = [[result.ref, *row] for row in rows]
            app.reporter.table(title, (["audited"] if several else []) + HEADERS, rows)


def _summary(result: Any) -> str:
    imported = sum(1 for f in result.findings if f.imported)
    what = (f"{len(result.findings)} known "
            f"{'vulnerability' if len(result.findings) == 1 else 'vulnerabilities'} "
            f"({imported} in imported packages)" if result.findings
            else "no known vulnerabilities")
    return f"{result.ref}: {what} (database {result.db_url}, modified {result.db_modified})"


def _version_key(version: str) -> Any:
    from functools import cmp_to_key

    from gopush.gosem import semver

    return cmp_to_key(semver.compare)(version)
