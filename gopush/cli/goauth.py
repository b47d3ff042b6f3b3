"""``gopush goauth``: a GOAUTH command for go (``GOAUTH='gopush goauth OWNER/REPO'``).

Thin: resolves settings as ``verify`` does (never prompting), finds the registry's GOPROXY
URL, and prints ``gopush.registry.goauth.credential_sets`` on stdout for go.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from gopush.cli.app import App, pass_app
from gopush.cli.push import read_settings, registry_options, without_format_word


@click.command("goauth")
@click.argument("args", nargs=-1, metavar="[[go] OWNER/REPO] [URL]")
@registry_options
@pass_app
def command(app: App, /, args: tuple[str, ...], **options: Any) -> None:
    """Print credentials for go's GOAUTH: GOAUTH='gopush goauth OWNER/REPO'.

    \b
    go (1.24+) runs it with no URL, then with the URL after a 401/403/404; it prints the
    registry's GOPROXY URL as the prefix and the header carrying the read token
    (GOPUSH_READ_TOKEN, or read_token in config.toml: Basic token:TOKEN) or else the API
    key. It prints nothing (exit 0) for a URL outside that prefix, for a plain-http GOPROXY
    and when no credential is set: go then tries its next method.

    Exits 3 when the settings are invalid or name no repository.
    """
    from gopush.errors import ConfigError
    from gopush.registry.goauth import credential_sets

    url = args[-1] if args and "://" in args[-1] else None
    rest = without_format_word(args[:-1] if url else args, before=0)
    if len(rest) > 1:
        raise click.UsageError("expected [[go] OWNER/REPO] [URL]")
    registry, settings = read_settings(app, options, rest[0] if rest else None)
    try:
        goproxy = registry.consumer_setup().goproxy
    finally:
        registry.close()
    if settings.target.kind == "cloudsmith" and not settings.target.repository \
            and not settings.target.goproxy:
        raise ConfigError("goauth needs the repository whose GOPROXY URL it answers for",
                          hint="GOAUTH='gopush goauth OWNER/REPO' (or --registry "
                               "NAME, or --goproxy URL)")
    sys.stdout.write(credential_sets(settings, goproxy, url))
    sys.stdout.flush()
