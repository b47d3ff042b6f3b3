"""``gopush rm OWNER/REPO/PACKAGE`` (or ``OWNER/REPO MODULE@VERSION``): remove a package.

The version stops being served (GOPROXY ``list`` and ``@latest`` no longer have it; its files
answer 410 on ``gopush serve``). Consumers that fetched it keep its hash in go.sum, so the
registry still refuses other content under that version unless it is republished.
"""

from __future__ import annotations

from typing import Any

import click

from gopush.cli.app import App, output_options, pass_app
from gopush.cli.packages import cloudsmith_registry, confirmed, package_json
from gopush.cli.push import connect, registry_options


def split_target(target: str, version: str | None) -> tuple[str, str]:
    """Return (OWNER/REPO, PACKAGE-or-MODULE@VERSION) of ``rm``'s arguments.

    Raises:
        click.UsageError: not OWNER/REPO/PACKAGE, OWNER/REPO/MODULE@VERSION, or
            OWNER/REPO MODULE@VERSION.
    """
    from gopush.config.settings import check_repository
    from gopush.errors import ConfigError

    owner, _, rest = target.partition("/")
    name, _, what = rest.partition("/")
    if version is not None:
        if what:
            raise click.UsageError("give OWNER/REPO MODULE@VERSION, or OWNER/REPO/PACKAGE")
        what = version
    if not what:
        raise click.UsageError(f"{target!r}: name the package, OWNER/REPO/PACKAGE or "
                               "OWNER/REPO MODULE@VERSION")
    try:
        check_repository(f"{owner}/{name}")
    except ConfigError as err:
        raise click.UsageError(err.message) from None
    return f"{owner}/{name}", what


@click.command("rm")
@click.argument("target", metavar="OWNER/REPO/PACKAGE")
@click.argument("version", required=False, metavar="[MODULE@VERSION]")
@click.option("-y", "--yes", is_flag=True,
              help="Do not ask (required where there is no terminal to ask on, and in CI).")
@registry_options
@output_options
@pass_app
def command(app: App, /, target: str, version: str | None, yes: bool, **options: Any) -> None:
    """Remove a package: its module version is no longer served.

    \b
    gopush rm acme/gomods/example-com-mod-v1-2-0-ab12   by package (ls shows it)
    gopush rm acme/gomods example.com/mod@v1.2.0        by module version
    gopush rm acme/gomods/example.com/mod@v1.2.0 --yes  CI: no question asked

    Consumers that downloaded the version keep its hash in go.sum: the registry refuses
    other content under it afterwards, unless pushed with --republish.
    """
    from gopush.errors import RegistryError

    repository, what = split_target(target, version)
    registry = cloudsmith_registry(connect(app, options, repository), "rm")
    try:
        module, at, wanted = what.rpartition("@")
        if at:
            package = registry.find_package(module, wanted)
            if package is None:
                raise RegistryError(f"{module}@{wanted} is not a package of {repository}",
                                    status=404, hint=f"gopush ls {repository} lists them")
        else:
            package = registry.read_package(what)
        slug = str(package.get("slug") or what)
        shown = (f"{package.get('name')}@{package.get('version')} (package {slug})"
                 if package.get("name") else f"package {slug}")  # a failed upload has none
        removing = confirmed(app, f"Remove {shown} from {repository}?", yes)
        if removing:
            registry.delete_package(slug)
    finally:
        registry.close()
    app.reporter.result({"repository": repository,
                         "removed": package_json(package) if removing else None},
                        f"removed {shown} from {repository}" if removing else
                        f"kept {shown}: nothing removed")
