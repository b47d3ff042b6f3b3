"""`gopush build` as a user runs it: exit codes, messages, stdout/stderr separation, JSON."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from cli.conftest import Run
from gitrepo import GitRepo
from gotool import GoOracle

GO_MOD = "module {path}\n\ngo 1.22\n"


@pytest.fixture
def tagged(git_repo: GitRepo) -> GitRepo:
    """A module github.com/acme/cli tagged v1.0.0."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/cli"),
                           "c.go": "package cli\n"})
    git_repo.tag("v1.0.0")
    return git_repo


def test_prints_go_sum_lines(gopush_cli: Run, tagged: GitRepo) -> None:
    """stdout holds exactly the two go.sum lines; progress goes to stderr."""
    code, out, err = gopush_cli(tagged.path, "build")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("github.com/acme/cli v1.0.0 h1:")
    assert lines[1].startswith("github.com/acme/cli v1.0.0/go.mod h1:")
    assert "built github.com/acme/cli@v1.0.0" in err


def test_json_document(gopush_cli: Run, tagged: GitRepo) -> None:
    """--json prints one JSON object with paths, sums, file count and omitted files."""
    tagged.symlink("link.go", "c.go")
    tagged.commit()
    tagged.tag("v1.0.1")
    code, out, _ = gopush_cli(tagged.path, "build", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["module"] == "github.com/acme/cli" and doc["version"] == "v1.0.1"
    assert doc["sum"].startswith("h1:") and doc["gomod_sum"].startswith("h1:")
    assert doc["files"] == 2
    assert {"path": "link.go", "reason": "symlink"} in doc["omitted"]
    for key in ("zip", "mod", "info"):
        assert Path(tagged.path, doc[key]).exists()


def test_zip_is_byte_reproducible(gopush_cli: Run, tagged: GitRepo,
                                  tmp_path: Path) -> None:
    """Two builds of the same revision give identical zip bytes."""
    for out in ("one", "two"):
        assert gopush_cli(tagged.path, "build", "--out", str(tmp_path / out))[0] == 0
    first = next((tmp_path / "one").rglob("*.zip")).read_bytes()
    second = next((tmp_path / "two").rglob("*.zip")).read_bytes()
    assert first == second


def test_no_go_mod_and_no_module(gopush_cli: Run, git_repo: GitRepo) -> None:
    """Without go.mod and --module the error names both fixes; exit 4."""
    git_repo.commit(files={"a.go": "package a\n"})
    code, out, err = gopush_cli(git_repo.path, "build")
    assert code == 4 and out == ""
    assert "no go.mod" in err and "--module" in err


def test_major_version_without_suffix(gopush_cli: Run,
                                      tagged: GitRepo) -> None:
    """--version v2.0.0 for a module without /v2 is refused with the fix named."""
    code, _, err = gopush_cli(tagged.path, "build", "--version", "v2.0.0")
    assert code == 4
    assert "module path must match major version (\"github.com/acme/cli/v2\")" in err
    assert "github.com/acme/cli/v2" in err


def test_non_canonical_version(gopush_cli: Run, tagged: GitRepo) -> None:
    """--version v1.2 is not canonical: refused, suggesting v1.2.0."""
    code, _, err = gopush_cli(tagged.path, "build", "--version", "v1.2")
    assert code == 4
    assert "not a canonical version" in err and "v1.2.0" in err


def test_non_canonical_tag_is_ignored(gopush_cli: Run,
                                      git_repo: GitRepo) -> None:
    """A tag like v1.2 does not name a version: the commit gets a pseudo-version, as in go."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/nc"),
                           "a.go": "package a\n"})
    git_repo.tag("v1.2")
    code, out, err = gopush_cli(git_repo.path, "build")
    assert code == 0, err
    assert out.split()[1].startswith("v0.0.0-")


def test_moved_tag_is_refused(gopush_cli: Run, tagged: GitRepo) -> None:
    """--version naming a tag that points elsewhere is refused, naming --rev."""
    tagged.commit(files={"d.go": "package cli\n"})
    code, _, err = gopush_cli(tagged.path, "build", "--version", "v1.0.0")
    assert code == 4
    assert "points at" in err and "--rev v1.0.0" in err


def test_uncommitted_changes_are_reported(gopush_cli: Run,
                                          tagged: GitRepo) -> None:
    """Edits in the checkout are named in a warning: the zip comes from the commit."""
    (tagged.path / "c.go").write_text("package cli // edited\n")
    code, out, err = gopush_cli(tagged.path, "build")
    assert code == 0
    assert "uncommitted changes" in err and "c.go" in err
    assert "v1.0.0" in out


def test_unknown_revision(gopush_cli: Run, tagged: GitRepo) -> None:
    """A revision that does not exist: exit 4 and a hint about fetching tags."""
    code, _, err = gopush_cli(tagged.path, "build", "--rev", "v9.9.9")
    assert code == 4
    # go's words for `go mod download M@v9.9.9`: "invalid version: unknown revision v9.9.9"
    assert "unknown revision v9.9.9" in err and "git fetch --tags" in err


def test_not_a_git_repository(gopush_cli: Run, tmp_path: Path) -> None:
    """A plain directory without --worktree: exit 4, naming --worktree."""
    (tmp_path / "plain").mkdir()
    code, _, err = gopush_cli(tmp_path / "plain", "build")
    assert code == 4
    assert "is not a git repository" in err and "--worktree" in err
    assert "Traceback" not in err


def test_worktree_of_plain_directory(gopush_cli: Run,
                                     tmp_path: Path) -> None:
    """An unpacked tarball builds with --worktree --version; .gitignore and --exclude apply."""
    root = tmp_path / "tarball"
    (root / "build").mkdir(parents=True)
    (root / "go.mod").write_text(GO_MOD.format(path="example.com/tarball"))
    (root / "t.go").write_text("package tarball\n")
    (root / ".gitignore").write_text("build/\n*.log\n")
    (root / "build" / "out.bin").write_bytes(b"x")
    (root / "debug.log").write_text("x")
    (root / "notes.txt").write_text("x")
    code, _, err = gopush_cli(root, "build", "--worktree", "--version", "v0.1.0",
                         "--exclude", "notes.txt", "--out", str(tmp_path / "dist"))
    assert code == 0, err
    assert "working tree" in err
    zip_path = next((tmp_path / "dist").rglob("*.zip"))
    names = sorted(zipfile.ZipFile(zip_path).namelist())
    prefix = "example.com/tarball@v0.1.0/"
    assert names == [prefix + n for n in (".gitignore", "go.mod", "t.go")]


def test_plain_directory_needs_version(gopush_cli: Run,
                                       tmp_path: Path) -> None:
    """--worktree on a plain directory without --version says to pass one."""
    (tmp_path / "go.mod").write_text(GO_MOD.format(path="example.com/x"))
    code, _, err = gopush_cli(tmp_path, "build", "--worktree")
    assert code == 4 and "--version" in err


def test_all_builds_every_tagged_module(gopush_cli: Run,
                                        git_repo: GitRepo) -> None:
    """--all builds each module whose tag points at the revision, and only those."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/all"),
                           "a.go": "package all\n",
                           "x/go.mod": GO_MOD.format(path="github.com/acme/all/x"),
                           "x/x.go": "package x\n",
                           "y/go.mod": GO_MOD.format(path="github.com/acme/all/y"),
                           "y/y.go": "package y\n"})
    git_repo.tag("v1.0.0")
    git_repo.tag("x/v0.2.0")
    code, out, err = gopush_cli(git_repo.path, "build", "--all", "--json")
    assert code == 0, err
    built = {(m["module"], m["version"]) for m in json.loads(out)["modules"]}
    assert built == {("github.com/acme/all", "v1.0.0"), ("github.com/acme/all/x", "v0.2.0")}


def test_all_names_the_modules_it_skipped(gopush_cli: Run, git_repo: GitRepo) -> None:
    """--all says which modules it skipped (no version tag at the commit) and counts them,
    on stderr without -v, and lists them in --json."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/all"),
                           "a.go": "package all\n",
                           "x/go.mod": GO_MOD.format(path="github.com/acme/all/x"),
                           "x/x.go": "package x\n"})
    git_repo.tag("v1.0.0")
    code, _, err = gopush_cli(git_repo.path, "build", "--all")
    assert code == 0, err
    short = git_repo.git("rev-parse", "--short=12", "HEAD").strip()
    assert f"skipped github.com/acme/all/x: no version tag at {short}" in err
    assert f"--all at {short}: 1 built, 1 skipped (no version tag)" in err
    code, out, _ = gopush_cli(git_repo.path, "build", "--all", "--json")
    assert code == 0 and json.loads(out)["skipped"] == ["github.com/acme/all/x"]


def test_all_names_a_tag_it_passed_over(gopush_cli: Run, git_repo: GitRepo) -> None:
    """A module skipped by --all although a tag for it is there (x/v1.0, not a complete
    version): the skip line names the tag and why go does not read it as a version."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/all"),
                           "a.go": "package all\n",
                           "x/go.mod": GO_MOD.format(path="github.com/acme/all/x"),
                           "x/x.go": "package x\n"})
    git_repo.tag("v1.0.0")
    git_repo.tag("x/v1.0")
    code, _, err = gopush_cli(git_repo.path, "build", "--all")
    assert code == 0, err
    assert "skipped github.com/acme/all/x: no version tag at " in err
    assert "tag x/v1.0 is not one of its versions: v1.0 is not a complete version" in err


def test_module_path_must_match_origin(gopush_cli: Run,
                                       tagged: GitRepo) -> None:
    """go.mod naming another repository than origin is an error unless --module insists."""
    tagged.git("remote", "add", "origin", "git@github.com:acme/other.git")
    code, _, err = gopush_cli(tagged.path, "build")
    assert code == 4
    assert "origin is github.com/acme/other" in err and "--module" in err
    code, _, err = gopush_cli(tagged.path, "build", "--module", "github.com/acme/cli")
    assert code == 0 and "does not match the repository" in err


@pytest.mark.parametrize(("url", "root"), [
    ("https://github.com/Acme/Hello.git", "github.com/Acme/Hello"),
    ("git@github.com:acme/hello.git", "github.com/acme/hello"),
    ("ssh://git@gitlab.com/group/sub/name.git", "gitlab.com/group/sub/name"),
    ("https://git.example.test/acme/hello.git", None),
    ("/srv/git/hello.git", None),
])
def test_repo_root_from_remote(url: str, root: str | None) -> None:
    """Remote URLs of well-known hosts map to their import path; others to None."""
    from gopush.sources.coderepo import repo_root_from_remote

    assert repo_root_from_remote(url) == root


def test_outputs_are_world_readable_and_not_reported_dirty(
        gopush_cli: Run, tagged: GitRepo) -> None:
    """.mod/.info/list follow the umask like the zip; a second build does not flag dist/."""
    assert gopush_cli(tagged.path, "build")[0] == 0
    for path in (tagged.path / "dist").rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o044 == 0o044, path
    code, _, err = gopush_cli(tagged.path, "build")
    assert code == 0 and "uncommitted" not in err


def test_subdir_that_does_not_exist(gopush_cli: Run, tagged: GitRepo) -> None:
    """--subdir naming no directory at the revision says so."""
    code, _, err = gopush_cli(tagged.path, "build", "--subdir", "nope")
    assert code == 4 and "no directory 'nope'" in err


def test_version_without_v_suggests_the_fix(gopush_cli: Run,
                                            tagged: GitRepo) -> None:
    """--version 1.0.0 suggests v1.0.0."""
    code, _, err = gopush_cli(tagged.path, "build", "--version", "1.0.0")
    assert code == 4 and "'v1.0.0'" in err


def test_worktree_of_git_checkout(gopush_cli: Run, tagged: GitRepo, tmp_path: Path) -> None:
    """--worktree in a checkout zips tracked and untracked files, never ignored ones, and warns."""
    tagged.write({".gitignore": "*.tmp\n", "new.go": "package cli\n", "scratch.tmp": "x"})
    (tagged.path / "c.go").write_text("package cli // edited\n")
    code, _, err = gopush_cli(tagged.path, "build", "--worktree", "--version", "v1.0.1",
                              "--out", str(tmp_path / "dist"))
    assert code == 0, err
    assert "working tree" in err
    zip_path = next((tmp_path / "dist").rglob("*.zip"))
    zf = zipfile.ZipFile(zip_path)
    prefix = "github.com/acme/cli@v1.0.1/"
    assert sorted(zf.namelist()) == [prefix + n for n in (".gitignore", "c.go", "go.mod",
                                                          "new.go")]
    assert zf.read(prefix + "c.go") == b"package cli // edited\n"


@pytest.mark.parametrize("out", ["dist", "build/proxy"])
def test_worktree_leaves_its_own_output_out(gopush_cli: Run, tagged: GitRepo, out: str) -> None:
    """--worktree with --out inside the tree (the default dist/ included): the second build
    zips the same files and prints the same h1: as the first, not the first one's output."""
    runs = [gopush_cli(tagged.path, "build", "--worktree", "--version", "v1.0.1", "--out", out)
            for _ in range(2)]
    assert [code for code, _, _ in runs] == [0, 0], runs[1][2]
    assert runs[0][1] == runs[1][1]  # the go.sum lines, h1: included
    names = zipfile.ZipFile(next((tagged.path / out).rglob("*.zip"))).namelist()
    assert sorted(names) == ["github.com/acme/cli@v1.0.1/c.go", "github.com/acme/cli@v1.0.1/go.mod"]


def test_plain_directory_worktree_leaves_its_own_output_out(gopush_cli: Run,
                                                            tmp_path: Path) -> None:
    """The same for a plain directory (no git): the default dist/ is not zipped."""
    (tmp_path / "go.mod").write_text(GO_MOD.format(path="example.com/plain"))
    (tmp_path / "p.go").write_text("package plain\n")
    runs = [gopush_cli(tmp_path, "build", "--worktree", "--version", "v0.1.0") for _ in range(2)]
    assert [code for code, _, _ in runs] == [0, 0], runs[1][2]
    assert runs[0][1] == runs[1][1]


def test_revision_build_does_not_call_its_output_a_change(gopush_cli: Run,
                                                          tagged: GitRepo) -> None:
    """--out dist/proxy: git status folds the untracked dist/ into one entry; that is gopush's
    own output, not an uncommitted change to warn about on every later build."""
    for _ in range(2):
        code, _, err = gopush_cli(tagged.path, "build", "--out", "dist/proxy")
        assert code == 0 and "uncommitted" not in err, err


def test_push_after_a_build_does_not_call_dist_a_change(gopush_cli: Run, tagged: GitRepo,
                                                       tmp_path: Path) -> None:
    """`gopush build` leaves dist/ untracked; a later push (which builds into a scratch
    directory) does not warn about it as an uncommitted change, now or on any later run."""
    assert gopush_cli(tagged.path, "build")[0] == 0
    code, _, err = gopush_cli(tagged.path, "push", "--to", f"dir:{tmp_path / 'proxy'}")
    assert code == 0, err
    assert "uncommitted" not in err


def test_exclude_on_a_revision_warns(gopush_cli: Run, tagged: GitRepo, tmp_path: Path) -> None:
    """--exclude on a git revision drops the files and warns that go's hash will differ."""
    tagged.commit(files={"docs/big.pdf": b"%PDF", "docs/keep.md": "k\n"})
    tagged.tag("v1.1.0")
    code, _, err = gopush_cli(tagged.path, "build", "--exclude", "*.pdf",
                              "--out", str(tmp_path / "dist"))
    assert code == 0, err
    assert "--exclude drops files that go keeps" in err
    names = zipfile.ZipFile(next((tmp_path / "dist").rglob("*.zip"))).namelist()
    assert "github.com/acme/cli@v1.1.0/docs/keep.md" in names
    assert not any(n.endswith(".pdf") for n in names)


def test_push_without_zip_outside_a_checkout(gopush_cli: Run, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`gopush push go OWNER/REPO` with no zip in a plain directory: exit 4, and the hint
    names what push accepts (not build's --worktree); nothing is sent."""
    monkeypatch.setenv("GOPUSH_API_KEY", "key-for-a-push-that-never-starts")
    monkeypatch.setenv("GOPUSH_API_HOST", "http://127.0.0.1:9")
    (tmp_path / "plain").mkdir()
    code, _, err = gopush_cli(tmp_path / "plain", "push", "go", "acme/mods")
    assert code == 4
    assert "is not a git repository" in err and "gopush build" in err
    assert "--worktree" not in err and "Traceback" not in err


@pytest.mark.parametrize(("argv", "named"), [
    (["check"], "pass a module zip"),
    (["verify", "example.com/x@v1.0.0", "--to", "dir:proxy"], "--zip FILE"),
])
def test_not_a_repository_hints_name_the_commands_own_options(
        gopush_cli: Run, tmp_path: Path, argv: list[str], named: str) -> None:
    """Outside a checkout, check and verify hint at what they accept, not at build's --repo."""
    plain = tmp_path / "plain"
    proxy = plain / "proxy" / "example.com" / "x" / "@v"
    proxy.mkdir(parents=True)
    (proxy / "v1.0.0.info").write_text('{"Version": "v1.0.0"}')
    (proxy / "v1.0.0.mod").write_text("module example.com/x\n")
    with zipfile.ZipFile(proxy / "v1.0.0.zip", "w") as z:
        z.writestr("example.com/x@v1.0.0/go.mod", "module example.com/x\n")
    code, _, err = gopush_cli(plain, *argv)
    assert code == 4, err
    assert "is not a git repository" in err and named in err
    assert "--repo" not in err and "Traceback" not in err


@pytest.mark.parametrize("where", ["repo option", "cwd"])
def test_a_checkouts_git_directory_builds_like_the_checkout(gopush_cli: Run, tagged: GitRepo,
                                                            tmp_path: Path, where: str) -> None:
    """`--repo CHECKOUT/.git` (or running inside .git) reads the repository like a bare
    one: the same go.sum lines as from the checkout, not an unexpected IndexError."""
    code, want, err = gopush_cli(tagged.path, "build", "--rev", "v1.0.0", "--out",
                                 str(tmp_path / "a"))
    assert code == 0, err
    git_dir = tagged.path / ".git"
    args = ["--repo", str(git_dir)] if where == "repo option" else []
    code, got, err = gopush_cli(git_dir if where == "cwd" else tmp_path, "build", *args,
                                "--rev", "v1.0.0", "--out", str(tmp_path / "b"))
    assert code == 0, err
    assert got == want


def test_worktree_of_a_repository_with_no_commit_yet(gopush_cli: Run, tmp_path: Path) -> None:
    """`git init` and no commit: --worktree --version builds the files on disk (was
    "unknown revision 'HEAD'")."""
    repo = GitRepo(tmp_path / "fresh")
    (repo.path / "go.mod").write_text("module example.com/fresh\n")
    (repo.path / "f.go").write_text("package fresh\n")
    code, out, err = gopush_cli(repo.path, "build", "--worktree", "--version", "v0.1.0",
                                "--out", str(tmp_path / "dist"))
    assert code == 0, err
    assert out.startswith("example.com/fresh v0.1.0 h1:")


def _tree(root: Path) -> list[str] | None:
    """Return everything below ``root`` (None when it does not exist)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else None


@pytest.mark.parametrize("out_exists", [False, True])
def test_refused_build_leaves_out_as_it_was(gopush_cli: Run, git_repo: GitRepo, tmp_path: Path,
                                           out_exists: bool) -> None:
    """A build go would refuse (two paths equal under case folding) writes nothing: no zip,
    and no empty ``<module>/@v`` directories, whether or not ``--out`` existed before."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/cli"),
                           "a.go": "package cli\n", "A.go": "package cli\n"})
    git_repo.tag("v1.0.0")
    out = tmp_path / "out" / "proxy"
    if out_exists:
        (out / "other").mkdir(parents=True)
    before = _tree(tmp_path / "out")
    code, _, err = gopush_cli(git_repo.path, "build", "--out", str(out))
    assert code == 4, err
    assert "case-insensitive file name collision" in err
    assert _tree(tmp_path / "out") == before


def test_v2_module_with_a_v1_tag(gopush_cli: Run, git_repo: GitRepo, go: GoOracle) -> None:
    """A /v2 module whose commit is tagged v1.0.0 (and v2.0, not a complete version): go
    passes both tags over and builds a pseudo-version; gopush builds the same one, and warns
    naming each tag and why. Asked for v1.0.0, the hint names the path v1 versions belong
    to (without a suffix), never a /v1 path, which go never uses."""
    git_repo.commit(files={"go.mod": GO_MOD.format(path="github.com/acme/mv/v2"),
                           "m.go": "package mv\n"})
    git_repo.tag("v1.0.0")
    git_repo.tag("v2.0")
    go.map_repo(git_repo.path, "https://github.com/acme/mv")
    want = go.download("github.com/acme/mv/v2", git_repo.git("rev-parse", "HEAD").strip())
    code, out, err = gopush_cli(git_repo.path, "build")
    assert code == 0, err
    assert out.split()[:2] == ["github.com/acme/mv/v2", want["Version"]]
    assert want["Version"].startswith("v2.0.0-")
    assert "tag v1.0.0 at commit" in err and "should be v2, not v1" in err
    assert "tag v2.0 at commit" in err and "not a complete version" in err
    code, _, err = gopush_cli(git_repo.path, "build", "--rev", "v1.0.0")
    assert code == 4
    assert "/v1" not in err
    assert "v1.x.y versions belong to the module path without a major version suffix, " \
           "github.com/acme/mv" in err
