"""``gopush tokens``: a repository's entitlement tokens (who may read it through GOPROXY).

Each subcommand takes the registry options and credentials ``push`` takes, prints one
result (``--json``: one document), and exits as ``push`` does (3 credentials, 5 refused,
6 unavailable). ``create`` and ``refresh`` print the token: the one time it can be seen.
``delete`` (alias ``revoke``) and ``refresh`` ask on a terminal unless ``--yes``; elsewhere
(CI, pipes) they need ``--yes``. TOKEN is an entitlement's identifier or its name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from gopush.cli.app import App, output_options, pass_app
from gopush.cli.push import connect, registry_options

if TYPE_CHECKING:  # imported where used at run time: a command loads only what it needs
    from gopush.registry.entitlements import EntitlementsClient


@click.group("tokens")
def command() -> None:
    """Manage the entitlement tokens of a repository (read access through GOPROXY)."""


def _run(app: App, repository: str, options: dict[str, Any],
         work: Callable[[EntitlementsClient], tuple[dict[str, Any], str]]) -> None:
    from gopush.registry.entitlements import entitlements_of

    registry = connect(app, options, repository)
    try:
        data, text = work(entitlements_of(registry))
    finally:
        registry.close()
    app.reporter.result({"repository": repository, **data}, text)


def _summary(ent: dict[str, Any]) -> dict[str, Any]:
    """Return the fields ``gopush tokens`` shows of an entitlement."""
    keys = ("slug_perm", "name", "is_active", "downloads", "limit_num_downloads",
            "limit_date_range_from", "limit_date_range_to", "limit_package_query",
            "created_at", "updated_at")
    return {("identifier" if k == "slug_perm" else k): ent.get(k) for k in keys}


def _limits(ent: dict[str, Any]) -> str:
    parts = [f"until {ent['limit_date_range_to']}" if ent.get("limit_date_range_to") else "",
             f"from {ent['limit_date_range_from']}" if ent.get("limit_date_range_from") else "",
             f"{ent.get('downloads') or 0}/{ent['limit_num_downloads']} downloads"
             if ent.get("limit_num_downloads") else "",
             f"packages {ent['limit_package_query']}" if ent.get("limit_package_query") else ""]
    return ", ".join(p for p in parts if p) or "no limits"


def _line(ent: dict[str, Any]) -> str:
    state = "" if ent.get("is_active", True) else " (disabled)"
    return f"{ent.get('name')} [{ent.get('slug_perm')}]{state}: {_limits(ent)}"


def _confirm(app: App, repository: str, yes: bool, question: str) -> bool:
    """Tell whether to go on: ``--yes`` was given or a person at a terminal says yes (a
    "no" is reported as the result: nothing changed, exit 0).

    Raises:
        click.UsageError: no terminal to ask and no ``--yes`` (exit 2).
    """
    if yes:
        return True
    if not app.interactive:
        raise click.UsageError(f"{question}? needs --yes when gopush cannot ask (CI or no "
                               "terminal)")
    if click.confirm(question + "?", err=True):
        return True
    app.reporter.result({"repository": repository, "changed": False}, "nothing changed")
    return False


def _shown_once(ent: dict[str, Any]) -> str:
    return (f"{_line(ent)}\ntoken: {ent.get('token')}\n(shown this once; readers use it as "
            f"token:<TOKEN> in .netrc or GOAUTH for the GOPROXY URL)")


_REPO = click.argument("repository", metavar="OWNER/REPO")
_TOKEN = click.argument("token", metavar="TOKEN")


@command.command("list")
@_REPO
@registry_options
@output_options
@pass_app
def list_(app: App, /, repository: str, **options: Any) -> None:
    """List the entitlement tokens of OWNER/REPO (never the tokens themselves)."""
    def work(client: EntitlementsClient) -> tuple[dict[str, Any], str]:
        found = client.list()
        text = "\n".join(_line(e) for e in found) or f"{repository} has no entitlement tokens"
        return {"tokens": [_summary(e) for e in found]}, text
    _run(app, repository, options, work)


@command.command("create")
@_REPO
@click.option("--name", required=True, help="A name unique in the repository.")
@click.option("--token", "given", metavar="TOKEN",
              help="The token (16 to 64 letters and digits; default: 16 random ones).")
@registry_options
@output_options
@pass_app
def create(app: App, /, repository: str, name: str, given: str | None, **options: Any) -> None:
    """Create an entitlement token for OWNER/REPO and print the token (this once)."""
    if given:
        app.hide(given)  # the caller knows it: it is never printed back
    def work(client: EntitlementsClient) -> tuple[dict[str, Any], str]:
        ent = client.create(name, given)
        token = None if given else ent.get("token")
        data = {"token": token, **_summary(ent)}
        return data, _shown_once(ent) if token else _line(ent)
    _run(app, repository, options, work)


@command.command("refresh")
@_REPO
@_TOKEN
@click.option("--yes", is_flag=True, help="Do not ask (required where gopush cannot ask).")
@registry_options
@output_options
@pass_app
def refresh(app: App, /, repository: str, token: str, yes: bool, **options: Any) -> None:
    """Give TOKEN a new token value; the old one stops working at once."""
    if not _confirm(app, repository, yes, f"replace the token of {token} in {repository}"):
        return

    def work(client: EntitlementsClient) -> tuple[dict[str, Any], str]:
        ent = client.refresh(client.find(token)["slug_perm"])
        return {"token": ent.get("token"), **_summary(ent)}, _shown_once(ent)
    _run(app, repository, options, work)


def _delete(app: App, /, repository: str, token: str, yes: bool, **options: Any) -> None:
    """Delete TOKEN: it reads nothing from now on."""
    if not _confirm(app, repository, yes,
                    f"delete the entitlement token {token} of {repository}"):
        return

    def work(client: EntitlementsClient) -> tuple[dict[str, Any], str]:
        ent = client.find(token)
        client.delete(ent["slug_perm"])
        return {"deleted": _summary(ent)}, f"deleted {ent.get('name')} [{ent.get('slug_perm')}]"
    _run(app, repository, options, work)


for _name in ("delete", "revoke"):
    command.command(_name, help=_delete.__doc__)(click.option(
        "--yes", is_flag=True, help="Do not ask (required where gopush cannot ask).")(
        _REPO(_TOKEN(registry_options(output_options(pass_app(_delete)))))))


def _time(value: str | None) -> str | None:
    """Return an ISO 8601 time as RFC 3339 UTC ("" lifts the limit: None kept as "")."""
    if value is None or value == "":
        return value
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time such as 2030-12-31T00:00:00Z")
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@command.command("restrict")
@_REPO
@_TOKEN
@click.option("--expires", metavar="TIME", help="Refuse reads from TIME on (UTC if no "
              "zone; \"\" lifts it).")
@click.option("--not-before", metavar="TIME", help="Refuse reads before TIME.")
@click.option("--downloads", type=click.IntRange(min=0), metavar="N",
              help="Allow N module zip downloads (0 lifts the limit).")
@click.option("--query", metavar="QUERY",
              help="Read only the versions this package query selects, e.g. "
                   "'name:example.com/mod*' (\"\" lifts it).")
@registry_options
@output_options
@pass_app
def restrict(app: App, /, repository: str, token: str, expires: str | None,
             not_before: str | None, downloads: int | None, query: str | None,
             **options: Any) -> None:
    """Restrict what TOKEN may read: a time window, a download count, a package query."""
    limits = {key: value for key, value in (
        ("limit_date_range_to", _time(expires)), ("limit_date_range_from", _time(not_before)),
        ("limit_num_downloads", downloads), ("limit_package_query", query)) if value is not None}
    if not limits:
        raise click.UsageError("give at least one of --expires, --not-before, --downloads, "
                               "--query")

    def work(client: EntitlementsClient) -> tuple[dict[str, Any], str]:
        ent = client.restrict(client.find(token)["slug_perm"], limits)
        return _summary(ent), _line(ent)
    _run(app, repository, options, work)


def _toggle(active: bool) -> Callable[..., None]:
    def toggle(app: App, repository: str, token: str, **options: Any) -> None:
        def work(client: EntitlementsClient) -> tuple[dict[str, Any], str]:
            ent = client.find(token)
            client.set_active(ent["slug_perm"], active)
            state = "enabled" if active else "disabled"
            return ({"identifier": ent.get("slug_perm"), "name": ent.get("name"),
                     "is_active": active}, f"{state} {ent.get('name')} [{ent.get('slug_perm')}]")
        _run(app, repository, options, work)
    return toggle


command.command("enable", help="Let TOKEN read again.")(
    _REPO(_TOKEN(registry_options(output_options(pass_app(_toggle(True)))))))
command.command("disable", help="Stop TOKEN reading until it is enabled again.")(
    _REPO(_TOKEN(registry_options(output_options(pass_app(_toggle(False)))))))
