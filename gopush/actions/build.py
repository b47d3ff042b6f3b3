"""``gopush build``: turn a git revision (or a directory) into a module zip and its GOPROXY files.

The flow: locate the module at the revision (``sources.module.locate``: directory, path,
version, go.mod, as go decides them), check it against the repository (``gomodcheck``),
collect the files from the source, check and write the zip, then write ``.mod``, ``.info`` and
``list`` beside it under ``<out>/<escaped module>/@v/``. Every
file is written to a temporary name and renamed, so an interrupted build never leaves a
half-written file behind, and the directories made for a zip that is then refused (or
fails) are removed again, so a refused build leaves ``--out`` as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gopush.actions.gomodcheck import (
    gomod_warnings,
    path_mismatch,
    tag_warnings,
    unusable_tag_warnings,
)
from gopush.errors import InvalidModule, SourceError
from gopush.gosem import dirhash, gomod, modpath, proxypath
from gopush.modzip.create import create_zip
from gopush.modzip.files import SourceFile
from gopush.modzip.report import FileIssue
from gopush.modzip.rules import GO_MOD_IS_DIRECTORY, go_mod_is_directory
from gopush.proxydir import add_to_list, info_document, write_atomic
from gopush.sources.coderepo import CodeRepo, layout_for
from gopush.sources.directory import (
    exclude_spec,
    files_from_dir,
    nearest_go_mod,
    read_go_mod,
    worktree_files,
)
from gopush.sources.git import Commit, GitRepository
from gopush.sources.gitcmd import GitRunner
from gopush.sources.module import ModuleAtRev, locate, locate_tagged, module_path
from gopush.ui.base import Reporter

WORKTREE_WARNING = ("built from the working tree: its h1: hash will differ from the one go "
                    "computes from a tag whenever the tree holds untracked, ignored or edited "
                    "files")
EXCLUDE_WARNING = ("--exclude drops files that go keeps: consumers fetching this version "
                   "from the repository would get a different h1: hash")


DEFAULT_OUT = Path("dist")  # `gopush build`'s --out, relative to the working directory


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """What to build; every field has the meaning of the ``gopush build`` option."""

    repo: Path = Path(".")
    rev: str = "HEAD"
    subdir: str | None = None
    module: str | None = None
    version: str | None = None
    out: Path = DEFAULT_OUT
    worktree: bool = False
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BuiltModule:
    """A built module: paths of the files written and the go.sum hashes."""

    module: str
    version: str
    zip_path: Path
    mod_path: Path
    info_path: Path
    sum: str
    gomod_sum: str
    files: int
    omitted: tuple[FileIssue, ...]
    time: datetime
    out: Path
    commit: str | None = None
    warnings: tuple[str, ...] = field(default=())

    def go_sum_lines(self) -> str:
        """Return the two go.sum lines for this module version."""
        return (f"{self.module} {self.version} {self.sum}\n"
                f"{self.module} {self.version}/go.mod {self.gomod_sum}")


@dataclass(slots=True)
class Plan:
    """Everything decided before files are written."""

    module: str
    version: str
    time: datetime
    files: Sequence[SourceFile]
    go_mod: bytes
    commit: str | None
    warnings: list[str]


def build(request: BuildRequest, reporter: Reporter) -> BuiltModule:
    """Build the module zip and GOPROXY files that ``request`` describes.

    Raises:
        SourceError: the repository, directory or revision cannot be read.
        InvalidModule: go.mod, the module path, the version or the files break Go's rules.
    """
    started = GitRunner.started
    plan = make_plan(request)
    for warning in plan.warnings:
        reporter.warn(warning)
    built = _write(plan, request.out, reporter)
    reporter.detail(f"git: {GitRunner.started - started} commands")
    return built


def build_located(located: ModuleAtRev, request: BuildRequest,
                  reporter: Reporter) -> BuiltModule:
    """Build a module already located (``sources.module``), with ``request``'s options."""
    plan = plan_located(located, request)
    for warning in plan.warnings:
        reporter.warn(warning)
    return _write(plan, request.out, reporter)


def make_plan(request: BuildRequest) -> Plan:
    """Decide module, version, time and files for ``request`` without writing anything.

    Raises:
        SourceError, InvalidModule: as ``build``.
    """
    return _plan_worktree(request) if request.worktree else _plan_git(request)


@dataclass(frozen=True, slots=True)
class BuiltAll:
    """What ``build_all`` did: the modules built, and those skipped for want of a tag."""

    built: list[BuiltModule]
    skipped: list[str]  # module paths with no version tag at the commit
    commit: str  # the commit's short hash


def build_all(request: BuildRequest, reporter: Reporter) -> BuiltAll:
    """Build every module of the repository that has a tag pointing at ``request.rev``;
    report each module skipped (no tag there), by name, beside what was built.

    Modules under ``vendor/`` and ``testdata/`` directories are never release modules.

    Raises:
        SourceError, InvalidModule: as ``build``; also when no module is tagged there.
    """
    started = GitRunner.started
    commit, located, untagged = locate_tagged(GitRepository.open(request.repo), request.rev)
    for skipped in untagged:
        passed_over = "".join(f"; tag {tag} is not one of its versions: {why}"
                              for tag, why in skipped.unusable)
        reporter.step(f"skipped {skipped.path}: no version tag at {commit.short}{passed_over}")
    if not located:
        raise InvalidModule(f"no module of this repository has a tag at {commit.short} "
                            f"({len(untagged)} without one: "
                            f"{', '.join(u.path for u in untagged)})",
                            hint="tag the release (e.g. `git tag v1.0.0` or "
                                 "`git tag sub/v1.0.0` for a module in sub/)")
    built = [build_located(module, BuildRequest(repo=request.repo, rev=commit.hash,
                                                subdir=module.layout.dir, out=request.out,
                                                excludes=request.excludes), reporter)
             for module in located]
    reporter.detail(f"git: {GitRunner.started - started} commands")
    return BuiltAll(built, [u.path for u in untagged], commit.short)


def _plan_git(request: BuildRequest) -> Plan:
    repo = GitRepository.open(request.repo)
    located = locate(repo, request.rev, subdir=request.subdir, module=request.module,
                     cwd=Path(request.repo), version=request.version)
    return plan_located(located, request)


def plan_located(located: ModuleAtRev, request: BuildRequest) -> Plan:
    """Decide warnings and files for a located module, without writing anything.

    Raises:
        InvalidModule: the module path disagrees with the repository (see ``path_mismatch``),
            or a version named by --version has a tag elsewhere.
    """
    code, commit, path, version = located.code, located.commit, located.path, located.version
    warnings = path_mismatch(located, request.module)
    warnings += gomod_warnings(located.parsed, located.parse_error)
    if request.version:  # a version tag named by --version must point here
        warnings += tag_warnings(code, commit, version)
    warnings += unusable_tag_warnings(code, commit, version)
    warnings += _dirty_warnings(located.repo, code.layout.dir, request, commit)
    files: Sequence[SourceFile] = code.files(commit)
    if request.excludes:
        files, warnings = _exclude(files, request.excludes), warnings + [EXCLUDE_WARNING]
    warnings = [f"{path}@{version}: {w}" for w in warnings]
    return Plan(path, version, commit.time, files, located.go_mod or gomod.synthesized(path),
                commit.hash, warnings)


def _plan_worktree(request: BuildRequest) -> Plan:
    root = Path(request.repo).resolve()
    try:
        repo: GitRepository | None = GitRepository.open(root)
    except SourceError:
        repo = None
    module_root = _nearest_module_root(root, request) if request.subdir is None else (
        (Path(repo.toplevel) if repo and repo.toplevel else root) / request.subdir)
    go_mod_data = read_go_mod(module_root)
    declared = gomod.module_path(go_mod_data) if go_mod_data is not None else None
    path = module_path(declared, request.module, "")
    files, commit, time = _worktree_files(repo, module_root, request)
    version = request.version or _worktree_version(repo, commit, path, module_root)
    modpath.check(path, version)
    parsed, parse_error = gomod.parse_as_dependency(go_mod_data)
    warnings = [WORKTREE_WARNING] + gomod_warnings(parsed, parse_error)
    return Plan(path, version, time, files, go_mod_data or gomod.synthesized(path),
                commit.hash if commit else None, warnings)


def _worktree_files(repo: GitRepository | None, module_root: Path,
                    request: BuildRequest) -> tuple[list[SourceFile], Commit | None, datetime]:
    own = out_inside(module_root, request.out)
    if repo is None or repo.toplevel is None:
        on_disk = files_from_dir(module_root, excludes=request.excludes)
        return _not_own(on_disk, own), None, datetime.now(UTC).replace(microsecond=0)
    prefix = module_root.resolve().relative_to(repo.toplevel.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix
    files = _not_own(worktree_files(repo.toplevel, repo.worktree_paths(prefix), prefix,
                                    request.excludes), own)
    try:
        commit = repo.commit("HEAD")
    except SourceError:  # a repository with no commit yet: files as on disk, time now
        return files, None, datetime.now(UTC).replace(microsecond=0)
    return files, commit, commit.time


def _worktree_version(repo: GitRepository | None, commit: Commit | None, path: str,
                      module_root: Path) -> str:
    if repo is None or commit is None or repo.toplevel is None:
        raise InvalidModule("a plain directory has no tags to name its version",
                            hint="pass --version vX.Y.Z")
    rel = module_root.resolve().relative_to(repo.toplevel.resolve()).as_posix()
    return CodeRepo(repo, layout_for(path, "" if rel == "." else rel)).version_of(commit)


def _nearest_module_root(start: Path, request: BuildRequest) -> Path:
    found = nearest_go_mod(start)
    if found is not None:
        return found
    if request.module:
        return start
    raise InvalidModule(f"no go.mod in {start} or its parents",
                        hint="run `go mod init MODULE`, or pass --module PATH")


def _dirty_warnings(repo: GitRepository, module_dir: str, request: BuildRequest,
                    commit: Commit) -> list[str]:
    if request.rev != "HEAD" or repo.toplevel is None:
        return []
    # push and verify build into a scratch directory, but an earlier `gopush build` left
    # its output in the default dist/: that is not a change to the module either
    own = [out_inside(repo.toplevel, out) for out in (request.out, DEFAULT_OUT)]
    changed = [p for p in repo.changed_paths(module_dir)
               if not any(_is_own(p, o) for o in own)]
    if not changed:
        return []
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return [(f"uncommitted changes are not in the zip (it is built from commit {commit.short}): "
             f"{shown}")]


def out_inside(root: Path, out: Path) -> str | None:
    """Return ``out`` relative to ``root`` with a trailing slash, or None when it lies outside.

    gopush's own output is never part of a module: a --worktree build leaves it out of the
    zip (else each build would zip the last one and its hash change every run), and a
    build from a revision does not call it an uncommitted change.
    """
    out_dir, top = Path(out).resolve(), Path(root).resolve()
    if out_dir == top or not out_dir.is_relative_to(top):
        return None
    return out_dir.relative_to(top).as_posix() + "/"


def _is_own(path: str, own: str | None) -> bool:
    """Is ``path`` (a file, or a directory ending in "/" as git status folds an untracked
    one) inside ``own``, or a folded untracked directory that holds it?"""
    if not own:
        return False
    return path.startswith(own) or (path.endswith("/") and own.startswith(path))


def _not_own(files: Iterable[SourceFile], own: str | None) -> list[SourceFile]:
    return [f for f in files if not _is_own(f.path, own)]


def _exclude(files: Sequence[SourceFile], patterns: tuple[str, ...]) -> list[SourceFile]:
    spec = exclude_spec(patterns)
    return [f for f in files if not spec.match_file(f.path)]


# -- writing --------------------------------------------------------------------------------


def _write(plan: Plan, out: Path, reporter: Reporter) -> BuiltModule:
    if go_mod_is_directory(f.path for f in plan.files):  # go zips it, then cannot use it
        raise InvalidModule(f"{plan.module}@{plan.version}: {GO_MOD_IS_DIRECTORY}")
    zip_path = out / proxypath.zip_path(plan.module, plan.version)
    made = _make_dirs(zip_path.parent)
    progress = reporter.progress(f"zip {plan.module}@{plan.version}", len(plan.files),
                                 unit="files")
    try:
        created = create_zip(zip_path, plan.module, plan.version, plan.files,
                             on_progress=progress.advance)
    except BaseException:
        _remove_empty(made)  # a refused or failed build leaves --out as it found it
        raise
    finally:
        progress.close()
    mod_path = out / proxypath.mod_path(plan.module, plan.version)
    info_path = out / proxypath.info_path(plan.module, plan.version)
    write_atomic(mod_path, plan.go_mod)
    write_atomic(info_path, info_document(plan.version, plan.time))
    add_to_list(out / proxypath.list_path(plan.module), plan.version)
    return BuiltModule(
        module=plan.module, version=plan.version, zip_path=zip_path, mod_path=mod_path,
        info_path=info_path, sum=created.sum, gomod_sum=dirhash.hash_gomod(plan.go_mod),
        files=len(created.report.valid), omitted=tuple(created.report.omitted),
        time=plan.time, out=out, commit=plan.commit, warnings=tuple(plan.warnings))


def _make_dirs(path: Path) -> list[Path]:
    """Create directory ``path`` and its missing parents; return those created, deepest first."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
    return missing


def _remove_empty(directories: list[Path]) -> None:
    """Remove ``directories`` (deepest first) while they are empty: another build may have
    written into one meanwhile, and then it and its parents stay."""
    for directory in directories:
        try:
            directory.rmdir()
        except OSError:
            return
