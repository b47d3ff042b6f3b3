"""Read a module's files from a directory on disk (``gopush build --worktree``).

This is what tools that zip the working tree do, and why their sums often differ from the
go command's: the working tree holds untracked and ignored files, checked-out line endings
and uncommitted edits. gopush still offers it, for a plain directory (an unpacked tarball)
or to preview a release, honouring ``.gitignore`` files and ``--exclude`` patterns
(gitignore syntax, matched with pathspec), and always says the hash will differ from a tag's.

Symbolic links are never followed: they are reported as symlinks and the zip rules omit them.
Version-control directories are not descended into.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from gopush.modzip.files import FileKind, FileStat

if TYPE_CHECKING:  # pathspec is imported where patterns are compiled: most builds have none,
    import pathspec  # and importing it costs about as much as starting Python

VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr"})


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
            if name in VCS_DIRS or _ignored(specs, rel + "/"):
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
