"""``gopush build``: options in, one call to ``actions.build``, the result out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gopush.cli.app import App, output_options, pass_app


@click.command("build")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="The git checkout (or bare repository) to read.")
@click.option("--rev", default="HEAD", show_default=True,
              help="Git revision to package: a tag, branch or commit.")
@click.option("--subdir", help="Module directory inside the repository "
                               "(default: the nearest go.mod above the current directory).")
@click.option("--module", "module_path", metavar="PATH",
              help="Module path, for a repository without go.mod (wins over go.mod).")
@click.option("--version", metavar="VERSION",
              help="Version to build (default: what go resolves the revision to).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="dist",
              show_default=True, help="GOPROXY directory to write into.")
@click.option("--worktree", is_flag=True,
              help="Zip the working tree instead of the revision (hash will differ from go's).")
@click.option("--exclude", "excludes", multiple=True, metavar="PATTERN",
              help="Leave out files matching PATTERN (gitignore syntax; repeatable).")
@click.option("--all", "all_modules", is_flag=True,
              help="Build every module of the repository tagged at the revision.")
@output_options
@pass_app
def command(app: App, repo: Path, rev: str, subdir: str | None, module_path: str | None,
            version: str | None, out: Path, worktree: bool, excludes: tuple[str, ...],
            all_modules: bool) -> None:
    """Build the module zip of a git tag or commit, exactly as the go command does.

    Writes OUT/<module>/@v/<version>.zip, .mod, .info and list (usable as
    GOPROXY=file://$PWD/dist) and prints the two go.sum lines.
    """
    from gopush.actions.build import BuildRequest, build, build_all

    request = BuildRequest(repo=repo, rev=rev, subdir=subdir, module=module_path,
                           version=version, out=out, worktree=worktree, excludes=excludes)
    reporter = app.reporter
    everything = build_all(request, reporter) if all_modules else None
    built = everything.built if everything else [build(request, reporter)]
    for item in built:
        reporter.step(f"built {item.module}@{item.version}: {item.files} files, "
                      f"{len(item.omitted)} omitted -> {item.zip_path}")
    data: dict[str, Any] = _as_json(built[0])
    if everything is not None:
        data = {"modules": [_as_json(b) for b in built], "skipped": everything.skipped}
        reporter.step(f"--all at {everything.commit}: {len(built)} built, "
                      f"{len(everything.skipped)} skipped (no version tag)")
    reporter.result(data, "\n".join(b.go_sum_lines() for b in built))


def _as_json(built: Any) -> dict[str, Any]:
    from gopush.modzip.accept import RFC3339

    return {
        "module": built.module, "version": built.version, "zip": str(built.zip_path),
        "mod": str(built.mod_path), "info": str(built.info_path), "sum": built.sum,
        "gomod_sum": built.gomod_sum, "files": built.files,
        "omitted": [{"path": o.path, "reason": str(o.reason)} for o in built.omitted],
        "time": built.time.strftime(RFC3339), "commit": built.commit,
    }
