"""sources.git against real repositories: what git archive gives, and what it must not touch."""

from __future__ import annotations

import gc
import io
import os
import subprocess
import tempfile
import threading
import zlib
from pathlib import Path

import pytest
from gitrepo import GitRepo
from gotool import GoOracle

from gopush.actions.build import BuildRequest, build
from gopush.errors import SourceError
from gopush.modzip.files import FileKind
from gopush.modzip.rules import check_files
from gopush.sources import git as git_module
from gopush.sources.git import SPOOL_BYTES, GitRepository, UnreadFile
from gopush.sources.gitcmd import GitRunner
from gopush.ui.base import NullReporter


def contents(repo: GitRepository, rev: str, subdir: str = "") -> dict[str, bytes | FileKind]:
    """Map each archived path to its bytes (regular files) or its kind (others)."""
    commit = repo.commit(rev)
    result: dict[str, bytes | FileKind] = {}
    for f in repo.archive_files(commit.hash, subdir):
        if f.stat().kind is FileKind.REGULAR:
            with f.open() as handle:
                result[f.path] = handle.read()
        else:
            result[f.path] = f.stat().kind
    return result


def test_user_repository_is_not_modified(git_repo: GitRepo) -> None:
    """Archiving writes nothing into the user's .git (no info/attributes, no config)."""
    git_repo.commit(files={"a.txt": "a\n"})
    before = sorted(p.relative_to(git_repo.path) for p in (git_repo.path / ".git").rglob("*"))
    contents(GitRepository.open(git_repo.path), "HEAD")
    after = sorted(p.relative_to(git_repo.path) for p in (git_repo.path / ".git").rglob("*"))
    assert before == after
    assert not (git_repo.path / ".git" / "info" / "attributes").exists()


def test_export_attributes_off_and_eol_conversion_on(git_repo: GitRepo) -> None:
    """export-ignore files stay, $Format$ stays literal, eol=crlf converts."""
    git_repo.commit(files={".gitattributes": "gone export-ignore\ns export-subst\n"
                                             "w eol=crlf\n",
                           "gone": "x\n", "s": "$Format:%H$\n", "w": "1\n2\n"})
    got = contents(GitRepository.open(git_repo.path), "HEAD")
    assert got["gone"] == b"x\n" and got["s"] == b"$Format:%H$\n" and got["w"] == b"1\r\n2\r\n"


def test_user_autocrlf_setting_is_ignored(git_repo: GitRepo) -> None:
    """core.autocrlf=true in the user's repository does not add CRLF to the archive."""
    git_repo.git("config", "core.autocrlf", "true")
    git_repo.commit(files={"t.txt": "a\nb\n"})
    assert contents(GitRepository.open(git_repo.path), "HEAD")["t.txt"] == b"a\nb\n"


def test_subdirectory_gets_raw_root_license(git_repo: GitRepo) -> None:
    """A subdirectory without LICENSE gets the root one, raw (no eol conversion)."""
    git_repo.commit(files={".gitattributes": "LICENSE eol=crlf\n", "LICENSE": "l1\nl2\n",
                           "sub/a.go": "package a\n", "other/LICENSE": "no\n"})
    got = contents(GitRepository.open(git_repo.path), "HEAD", "sub")
    assert got == {"a.go": b"package a\n", "LICENSE": b"l1\nl2\n"}


def test_large_files_spill_to_disk_and_read_back(git_repo: GitRepo) -> None:
    """A file above the in-memory limit is read back byte for byte, twice."""
    big = os.urandom(SPOOL_BYTES + 12345)
    git_repo.commit(files={"big.bin": big})
    repo = GitRepository.open(git_repo.path)
    (item,) = repo.archive_files(repo.commit("HEAD").hash, "")
    for _ in range(2):
        with item.open() as handle:
            assert handle.read() == big


def test_symlinks_are_reported_not_followed(git_repo: GitRepo) -> None:
    """A symlink arrives as a SYMLINK entry with no content."""
    git_repo.write({"a": "x"})
    git_repo.symlink("l", "a")
    git_repo.commit()
    assert contents(GitRepository.open(git_repo.path), "HEAD")["l"] is FileKind.SYMLINK


def test_tags_at_peels_nested_annotated_tags(git_repo: GitRepo) -> None:
    """Lightweight, annotated and tag-of-tag all count as pointing at the commit."""
    head = git_repo.commit(files={"a": "x"})
    git_repo.tag("v1.0.0")
    git_repo.tag("v1.1.0", annotated=True)
    git_repo.git("tag", "-a", "-m", "m", "v1.2.0", "v1.1.0")
    git_repo.commit(files={"b": "y"})
    git_repo.tag("v2.0.0")
    repo = GitRepository.open(git_repo.path)
    assert sorted(repo.tags_at(head)) == ["v1.0.0", "v1.1.0", "v1.2.0"]
    assert repo.read_tag("v1.2.0") == head


def test_read_file_of_a_directory_is_none(git_repo: GitRepo) -> None:
    """read_file returns None for trees and missing paths, bytes for blobs."""
    git_repo.commit(files={"LICENSE/x": "x", "f": "data"})
    repo = GitRepository.open(git_repo.path)
    head = repo.commit("HEAD").hash
    assert repo.read_file(head, "LICENSE", 100) is None
    assert repo.read_file(head, "missing", 100) is None
    assert repo.read_file(head, "f", 100) == b"data"
    assert repo.read_file(head, "f", 2) is None  # over the limit: as go, treated as absent


def test_not_a_repository(tmp_path: Path) -> None:
    """A plain directory raises SourceError with a hint."""
    with pytest.raises(SourceError) as err:
        GitRepository.open(tmp_path)
    assert "not a git repository" in str(err.value) and err.value.hint


def test_unknown_revision(git_repo: GitRepo) -> None:
    """An unknown revision raises SourceError naming it."""
    git_repo.commit(files={"a": "x"})
    with pytest.raises(SourceError, match="unknown revision 'nope'"):
        GitRepository.open(git_repo.path).commit("nope")


def test_long_and_unicode_paths_survive_the_tar_stream(git_repo: GitRepo) -> None:
    """Paths over 100 bytes (pax headers), non-ASCII names and empty files read back exactly."""
    deep = "/".join(["directory-with-a-long-name"] * 6) + "/file.go"
    git_repo.write({deep: "package deep\n", "ünïcødé/ファイル.txt": "u\n", "empty": b""})
    git_repo.symlink("link", "/".join(["target"] * 30))
    git_repo.commit()
    got = contents(GitRepository.open(git_repo.path), "HEAD")
    assert got == {deep: b"package deep\n", "ünïcødé/ファイル.txt": b"u\n", "empty": b"",
                   "link": FileKind.SYMLINK}


def _stop_early(repo: GitRepository, commit: str, stop: BaseException) -> None:
    """Read the first archived file, then fail as a Ctrl-C or a bad stream would."""
    files = repo._archive(commit, "", "")  # the generator archive_files drains
    next(files)
    files.throw(stop)


@pytest.mark.parametrize("stop", [KeyboardInterrupt(), SourceError("a bad stream")])
def test_reader_giving_up_stops_git_instead_of_waiting(git_repo: GitRepo,
                                                      stop: BaseException) -> None:
    """When the reader stops early, git, blocked writing a full pipe, is stopped: no hang,
    the reader's own exception propagates, and the temporary directories are gone."""
    git_repo.commit(files={"a.txt": "first\n", "b.bin": os.urandom(4 << 20)})
    repo = GitRepository.open(git_repo.path)
    commit = repo.commit("HEAD").hash
    before = set(Path(tempfile.gettempdir()).glob("gopush-*"))
    raised: list[type[BaseException]] = []

    def run() -> None:
        try:
            _stop_early(repo, commit, stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            raised.append(type(exc))  # not exc: its traceback would keep the spill files

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "stopping the archive reader hung (git blocked on its pipe)"
    assert raised == [type(stop)]
    stop.__traceback__ = None
    gc.collect()  # spill directories go with the last file that refers to them
    assert set(Path(tempfile.gettempdir()).glob("gopush-*")) <= before


def test_read_files_in_one_process(git_repo: GitRepo) -> None:
    """Many blobs in one git process: contents in order, None for what is missing, a tree,
    or over the size limit; a list longer than both pipe buffers does not block."""
    git_repo.commit(files={"a/go.mod": "module a\n", "big": "x" * 5000, "b": "b\n"})
    repo = GitRepository.open(git_repo.path)
    head = repo.commit("HEAD").hash
    before = GitRunner.started
    specs = [(head, "a/go.mod"), (head, "missing"), (head, "a"), (head, "big"), (head, "b")]
    got = repo.read_files(specs * 2000, max_size=4096)
    assert GitRunner.started - before == 1
    assert got[:5] == [b"module a\n", None, None, None, b"b\n"] and got[5:10] == got[:5]
    assert len(got) == 10000
    assert repo.read_file(head, "b", max_size=4096) == b"b\n"  # a later call: same process
    assert GitRunner.started - before == 1


def test_read_files_after_its_git_ended(git_repo: GitRepo) -> None:
    """The cat-file process read_files keeps may end between calls (killed): the next call
    starts another and answers right; one that ends without answering is an error, never
    a file taken for missing."""
    git_repo.commit(files={"go.mod": "module a\n"})
    repo = GitRepository.open(git_repo.path)
    head = repo.commit("HEAD").hash
    assert repo.read_file(head, "go.mod", 100) == b"module a\n"
    (proc,) = repo._batch
    proc.kill()
    proc.wait()
    assert repo.read_file(head, "go.mod", 100) == b"module a\n"
    assert repo._batch[0] is not proc
    with pytest.raises(SourceError, match="ended without answering"):
        git_module._batch_blob(io.BytesIO(b""), 100)


def test_archived_files_are_packed_while_git_streams(git_repo: GitRepo) -> None:
    """Small regular files come out of the archive already being deflated (their packed
    bytes inflate to the file's content); vendored ones, large spilled ones and symlinks
    are left for create_zip."""
    git_repo.symlink("link", "a.go")
    git_repo.commit(files={"a.go": "package a\n" * 100, "vendor/x/y.go": "package y\n",
                           "huge.bin": os.urandom(SPOOL_BYTES + 1)})
    repo = GitRepository.open(git_repo.path)
    files = {f.path: f for f in repo.archive_files(repo.commit("HEAD").hash, "")}
    packed = files["a.go"].packed_ahead
    assert packed is not None
    assert zlib.decompress(packed.result().payload, -15) == b"package a\n" * 100
    assert [p for p, f in files.items() if f.packed_ahead is None] == [
        "huge.bin", "link", "vendor/x/y.go"]


def test_sha256_repository_builds_as_go_does(go: GoOracle, tmp_path: Path) -> None:
    """A SHA-256 repository: the shadow repository takes its object format, so git archive
    reads it, and the build gives go's hashes (it failed: "not a valid object name")."""
    path = tmp_path / "repo256"
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(path)], check=True)
    repo = GitRepo(path)
    repo.commit(files={"go.mod": "module github.com/acme/s256\n\ngo 1.22\n",
                       "s.go": "package s\n"})
    repo.tag("v1.0.0")
    go.map_repo(path, "https://github.com/acme/s256")
    want = go.download("github.com/acme/s256", "v1.0.0")
    got = build(BuildRequest(repo=path, rev="v1.0.0", out=tmp_path / "dist"), NullReporter())
    assert (got.version, got.sum, got.gomod_sum) == ("v1.0.0", want["Sum"], want["GoModSum"])


def test_archive_pipe_is_widened(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Linux git archive writes into a 1 MiB pipe (not 64 KiB: fewer context switches),
    and the files still arrive whole."""
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("pipe sizes are Linux's")
    widened: list[int] = []

    def spy(pipe: object) -> None:
        widen(pipe)
        widened.append(fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ))  # type: ignore[attr-defined]

    widen = git_module._widen_pipe
    monkeypatch.setattr(git_module, "_widen_pipe", spy)
    files = {f"f{i}.go": f"package f // {i}\n".encode() * 3000 for i in range(40)}
    git_repo.commit(files=files)
    assert contents(GitRepository.open(git_repo.path), "HEAD") == files
    assert widened == [git_module.ARCHIVE_PIPE_BYTES]


def _drop_loose_object(repo: GitRepo, oid: str) -> None:
    (repo.path / ".git" / "objects" / oid[:2] / oid[2:]).unlink()


def test_missing_blob_is_named_not_a_cut_off_stream(git_repo: GitRepo) -> None:
    """git dies on a blob it cannot read after writing part of the archive (its last output
    buffer is lost, so the tar ends mid-file): the error is git's, naming the object and
    the fix, not "git archive output ended in the middle of a file"."""
    files: dict[str, str | bytes] = {"go.mod": "module example.com/m\n"}
    files.update({f"a{i:02}.go": os.urandom(3000).hex() for i in range(40)})
    git_repo.commit(files={**files, "z.go": "package m\n"})
    blob = git_repo.git("rev-parse", "HEAD:z.go").strip()
    _drop_loose_object(git_repo, blob)
    repo = GitRepository.open(git_repo.path)
    with pytest.raises(SourceError) as caught:
        repo.archive_files(repo.commit("HEAD").hash, "")
    err = caught.value
    assert "middle of a file" not in err.message
    assert f"cannot read '{blob}'" in err.message  # git's own words
    assert f"the repository lacks object {blob}" in err.message
    assert err.hint is not None and "git fetch --refetch --no-filter" in err.hint


def test_blobless_clone_names_the_fetch_to_run(git_repo: GitRepo, tmp_path: Path) -> None:
    """A blobless partial clone lacks an old tag's blobs: the build says which object is
    missing and how to fetch it; after that fetch, the same build succeeds."""
    git_repo.git("config", "uploadpack.allowFilter", "true")
    git_repo.commit(files={"go.mod": "module example.com/m\n", "a.go": "package m\n"})
    git_repo.tag("v1.0.0")
    git_repo.commit(files={"a.go": "package m // v1.0.1\n"})
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", f"file://{git_repo.path}",
                    str(clone)], check=True, capture_output=True)
    old_blob = git_repo.git("rev-parse", "v1.0.0:a.go").strip()
    request = BuildRequest(repo=clone, rev="v1.0.0", out=tmp_path / "out")
    with pytest.raises(SourceError) as caught:
        build(request, NullReporter())
    assert f"the repository lacks object {old_blob}" in caught.value.message
    assert not (tmp_path / "out").exists()
    subprocess.run(["git", "-C", str(clone), "fetch", "-q", "--refetch", "--no-filter",
                    "origin"], check=True, capture_output=True)
    assert build(request, NullReporter()).version == "v1.0.0"


def _shallow_clone(source: GitRepo, where: Path, *extra: str) -> Path:
    """Clone ``source`` with --depth 1 (through file://, as CI checkouts do over https)."""
    subprocess.run(["git", "clone", "-q", "--depth", "1", *extra, source.path.as_uri(),
                    str(where)], check=True, capture_output=True,
                   env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull})
    return where


def test_shallow_clone_refuses_a_pseudo_version(git_repo: GitRepo, tmp_path: Path) -> None:
    """In a shallow clone the ancestors' tags may be missing, so the pseudo-version go
    computes from its full clone (v1.0.1-0.…, based on v1.0.0) cannot be known: gopush
    refuses (exit 4, saying how to unshallow) rather than publish v0.0.0-…, a version go
    never gives that commit."""
    git_repo.commit(files={"go.mod": "module example.com/shallow\n\ngo 1.21\n", "p.go": "package p\n"})
    git_repo.tag("v1.0.0")
    git_repo.commit(files={"q.go": "package p\n"})
    full = build(BuildRequest(repo=git_repo.path, rev="HEAD", out=tmp_path / "full"),
                 NullReporter())
    assert full.version.startswith("v1.0.1-0.")
    clone = _shallow_clone(git_repo, tmp_path / "clone")
    assert GitRepository.open(clone).shallow
    with pytest.raises(SourceError, match="shallow clone") as caught:
        build(BuildRequest(repo=clone, rev="HEAD", out=tmp_path / "out"), NullReporter())
    assert caught.value.exit_code == 4 and "--unshallow" in (caught.value.hint or "")


def test_shallow_clone_builds_a_tag(git_repo: GitRepo, tmp_path: Path) -> None:
    """A tagged commit needs no history: a depth-1 clone of the tag builds go's bytes."""
    git_repo.commit(files={"go.mod": "module example.com/shallow\n\ngo 1.21\n", "p.go": "package p\n"})
    git_repo.commit(files={"q.go": "package p\n"})
    git_repo.tag("v1.1.0")
    full = build(BuildRequest(repo=git_repo.path, rev="v1.1.0", out=tmp_path / "full"),
                 NullReporter())
    clone = _shallow_clone(git_repo, tmp_path / "clone", "--branch", "v1.1.0")
    got = build(BuildRequest(repo=clone, rev="v1.1.0", out=tmp_path / "out"), NullReporter())
    assert (got.version, got.sum, got.gomod_sum) == ("v1.1.0", full.sum, full.gomod_sum)


SKIPPABLE = {"go.mod": "module github.com/acme/skip\n\ngo 1.22\n", "a.go": "package a\n",
             "vendor/modules.txt": "# github.com/x/y v1.0.0\n", "vendor/x.go": "package v\n",
             "vendor/github.com/x/y/y.go": "package y\n",
             "sub/go.mod": "module github.com/acme/skip/sub\n", "sub/s.go": "package sub\n",
             "z/v.go": "package z\n"}


def test_files_the_zip_omits_are_listed_not_read(go: GoOracle, git_repo: GitRepo,
                                                tmp_path: Path) -> None:
    """Vendored packages and nested modules are left out of git archive: git ls-tree lists
    them (path and kind, in tree order) and nothing reads them. The files, their order and
    every verdict are those of the whole archive, and the build gives go's hashes even
    with a vendored blob missing from the repository, which the whole archive cannot read."""
    git_repo.symlink("vendor/github.com/x/link", "y/y.go")
    git_repo.commit(files=SKIPPABLE)
    git_repo.tag("v1.0.0")
    go.map_repo(git_repo.path, "https://github.com/acme/skip")
    want = go.download("github.com/acme/skip", "v1.0.0")
    repo = GitRepository.open(git_repo.path)
    head = repo.commit("HEAD").hash
    whole = repo.archive_files(head, "")
    skipping = repo.archive_files(head, "", skip_omitted=True)
    assert [(f.path, f.stat().kind) for f in skipping] == [(f.path, f.stat().kind) for f in whole]
    assert [f.path for f in skipping if isinstance(f, UnreadFile)] == [
        "sub/go.mod", "sub/s.go", "vendor/github.com/x/link", "vendor/github.com/x/y/y.go"]
    assert check_files(skipping) == check_files(whole)
    _drop_loose_object(git_repo, git_repo.git("rev-parse", "HEAD:vendor/github.com/x/y/y.go").strip())
    with pytest.raises(SourceError, match="lacks object"):
        GitRepository.open(git_repo.path).archive_files(head, "")
    got = build(BuildRequest(repo=git_repo.path, rev="v1.0.0", out=tmp_path / "dist"),
                NullReporter())
    assert (got.sum, got.gomod_sum) == (want["Sum"], want["GoModSum"])
    assert [issue.path for issue in got.omitted] == [
        "sub/go.mod", "sub/s.go", "vendor/github.com/x/link", "vendor/github.com/x/y/y.go"]


@pytest.mark.parametrize("where", ["glob characters in the module directory",
                                   "GIT_ICASE_PATHSPECS set"])
def test_omitted_files_are_archived_where_pathspecs_could_mean_more(
        git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """Where a pathspec could match other paths than its own (a directory named with glob
    characters, or git told to fold case in every pathspec), nothing is left out of the
    archive: the files are the same, all read."""
    subdir = "m[1]" if where.startswith("glob") else ""
    if subdir == "":
        monkeypatch.setenv("GIT_ICASE_PATHSPECS", "1")
    git_repo.commit(files={f"{subdir}/{p}" if subdir else p: c for p, c in SKIPPABLE.items()})
    repo = GitRepository.open(git_repo.path)
    head = repo.commit("HEAD").hash
    skipping = repo.archive_files(head, subdir, skip_omitted=True)
    assert not [f for f in skipping if isinstance(f, UnreadFile)]
    assert [f.path for f in skipping] == [f.path for f in repo.archive_files(head, subdir)]
