"""``gopush whoami``: check that the credentials work, and say where they came from."""

from __future__ import annotations

from typing import Any

import click

from gopush.cli.app import App, output_options, pass_app
from gopush.cli.push import connect, registry_options


@click.command("whoami")
@click.argument("repository", required=False, metavar="[OWNER/REPO]")
@registry_options
@output_options
@pass_app
def command(app: App, repository: str | None, **options: Any) -> None:
    """Check the registry credentials: print who the API key belongs to.

    Exits 3 when the key is missing or refused.
    """
    from gopush.errors import AuthError

    registry = connect(app, options, repository, require_repository=False)
    try:
        user = registry.whoami()
    finally:
        registry.close()
    if not user.get("authenticated"):
        raise AuthError(f"{registry.describe()} does not recognise these credentials",
                        hint="check GOPUSH_API_KEY / CLOUDSMITH_API_KEY / --api-key")
    who = user.get("slug") or user.get("name") or "?"
    data = {"authenticated": True, "username": user.get("slug"), "name": user.get("name"),
            "email": user.get("email"), "registry": registry.describe()}
    details = [str(v) for v in (user.get("name"), user.get("email")) if v and v != who]
    app.reporter.result(data, f"{who} ({' '.join(details)})" if details else who)
