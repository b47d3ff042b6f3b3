"""gopush build against the real go command: same version, same h1:, same /go.mod h1:.

Every repository here is a real git repository, and every expected value comes from
``go mod download -json MODULE@QUERY`` run against that same repository in the same test.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from gitrepo import GitRepo
from gotool import GoOracle

from gopush.actions.build import BuildRequest, BuiltModule, build
from gopush.ui.base import NullReporter

GO_MOD = "module {path}\n\ngo {go}\n"


def gopush_build(repo: GitRepo, out: Path, **options: object) -> BuiltModule:
    """Run gopush's build action on ``repo`` (options as in BuildRequest)."""
    request = BuildRequest(repo=Path(options.pop("cwd", repo.path)), out=out, **options)  # type: ignore[arg-type]
    return build(request, NullReporter())


def same_as_go(go: GoOracle, repo: GitRepo, tmp_path: Path, module_path: str, *, url: str,
               query: str | None = None, **options: object) -> tuple[BuiltModule, dict]:
    """Build with gopush and download with go; assert version and both hashes agree."""
    go.map_repo(repo.path, url)
    rev = str(options.get("rev", "HEAD"))
    want = go.download(module_path,
                       query or repo.git("rev-parse", f"{rev}^{{commit}}").strip())
    got = gopush_build(repo, tmp_path / "dist", **options)
    assert (got.module, got.version) == (want["Path"], want["Version"])
    assert got.sum == want["Sum"], _diff(got, want)
    assert got.gomod_sum == want["GoModSum"]
    return got, want


def _diff(got: BuiltModule, want: dict) -> str:
    ours = set(zipfile.ZipFile(got.zip_path).namelist())
    theirs = set(zipfile.ZipFile(want["Zip"]).namelist())
    return f"only gopush: {sorted(ours - theirs)}; only go: {sorted(theirs - ours)}"


def test_tagged_root_module(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """A root module at a tag: version is the tag, hashes match go's."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/hello", go="1.21"),
                           "hello.go": "package hello\r\n", "LICENSE": "MIT\n",
                           "docs/readme.md": "# hi\n"})
    git_repo.tag("v1.0.0")
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/hello",
                        url="https://github.com/acme/hello")
    assert got.version == "v1.0.0"
    assert got.info_path.read_text().startswith('{"Version": "v1.0.0", "Time": "2024-01-01T')


def test_pseudo_version_without_tags(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """An untagged commit gets go's v0.0.0-<time>-<hash> pseudo-version."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/p0", go="1.22"),
                           "p.go": "package p\n"})
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/p0",
                        url="https://github.com/acme/p0")
    assert got.version.startswith("v0.0.0-2024")


def test_pseudo_version_after_release(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """A commit after v1.2.3 gets vX.Y.(Z+1)-0.<time>-<hash>."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/p1", go="1.22"),
                           "p.go": "package p\n"})
    git_repo.tag("v1.2.3")
    git_repo.commit(files={"q.go": "package p\n"})
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/p1",
                        url="https://github.com/acme/p1")
    assert got.version.startswith("v1.2.4-0.")


def test_pseudo_version_after_prerelease(go: GoOracle, git_repo: GitRepo,
                                         tmp_path: Path) -> None:
    """A commit after v1.3.0-rc.1 gets v1.3.0-rc.1.0.<time>-<hash>; the rc itself builds."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/p2", go="1.22"),
                           "p.go": "package p\n"})
    git_repo.tag("v1.3.0-rc.1", annotated=True)
    rc, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/p2",
                       url="https://github.com/acme/p2")
    assert rc.version == "v1.3.0-rc.1"
    git_repo.commit(files={"q.go": "package p\n"})
    got, _ = same_as_go(go, git_repo, tmp_path / "2", "github.com/acme/p2",
                        url="https://github.com/acme/p2")
    assert got.version.startswith("v1.3.0-rc.1.0.")


def test_highest_tag_wins_and_noncanonical_ignored(go: GoOracle, git_repo: GitRepo,
                                                    tmp_path: Path) -> None:
    """Several tags on one commit: the highest canonical one; v1.9 and tag-of-tag handled."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/tags", go="1.21"),
                           "t.go": "package t\n"})
    git_repo.tag("v1.1.0")
    git_repo.tag("v1.9")  # not canonical: go ignores it
    git_repo.tag("v1.2.0", annotated=True)
    git_repo.git("tag", "-a", "-m", "outer", "v1.4.0", "v1.2.0")  # a tag of a tag
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/tags",
                        url="https://github.com/acme/tags")
    assert got.version == "v1.4.0"


def test_nested_module_is_omitted(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """Files under a nested go.mod leave the outer zip and form their own module."""
    git_repo.commit(files={
        "go.mod": GO_MOD.format(path="github.com/acme/outer", go="1.21"),
        "a.go": "package outer\n",
        "tools/go.mod": GO_MOD.format(path="github.com/acme/outer/tools", go="1.21"),
        "tools/t.go": "package tools\n", "LICENSE": "root license\n"})
    git_repo.tag("v1.0.0")
    git_repo.tag("tools/v0.3.0")
    outer, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/outer",
                          url="https://github.com/acme/outer")
    assert {o.path for o in outer.omitted} >= {"tools/go.mod", "tools/t.go"}
    tools, _ = same_as_go(go, git_repo, tmp_path / "t", "github.com/acme/outer/tools",
                          url="https://github.com/acme/outer", subdir="tools")
    assert tools.version == "v0.3.0"
    names = zipfile.ZipFile(tools.zip_path).namelist()
    assert "github.com/acme/outer/tools@v0.3.0/LICENSE" in names  # copied from the root


def test_subdirectory_module_found_from_cwd(go: GoOracle, git_repo: GitRepo,
                                            tmp_path: Path) -> None:
    """Run in sub/pkg of a subdirectory module: the nearest go.mod is the module root."""
    git_repo.commit(files={
        "sub/go.mod": GO_MOD.format(path="github.com/acme/mono/sub", go="1.22"),
        "sub/pkg/p.go": "package pkg\n", "sub/LICENSE": "own license\n",
        "LICENSE": "root license\n", "README.md": "root\n"})
    git_repo.tag("sub/v1.0.0")
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/mono/sub",
                        url="https://github.com/acme/mono", cwd=git_repo.path / "sub" / "pkg")
    zf = zipfile.ZipFile(got.zip_path)
    assert zf.read("github.com/acme/mono/sub@v1.0.0/LICENSE") == b"own license\n"


def test_subdirectory_module_pseudo_version(go: GoOracle, git_repo: GitRepo,
                                            tmp_path: Path) -> None:
    """Pseudo-versions of a subdirectory module are based on its own prefixed tags only."""
    git_repo.commit(files={
        "go.mod": GO_MOD.format(path="github.com/acme/multi", go="1.22"),
        "lib/go.mod": GO_MOD.format(path="github.com/acme/multi/lib", go="1.22"),
        "lib/l.go": "package lib\n"})
    git_repo.tag("v3.0.0")  # belongs to the root module, not lib
    git_repo.tag("lib/v0.4.0")
    git_repo.commit(files={"lib/m.go": "package lib\n"})
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/multi/lib",
                        url="https://github.com/acme/multi", subdir="lib")
    assert got.version.startswith("v0.4.1-0.")


def test_major_version_subdirectory(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """Module .../v2 living in v2/ and tagged v2.x.y without prefix, as go resolves it."""
    git_repo.commit(files={
        "go.mod": GO_MOD.format(path="github.com/acme/major", go="1.21"),
        "m.go": "package major\n", "LICENSE": "root\n",
        "v2/go.mod": GO_MOD.format(path="github.com/acme/major/v2", go="1.21"),
        "v2/m.go": "package major\n"})
    git_repo.tag("v2.1.0")
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/major/v2",
                        url="https://github.com/acme/major", subdir="v2")
    assert got.version == "v2.1.0"
    assert "github.com/acme/major/v2@v2.1.0/LICENSE" in zipfile.ZipFile(got.zip_path).namelist()


def test_major_version_at_root(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """Module .../v3 at the repository root, tagged v3.0.1; pseudo-versions stay v3."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/rootv3/v3", go="1.21"),
                           "r.go": "package r\n"})
    git_repo.tag("v3.0.1")
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/rootv3/v3",
                        url="https://github.com/acme/rootv3")
    assert got.version == "v3.0.1"
    git_repo.commit(files={"s.go": "package r\n"})
    later, _ = same_as_go(go, git_repo, tmp_path / "2", "github.com/acme/rootv3/v3",
                          url="https://github.com/acme/rootv3")
    assert later.version.startswith("v3.0.2-0.")


def test_incompatible_without_go_mod(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """No go.mod and a v3 tag: go calls it v3.1.0+incompatible and synthesizes go.mod."""
    git_repo.commit(files={"old.go": "package old\n"})
    git_repo.tag("v3.1.0")
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/old",
                        url="https://github.com/acme/old", module="github.com/acme/old")
    assert got.version == "v3.1.0+incompatible"
    assert got.mod_path.read_bytes() == b"module github.com/acme/old\n"


def test_incompatible_beside_nested_major_module(go: GoOracle, git_repo: GitRepo,
                                                 tmp_path: Path) -> None:
    """A v4 tag stays +incompatible, while v5.0.0 belongs to the v5/ module beside it."""
    git_repo.commit(files={"x.go": "package x\n"})
    git_repo.tag("v4.0.0")
    git_repo.commit(files={"v5/go.mod": GO_MOD.format(path="github.com/acme/x/v5", go="1.21"),
                           "v5/x.go": "package x\n"})
    git_repo.tag("v5.0.0")
    old, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/x",
                        url="https://github.com/acme/x", module="github.com/acme/x",
                        rev="v4.0.0")
    assert old.version == "v4.0.0+incompatible"
    root_at_v5, _ = same_as_go(go, git_repo, tmp_path / "r", "github.com/acme/x",
                               url="https://github.com/acme/x", module="github.com/acme/x")
    # v5/go.mod claims v5.0.0, so the root module's pseudo-version builds on v4.0.0 instead.
    assert root_at_v5.version.startswith("v4.0.1-0.")
    assert root_at_v5.version.endswith("+incompatible")
    assert any(o.path.startswith("v5/") for o in root_at_v5.omitted)
    v5, _ = same_as_go(go, git_repo, tmp_path / "5", "github.com/acme/x/v5",
                       url="https://github.com/acme/x", subdir="v5")
    assert v5.version == "v5.0.0"


def test_gopkg_in_path(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """gopkg.in/NAME.v2 at v2.3.0, as go fetches it."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="gopkg.in/acme/thing.v2", go="1.21"),
                           "thing.go": "package thing\n"})
    git_repo.tag("v2.3.0")
    go.map_vanity("gopkg.in/acme/thing.v2", git_repo.path)
    got, _ = same_as_go(go, git_repo, tmp_path, "gopkg.in/acme/thing.v2",
                        url="https://gopkg.in/acme/thing.v2")
    assert got.version == "v2.3.0"


@pytest.mark.parametrize("go_line", ["1.21", "1.24"])
def test_vendor_rules_follow_go_line(go: GoOracle, git_repo: GitRepo, tmp_path: Path,
                                     go_line: str) -> None:
    """Which vendor/ files go keeps depends on the go line; gopush keeps the same ones."""
    name = f"vend{go_line.replace('.', '')}"
    git_repo.commit(files={
        "go.mod": GO_MOD.format(path=f"github.com/acme/{name}", go=go_line),
        "main.go": "package main\n",
        "vendor/modules.txt": "# example.com/dep v1.0.0\n",
        "vendor/top.go": "package vendor\n",
        "vendor/example.com/dep/dep.go": "package dep\n",
        "vendor/example.com/dep/LICENSE": "dep license\n",
        "pkg/vendor/inner/i.go": "package inner\n",
        "pkg/vendor/x.go": "package vendor\n",
        "a/b/vendor/c/d/e.go": "package d\n"})
    git_repo.tag("v1.0.0")
    same_as_go(go, git_repo, tmp_path, f"github.com/acme/{name}",
               url=f"https://github.com/acme/{name}")


def test_symlinks_are_omitted(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """Symbolic links (to files and to directories) are left out, as go leaves them out."""
    git_repo.write({"go.mod": GO_MOD.format(path="github.com/acme/links", go="1.21"),
                    "real.go": "package links\n", "dir/d.go": "package dir\n"})
    git_repo.symlink("alias.go", "real.go")
    git_repo.symlink("dirlink", "dir")
    git_repo.commit()
    git_repo.tag("v0.1.0")
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/links",
                        url="https://github.com/acme/links")
    assert {"alias.go", "dirlink"} <= {o.path for o in got.omitted}


def test_gitattributes_conversions_apply_export_attributes_do_not(
        go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """eol=crlf converts as in git archive; export-ignore and export-subst are switched off."""
    git_repo.git("config", "core.autocrlf", "true")  # the user's own setting must not leak in
    git_repo.commit(files={
        "go.mod": GO_MOD.format(path="github.com/acme/attrs", go="1.21"),
        ".gitattributes": "secret.txt export-ignore\nsubst.txt export-subst\n"
                          "*.bat eol=crlf\nbin.dat -text\n",
        "secret.txt": "kept\n", "subst.txt": "$Format:%H$\n", "run.bat": "echo a\necho b\n",
        "bin.dat": b"a\r\nb\n", "crlf.txt": b"stored\r\nwith crlf\r\n"})
    git_repo.tag("v1.0.0")
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/attrs",
                           url="https://github.com/acme/attrs")
    zf = zipfile.ZipFile(got.zip_path)
    assert zf.read("github.com/acme/attrs@v1.0.0/run.bat") == b"echo a\r\necho b\r\n"
    assert zf.read("github.com/acme/attrs@v1.0.0/subst.txt") == b"$Format:%H$\n"


def test_untracked_and_uncommitted_files_stay_out(go: GoOracle, git_repo: GitRepo,
                                                  tmp_path: Path) -> None:
    """Files the working tree has but the commit lacks are not in the zip; a warning says so."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/dirty", go="1.21"),
                           "a.go": "package dirty\n"})
    git_repo.tag("v1.0.0")
    git_repo.write({"untracked.go": "package dirty\n", "a.go": "package dirty // edited\n"})
    got, _ = same_as_go(go, git_repo, tmp_path, "github.com/acme/dirty",
                        url="https://github.com/acme/dirty")
    assert any("uncommitted changes" in w and "untracked.go" in w for w in got.warnings)


def test_older_tag_from_bare_repository(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """--repo pointing at a bare clone and --rev at an older tag builds that tag."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/bare", go="1.21"),
                           "a.go": "package bare\n"})
    git_repo.tag("v1.0.0")
    git_repo.commit(files={"b.go": "package bare\n"})
    git_repo.tag("v1.1.0")
    bare = tmp_path / "bare.git"
    git_repo.git("clone", "-q", "--bare", str(git_repo.path), str(bare))
    go.map_repo(bare, "https://github.com/acme/bare")
    want = go.download("github.com/acme/bare", "v1.0.0")
    got = build(BuildRequest(repo=bare, rev="v1.0.0", out=tmp_path / "dist"), NullReporter())
    assert (got.version, got.sum, got.gomod_sum) == (want["Version"], want["Sum"],
                                                     want["GoModSum"])


def test_goproxy_layout_serves_real_go(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """GOPROXY=file://<out> lets the real go download what gopush built, with the same sum."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/Layout", go="1.21"),
                           "l.go": "package layout\n"})
    git_repo.tag("v1.0.0")
    got = gopush_build(git_repo, tmp_path / "dist")
    assert "github.com/acme/!layout/@v/list" in {
        p.relative_to(tmp_path / "dist").as_posix() for p in (tmp_path / "dist").rglob("*")}
    info = go.download("github.com/acme/Layout", "latest",
                       GOPROXY=(tmp_path / "dist").as_uri())
    assert (info["Version"], info["Sum"], info["GoModSum"]) == (got.version, got.sum,
                                                                got.gomod_sum)


def test_vanity_import_path(go: GoOracle, git_repo: GitRepo, tmp_path: Path) -> None:
    """A vanity path (go.example.test/kit) served by a go-import meta tag, subdir module too."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="go.example.test/kit", go="1.23"),
                           "kit.go": "package kit\n", "LICENSE": "BSD\n",
                           "log/go.mod": GO_MOD.format(path="go.example.test/kit/log", go="1.23"),
                           "log/log.go": "package log\n"})
    git_repo.tag("v0.9.0")
    git_repo.tag("log/v0.2.0")
    go.map_vanity("go.example.test/kit", git_repo.path)
    root, _ = same_as_go(go, git_repo, tmp_path, "go.example.test/kit",
                         url="https://go.example.test/kit")
    log, _ = same_as_go(go, git_repo, tmp_path / "log", "go.example.test/kit/log",
                        url="https://go.example.test/kit", subdir="log")
    assert (root.version, log.version) == ("v0.9.0", "v0.2.0")


@pytest.mark.parametrize(("files", "tag", "module_path"), [
    ({"go.mod": GO_MOD.format(path="github.com/acme/nest", go="1.21"), "a.go": "package a\n",
      "sub/go.mod": GO_MOD.format(path="github.com/acme/nest/sub", go="1.21"),
      "sub/s.go": "package sub\n"}, "sub/v1.1.0", "github.com/acme/nest/sub"),
    ({"go.mod": GO_MOD.format(path="github.com/acme/nest", go="1.21"), "a.go": "package a\n",
      "v2/go.mod": GO_MOD.format(path="github.com/acme/nest/v2", go="1.21"),
      "v2/a.go": "package a\n"}, "v2.0.0", "github.com/acme/nest/v2"),
    ({"go.mod": GO_MOD.format(path="github.com/acme/nest", go="1.21"), "a.go": "package a\n",
      "sub/go.mod": GO_MOD.format(path="github.com/acme/nest/sub/v3", go="1.21"),
      "sub/s.go": "package sub\n"}, "sub/v3.0.1", "github.com/acme/nest/sub/v3"),
])
def test_a_version_tag_names_its_module_wherever_gopush_runs(
        go: GoOracle, git_repo: GitRepo, tmp_path: Path, files: dict[str, str], tag: str,
        module_path: str) -> None:
    """`--rev sub/v1.1.0` at the repository root builds the module in sub/ (go's tag prefix
    rule), and `--rev v2.0.0` the /v2 module of a major subdirectory; not the root module
    under a pseudo-version (what CI on a `*/v*` tag did)."""
    git_repo.commit(files=files)
    git_repo.tag(tag)
    got, _ = same_as_go(go, git_repo, tmp_path, module_path, url="https://github.com/acme/nest",
                        query=tag.rpartition("/")[2], rev=tag)
    assert got.version == tag.rpartition("/")[2]
