"""The root go.mod as the zip rules see it, and file-level refusals, judged by the real go.

Each repository holds files the two vendor rules disagree on (``vendor/modules.txt``,
``pkg/vendor/vendor.go``) and a root go.mod that says ``go 1.24`` in some way x/mod may or may
not read: CRLF line endings made by ``.gitattributes``, UTF-16 made by
``working-tree-encoding``, a go.mod that is a symlink or a directory, syntax errors elsewhere
in the file. ``go mod download`` (GOPROXY=direct) makes the zip; gopush makes it from the same
tag through its own git source (``GitRepository.archive_files``) and ``create_zip``: same
h1: and same entry names, or the same refusal.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from gitrepo import GitRepo
from gotool import GoError, GoOracle

from gopush.errors import InvalidModuleZip
from gopush.modzip.accept import accept_zip
from gopush.modzip.create import create_zip
from gopush.modzip.report import Omit
from gopush.modzip.rules import MAX_LICENSE_BYTES, check_files
from gopush.sources.git import GitRepository

VENDOR_PROBES: dict[str, str | bytes] = {
    "a.go": "package a\n",
    "vendor/modules.txt": "# example.com/x v1.0.0\n",  # omitted only under the 1.24 rule
    "pkg/vendor/vendor.go": "package vendor\n",  # omitted only under the old rule
}
GO_124 = "module github.com/acme/{name}\n\ngo 1.24\n"


def _publish(go: GoOracle, tmp_path: Path, name: str, files: dict[str, str | bytes],
             setup: object = None) -> GitRepo:
    repo = GitRepo(tmp_path / name)
    repo.write(files)
    if callable(setup):
        setup(repo)
    repo.commit("files")
    repo.tag("v1.0.0")
    go.map_repo(repo.path, f"https://github.com/acme/{name}")
    return repo


def _ours(repo: GitRepo, tmp_path: Path, module: str, subdir: str = "") -> object:
    git = GitRepository.open(repo.path)
    files = git.archive_files(repo.git("rev-parse", "v1.0.0^{commit}").strip(), subdir)
    return create_zip(tmp_path / f"{repo.path.name}.zip", module, "v1.0.0", files)


def _assert_same(go: GoOracle, repo: GitRepo, tmp_path: Path, module: str,
                 subdir: str = "") -> set[str]:
    info = go.download(module, "v1.0.0")
    created = _ours(repo, tmp_path, module, subdir)
    assert created.sum == info["Sum"]  # type: ignore[attr-defined]
    with zipfile.ZipFile(info["Zip"]) as theirs, \
            zipfile.ZipFile(tmp_path / f"{repo.path.name}.zip") as mine:
        assert sorted(mine.namelist()) == sorted(theirs.namelist())
        return {n.split("/", 3)[-1] for n in theirs.namelist()}


def _with_gitattributes(text: str) -> object:
    return lambda repo: repo.write({".gitattributes": text})


@pytest.mark.parametrize(("name", "go_mod", "setup", "new_rule"), [
    ("plain", GO_124, None, True),
    ("crlf", GO_124, _with_gitattributes("go.mod text eol=crlf\n"), True),
    ("utf16", GO_124, lambda repo: repo.write({  # git stores UTF-8, archives UTF-16
        ".gitattributes": "go.mod text working-tree-encoding=UTF-16\n",
        "go.mod": GO_124.format(name="utf16").encode("utf-16")}), False),
    ("laxerrors", GO_124 + "toolchain banana\ngodebug (\n\tnot a pair\n)\nfrob 1 2\n", None,
     True),
    ("laxgoline", "module github.com/acme/{name}\n\ngo 1.24-custom\n", None, True),
    ("syntaxerror", GO_124 + "require (\n", None, False),
    ("twomodules", GO_124 + "module github.com/acme/{name}\n", None, False),
])
def test_vendor_rule_follows_the_zipped_go_mod(go: GoOracle, tmp_path: Path, name: str,
                                               go_mod: str, setup: object,
                                               new_rule: bool) -> None:
    """gopush omits the vendor files go omits: the go line of the go.mod as zipped, read
    leniently (a file that still fails ParseLax counts as no go line)."""
    module = f"github.com/acme/{name}"
    repo = _publish(go, tmp_path, name, {**VENDOR_PROBES, "go.mod": go_mod.format(name=name)},
                    setup)
    names = _assert_same(go, repo, tmp_path, module)
    assert ("vendor/modules.txt" not in names) is new_rule
    assert ("pkg/vendor/vendor.go" in names) is new_rule


def test_go_mod_symlink_gives_no_go_line_in_the_zip(go: GoOracle, tmp_path: Path) -> None:
    """A root go.mod symlink is omitted from the zip and gives no go line (old vendor rule).

    (go then refuses the version: it reads go.mod with ``cat-file``, which gives the link's
    text, "go.mod is missing module path"; that check belongs to the resolver.)
    """
    name = "gomodlink"
    repo = _publish(go, tmp_path, name, {**VENDOR_PROBES,
                                         "real.mod": GO_124.format(name=name)},
                    lambda r: r.symlink("go.mod", "real.mod"))
    with pytest.raises(GoError, match="go.mod is missing module path"):
        go.download(f"github.com/acme/{name}", "v1.0.0")
    git = GitRepository.open(repo.path)
    files = git.archive_files(repo.git("rev-parse", "v1.0.0^{commit}").strip(), "")
    report = check_files(files)
    assert "vendor/modules.txt" in report.valid and "pkg/vendor/vendor.go" not in report.valid
    assert [i.path for i in report.omitted if i.reason == Omit.SYMLINK] == ["go.mod"]


def test_go_mod_directory_is_refused_like_go(go: GoOracle, tmp_path: Path) -> None:
    """A directory named go.mod: go zips it (old vendor rule) with this h1:, then fails to
    read go.mod; gopush's gate refuses such a zip, naming go's reason."""
    name = "gomoddir"
    _publish(go, tmp_path, name, {**VENDOR_PROBES, "go.mod/x.go": "package x\n"})
    proc = go.run(["mod", "download", "-json", f"github.com/acme/{name}@v1.0.0"])
    info = json.loads(proc.stdout)
    assert info["Error"].endswith("go.mod: is a directory")
    with pytest.raises(InvalidModuleZip, match="go.mod: is a directory"):
        accept_zip(info["Zip"])


def test_root_license_over_the_limit_is_refused_like_go(go: GoOracle, tmp_path: Path) -> None:
    """go copies a root LICENSE over 16 MiB into a subdirectory module, then refuses the zip;
    gopush refuses with go's reason and writes nothing."""
    name = "biglicense"
    big = b"x" * (MAX_LICENSE_BYTES + 1)
    repo = _publish(go, tmp_path, name, {"LICENSE": big, "sub/go.mod":
                                         f"module github.com/acme/{name}/sub\n",
                                         "sub/a.go": "package a\n"})
    repo.tag("sub/v1.0.0")
    module = f"github.com/acme/{name}/sub"
    with pytest.raises(GoError) as go_err:
        go.download(module, "v1.0.0")
    reason = re.search(r"create zip: (.*)", str(go_err.value))
    assert reason, str(go_err.value)
    git = GitRepository.open(repo.path)
    files = git.archive_files(repo.git("rev-parse", "v1.0.0^{commit}").strip(), "sub")
    dest = tmp_path / "big.zip"
    with pytest.raises(InvalidModuleZip) as ours:
        create_zip(dest, module, "v1.0.0", files)
    assert reason.group(1).strip() in ours.value.message
    assert not dest.exists()


def test_case_fold_collision_is_refused_like_go(go: GoOracle, tmp_path: Path) -> None:
    """Two paths equal under case folding: go refuses the zip; so does gopush, same words."""
    name = "casefold"
    repo = _publish(go, tmp_path, name, {"go.mod": f"module github.com/acme/{name}\n",
                                         "README": "a\n", "readme": "b\n"})
    module = f"github.com/acme/{name}"
    with pytest.raises(GoError) as go_err:
        go.download(module, "v1.0.0")
    reason = re.search(r"create zip: (.*)", str(go_err.value))
    assert reason, str(go_err.value)
    with pytest.raises(InvalidModuleZip) as ours:
        _ours(repo, tmp_path, module)
    assert reason.group(1).strip() in ours.value.message


def test_symlink_and_file_of_one_name_is_refused_like_go(go: GoOracle,
                                                          tmp_path: Path) -> None:
    """A crafted tree listing one name twice (a file and a symlink): go's verdict."""
    name = "dupname"
    repo = GitRepo(tmp_path / name)
    repo.write({"go.mod": f"module github.com/acme/{name}\n", "a.go": "package a\n"})
    repo.commit("files")
    blob = repo.git("hash-object", "-w", "--stdin", input=b"package b\n").strip()
    link = repo.git("hash-object", "-w", "--stdin", input=b"a.go").strip()
    tree = repo.git("ls-tree", "HEAD")
    tree += f"100644 blob {blob}\tb.go\n120000 blob {link}\tb.go\n"
    new_tree = repo.git("mktree", input=tree.encode()).strip()
    commit = repo.git("commit-tree", new_tree, "-p", "HEAD", "-m", "dup").strip()
    repo.git("tag", "v1.0.0", commit)
    go.map_repo(repo.path, f"https://github.com/acme/{name}")
    module = f"github.com/acme/{name}"
    git = GitRepository.open(repo.path)
    try:
        info = go.download(module, "v1.0.0")
    except GoError as err:
        reason = re.search(r"create zip: (.*)", str(err))
        with pytest.raises(InvalidModuleZip) as ours:
            create_zip(tmp_path / "d.zip", module, "v1.0.0", git.archive_files(commit, ""))
        if reason:
            assert reason.group(1).strip() in ours.value.message
        return
    created = create_zip(tmp_path / "d.zip", module, "v1.0.0", git.archive_files(commit, ""))
    assert created.sum == info["Sum"]


def test_build_refuses_a_go_mod_directory_before_writing(go: GoOracle, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    """`gopush build` of a tag whose go.mod is a directory exits 4 with go's reason and leaves
    no zip behind (go itself fails on the module after zipping it)."""
    from gopush.cli.main import main

    repo = _publish(go, tmp_path, "gomoddir2", {"a.go": "package a\n",
                                                  "go.mod/x.go": "package x\n"})
    out = tmp_path / "out"
    code = main(["build", "--repo", str(repo.path), "--rev", "v1.0.0", "--subdir", "",
                 "--module", "github.com/acme/gomoddir2", "--out", str(out)])
    assert code == 4
    assert "go.mod is a directory" in capsys.readouterr().err
    assert not list(out.rglob("*.zip"))


def _root_license_symlink(repo: GitRepo) -> None:
    repo.write({"COPYING": "MIT\n"})
    repo.symlink("LICENSE", "COPYING")


@pytest.mark.parametrize(("name", "files", "setup"), [
    ("licplain", {"LICENSE": "MIT\n"}, None),
    ("licown", {"LICENSE": "MIT\n", "sub/LICENSE": "BSD\n"}, None),
    ("licdir", {"LICENSE": "MIT\n", "sub/LICENSE/x.txt": "not a license\n"}, None),
    ("liclink", {}, _root_license_symlink),
    ("licexact", {"LICENSE": b"y" * MAX_LICENSE_BYTES}, None),
])
def test_root_license_copied_as_go_copies_it(go: GoOracle, tmp_path: Path, name: str,
                                             files: dict[str, str | bytes],
                                             setup: object) -> None:
    """The root LICENSE goes into a subdirectory module as go puts it there: not when the
    module has its own, as raw blob bytes (a symlink's text), 16 MiB exactly is fine, and a
    LICENSE directory in the module does not count as one: same h1:, or go's refusal."""
    module = f"github.com/acme/{name}/sub"
    repo = _publish(go, tmp_path, name, {**files, "sub/go.mod": f"module {module}\n",
                                         "sub/a.go": "package a\n"}, setup)
    repo.tag("sub/v1.0.0")
    try:
        info = go.download(module, "v1.0.0")
    except GoError as err:
        reason = re.search(r"create zip: (.*)", str(err))
        assert reason, str(err)
        with pytest.raises(InvalidModuleZip) as ours:
            _ours(repo, tmp_path, module, "sub")
        assert reason.group(1).strip() in ours.value.message
        print(f"{name}: go and gopush refuse: {reason.group(1).strip()}")
        return
    assert _ours(repo, tmp_path, module, "sub").sum == info["Sum"]  # type: ignore[attr-defined]
    print(f"{name}: go and gopush accept with {info['Sum']}")


def test_go_mod_gitlink_is_no_go_mod(go: GoOracle, tmp_path: Path) -> None:
    """A root go.mod that is a submodule entry (gitlink): go reads no go.mod and zips none;
    gopush's files have none either, with go's h1:."""
    name = "gomodlink2"
    repo = GitRepo(tmp_path / name)
    repo.write(VENDOR_PROBES)
    first = repo.commit("files")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{first},go.mod")
    repo.git("commit", "-q", "-m", "gitlink")
    repo.tag("v1.0.0")
    go.map_repo(repo.path, f"https://github.com/acme/{name}")
    names = _assert_same(go, repo, tmp_path, f"github.com/acme/{name}")
    assert "go.mod" not in names and "vendor/modules.txt" in names
