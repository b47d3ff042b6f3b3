"""Read a module's files and history from a git repository, the way the go command does.

The go command makes a module zip from ``git archive`` of the revision, run in its own bare
clone with ``core.autocrlf=input`` and ``core.eol=lf`` and with the attributes
``* -export-subst -export-ignore`` in ``info/attributes``: ``.gitattributes`` line-ending
conversions (``eol=crlf``, ``text``) still apply, export attributes do not. For a module in a
subdirectory, the repository-root LICENSE at that revision is added when the module has none
(read raw with ``cat-file``, without conversions).

gopush must not change the user's repository, so it runs ``git archive`` in a throw-away bare
"shadow" repository that borrows the real one's objects through ``objects/info/alternates``.
That also keeps the user's own ``.git/config`` (say ``core.autocrlf=true``) out of the result,
as it is out of go's clone.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import weakref
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from gopush.errors import NotARepository, SourceError
from gopush.modzip.create import PackAhead
from gopush.modzip.files import FileKind, FileStat
from gopush.sources import tarstream
from gopush.sources.gitcmd import GitRunner

# Files at most this large are kept in memory while reading the archive; larger ones spill to
# a temporary file, so a 400 MiB asset never sits whole in memory.
SPOOL_BYTES = 8 * 1024 * 1024
MAX_LICENSE_BYTES = 16 * 1024 * 1024  # go's codehost.MaxLICENSE
MAX_GO_MOD_BYTES = 16 * 1024 * 1024  # go's codehost.MaxGoMod

_ARCHIVE_CONFIG = ("core.autocrlf=input", "core.eol=lf")
_NO_EXPORT_ATTRIBUTES = b"* -export-subst -export-ignore\n"


@dataclass(frozen=True, slots=True)
class Commit:
    """A resolved commit: full hash and committer time (UTC), as go's RevInfo has them."""

    hash: str
    time: datetime

    @property
    def short(self) -> str:
        """Return the 12-character abbreviation go uses in pseudo-versions."""
        return self.hash[:12]


class SpillDir:
    """A temporary directory for large archived files, removed once nothing refers to it.

    Files read from an archive live as long as the caller keeps them, so the directory is
    tied to their lifetime (each spilled file keeps a reference) rather than to a ``with``.
    """

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="gopush-spill-"))
        self._count = 0
        weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def new_path(self) -> Path:
        """Return a fresh file path inside the directory."""
        self._count += 1
        return self.path / str(self._count)


class ArchivedFile:
    """A file read from ``git archive``: bytes in memory, or a spill file for large ones.

    ``open`` returns a new reader each time, so a file can be read twice (hash, then zip).
    A spill file lives in a temporary directory that is removed once no file refers to it.
    """

    def __init__(self, path: str, kind: FileKind, size: int, data: bytes | None = None,
                 spill: Path | None = None, keep_alive: object = None) -> None:
        self.path = path
        self._stat = FileStat(size=size, kind=kind)
        self._data = data
        self._spill = spill
        self._keep_alive = keep_alive  # the SpillDir holding ``spill``
        self.packed_ahead: Future[Any] | None = None  # see modzip.create.PackAhead

    def stat(self) -> FileStat:
        return self._stat

    def open(self) -> BinaryIO:
        if self._spill is not None:
            return self._spill.open("rb")
        if self._data is None:
            raise SourceError(f"{self.path}: not a regular file")
        return io.BytesIO(self._data)


class GitRepository:
    """A local git repository (work tree or bare), read through git plumbing commands."""

    def __init__(self, git_dir: Path, toplevel: Path | None) -> None:
        self.git_dir = git_dir
        self.toplevel = toplevel
        self.git = GitRunner(git_dir)

    @classmethod
    def open(cls, path: Path) -> GitRepository:
        """Open the repository containing ``path``.

        Raises:
            SourceError: ``path`` is missing or not inside a git repository.
        """
        path = Path(path)
        if not path.is_dir():
            raise SourceError(f"{path}: no such directory")
        proc = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--path-format=absolute", "--git-dir",
             "--is-bare-repository", "--show-toplevel"],
            capture_output=True, env={**os.environ, "LC_ALL": "C"}, check=False)
        lines = proc.stdout.decode().splitlines()
        if proc.returncode != 0 and len(lines) < 2:
            raise NotARepository(
                f"{path.resolve()} is not a git repository",
                hint="run gopush inside a git checkout, pass --repo PATH, or build a plain "
                     "directory with --worktree --version vX.Y.Z")
        # inside a checkout's .git directory git names no work tree (--show-toplevel fails):
        # read it like a bare repository, from its commits only
        in_work_tree = lines[1] != "true" and len(lines) > 2
        return cls(Path(lines[0]), Path(lines[2]) if in_work_tree else None)

    def commit(self, rev: str) -> Commit:
        """Resolve ``rev`` (tag, branch, hash, HEAD~2, ...) to a commit.

        Raises:
            SourceError: the revision does not exist or is not a commit.
        """
        out = self.git.run("rev-parse", "--verify", "--quiet", "--end-of-options",
                           f"{rev}^{{commit}}", check=False).strip()
        if not out:
            raise SourceError(f"unknown revision {rev!r} in {self.toplevel or self.git_dir}",
                              hint="check the name with `git tag`, `git branch -a` or "
                                   "`git log`, and fetch tags with `git fetch --tags`")
        hash_ = out.decode()
        stamp = self.git.run("show", "-s", "--format=%ct", hash_).strip()
        return Commit(hash_, datetime.fromtimestamp(int(stamp), UTC))

    def tags_at(self, commit: str) -> list[str]:
        """List tag names that point at ``commit`` (annotated and nested tags peeled).

        go reads them from the commit's decorations, which peel tags of tags fully;
        ``for-each-ref --points-at`` would peel only one level.
        """
        out = self.git.run("-c", "log.showsignature=false", "log", "-n1", "--format=%D",
                           "--decorate-refs=refs/tags/", commit, "--")
        items = out.decode("utf-8", "replace").strip().split(", ")
        return [item[len("tag: "):] for item in items if item.startswith("tag: ")]

    def merged_tags(self, commit: str) -> list[str]:
        """List tag names whose commit is ``commit`` or one of its ancestors."""
        return self._tags("--merged", commit)

    def all_tags(self) -> list[str]:
        """List every tag name in the repository."""
        return self._tags()

    def _tags(self, *filters: str) -> list[str]:
        out = self.git.run("for-each-ref", "--format=%(refname)", *filters, "refs/tags")
        names = out.decode("utf-8", "replace").splitlines()
        return [n.removeprefix("refs/tags/") for n in names if n.startswith("refs/tags/")]

    def go_mod_dirs(self, commit: str) -> list[str]:
        """List directories holding a file named go.mod at ``commit`` ("" is the root)."""
        out = self.git.run("ls-tree", "-r", "-z", "--name-only", commit)
        dirs = []
        for name in out.decode("utf-8", "surrogateescape").split("\0"):
            if name == "go.mod" or name.endswith("/go.mod"):
                dirs.append(name[: -len("go.mod")].rstrip("/"))
        return sorted(dirs)

    def remote_url(self, name: str = "origin") -> str | None:
        """Return the URL of remote ``name``, or None when there is no such remote."""
        out = self.git.run("config", "--get", f"remote.{name}.url", check=False).strip()
        return out.decode("utf-8", "replace") or None

    def read_tag(self, tag: str) -> str | None:
        """Return the commit hash ``tag`` peels to, or None if there is no such tag."""
        out = self.git.run("rev-parse", "--verify", "--quiet", "--end-of-options",
                           f"refs/tags/{tag}^{{commit}}", check=False).strip()
        return out.decode() or None

    def is_dir(self, commit: str, path: str) -> bool:
        """Tell whether ``path`` is a directory at ``commit`` ("" is the root)."""
        if not path:
            return True
        kind = self.git.run("cat-file", "-t", f"{commit}:{path}", check=False).strip()
        return kind == b"tree"

    def read_file(self, commit: str, path: str, max_size: int) -> bytes | None:
        """Return the raw blob at ``commit:path``; None if absent, not a file, or too large."""
        spec = f"{commit}:{path}"
        kind = self.git.run("cat-file", "-t", spec, check=False).strip()
        if kind != b"blob":
            return None
        if int(self.git.run("cat-file", "-s", spec)) > max_size:
            return None
        return self.git.run("cat-file", "blob", spec)

    def changed_paths(self, subdir: str) -> list[str]:
        """List uncommitted changes (staged, unstaged, untracked) under ``subdir``."""
        if self.toplevel is None:
            return []
        out = GitRunner(self.git_dir, env={"GIT_WORK_TREE": str(self.toplevel)}).run(
            "-C", str(self.toplevel), "status", "--porcelain=v1", "-z",
            "--untracked-files=normal", "--", subdir or ".")
        entries = [e for e in out.decode("utf-8", "replace").split("\0") if e]
        return [e[3:] for e in entries if len(e) > 3 and e[2] == " "]

    def worktree_paths(self, subdir: str) -> list[str]:
        """List tracked and untracked-but-not-ignored paths under ``subdir`` (repo-relative)."""
        if self.toplevel is None:
            raise SourceError("a bare repository has no working tree",
                              hint="drop --worktree to build from a revision")
        runner = GitRunner(self.git_dir, env={"GIT_WORK_TREE": str(self.toplevel)})
        out = runner.run("-C", str(self.toplevel), "ls-files", "-z", "--cached", "--others",
                         "--exclude-standard", "--full-name", "--", subdir or ".")
        return sorted({p for p in out.decode("utf-8", "surrogateescape").split("\0") if p})

    def archive_files(self, commit: str, subdir: str) -> list[ArchivedFile]:
        """Return the files of ``subdir`` at ``commit`` exactly as go's git archive sees them.

        Paths are relative to ``subdir``. For a subdirectory module without its own LICENSE, the
        repository-root LICENSE is appended (go's coderepo does the same).
        """
        prefix = f"{subdir}/" if subdir else ""
        files = list(self._archive(commit, subdir, prefix))
        if subdir and not any(f.path == "LICENSE" for f in files):
            license_ = self.read_file(commit, "LICENSE", MAX_LICENSE_BYTES)
            if license_ is not None:
                files.append(_in_memory("LICENSE", license_))
        return files

    def _archive(self, commit: str, subdir: str, prefix: str) -> Iterator[ArchivedFile]:
        spill_dir = SpillDir()
        with (tempfile.TemporaryDirectory(prefix="gopush-git-") as shadow,
              PackAhead() as pack_ahead):
            runner = self._shadow(Path(shadow))
            args = ["archive", "--format=tar", commit] + (["--", subdir] if subdir else [])
            proc = runner.stream(*args, config=_ARCHIVE_CONFIG)
            try:
                assert proc.stdout is not None
                for member, stream in tarstream.members(proc.stdout):
                    item = _archived(member, stream, prefix, spill_dir, pack_ahead)
                    if item is not None:
                        yield item
            except BaseException:  # Ctrl-C, SIGTERM, a bad stream, or the consumer stopped
                GitRunner.abandon(proc)
                raise
            GitRunner.finish(proc, args)

    def _shadow(self, shadow: Path) -> GitRunner:
        """Lay out a bare repository borrowing our objects, with export attributes off.

        Written by hand, not by ``git init``: a bare repository is HEAD, objects/, refs/ and a
        config, and that spares a process, the copy of git's template and the user's
        ``init.*`` settings. The object format (SHA-1 or SHA-256) is the user's repository's.
        """
        objects, object_format = self.git.run(
            "rev-parse", "--path-format=absolute", "--git-path", "objects",
            "--show-object-format").decode().splitlines()
        for directory in ("objects/info", "refs/heads", "refs/tags", "info"):
            (shadow / directory).mkdir(parents=True, exist_ok=True)
        (shadow / "HEAD").write_text("ref: refs/heads/main\n")
        (shadow / "config").write_text(_shadow_config(object_format))
        (shadow / "objects" / "info" / "alternates").write_text(objects + "\n")
        (shadow / "info" / "attributes").write_bytes(_NO_EXPORT_ATTRIBUTES)
        return GitRunner(shadow)


def _shadow_config(object_format: str) -> str:
    if object_format == "sha1":
        return "[core]\n\trepositoryformatversion = 0\n\tbare = true\n"
    return ("[core]\n\trepositoryformatversion = 1\n\tbare = true\n"
            f"[extensions]\n\tobjectformat = {object_format}\n")


def _archived(member: tarstream.Member, stream: BinaryIO, prefix: str,
              spill_dir: SpillDir, pack_ahead: PackAhead) -> ArchivedFile | None:
    """Turn one tar member into a file relative to the module root (None: not a file).

    Always consumes the member's data, so the stream is ready for the next header. A regular
    file read into memory is offered to ``pack_ahead``.
    """
    regular = member.type in (b"0", b"\0")
    if not regular or member.size <= SPOOL_BYTES:
        data = tarstream.read_data(stream, member.size)
    else:
        data = None
    rel = member.name[len(prefix):] if member.name.startswith(prefix) else ""
    if data is None:  # a large regular file: spill it to disk
        target = spill_dir.new_path()
        _copy(stream, target, member.size)
        tarstream.skip_padding(stream, member.size)
        if not rel:
            return None
        return ArchivedFile(rel, FileKind.REGULAR, member.size, spill=target,
                            keep_alive=spill_dir)
    if not rel or member.type == b"5" or rel.endswith("/"):
        return None
    if member.type == b"2":
        return ArchivedFile(rel, FileKind.SYMLINK, len(member.linkname.encode()))
    if not regular:
        return ArchivedFile(rel, FileKind.OTHER, 0)
    item = ArchivedFile(rel, FileKind.REGULAR, member.size, data=data)
    item.packed_ahead = pack_ahead.offer(rel, data)
    return item


def _copy(stream: BinaryIO, target: Path, size: int) -> None:
    with target.open("wb") as out:
        left = size
        while left:
            chunk = stream.read(min(left, 1 << 20))
            if not chunk:
                raise SourceError("git archive output ended in the middle of a file")
            out.write(chunk)
            left -= len(chunk)


def _in_memory(path: str, data: bytes) -> ArchivedFile:
    return ArchivedFile(path, FileKind.REGULAR, len(data), data=data)
