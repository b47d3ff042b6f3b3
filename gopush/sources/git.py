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
import shutil
import subprocess
import tempfile
import threading
import weakref
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, BinaryIO

from gopush.errors import InvalidVersion, NotARepository, SourceError
from gopush.gosem import pseudo
from gopush.modzip.create import PackAhead, PackedAhead
from gopush.modzip.files import FileKind, FileStat
from gopush.modzip.rules import MAX_LICENSE_BYTES, omitted_dirs
from gopush.sources import tarstream
from gopush.sources.gitcmd import GitRunner

ARCHIVE_PIPE_BYTES = 1024 * 1024  # Linux's default limit for an unprivileged process
# Files at most this large are kept in memory while reading the archive; larger ones spill to
# a temporary file, so a 400 MiB asset never sits whole in memory.
SPOOL_BYTES = 8 * 1024 * 1024
# At most this many directories are left out of one git archive (the ones holding the most
# files): git matches every path against every pathspec.
MAX_SKIPPED_DIRS = 64

_ARCHIVE_CONFIG = ("core.autocrlf=input", "core.eol=lf")
_NO_EXPORT_ATTRIBUTES = b"* -export-subst -export-ignore\n"


@dataclass(frozen=True, slots=True)
class Commit:
    """A resolved commit: full hash and committer time, as go's RevInfo has them.

    ``seconds`` is the committer time as git records it (seconds since 1970, UTC). git can
    record years past 9999, which no ``datetime`` (and no .info file: Go's JSON time is
    limited to years 0-9999) can hold; ``time`` refuses those.
    """

    hash: str
    seconds: int

    @property
    def short(self) -> str:
        """Return the 12-character abbreviation go uses in pseudo-versions."""
        return self.hash[:12]

    @property
    def time(self) -> datetime:
        """Return the committer time (UTC).

        Raises:
            InvalidVersion: the time is past 9999-12-31: go fetches such a commit but cannot
                write its .info file ("year outside of range [0,9999]"), so no GOPROXY
                could serve a version of it.
        """
        if self.seconds > pseudo.MAX_TIME_SECONDS:
            raise InvalidVersion(
                f"commit {self.short} is dated after 9999-12-31 (committer time "
                f"{self.seconds}): a module's .info time cannot hold it (go: json: year "
                "outside of range [0,9999]), so no GOPROXY could serve this version",
                hint=REDATE_HINT)
        return datetime.fromtimestamp(self.seconds, UTC)


REDATE_HINT = ("make the commit again with a real date, e.g. `git commit --amend --no-edit "
               "--reset-author` with GIT_COMMITTER_DATE unset")


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
        self.packed_ahead: PackedAhead | None = None  # see modzip.create.PackAhead

    def stat(self) -> FileStat:
        return self._stat

    def open(self) -> BinaryIO:
        if self._spill is not None:
            return self._spill.open("rb")
        if self._data is None:
            raise SourceError(f"{self.path}: not a regular file")
        return io.BytesIO(self._data)


class UnreadFile:
    """A file git archive was told to leave out, listed by ``git ls-tree`` instead.

    The module zip omits it whatever it holds (it lies below one of ``rules.omitted_dirs``),
    so only its path and kind are known; its size is not read (0), and ``open`` refuses.
    """

    __slots__ = ("_stat", "path")

    def __init__(self, path: str, kind: FileKind) -> None:
        self.path = path
        self._stat = FileStat(size=0, kind=kind)

    def stat(self) -> FileStat:
        return self._stat

    def open(self) -> BinaryIO:
        raise SourceError(f"{self.path}: not read from git (the module zip omits it)")


class GitRepository:
    """A local git repository (work tree or bare), read through git plumbing commands."""

    def __init__(self, git_dir: Path, toplevel: Path | None) -> None:
        self.git_dir = git_dir
        self.toplevel = toplevel
        self.git = GitRunner(git_dir)
        self._objects: str | None = None  # the object directory, absolute
        self._object_format = "sha1"  # or "sha256": the shadow repository must say the same
        self._tags_at: dict[str, list[str]] = {}
        self._listed: dict[str, bytes] = {}  # see _tree
        # the running `git cat-file --batch` of read_files (none, or one)
        self._batch: list[subprocess.Popen[bytes]] = []
        self._batch_lock = threading.Lock()
        weakref.finalize(self, _end_batch, self._batch)
        # a shallow clone lacks history (and the tags on it) that go's own full clone has
        self.shallow = False

    @classmethod
    def open(cls, path: Path) -> GitRepository:
        """Open the repository containing ``path``.

        Raises:
            SourceError: ``path`` is missing or not inside a git repository.
        """
        path = Path(path)
        if not path.is_dir():
            raise SourceError(f"{path}: no such directory")
        # one git process: the git directory, its object store and object format (for the
        # archive's shadow repository), and the work tree (the last answer fails, after the
        # others, where there is none)
        out = GitRunner(None).run(
            "-C", str(path), "rev-parse", "--path-format=absolute", "--git-dir",
            "--git-path", "objects", "--show-object-format", "--is-bare-repository",
            "--is-shallow-repository", "--show-toplevel", check=False)
        lines = out.decode().splitlines()
        if len(lines) < 5:
            raise NotARepository(
                f"{path.resolve()} is not a git repository",
                hint="run gopush inside a git checkout, pass --repo PATH, or build a plain "
                     "directory with --worktree --version vX.Y.Z")
        # inside a checkout's .git directory git names no work tree (--show-toplevel fails):
        # read it like a bare repository, from its commits only
        in_work_tree = lines[3] != "true" and len(lines) > 5
        repo = cls(Path(lines[0]), Path(lines[5]) if in_work_tree else None)
        repo._objects, repo._object_format = lines[1], lines[2]
        repo.shallow = lines[4] == "true"
        return repo

    def commit(self, rev: str) -> Commit:
        """Resolve ``rev`` (tag, branch, hash, HEAD~2, ...) to a commit.

        One git process answers the hash, the committer time and the tags pointing at the
        commit (kept for ``tags_at``, which go reads with the commit, as its Stat does).

        Raises:
            SourceError: the revision does not exist or is not a commit.
        """
        out = b""
        if ".." not in rev and not rev.startswith("^"):  # one commit, never a range
            out = self.git.run("-c", "log.showsignature=false", "log", "-n1", "--no-walk",
                               "--format=%H %ct%x00%D", "--decorate-refs=refs/tags/",
                               "--end-of-options", f"{rev}^{{commit}}", "--",
                               check=False).strip()
        if not out:
            raise SourceError(f"unknown revision {rev!r} in {self.toplevel or self.git_dir}",
                              hint="check the name with `git tag`, `git branch -a` or "
                                   "`git log`, and fetch tags with `git fetch --tags`")
        head, _, decorations = out.decode("utf-8", "replace").partition("\0")
        hash_, _, stamp = head.partition(" ")
        # git prints no %ct for a time it cannot read (before 1970, say); go refuses those
        # commits ("invalid time from git log"), and so does gopush.
        if not stamp.isdigit() or int(stamp) >= 1 << 63:
            raise InvalidVersion(
                f"{rev}: invalid version: invalid time from git log: commit {hash_[:12]} has "
                f"committer time {stamp!r}, which git cannot show as seconds since 1970",
                hint=REDATE_HINT)
        self._tags_at[hash_] = _tag_names(decorations)
        return Commit(hash_, int(stamp))

    def tags_at(self, commit: str) -> list[str]:
        """List tag names that point at ``commit`` (annotated and nested tags peeled).

        go reads them from the commit's decorations, which peel tags of tags fully;
        ``for-each-ref --points-at`` would peel only one level.
        """
        if commit in self._tags_at:
            return list(self._tags_at[commit])
        out = self.git.run("-c", "log.showsignature=false", "log", "-n1", "--format=%D",
                           "--decorate-refs=refs/tags/", commit, "--")
        return _tag_names(out.decode("utf-8", "replace"))

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
        dirs = []
        for record in self._tree(commit).split(b"\0"):
            name = record.partition(b"\t")[2].decode("utf-8", "surrogateescape")
            if name == "go.mod" or name.endswith("/go.mod"):
                dirs.append(name[: -len("go.mod")].rstrip("/"))
        return sorted(dirs)

    def _tree(self, commit: str, subdir: str = "") -> bytes:
        """Return ``git ls-tree -r -z`` of ``commit`` (below ``subdir``, if given): one git
        process, or none when the whole tree of ``commit`` was listed last."""
        if commit in self._listed:
            return self._listed[commit]
        out = self.git.run("ls-tree", "-r", "-z", "--full-tree", commit,
                           *(["--", subdir] if subdir else []))
        if not subdir:
            self._listed = {commit: out}  # the last one only: a large tree is large
        return out

    def remote_url(self, name: str = "origin") -> str | None:
        """Return the URL of remote ``name``, or None when there is no such remote."""
        out = self.git.run("config", "--get", f"remote.{name}.url", check=False).strip()
        return out.decode("utf-8", "replace") or None

    def read_tag(self, tag: str) -> str | None:
        """Return the commit hash ``tag`` peels to, or None if there is no such tag."""
        out = self.git.run("rev-parse", "--verify", "--quiet", "--end-of-options",
                           f"refs/tags/{tag}^{{commit}}", check=False).strip()
        return out.decode() or None

    def tag_commit(self, tag: str) -> Commit | None:
        """Return the commit ``tag`` peels to, as ``commit`` resolves it (one git process),
        or None if there is no such tag or it names no commit.

        Raises:
            InvalidVersion: as ``commit``.
        """
        try:
            return self.commit(f"refs/tags/{tag}")
        except SourceError:  # (InvalidVersion, a time git cannot show, is no SourceError)
            return None

    def peeled_type(self, ref: str) -> str | None:
        """Return the type of the object ``ref`` peels to ("commit", "tree", "blob"), or None
        when there is no such ref."""
        out = self.git.run("cat-file", "-t", "--end-of-options", f"{ref}^{{}}",
                           check=False).strip()
        return out.decode() or None

    def is_dir(self, commit: str, path: str) -> bool:
        """Tell whether ``path`` is a directory at ``commit`` ("" is the root)."""
        if not path:
            return True
        kind = self.git.run("cat-file", "-t", f"{commit}:{path}", check=False).strip()
        return kind == b"tree"

    def read_file(self, commit: str, path: str, max_size: int) -> bytes | None:
        """Return the raw blob at ``commit:path``; None if absent, not a file, or too large."""
        return self.read_files([(commit, path)], max_size)[0]

    def read_files(self, specs: list[tuple[str, str]], max_size: int, *,
                   oversized: dict[int, int] | None = None) -> list[bytes | None]:
        """Return the raw blobs at each ``(commit, path)``.

        None for a path that is absent, not a blob, larger than ``max_size`` (read and dropped
        in pieces, so memory stays bounded), or that holds a newline (no module path can).
        The size of each blob larger than ``max_size`` is put in ``oversized`` (if given)
        under its index in ``specs``.

        Every call on this repository goes to one ``git cat-file --batch``, started at the
        first and ended with the repository object (or when a read fails): one git process
        however many go.mod files a build reads, and when.
        """
        asked = [f"{rev}:{path}" for rev, path in specs]
        sendable = [a for a in asked if "\n" not in a]
        found: dict[str, bytes | None] = {}
        too_large: dict[str, int] = {}
        if sendable:
            with self._batch_lock:
                self._read_batch(sendable, max_size, found, too_large)
        if oversized is not None:
            oversized.update((i, too_large[a]) for i, a in enumerate(asked) if a in too_large)
        return [found.get(a) for a in asked]

    def _read_batch(self, specs: list[str], max_size: int, found: dict[str, bytes | None],
                    too_large: dict[str, int]) -> None:
        if self._batch and self._batch[0].poll() is not None:  # it ended (killed?): anew
            _end_batch(self._batch)
        if not self._batch:
            self._batch.append(self.git.stream("cat-file", "--batch", input=True))
        proc = self._batch[0]
        request = "".join(f"{a}\n" for a in specs).encode("utf-8", "surrogateescape")
        # written by a thread: git answers as it reads, and a long list could otherwise
        # fill both pipes at once
        writer = threading.Thread(target=_feed, args=(proc.stdin, request), daemon=True)
        writer.start()
        try:
            assert proc.stdout is not None
            for spec in specs:
                found[spec], over = _batch_blob(proc.stdout, max_size)
                if over is not None:
                    too_large[spec] = over
        except SourceError as err:  # its output ended: git's own failure says why
            self._batch.clear()
            if proc.stdin is not None:
                proc.stdin.close()
            raise GitRunner.cut_short(proc, ["cat-file"], err) from None
        except BaseException:
            self._batch.clear()
            GitRunner.abandon(proc)
            raise
        writer.join()

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

    def archive_files(self, commit: str, subdir: str, *,
                      skip_omitted: bool = False) -> list[ArchivedFile | UnreadFile]:
        """Return the files of ``subdir`` at ``commit`` exactly as go's git archive sees them.

        Paths are relative to ``subdir``. For a subdirectory module without its own LICENSE, the
        repository-root LICENSE is appended (go's coderepo does the same).

        With ``skip_omitted``, git archive leaves out the files below ``rules.omitted_dirs``
        (vendored packages, nested modules), whose verdicts need their paths only: they come
        from ``git ls-tree`` as ``UnreadFile``s, in their place in tree order. The list and
        every verdict of the zip rules are the same; git reads and converts only the files
        the zip may hold.
        """
        prefix = f"{subdir}/" if subdir else ""
        files = self._archive_skipping(commit, subdir, prefix) if skip_omitted else None
        if files is None:
            files = list(self._archive(commit, subdir, prefix))
        if subdir and not any(f.path == "LICENSE" for f in files):
            license_ = self._root_license(commit)
            if license_ is not None:
                files.append(license_)
        return files

    def _root_license(self, commit: str) -> ArchivedFile | None:
        """Return the root LICENSE as go copies it (``cat-file blob``, whatever its size).

        go reads it whole and its zip rules then refuse one over 16 MiB ("LICENSE file too
        large"); so a larger one is kept as its size only, for the rules to refuse, unread.
        """
        oversized: dict[int, int] = {}
        (data,) = self.read_files([(commit, "LICENSE")], MAX_LICENSE_BYTES, oversized=oversized)
        if oversized:
            return ArchivedFile("LICENSE", FileKind.REGULAR, oversized[0])
        return _in_memory("LICENSE", data) if data is not None else None

    def _archive_skipping(self, commit: str, subdir: str,
                          prefix: str) -> list[ArchivedFile | UnreadFile] | None:
        """Archive ``subdir`` without the files below ``rules.omitted_dirs`` and put their
        listing back in tree order (one ``git ls-tree`` and one ``git archive``).

        None where nothing is skipped, where pathspecs could mean something else than the
        paths (a subdirectory named with glob characters, GIT_*_PATHSPECS set), or where
        the archive and the listing disagree: the caller then archives everything.
        """
        if (not self.git.default_pathspecs() or subdir.startswith(":")
                or any(c in subdir for c in "*?[\\")):
            return None
        listed = _listed_files(self._tree(commit, subdir), prefix)
        skipped = _skipped_dirs(listed)
        if not skipped:
            return None
        excludes = [f":(exclude,literal){prefix}{d}" for d in skipped]
        return _merge(listed, skipped, self._archive(commit, subdir, prefix, excludes))

    def _archive(self, commit: str, subdir: str, prefix: str,
                 excludes: list[str] | None = None) -> Generator[ArchivedFile, None, None]:
        spill_dir = SpillDir()
        with (tempfile.TemporaryDirectory(prefix="gopush-git-") as shadow,
              PackAhead() as pack_ahead):
            runner = self._shadow(Path(shadow))
            paths = ([subdir] if subdir else []) + (excludes or [])
            args = ["archive", "--format=tar", commit] + (["--", *paths] if paths else [])
            proc = runner.stream(*args, config=_ARCHIVE_CONFIG)
            try:
                assert proc.stdout is not None
                _widen_pipe(proc.stdout)
                for member, stream in tarstream.members(proc.stdout):
                    item = _archived(member, stream, prefix, spill_dir, pack_ahead)
                    if item is not None:
                        yield item
            except SourceError as err:  # a cut-off stream: git's own failure says why
                raise GitRunner.cut_short(proc, args, err) from None
            except BaseException:  # Ctrl-C, SIGTERM, or the consumer stopped
                GitRunner.abandon(proc)
                raise
            GitRunner.finish(proc, args)

    def _shadow(self, shadow: Path) -> GitRunner:
        """Lay out a bare repository borrowing our objects, with export attributes off.

        Written by hand, not by ``git init``: a bare repository is HEAD, objects/, refs/ and a
        config, and that spares a process, the copy of git's template and the user's
        ``init.*`` settings. The object format (SHA-1 or SHA-256) is the user's repository's.
        """
        if self._objects is None:  # made without open(): ask git once
            self._objects, self._object_format = self.git.run(
                "rev-parse", "--path-format=absolute", "--git-path", "objects",
                "--show-object-format").decode().splitlines()
        for directory in ("objects/info", "refs/heads", "refs/tags", "info"):
            (shadow / directory).mkdir(parents=True, exist_ok=True)
        (shadow / "HEAD").write_text("ref: refs/heads/main\n")
        (shadow / "config").write_text(_shadow_config(self._object_format))
        (shadow / "objects" / "info" / "alternates").write_text(self._objects + "\n")
        (shadow / "info" / "attributes").write_bytes(_NO_EXPORT_ATTRIBUTES)
        return GitRunner(shadow)


def _listed_files(out: bytes, prefix: str) -> list[UnreadFile]:
    """Parse ``git ls-tree -r -z`` into the files git archive gives for ``prefix``, in order:
    blobs (symlinks by their mode), module-relative; a submodule (a commit entry) is none:
    git archive writes it as an empty directory."""
    files = []
    for record in out.split(b"\0"):
        meta, _, name = record.partition(b"\t")
        mode, _, rest = meta.partition(b" ")
        if not rest.startswith(b"blob "):
            continue
        path = name.decode("utf-8", "surrogateescape")
        if path.startswith(prefix) and len(path) > len(prefix):
            kind = FileKind.SYMLINK if mode == b"120000" else FileKind.REGULAR
            files.append(UnreadFile(path[len(prefix):], kind))
    return files


def _skipped_dirs(listed: list[UnreadFile]) -> set[str]:
    """Return the directories to leave out of git archive: ``rules.omitted_dirs``, at most
    ``MAX_SKIPPED_DIRS`` of them (those holding the most files)."""
    dirs = set(omitted_dirs(listed))
    if len(dirs) <= MAX_SKIPPED_DIRS:
        return dirs
    counts = Counter(d for f in listed if (d := _dir_among(f.path, dirs)) is not None)
    return {d for d, _ in counts.most_common(MAX_SKIPPED_DIRS)}


def _dir_among(path: str, dirs: set[str]) -> str | None:
    """Return the directory of ``dirs`` that ``path`` lies below (the outermost), or None."""
    end = path.find("/")
    while end >= 0:
        if path[:end] in dirs:
            return path[:end]
        end = path.find("/", end + 1)
    return None


def _merge(listed: list[UnreadFile], skipped: set[str],
           archived: Generator[ArchivedFile, None, None]
           ) -> list[ArchivedFile | UnreadFile] | None:
    """Return ``listed`` with each file git archive gave (all but those below ``skipped``)
    in its place; None if the archive does not give exactly those, in that order."""
    files: list[ArchivedFile | UnreadFile] = []
    try:
        for item in listed:
            if _dir_among(item.path, skipped) is not None:
                files.append(item)
                continue
            got = next(archived, None)
            if got is None or got.path != item.path or got.stat().kind != item.stat().kind:
                return None
            files.append(got)
        return files if next(archived, None) is None else None
    finally:
        archived.close()  # stops git if the archive was not read to its end


def _widen_pipe(pipe: IO[bytes]) -> None:
    """Ask for a pipe of ``ARCHIVE_PIPE_BYTES`` between git archive and us (Linux only).

    In the default 64 KiB pipe git stops every 64 KiB until the reader catches up: tens of
    MB of archive cost thousands of context switches (4,500 for GOROOT/src/cmd; about 1,300
    with 1 MiB), and on a busy machine each one may wait for a core. Elsewhere, or above
    the system's limit (/proc/sys/fs/pipe-max-size), the pipe stays as it is: only slower.
    """
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, ARCHIVE_PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


def _feed(pipe: IO[bytes] | None, data: bytes) -> None:
    """Write ``data`` to a child's stdin (a child that died early is no error here: the
    reader sees its output end)."""
    if pipe is None:
        return
    try:
        pipe.write(data)
        pipe.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass


def _end_batch(batch: list[subprocess.Popen[bytes]]) -> None:
    """End the ``cat-file --batch`` of a repository object that is gone."""
    for proc in batch:
        GitRunner.end_input(proc)
    batch.clear()


def _tag_names(decorations: str) -> list[str]:
    """Return the tag names in a ``%D`` decoration list ("tag: v1.0.0, tag: v1.0.1")."""
    items = decorations.strip().split(", ")
    return [item[len("tag: "):] for item in items if item.startswith("tag: ")]


def _batch_blob(out: IO[bytes], max_size: int) -> tuple[bytes | None, int | None]:
    """Read one answer of ``git cat-file --batch``: the blob, or None (missing, not a blob,
    too large: its bytes are read and dropped in pieces); and the size of a blob larger
    than ``max_size`` (else None)."""
    line = out.readline(4096)
    if not line:
        raise SourceError("git cat-file ended without answering")
    header = line.split()
    if len(header) != 3 or not header[2].isdigit():
        return None, None  # "<spec> missing" / "ambiguous": no content follows
    kind, size = header[1], int(header[2])
    keep = kind == b"blob" and size <= max_size
    pieces, left = [], size + 1  # the content and the newline after it
    while left:
        chunk = out.read(min(left, 1 << 20))
        if not chunk:
            raise SourceError("git cat-file output ended in the middle of an object")
        if keep:
            pieces.append(chunk)
        left -= len(chunk)
    return ((b"".join(pieces)[:-1] if keep else None),
            size if kind == b"blob" and not keep else None)


def _shadow_config(object_format: str) -> str:
    if object_format == "sha1":
        return "[core]\n\trepositoryformatversion = 0\n\tbare = true\n"
    return ("[core]\n\trepositoryformatversion = 1\n\tbare = true\n"
            f"[extensions]\n\tobjectformat = {object_format}\n")


def _archived(member: tarstream.Member, stream: IO[bytes], prefix: str,
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


def _copy(stream: IO[bytes], target: Path, size: int) -> None:
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
