"""Read a module's files from a directory on disk (``gopush build --worktree``).

This is what tools that zip the working tree do, and why their sums often differ from the
go command's: the working tree holds untracked and ignored files, checked-out line endings
and uncommitted edits. gopush still offers it, for a plain directory (an unpacked tarball)
or to preview a release, honouring ``.gitignore`` files and ``--exclude`` patterns
(gitignore syntax, matched with pathspec), and always says the hash will differ from a tag's.

Symbolic links are never followed: they are reported as symlinks and the zip rules omit them.
Version-control directories are not descended into.

``list_dir`` is x/mod's ``listFilesInDir`` (behind ``CreateFromDir`` and ``CheckDir``): no
ignore files, and what the walk leaves out is reported, in walk order, with go's words: VCS
directories, directories holding a go.mod that is not a directory (nested modules), vendored
paths (by the go line of ``root/go.mod``, read through a symlink as ``os.ReadFile`` does),
and anything that is not a regular file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from gopush.errors import InvalidModule
from gopush.gosem import gomod
from gopush.modzip.files import FileKind, FileStat
from gopush.modzip.report import FileIssue, Omit
from gopush.modzip.rules import (
    MAX_GO_MOD_BYTES,
    VCS_DIR_NAMES,
    is_vendored,
    issue,
    uses_fixed_vendor_rule,
)

if TYPE_CHECKING:  # pathspec is imported where patterns are compiled: most builds have none,
    import pathspec  # and importing it costs about as much as starting Python

class DiskFile:
    """A file on disk, relative to the module root; ``stat`` never follows symlinks."""

    def __init__(self, path: str, os_path: Path) -> None:
        self.path = path
        self.os_path = os_path

    def stat(self) -> FileStat:
        info = os.lstat(self.os_path)
        if stat.S_ISLNK(info.st_mode):
            return FileStat(size=info.st_size, kind=FileKind.SYMLINK)
        if stat.S_ISREG(info.st_mode):
            return FileStat(size=info.st_size, kind=FileKind.REGULAR)
        if stat.S_ISDIR(info.st_mode):
            return FileStat(size=0, kind=FileKind.DIRECTORY)
        return FileStat(size=0, kind=FileKind.OTHER)

    def open(self) -> BinaryIO:
        return self.os_path.open("rb")


class DirListing(NamedTuple):
    """The files of a directory tree and what the walk itself left out (x/mod's order)."""

    files: list[DiskFile]
    omitted: list[FileIssue]


def list_dir(root: Path) -> DirListing:
    """List ``root`` as x/mod's ``CreateFromDir`` does: files in walk order, and omissions.

    The walk visits names in byte order, depth first, never following symlinks. Raises
    OSError when a directory cannot be read (go fails too).
    """
    root = Path(root)
    fixed = uses_fixed_vendor_rule(_root_go_line(root))
    files: list[DiskFile] = []
    omitted: list[FileIssue] = []
    # Depth first in name order, as filepath.Walk: a stack of directory iterators.
    stack = [_entries("", root)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        rel, path = entry
        verdict = _walk_verdict(rel, path, fixed)
        if verdict is None:
            files.append(DiskFile(rel, path))
            continue
        if isinstance(verdict, FileIssue):
            omitted.append(verdict)
        if verdict == "descend" or (isinstance(verdict, FileIssue)
                                    and verdict.reason == Omit.VENDORED
                                    and stat.S_ISDIR(os.lstat(path).st_mode)):
            stack.append(_entries(rel, path))  # go's walk goes on below a vendored directory
    return DirListing(files, omitted)


def _entries(rel_dir: str, directory: Path) -> Iterator[tuple[str, Path]]:
    for name in sorted(os.listdir(directory)):
        yield (f"{rel_dir}/{name}" if rel_dir else name), directory / name


def _walk_verdict(rel: str, path: Path, fixed: bool) -> FileIssue | str | None:
    """Return None (a file), "descend" (a directory to walk) or why ``rel`` is left out."""
    if is_vendored(rel, fixed=fixed):
        return issue(rel, Omit.VENDORED)
    info = os.lstat(path)
    if stat.S_ISDIR(info.st_mode):
        if path.name in VCS_DIR_NAMES:
            return issue(rel, Omit.VCS_DIR)
        try:
            nested = not stat.S_ISDIR(os.lstat(path / "go.mod").st_mode)
        except OSError:
            nested = False
        return issue(rel, Omit.SUBMODULE, "directory is in another module") if nested \
            else "descend"
    if not stat.S_ISREG(info.st_mode):
        return issue(rel, Omit.NOT_REGULAR)
    return None


def _root_go_line(root: Path) -> str:
    try:
        with (root / "go.mod").open("rb") as f:
            data = f.read(MAX_GO_MOD_BYTES + 1)
    except OSError:
        return ""
    return gomod.zip_go_version(data) if len(data) <= MAX_GO_MOD_BYTES else ""


def nearest_go_mod(start: Path) -> Path | None:
    """Return the nearest directory at or above ``start`` holding a go.mod file, or None."""
    for candidate in [start, *start.parents]:
        if (candidate / "go.mod").is_file():
            return candidate
    return None


def read_go_mod(root: Path) -> bytes | None:
    """Return ``root``'s go.mod (None when there is none), at most ``MAX_GO_MOD_BYTES``.

    Raises:
        InvalidModule: go.mod is larger than go allows in a module zip.
    """
    path = root / "go.mod"
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        data = handle.read(MAX_GO_MOD_BYTES + 1)
    if len(data) > MAX_GO_MOD_BYTES:
        raise InvalidModule(f"{path}: go.mod file too large (max size is {MAX_GO_MOD_BYTES} "
                            "bytes)", hint="go refuses such a module")
    return data


def worktree_files(toplevel: Path, paths: Iterable[str], prefix: str,
                   excludes: Iterable[str] = ()) -> list[DiskFile]:
    """Return the files of a git work tree under ``prefix``, relative to it.

    ``paths`` are repository-relative names git lists (tracked, and untracked but not
    ignored); a path git lists that is gone from disk (a deletion not committed) is left out.
    """
    excluded = exclude_spec(excludes)
    files = []
    for full in paths:
        rel = full[len(prefix) + 1:] if prefix else full
        if os.path.lexists(toplevel / full) and not excluded.match_file(rel):
            files.append(DiskFile(rel, toplevel / full))
    return files


def exclude_spec(patterns: Iterable[str]) -> pathspec.GitIgnoreSpec:
    """Compile ``--exclude`` patterns (gitignore syntax, relative to the module root)."""
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(list(patterns))


def files_from_dir(root: Path, *, excludes: Iterable[str] = (),
                   gitignore: bool = True) -> list[DiskFile]:
    """List the files under ``root`` in sorted order, minus ignored and excluded ones."""
    excluded = exclude_spec(excludes)
    found = []
    for rel in _walk(Path(root), gitignore):
        if not excluded.match_file(rel):
            found.append(DiskFile(rel, Path(root) / rel))
    return found


def _walk(root: Path, gitignore: bool) -> Iterator[str]:
    """Yield slash paths of files (and symlinks) below ``root``, honouring .gitignore files."""
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    for current, dirs, files in os.walk(root, followlinks=False):
        rel_dir = Path(current).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        if gitignore and ".gitignore" in files:
            lines = (Path(current) / ".gitignore").read_text("utf-8", "replace").splitlines()
            specs.append((rel_dir, exclude_spec(lines)))
        kept = []
        for name in sorted(dirs):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if name in VCS_DIR_NAMES or _ignored(specs, rel + "/"):
                continue
            if os.path.islink(os.path.join(current, name)):
                yield rel  # a symlink to a directory: reported, never followed
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not _ignored(specs, rel):
                yield rel


def _ignored(specs: list[tuple[str, pathspec.GitIgnoreSpec]], rel: str) -> bool:
    """Apply .gitignore files from the root down; a deeper file's verdict wins, as in git."""
    verdict = False
    for base, spec in specs:
        if base and not rel.startswith(base + "/"):
            continue
        result = spec.check_file(rel[len(base) + 1:] if base else rel)
        if result.include is not None:
            verdict = result.include
    return verdict
