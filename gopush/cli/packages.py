"""``gopush ls`` and ``gopush rm``: list and remove the packages of a Cloudsmith-style
repository (Cloudsmith, or ``gopush serve``), with the credentials and exit codes of
``push``. Each module ``ls``/``rm`` holds one click command; this one, what both share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from gopush.cli.app import App

if TYPE_CHECKING:  # imported where used at run time: a command loads only what it needs
    from gopush.registry.base import Registry
    from gopush.registry.cloudsmith import CloudsmithRegistry


def cloudsmith_registry(registry: Registry, command: str) -> CloudsmithRegistry:
    """Return ``registry`` if it speaks Cloudsmith's package API, else close it and refuse.

    Raises:
        click.UsageError: another kind of target (a directory, Gitea, Artifactory).
    """
    from gopush.registry.cloudsmith import CloudsmithRegistry

    if isinstance(registry, CloudsmithRegistry):
        return registry
    registry.close()
    raise click.UsageError(f"gopush {command} works with Cloudsmith-style repositories "
                           "(Cloudsmith, gopush serve); not with "
                           f"{registry.describe()}")


def package_row(package: dict[str, Any]) -> list[str]:
    """Return the table row of a package object: module, version, status, tags, uploaded,
    slug (registry text: the reporter escapes and redacts it)."""
    tags = package.get("tags")
    names = [str(t) for ts in tags.values() if isinstance(ts, list) for t in ts] \
        if isinstance(tags, dict) else []
    return [str(package.get(k) or "") for k in ("name", "version", "status_str")] + [
        ",".join(names), str(package.get("uploaded_at") or ""), str(package.get("slug") or "")]


def package_json(package: dict[str, Any]) -> dict[str, Any]:
    """Return the fields of a package object ``--json`` shows (a stable, small subset)."""
    keys = ("name", "version", "slug", "slug_perm", "status_str", "tags", "tags_immutable",
            "uploaded_at", "size", "checksum_sha256", "summary")
    return {k: package.get(k) for k in keys}


def confirmed(app: App, question: str, yes: bool) -> bool:
    """Tell whether to go on: ``--yes`` was given, or the user said yes on a terminal (a
    "no" is an answer, not a failure: the caller reports that nothing was done, exit 0).

    Raises:
        click.UsageError: no terminal to ask on (CI, a pipe) and no ``--yes``.
    """
    if yes:
        return True
    if not app.interactive:
        raise click.UsageError(f"{question} needs confirmation: pass --yes (no terminal to "
                               "ask on, or CI is set)")
    return click.confirm(question, default=False, err=True)
