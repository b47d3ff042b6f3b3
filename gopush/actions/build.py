"""``gopush build``: turn a git revision (or a directory) into a module zip and its GOPROXY files.

The flow: find the module (its root and path), name the version the way go would, check go.mod
against the path and version, collect the files from the source, check and write the zip, then
write ``.mod``, ``.info`` and ``list`` beside it under ``<out>/<escaped module>/@v/``. Every
file is written to a temporary name and renamed, so an interrupted build never leaves a
half-written file behind.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gopush.actions.gomodcheck import (
    gomod_warnings,
    module_path,
    path_mismatch,
    tag_warnings,
)
from gopush.errors import InvalidModule, SourceError
from gopush.gosem import dirhash, gomod, modpath, proxypath, pseudo, semver
from gopush.modzip.create import create_zip
from gopush.modzip.files import SourceFile
from gopush.modzip.report import FileIssue
from gopush.modzip.rules import GO_MOD_IS_DIRECTORY, go_mod_is_directory
from gopush.proxydir import add_to_list, info_document, write_atomic
from gopush.sources.coderepo import (
    CodeRepo,
    layout_for,
)
from gopush.sources.directory import DiskFile, exclude_spec, files_from_dir
from gopush.sources.git import Commit, GitRepository
from gopush.ui.base import Reporter

WORKTREE_WARNING = ("built from the working tree: its h1: hash will differ from the one go "
                    "computes from a tag whenever the tree holds untracked, ignored or edited "
                    "files")
EXCLUDE_WARNING = ("--exclude drops files that go keeps: consumers fetching this version "
                   "from the repository would get a different h1: hash")


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """What to build; every field has the meaning of the ``gopush build`` option."""

    repo: Path = Path(".")
    rev: str = "HEAD"
    subdir: str | None = None
    module: str | None = None
    version: str | None = None
    out: Path = Path("dist")
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
    plan = make_plan(request)
    for warning in plan.warnings:
        reporter.warn(warning)
    return _write(plan, request.out, reporter)


def make_plan(request: BuildRequest) -> Plan:
    """Decide module, version, time and files for ``request`` without writing anything.

    Raises:
        SourceError, InvalidModule: as ``build``.
    """
    return _plan_worktree(request) if request.worktree else _plan_git(request)


def build_all(request: BuildRequest, reporter: Reporter) -> list[BuiltModule]:
    """Build every module of the repository that has a tag pointing at ``request.rev``.

    Modules under ``vendor/`` and ``testdata/`` directories are never release modules.

    Raises:
        SourceError, InvalidModule: as ``build``; also when no module is tagged there.
    """
    repo = GitRepository.open(request.repo)
    commit = repo.commit(request.rev)
    built = []
    for module_dir in repo.go_mod_dirs(commit.hash):
        parts = module_dir.split("/")
        if "vendor" in parts or "testdata" in parts:
            continue
        data = repo.read_file(commit.hash, _join(module_dir, "go.mod"), 16 << 20)
        path = gomod.module_path(data) if data else ""
        if not path:
            continue
        version = CodeRepo(repo, layout_for(path, module_dir)).version_of(commit)
        if pseudo.is_pseudo_version(version):
            reporter.detail(f"{path}: no tag at {commit.short}, skipped")
            continue
        single = BuildRequest(repo=request.repo, rev=commit.hash, subdir=module_dir,
                              out=request.out, excludes=request.excludes)
        built.append(build(single, reporter))
    if not built:
        raise InvalidModule(f"no module of this repository has a tag at {commit.short}",
                            hint="tag the release (e.g. `git tag v1.0.0` or "
                                 "`git tag sub/v1.0.0` for a module in sub/)")
    return built


def _plan_git(request: BuildRequest) -> Plan:
    repo = GitRepository.open(request.repo)
    commit = repo.commit(request.rev)
    module_dir = _module_dir(repo, commit, request)
    go_mod_data = repo.read_file(commit.hash, _join(module_dir, "go.mod"), 16 << 20)
    path = module_path(go_mod_data, request.module, module_dir)
    code = CodeRepo(repo, layout_for(path, module_dir))
    mismatch = path_mismatch(repo, code, go_mod_data, request.module)
    named = request.version or code.version_named_by(request.rev)
    version = code.check_version(named, commit) if named else code.version_of(commit)
    code.check_go_mod(commit, version)
    warnings = mismatch + gomod_warnings(go_mod_data)
    if request.version:  # a version tag named by --rev is known to point here
        warnings += tag_warnings(code, commit, version)
    warnings += _dirty_warnings(repo, module_dir, request, commit)
    files: Sequence[SourceFile] = code.files(commit)
    if request.excludes:
        files, warnings = _exclude(files, request.excludes), warnings + [EXCLUDE_WARNING]
    warnings = [f"{path}@{version}: {w}" for w in warnings]
    return Plan(path, version, commit.time, files, go_mod_data or _synthesized(path),
                 commit.hash, warnings)


def _plan_worktree(request: BuildRequest) -> Plan:
    root = Path(request.repo).resolve()
    try:
        repo: GitRepository | None = GitRepository.open(root)
    except SourceError:
        repo = None
    module_root = _nearest_go_mod(root, request) if request.subdir is None else (
        (Path(repo.toplevel) if repo and repo.toplevel else root) / request.subdir)
    go_mod_path = module_root / "go.mod"
    go_mod_data = go_mod_path.read_bytes() if go_mod_path.is_file() else None
    path = module_path(go_mod_data, request.module, "")
    files, commit, time = _worktree_files(repo, module_root, request)
    version = request.version or _worktree_version(repo, commit, path, module_root)
    modpath.check(path, version)
    warnings = [WORKTREE_WARNING] + gomod_warnings(go_mod_data)
    return Plan(path, version, time, files, go_mod_data or _synthesized(path),
                 commit.hash if commit else None, warnings)


def _worktree_files(repo: GitRepository | None, module_root: Path,
                    request: BuildRequest) -> tuple[list[SourceFile], Commit | None, datetime]:
    if repo is None or repo.toplevel is None:
        files = files_from_dir(module_root, excludes=request.excludes)
        return list(files), None, datetime.now(UTC).replace(microsecond=0)
    prefix = module_root.resolve().relative_to(repo.toplevel.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix
    excluded = exclude_spec(request.excludes)
    files: list[SourceFile] = []
    for full in repo.worktree_paths(prefix):
        rel = full[len(prefix) + 1:] if prefix else full
        if os.path.lexists(repo.toplevel / full) and not excluded.match_file(rel):
            files.append(DiskFile(rel, repo.toplevel / full))
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


def _module_dir(repo: GitRepository, commit: Commit, request: BuildRequest) -> str:
    """Return the module's directory in the repository: --subdir, the module a version tag
    named by --rev releases, or the nearest go.mod."""
    if request.subdir is not None:
        subdir = request.subdir.strip("/")
        if not repo.is_dir(commit.hash, subdir):
            raise SourceError(f"no directory {subdir!r} at {commit.short}",
                              hint="--subdir is relative to the repository root")
        return subdir
    tagged = _tagged_module_dir(repo, commit, request.rev)
    if tagged is not None:
        return tagged
    start = _prefix_in_repo(repo, Path(request.repo))
    parts = start.split("/") if start else []
    for depth in range(len(parts), -1, -1):
        candidate = "/".join(parts[:depth])
        if repo.read_file(commit.hash, _join(candidate, "go.mod"), 16 << 20) is not None:
            return candidate
    if request.module:
        return start
    raise InvalidModule(
        f"no go.mod in {start or 'the repository root'} or its parents at {commit.short}",
        hint="commit a go.mod (`go mod init MODULE`), pass --subdir DIR for a module elsewhere "
             "in the repository, or pass --module PATH for a repository without go.mod")


def _tagged_module_dir(repo: GitRepository, commit: Commit, rev: str) -> str | None:
    """Return the directory of the module that version tag ``rev`` releases, or None.

    go names a module's versions by tags prefixed with its directory: ``sub/v1.2.0`` is
    v1.2.0 of the module in ``sub/``, whatever directory gopush runs in. From v2 on, the
    module may live in ``DIR/vN/`` ("major subdirectory") when ``DIR``'s own go.mod (if any)
    is not the /vN module ("major branch"). None: ``rev`` is no version tag with a go.mod
    where it points, so the directory comes from where gopush runs.
    """
    prefix, _, version = rev.rpartition("/")
    if semver.canonical(version) != version or repo.read_tag(rev) is None:
        return None
    candidates = [prefix]
    if (major := semver.major(version)) not in ("v0", "v1"):
        own = repo.read_file(commit.hash, _join(prefix, "go.mod"), 16 << 20)
        if not (own and gomod.module_path(own).endswith(f"/{major}")):
            candidates.insert(0, _join(prefix, major))
    for candidate in candidates:
        if repo.read_file(commit.hash, _join(candidate, "go.mod"), 16 << 20) is not None:
            return candidate
    return None


def _prefix_in_repo(repo: GitRepository, where: Path) -> str:
    if repo.toplevel is None:
        return ""
    rel = where.resolve().relative_to(repo.toplevel.resolve()).as_posix()
    return "" if rel == "." else rel


def _nearest_go_mod(start: Path, request: BuildRequest) -> Path:
    for candidate in [start, *start.parents]:
        if (candidate / "go.mod").is_file():
            return candidate
    if request.module:
        return start
    raise InvalidModule(f"no go.mod in {start} or its parents",
                        hint="run `go mod init MODULE`, or pass --module PATH")












def _dirty_warnings(repo: GitRepository, module_dir: str, request: BuildRequest,
                    commit: Commit) -> list[str]:
    if request.rev != "HEAD" or repo.toplevel is None:
        return []
    out = Path(request.out).resolve()
    top = repo.toplevel.resolve()
    own = out.relative_to(top).as_posix() + "/" if out.is_relative_to(top) else None
    changed = [p for p in repo.changed_paths(module_dir) if not (own and p.startswith(own))]
    if not changed:
        return []
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return [(f"uncommitted changes are not in the zip (it is built from commit {commit.short}): "
             f"{shown}")]


def _exclude(files: Sequence[SourceFile], patterns: tuple[str, ...]) -> list[SourceFile]:
    spec = exclude_spec(patterns)
    return [f for f in files if not spec.match_file(f.path)]


def _synthesized(path: str) -> bytes:
    """Return the one-line go.mod go makes for a module without one.

    go quotes the path only when it needs quoting; a valid module path never does.
    """
    return f"module {path}\n".encode()


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


# -- writing --------------------------------------------------------------------------------


def _write(plan: Plan, out: Path, reporter: Reporter) -> BuiltModule:
    if go_mod_is_directory(f.path for f in plan.files):  # go zips it, then cannot use it
        raise InvalidModule(f"{plan.module}@{plan.version}: {GO_MOD_IS_DIRECTORY}")
    zip_path = out / proxypath.zip_path(plan.module, plan.version)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    progress = reporter.progress(f"zip {plan.module}@{plan.version}", len(plan.files),
                                 unit="files")
    try:
        created = create_zip(zip_path, plan.module, plan.version, plan.files,
                             on_progress=progress.advance)
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


def go_line(go_mod_data: bytes) -> str:
    try:
        return gomod.parse_lax(go_mod_data, "go.mod").go
    except InvalidModule:
        return ""
