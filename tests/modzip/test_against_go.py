"""create_zip and check_zip against the real go command on real git repositories.

Each case commits a file set to a git repository, lets ``go mod download`` make the module zip
(GOPROXY=direct, so go runs git archive and modzip.Create itself), and compares: the h1: sum
and the entry names of go's zip with ours (made from ``git archive`` of the same tag), and
check_zip's verdict on both zips. Refused cases compare the error lines.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from gitrepo import GitRepo
from gotool import GoError, GoOracle

from gopush.errors import InvalidModuleZip
from gopush.modzip.check import check_zip
from gopush.modzip.create import SMALL_FILE_BYTES, create_zip
from gopush.modzip.files import DataFile, FileKind


def archive_files(repo: GitRepo, rev: str, subdir: str = "") -> list[DataFile]:
    """Return the files ``git archive`` gives for rev (below subdir), as go reads them."""
    args = ["git", "-c", "core.autocrlf=input", "-c", "core.eol=lf", "archive",
            "--format=tar", rev]
    tar_bytes = subprocess.run([*args, *([subdir] if subdir else [])], cwd=repo.path,
                               capture_output=True, check=True).stdout
    files = []
    prefix = f"{subdir}/" if subdir else ""
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for member in tar:
            if member.isdir() or not member.name.startswith(prefix):
                continue
            name = member.name[len(prefix):]
            if member.issym():
                files.append(DataFile(name, member.linkname.encode(), FileKind.SYMLINK))
            elif member.isfile():
                files.append(DataFile(name, tar.extractfile(member).read()))  # type: ignore[union-attr]
    if subdir and not any(f.path == "LICENSE" for f in files):
        root_license = subprocess.run(["git", "cat-file", "blob", f"{rev}:LICENSE"],
                                      check=False, cwd=repo.path, capture_output=True)
        if root_license.returncode == 0:
            files.append(DataFile("LICENSE", root_license.stdout))
    return files


def publish(go: GoOracle, tmp_path: Path, name: str, files: dict[str, str | bytes],
            tag: str = "v1.0.0", symlinks: dict[str, str] | None = None) -> GitRepo:
    """Commit files (and symlinks) to a fresh repository mapped to github.com/acme/<name>."""
    repo = GitRepo(tmp_path / name)
    repo.write(files)
    for link, target in (symlinks or {}).items():
        repo.symlink(link, target)
    repo.commit("files")
    repo.tag(tag)
    go.map_repo(repo.path, f"https://github.com/acme/{name}")
    return repo


def assert_same_as_go(go: GoOracle, repo: GitRepo, tmp_path: Path, module: str,
                      tag: str = "v1.0.0", version: str = "v1.0.0", subdir: str = "") -> None:
    """Our zip of the tag has go's h1: and go's entry names; check_zip accepts both zips."""
    info = go.download(module, version)
    files = archive_files(repo, tag, subdir)
    ours = tmp_path / "ours.zip"
    created = create_zip(ours, module, version, files)
    assert created.sum == info["Sum"]
    with zipfile.ZipFile(info["Zip"]) as theirs, zipfile.ZipFile(ours) as mine:
        assert sorted(mine.namelist()) == sorted(theirs.namelist())
        assert mine.testzip() is None
    for path in (ours, Path(info["Zip"])):
        checked = check_zip(path)
        assert (checked.module, checked.version) == (module, version)
        assert checked.report.error() is None
        assert checked.sum == info["Sum"]


def assert_refused_like_go(go: GoOracle, repo: GitRepo, module: str) -> None:
    """go refuses the tag, and create_zip refuses it with the same file lines."""
    with pytest.raises(GoError) as go_err:
        go.download(module, "v1.0.0")
    go_lines = re.findall(r"create zip: (.*)", str(go_err.value))
    assert go_lines, str(go_err.value)
    files = archive_files(repo, "v1.0.0")
    with pytest.raises(InvalidModuleZip) as ours:
        create_zip(repo.path.parent / "refused.zip", module, "v1.0.0", files)
    for line in go_lines:
        assert line.strip() in ours.value.message
    assert not (repo.path.parent / "refused.zip").exists()


TREE: dict[str, str | bytes] = {
    "LICENSE": "MIT\n",
    "main.go": "package main\n",
    "pkg/util.go": "package pkg\n",
    "sub/go.mod": "module github.com/acme/nested/sub\n",
    "sub/inner.go": "package sub\n",
    "other/GO.MOD": "module whatever\n",
    "other/x.go": "package other\n",
    ".hg_archival.txt": "repo: 123\n",
    "deep/.hg_archival.txt": "kept\n",
    "vendor/modules.txt": "# example.com/dep v1.0.0\n",
    "vendor/top.go": "package vendor\n",
    "vendor/example.com/dep/dep.go": "package dep\n",
    "a/vendor/b/c.go": "package b\n",
    "a/vendor/x.go": "package vendor\n",
    "pkg/vendor/vendor.go": "package vendor\n",
    "verylongdirectory/vendor/v.go": "package vendor\n",
    "dir with space/ünïcode.go": "package u\n",
    ".hg/keep": "committed\n",
}


@pytest.mark.parametrize("go_directive", ["go 1.23\n", "go 1.24\n", "go 1.24rc1\n", ""],
                         ids=["go1.23", "go1.24", "go1.24rc1", "no-go-line"])
def test_rules_match_go(go: GoOracle, tmp_path: Path, go_directive: str) -> None:
    """Nested modules, vendor trees (old and new rule), hg files and symlinks as go does."""
    name = "nested"
    files = {**TREE, "go.mod": f"module github.com/acme/{name}\n\n{go_directive}"}
    repo = publish(go, tmp_path, name, files, symlinks={"link.go": "main.go"})
    assert_same_as_go(go, repo, tmp_path, f"github.com/acme/{name}")


def test_large_streamed_file_matches_go(go: GoOracle, tmp_path: Path) -> None:
    """A file above the streaming threshold is zipped with go's h1: sum."""
    blob = bytes(range(256)) * ((SMALL_FILE_BYTES * 2 + 12345) // 256)
    repo = publish(go, tmp_path, "big", {"go.mod": "module github.com/acme/big\n",
                                          "data/blob.bin": blob, "a.go": "package a\n"})
    assert_same_as_go(go, repo, tmp_path, "github.com/acme/big")


def test_subdirectory_module_gets_root_license(go: GoOracle, tmp_path: Path) -> None:
    """A module in a subdirectory gets the repository's root LICENSE, as go adds it."""
    repo = GitRepo(tmp_path / "mono")
    repo.commit("files", {"LICENSE": "Apache\n", "go.mod": "module github.com/acme/mono\n",
                          "lib/go.mod": "module github.com/acme/mono/lib\n\ngo 1.22\n",
                          "lib/lib.go": "package lib\n"})
    repo.tag("lib/v1.2.0")
    go.map_repo(repo.path, "https://github.com/acme/mono")
    assert_same_as_go(go, repo, tmp_path, "github.com/acme/mono/lib", tag="lib/v1.2.0",
                      version="v1.2.0", subdir="lib")


def test_case_fold_collision_refused_like_go(go: GoOracle, tmp_path: Path) -> None:
    """Paths equal under case folding (ASCII and the Kelvin sign) are refused, as by go."""
    repo = publish(go, tmp_path, "fold", {"go.mod": "module github.com/acme/fold\n",
                                          "a/b.go": "package a\n", "A/c.go": "package a\n",
                                          "k.go": "package k\n", "\u212a.go": "package k\n"})
    assert_refused_like_go(go, repo, "github.com/acme/fold")


def test_root_go_mod_in_wrong_case_refused_like_go(go: GoOracle, tmp_path: Path) -> None:
    """A root GO.MOD is refused, as by go."""
    repo = publish(go, tmp_path, "upper", {"GO.MOD": "module github.com/acme/upper\n",
                                           "a.go": "package a\n"})
    assert_refused_like_go(go, repo, "github.com/acme/upper")


def test_bad_file_name_refused_like_go(go: GoOracle, tmp_path: Path) -> None:
    """A file name go does not allow (a colon) is refused, as by go."""
    repo = publish(go, tmp_path, "badname", {"go.mod": "module github.com/acme/badname\n",
                                             "a:b.go": "package a\n"})
    assert_refused_like_go(go, repo, "github.com/acme/badname")
