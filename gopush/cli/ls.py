"""``gopush ls OWNER/REPO [-q QUERY]``: list a repository's packages, newest first."""

from __future__ import annotations

from typing import Any

import click

from gopush.cli.app import App, output_options_query_q, pass_app
from gopush.cli.packages import cloudsmith_registry, package_json, package_row
from gopush.cli.push import connect, registry_options

HEADERS = ["MODULE", "VERSION", "STATUS", "TAGS", "UPLOADED", "PACKAGE"]


@click.command("ls")
@click.argument("repository", metavar="OWNER/REPO")
@click.argument("words", nargs=-1, metavar="[QUERY]")
@click.option("-q", "--query", default="", metavar="QUERY",
              help="Cloudsmith's query language: name:^example.com/mod$ version:>v1.2.0 "
                   "tag:stable status:failed uploaded:>\"7 days ago\" prerelease:false "
                   "(AND by default; OR, NOT).")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(min=1, max=1000), default=100,
              show_default=True)
@registry_options
@output_options_query_q
@pass_app
def command(app: App, /, repository: str, words: tuple[str, ...], query: str, page: int,
            page_size: int, **options: Any) -> None:
    """List the packages of OWNER/REPO that QUERY selects (all without one).

    \b
    gopush ls acme/gomods
    gopush ls acme/gomods 'name:^example.com/mod$ version:>v1.0.0'
    gopush ls acme/gomods -q tag:stable --json
    """
    from gopush.config.settings import check_repository
    from gopush.errors import ConfigError

    try:
        check_repository(repository)
    except ConfigError as err:
        raise click.UsageError(err.message) from None
    if words and query:
        raise click.UsageError("give the query once: as words after OWNER/REPO, or -q")
    wanted = query or " ".join(words)
    registry = cloudsmith_registry(connect(app, options, repository), "ls")
    try:
        listed = registry.list_packages(wanted, page=page, page_size=page_size)
    finally:
        registry.close()
    app.reporter.table(f"{repository}: {listed.count} packages", HEADERS,
                       [package_row(p) for p in listed.packages])
    more = (f"; page {listed.page} of {listed.pages}: --page {listed.page + 1} for more"
            if listed.page < listed.pages else "")
    data = {"repository": repository, "query": wanted, "count": listed.count,
            "page": listed.page, "pages": listed.pages,
            "packages": [package_json(p) for p in listed.packages]}
    app.reporter.result(data, "" if app.quiet else
                        f"{listed.count} package{'s' * (listed.count != 1)}{more}")
