"""``gopush verify``: does the registry serve what this checkout (or zip) builds?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gopush.cli.app import App, output_options, pass_app
from gopush.cli.push import read_as_consumer, registry_options, without_format_word

if TYPE_CHECKING:  # imported where used at run time: a command loads only what it needs
    from gopush.actions.verify import VerifyResult
    from gopush.registry.base import Registry


@click.command("verify")
@click.argument("args", nargs=-1, required=True, metavar="[[go] OWNER/REPO] MODULE@VERSION")
@click.option("--zip", "zip_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Compare with this zip instead of a build of the checkout.")
@click.option("--rev", help="Revision to build (default: where go reads the version: its "
                           "tag, sub/ prefix included, or a pseudo-version's commit).")
@click.option("--subdir", help="Module directory inside the repository (default: the one "
                               "whose go.mod declares the module).")
@click.option("--worktree", is_flag=True, help="Build the working tree instead of a revision.")
@registry_options
@output_options
@pass_app
def command(app: App, /, args: tuple[str, ...], zip_path: Path | None, rev: str | None,
            subdir: str | None, worktree: bool, **options: Any) -> None:
    """Download MODULE@VERSION through the registry's GOPROXY and compare its h1: with a
    local build (or --zip); explain any difference file by file.

    Reads as consumers do: a public repository needs no API key (the configured one is
    used if there is one, else GOPUSH_READ_TOKEN; gopush never prompts for it here). In CI
    with keyless settings, a private repository's refusal is answered by exchanging a
    fresh ID token (GitHub Actions); a fixed one (GitLab's id_tokens:) is single use,
    spent by the push. `go OWNER/REPO`, as `push` takes it, is accepted too.

    Exits 0 when identical, 4 when they differ, 5 when the registry does not serve
    MODULE@VERSION, 3 when it wants a key to read it.
    """
    from gopush.actions.verify import ModuleMismatch, VerifyRequest, verify
    from gopush.errors import NotARepository

    repository, ref = _parse(args)
    module, _, version = ref.partition("@")
    request = VerifyRequest(module, version, zip_path, rev, subdir, worktree)

    def compare(registry: Registry) -> VerifyResult:
        try:
            return verify(request, registry, app.reporter)
        except NotARepository as err:  # the source layer's hint names `gopush build` options
            err.hint = ("run it in the module's git checkout, or compare with a zip: --zip "
                        "FILE (--worktree builds the current directory as it is on disk)")
            raise

    result = read_as_consumer(app, options, repository, compare)
    data = _as_json(result)
    if not result.identical:
        app.reporter.table(f"{ref}: published vs {result.local}", ["file", "change", "cause"],
                           [[d.path, d.change, d.cause or ""] for d in result.diffs])
        raise ModuleMismatch(
            f"{ref} differs: the registry serves {result.published_sum}, {result.local} gives "
            f"{result.local_sum} ({_counts(result)})",
            hint="; ".join(result.causes) or "see the files listed above", data=data)
    app.reporter.result(data, f"identical: {ref} {result.local_sum} (published = {result.local})")


def _parse(args: tuple[str, ...]) -> tuple[str | None, str]:
    args = without_format_word(args, before=1)
    if len(args) > 2 or "@" not in args[-1]:
        raise click.UsageError("expected [[go] OWNER/REPO] MODULE@VERSION")
    return (args[0] if len(args) == 2 else None), args[-1]


def _counts(result: VerifyResult) -> str:
    kinds = [d.change for d in result.diffs]
    return ", ".join(f"{kinds.count(k)} {k}" for k in ("changed", "added", "missing")
                     if kinds.count(k)) or "same files, different zip layout"


def _as_json(result: VerifyResult) -> dict[str, Any]:
    return {"module": result.module, "version": result.version,
            "published_sum": result.published_sum, "local_sum": result.local_sum,
            "identical": result.identical, "local": result.local,
            "files": [{"path": d.path, "change": d.change, "cause": d.cause}
                      for d in result.diffs], "causes": result.causes}
