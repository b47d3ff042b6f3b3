"""``gopush check``: verdicts for every file of a zip, a revision or a directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gopush.cli.app import App, output_options, pass_app
from gopush.errors import InvalidModuleZip, NotARepository


@click.command("check")
@click.argument("target", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--rev", default="HEAD", show_default=True, help="Git revision to check.")
@click.option("--subdir", help="Module directory inside the repository.")
@click.option("--module", "module_path", metavar="PATH", help="Module path (no go.mod).")
@click.option("--version", metavar="VERSION", help="Version to check the module as.")
@click.option("--exclude", "excludes", multiple=True, metavar="PATTERN",
              help="Leave out files matching PATTERN (gitignore syntax; repeatable).")
@output_options
@pass_app
def command(app: App, target: Path | None, rev: str, subdir: str | None,
            module_path: str | None, version: str | None, excludes: tuple[str, ...]) -> None:
    """Check a module zip, a directory or a revision against go's zip rules.

    TARGET is a module zip (read, never extracted), a directory (checked as it is on disk),
    or nothing: the current checkout at --rev. Exits 4 when go would refuse the result.
    """
    from gopush.actions.build import BuildRequest
    from gopush.actions.check import check_source, check_zip_file

    if target is not None and target.is_file():
        result = check_zip_file(target)
    else:
        request = BuildRequest(repo=target or Path("."), rev=rev, subdir=subdir,
                               module=module_path, version=version,
                               worktree=target is not None, excludes=excludes)
        try:
            result = check_source(request, app.reporter)
        except NotARepository as err:  # the source layer's hint names `gopush build` options
            err.hint = ("run it in a git checkout, or pass a module zip, or a directory to "
                        "check as it is on disk (with --version vX.Y.Z)")
            raise
    _show(app, result)


def _show(app: App, result: Any) -> None:
    report = result.report
    # Problems first: people read the top of a long table.
    rows = sorted([i.path, "INVALID", _reason(i)] for i in report.invalid)
    rows += sorted([i.path, "omitted", _reason(i)] for i in report.omitted)
    rows += sorted([path, "valid", ""] for path in report.valid)
    counts = {"valid": len(report.valid), "omitted": len(report.omitted),
              "invalid": len(report.invalid)}
    title = f"{result.module}@{result.version}: " + ", ".join(f"{n} {verdict}"
                                                             for verdict, n in counts.items())
    app.reporter.table(title, ["file", "verdict", "reason"], rows)
    app.reporter.step(title)  # the counts, on stderr in every mode: the table may be long
    error = report.error()
    data = {"target": result.target, "module": result.module, "version": result.version,
            "sum": result.sum or None, "ok": error is None, "counts": counts,
            "files": [{"path": r[0], "verdict": r[1].lower(), "reason": r[2] or None}
                      for r in rows]}
    if error is not None:
        raise InvalidModuleZip(str(error), data=data, hint=getattr(error, "hint", None)
                               or "go would refuse this module zip; see the INVALID rows")
    app.reporter.result(data, f"{result.module} {result.version} {result.sum}")


def _reason(issue: Any) -> str:
    detail = getattr(issue, "detail", "") or ""
    return f"{issue.reason}" + (f": {detail}" if detail else "")
