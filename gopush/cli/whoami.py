"""``gopush whoami``: check that the credentials work, and say where they came from."""

from __future__ import annotations

from typing import Any

import click

from gopush.cli.app import App, output_options, pass_app
from gopush.cli.push import connect_to_read, registry_options, without_format_word


@click.command("whoami")
@click.argument("args", nargs=-1, metavar="[[go] OWNER/REPO]")
@registry_options
@output_options
@pass_app
def command(app: App, /, args: tuple[str, ...], **options: Any) -> None:
    """Check the registry credentials: print who the API key belongs to, and where the key
    came from (a variable, a config file, the keyring, or a keyless OIDC exchange in CI).

    It never prompts: with no key set it says so (reading a public repository needs none;
    pushing needs one). `go OWNER/REPO`, as `push` takes it, is accepted too.

    Exits 3 when the key is missing or refused.
    """
    from gopush.errors import AuthError

    args = without_format_word(args, before=0)
    if len(args) > 1:
        raise click.UsageError("expected [[go] OWNER/REPO]")
    registry, key_from = connect_to_read(app, options, args[0] if args else None,
                                         require_repository=False, keyless=True)
    try:
        if not key_from:
            raise AuthError(f"no API key is set, so there is nothing to check at "
                            f"{registry.describe()}; reading a public repository (verify, "
                            "go get) needs none, pushing needs one",
                            hint="set GOPUSH_API_KEY (or CLOUDSMITH_API_KEY), or pass "
                                 "--api-key")
        user = registry.whoami()
    finally:
        registry.close()
    if not user.get("authenticated"):
        raise AuthError(f"{registry.describe()} does not recognise these credentials",
                        hint="check GOPUSH_API_KEY / CLOUDSMITH_API_KEY / --api-key")
    who = user.get("slug") or user.get("name") or "?"
    data = {"authenticated": True, "username": user.get("slug"), "name": user.get("name"),
            "email": user.get("email"), "registry": registry.describe(),
            "key_from": key_from}
    details = [str(v) for v in (user.get("name"), user.get("email")) if v and v != who]
    line = f"{who} ({' '.join(details)})" if details else who
    if key_from != "none needed":  # say which credential answered: a key's source, or OIDC's
        line += f", key from {key_from}"
    app.reporter.result(data, line)
