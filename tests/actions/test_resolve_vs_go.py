"""Which module and version a revision names, judged by the real go (sources/module.py).

Every case is a real git repository, and every expected answer comes from
``go mod download -json MODULE@QUERY`` against that same repository in the same test: the
same version, ``h1:`` and ``/go.mod h1:``, or a refusal where go refuses (exit 4, go's
reason in gopush's message). Three rule families: go.mod read as leniently as go reads it,
the major-version layout as go's findDir decides it, and queries as go's Query answers them.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gitrepo import GitRepo
from gotool import GoError, GoOracle

from gopush.actions.build import BuildRequest, BuiltModule, build
from gopush.actions.check import check_source
from gopush.cli.main import main
from gopush.errors import GopushError
from gopush.ui.base import NullReporter


def repo_with(root: Path, name: str, files: dict[str, str], tag: str | None = "v1.0.0",
              go: GoOracle | None = None) -> GitRepo:
    """Return a repository github.com/acme/NAME with ``files`` committed (and tagged)."""
    repo = GitRepo(root / name)
    repo.commit(files=files)
    if tag:
        repo.tag(tag)
    if go is not None:
        go.map_repo(repo.path, f"https://github.com/acme/{name}")
    return repo


def gopush(repo: GitRepo, out: Path, reporter: NullReporter | None = None,
           **options: object) -> BuiltModule:
    request = BuildRequest(repo=repo.path, out=out, **options)  # type: ignore[arg-type]
    return build(request, reporter or NullReporter())


def assert_same(got: BuiltModule, want: dict) -> None:
    assert (got.module, got.version) == (want["Path"], want["Version"])
    assert got.sum == want["Sum"]
    assert got.gomod_sum == want["GoModSum"]


def assert_refused_like_go(go: GoOracle, path: str, query: str, repo: GitRepo, out: Path,
                           **options: object) -> str:
    """go refuses path@query; gopush refuses too, exit 4, with go's reason."""
    with pytest.raises(GoError) as go_err:
        go.download(path, query)
    reason = str(go_err.value).strip().split(": invalid version: ", 1)[-1]
    reason = reason.split(": invalid pseudo-version: ", 1)[-1]
    with pytest.raises(GopushError) as ours:
        gopush(repo, out, **options)
    assert ours.value.exit_code == 4
    assert reason in ours.value.message, (reason, ours.value.message)
    return reason


# -- go.mod as go reads it: a strict parse only warns ---------------------------------------

LENIENT = {
    "unknown-directive": "go 1.21\nfoo bar\n",
    "bad-toolchain": "go 1.21\ntoolchain 1.21\n",
    "bad-godebug": "go 1.21\ngodebug x\n",
    "unterminated-block": "go 1.21\nrequire (\n",
    "unterminated-string": "go 1.21\nrequire \"unterminated\n",
}


@pytest.mark.parametrize("name", sorted(LENIENT))
def test_go_mod_go_builds_is_built_with_a_warning(go: GoOracle, tmp_path: Path,
                                                  name: str) -> None:
    """go serves a module whose go.mod a strict parse refuses; so does gopush, warning."""
    module = f"github.com/acme/{name}"
    repo = repo_with(tmp_path, name, {"go.mod": f"module {module}\n\n{LENIENT[name]}",
                                      "a.go": "package a\n"}, go=go)
    reporter = NullReporter()
    assert_same(gopush(repo, tmp_path / "dist", reporter), go.download(module, "v1.0.0"))
    assert any("`go build` inside this module will fail: go.mod:" in w
               for w in reporter.warnings), reporter.warnings


@pytest.mark.parametrize(("name", "go_mod"), [
    ("raw", "module `github.com/acme/raw`\n\ngo 1.21\n"),
    ("twomod", "module github.com/acme/twomod\nmodule github.com/acme/other\n"),
])
def test_module_path_is_the_first_module_line(go: GoOracle, tmp_path: Path, name: str,
                                              go_mod: str) -> None:
    """The path is the first module line, raw strings included (modfile.ModulePath)."""
    repo = repo_with(tmp_path, name, {"go.mod": go_mod, "a.go": "package a\n"}, go=go)
    got = gopush(repo, tmp_path / "dist")
    assert_same(got, go.download(f"github.com/acme/{name}", "v1.0.0"))


# -- major-version layout: go's findDir ------------------------------------------------------


def test_root_and_vn_go_mod_both_claiming_vn_is_refused(go: GoOracle, tmp_path: Path) -> None:
    """go.mod and v2/go.mod both declaring /v2: go refuses, gopush too, from either one."""
    repo = repo_with(tmp_path, "both", {"go.mod": "module github.com/acme/both/v2\n",
                                        "v2/go.mod": "module github.com/acme/both/v2\n"},
                     tag="v2.0.0", go=go)
    reason = assert_refused_like_go(go, "github.com/acme/both/v2", "v2.0.0", repo,
                                    tmp_path / "a", rev="v2.0.0")
    assert "both have .../v2 module paths" in reason
    with pytest.raises(GopushError, match="both have"):
        gopush(repo, tmp_path / "b", subdir="")


def test_vn_go_mod_with_another_major_is_refused(go: GoOracle, tmp_path: Path) -> None:
    """v2/go.mod declaring /v3: go refuses github.com/acme/nonv2/v2@v2.0.0."""
    repo = repo_with(tmp_path, "nonv2", {"go.mod": "module github.com/acme/nonv2\n",
                                         "v2/go.mod": "module github.com/acme/nonv2/v3\n"},
                     tag="v2.0.0", go=go)
    assert_refused_like_go(go, "github.com/acme/nonv2/v2", "v2.0.0", repo, tmp_path / "a",
                           rev="v2.0.0", module="github.com/acme/nonv2/v2")


def test_go_mod_with_v1_suffix_is_refused(go: GoOracle, tmp_path: Path) -> None:
    """go.mod declaring .../v1 (a malformed suffix): go refuses the unversioned path."""
    repo = repo_with(tmp_path, "malf", {"go.mod": "module github.com/acme/malf/v1\n"}, go=go)
    assert_refused_like_go(go, "github.com/acme/malf", "v1.0.0", repo, tmp_path / "a",
                           rev="v1.0.0", module="github.com/acme/malf")


def test_go_mod_with_post_v1_path_at_v1_is_refused(go: GoOracle, tmp_path: Path) -> None:
    """go.mod declaring /v2, asked for as the unversioned path: go refuses."""
    repo = repo_with(tmp_path, "post", {"go.mod": "module github.com/acme/post/v2\n"}, go=go)
    assert_refused_like_go(go, "github.com/acme/post", "v1.0.0", repo, tmp_path / "a",
                           rev="v1.0.0", module="github.com/acme/post")


@pytest.mark.parametrize("suffix", ["v0", "v1"])
def test_malformed_major_suffix_is_refused(go: GoOracle, tmp_path: Path, suffix: str) -> None:
    """A module path ending in /v0 or /v1: go refuses it (malformed module path)."""
    name = f"sfx{suffix}"
    module = f"github.com/acme/{name}/{suffix}"
    repo = repo_with(tmp_path, name, {"go.mod": f"module {module}\n"}, go=go)
    with pytest.raises(GoError, match="malformed module path"):
        go.download(module, "v1.0.0")
    with pytest.raises(GopushError) as ours:
        gopush(repo, tmp_path / "dist", rev="v1.0.0", module=module)
    assert ours.value.exit_code == 4 and "malformed module path" in ours.value.message


def test_gopkg_in_go_mod_serves_an_unversioned_path(go: GoOracle, tmp_path: Path) -> None:
    """golang.org/issue/34254: go serves github.com/acme/gopkgin from a go.mod declaring
    gopkg.in/yaml.v2; gopush builds the same zip."""
    repo = repo_with(tmp_path, "gopkgin", {"go.mod": "module gopkg.in/yaml.v2\n",
                                           "y.go": "package yaml\n"}, go=go)
    got = gopush(repo, tmp_path / "dist", module="github.com/acme/gopkgin")
    assert_same(got, go.download("github.com/acme/gopkgin", "v1.0.0"))


@pytest.mark.parametrize(("name", "go_mod", "accepted"), [
    ("nomod", None, True),  # go synthesizes module gopkg.in/...: gopkg.in needs no go.mod
    ("unversioned", "module github.com/acme/unversioned\n", False),  # not a .v2 path
    ("v2dir", "module gopkg.in/acme/v2dir.v2\n", True),
])
def test_gopkg_in_major_never_looks_in_a_vn_directory(go: GoOracle, tmp_path: Path, name: str,
                                                      go_mod: str | None,
                                                      accepted: bool) -> None:
    """gopkg.in/NAME.v2: the major version is in the path, never a v2/ directory (a v2/go.mod
    is just a nested module); go.mod must claim .v2 if there is one."""
    module = f"gopkg.in/acme/{name}.v2"
    files = {"a.go": "package a\n", "v2/go.mod": f"module {module}\n", "v2/b.go": "package b\n"}
    if go_mod is not None:
        files["go.mod"] = go_mod
    repo = repo_with(tmp_path, name, files, tag="v2.0.0")
    go.map_vanity(module, repo.path)
    if accepted:
        got = gopush(repo, tmp_path / "dist", rev="v2.0.0", module=module)
        assert_same(got, go.download(module, "v2.0.0"))
    else:
        assert_refused_like_go(go, module, "v2.0.0", repo, tmp_path / "dist", rev="v2.0.0",
                               module=module)


def test_missing_go_mod_for_vn_path_is_refused(go: GoOracle, tmp_path: Path) -> None:
    """A /v2 path needs go.mod at the root or in v2/: go refuses without either."""
    repo = repo_with(tmp_path, "v2nomod", {"a.go": "package a\n"}, tag="v2.0.0", go=go)
    assert_refused_like_go(go, "github.com/acme/v2nomod/v2", "v2.0.0", repo, tmp_path / "a",
                           rev="v2.0.0", module="github.com/acme/v2nomod/v2")


def test_module_flag_with_vn_path_builds_the_vn_directory(go: GoOracle, tmp_path: Path) -> None:
    """--module .../v2 from the root: go serves v2/ (its go.mod claims /v2), so does gopush."""
    repo = repo_with(tmp_path, "major", {"go.mod": "module github.com/acme/major\n",
                                         "a.go": "package a\n",
                                         "v2/go.mod": "module github.com/acme/major/v2\n",
                                         "v2/b.go": "package major\n"}, tag="v2.0.0", go=go)
    got = gopush(repo, tmp_path / "dist", rev="v2.0.0", module="github.com/acme/major/v2")
    assert_same(got, go.download("github.com/acme/major/v2", "v2.0.0"))


# -- queries: --rev as go mod download MODULE@<rev> answers ------------------------------------


@pytest.fixture
def history(go: GoOracle, tmp_path: Path) -> GitRepo:
    """v1.2.3; then a commit tagged v1.2.4+meta and release-1; one on branch feature; then
    v1.3.0 and v1.3.0+build on main."""
    repo = repo_with(tmp_path, "q", {"go.mod": "module github.com/acme/q\n\ngo 1.21\n",
                                     "a.go": "package q\n"}, tag="v1.2.3", go=go)
    repo.commit(files={"b.go": "package q\n"})
    repo.tag("v1.2.4+meta")
    repo.tag("release-1")
    repo.commit(files={"c.go": "package q\n"})
    repo.git("branch", "feature")
    repo.commit(files={"d.go": "package q\n"})
    repo.tag("v1.3.0")
    repo.tag("v1.3.0+build")
    repo.git("checkout", "-q", "--detach", "v1.2.3")  # HEAD is no answer to any query
    return repo


def _stamp(repo: GitRepo, rev: str) -> str:
    """Return the commit time of ``rev`` as a pseudo-version writes it (UTC)."""
    seconds = int(repo.git("show", "-s", "--format=%ct", rev).strip())
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y%m%d%H%M%S")


QUERIES = ["v1.2.3+meta", "v1.2.4+meta", "v1.3.0+build", "v1.3.0+other", "v1.2", "v1",
           "v1.3", "latest", "main", "feature", "release-1", "short:7", "short:12", "pseudo-ok",
           "pseudo-old-base", "pseudo-v0"]


def _query(repo: GitRepo, name: str) -> str:
    feature = repo.git("rev-parse", "feature").strip()
    if name.startswith("short:"):
        return repo.git("rev-parse", "release-1^{commit}").strip()[:int(name[6:])]
    if name == "pseudo-ok":
        return f"v1.2.5-0.{_stamp(repo, feature)}-{feature[:12]}"
    if name == "pseudo-old-base":
        return f"v1.2.4-0.{_stamp(repo, feature)}-{feature[:12]}"
    if name == "pseudo-v0":
        return f"v0.0.0-{_stamp(repo, feature)}-{feature[:12]}"
    return name


@pytest.mark.parametrize("name", QUERIES)
def test_rev_resolves_as_go_answers_the_query(go: GoOracle, history: GitRepo, tmp_path: Path,
                                              name: str) -> None:
    """Build metadata, version prefixes, branches, other tags, short hashes and
    pseudo-versions: gopush builds the version go gives MODULE@<rev>."""
    query = _query(history, name)
    got = gopush(history, tmp_path / "dist", rev=query)
    assert_same(got, go.download("github.com/acme/q", query))


@pytest.mark.parametrize("name", ["v1.2.3+incompatible", "v1.2.4", "v9.9.9", "pseudo-bad-time",
                                  "pseudo-unknown-commit"])
def test_rev_go_refuses_is_refused(go: GoOracle, history: GitRepo, tmp_path: Path,
                                   name: str) -> None:
    """Queries go refuses: gopush refuses them with go's reason, exit 4."""
    feature = history.git("rev-parse", "feature").strip()
    query = {"pseudo-bad-time": f"v1.2.4-0.20240101000000-{feature[:12]}",
             "pseudo-unknown-commit": "v1.2.4-0.20240101000000-000000000000"}.get(name, name)
    assert_refused_like_go(go, "github.com/acme/q", query, history, tmp_path / "dist",
                           rev=query)


@pytest.mark.parametrize("branch", ["release/v1.2", "release/v1.2.9", "release/latest"])
def test_branch_with_a_version_like_name_is_a_branch(go: GoOracle, history: GitRepo,
                                                     tmp_path: Path, branch: str) -> None:
    """A branch such as release/v1.2 (no module in release/) names its commit, as a
    revision does for go."""
    history.git("branch", branch, "feature")
    got = gopush(history, tmp_path / "dist", rev=branch)
    assert_same(got, go.download("github.com/acme/q", branch))


def test_metadata_tag_is_the_pseudo_version_base(go: GoOracle, tmp_path: Path) -> None:
    """v1.0.0+meta on a commit whose ancestor has v1.5.0: go bases the pseudo-version on
    v1.0.0 (the tag the query names), not on the highest ancestor tag."""
    repo = repo_with(tmp_path, "base", {"go.mod": "module github.com/acme/base\n"},
                     tag="v1.5.0", go=go)
    repo.commit(files={"a.go": "package base\n"})
    repo.tag("v1.0.0+meta")
    got = gopush(repo, tmp_path / "dist", rev="v1.0.0+meta")
    assert_same(got, go.download("github.com/acme/base", "v1.0.0+meta"))
    assert got.version.startswith("v1.0.1-0.")


def test_branch_named_like_a_version_is_refused(go: GoOracle, tmp_path: Path) -> None:
    """A branch v1.5.0 (no such tag): go refuses "resolves to version ... (not a tag)"."""
    repo = repo_with(tmp_path, "br", {"go.mod": "module github.com/acme/br\n"}, go=go)
    repo.commit(files={"a.go": "package br\n"})
    repo.git("branch", "v1.5.0")
    assert_refused_like_go(go, "github.com/acme/br", "v1.5.0", repo, tmp_path / "dist",
                           rev="v1.5.0")


@pytest.mark.parametrize("query", ["v2", "v2.0", "v2.0.0", "v2.0.0+incompatible"])
def test_incompatible_versions_answer_queries(go: GoOracle, tmp_path: Path, query: str) -> None:
    """A root module without go.mod tagged v2.0.0: go answers v2 and v2.0.0 with
    v2.0.0+incompatible (its Versions list holds it); gopush builds the same."""
    repo = repo_with(tmp_path, "inc", {"a.go": "package inc\n"}, tag="v1.0.0", go=go)
    repo.commit(files={"b.go": "package inc\n"})
    repo.tag("v2.0.0")
    got = gopush(repo, tmp_path / "dist", rev=query, module="github.com/acme/inc")
    assert_same(got, go.download("github.com/acme/inc", query))


def test_latest_without_tags_is_the_tip(go: GoOracle, tmp_path: Path) -> None:
    """`latest` of a repository without tags: go's pseudo-version of the tip."""
    repo = repo_with(tmp_path, "tip", {"go.mod": "module github.com/acme/tip\n"}, tag=None,
                     go=go)
    got = gopush(repo, tmp_path / "dist", rev="latest")
    assert_same(got, go.download("github.com/acme/tip", "latest"))


def test_check_of_a_query_gives_gos_answer(go: GoOracle, history: GitRepo) -> None:
    """`gopush check --rev v1.2` resolves the query the same way as build: go's version
    and h1:, written nowhere."""
    result = check_source(BuildRequest(repo=history.path, rev="v1.2"), NullReporter())
    want = go.download("github.com/acme/q", "v1.2")
    assert (result.module, result.version, result.sum) == (want["Path"], want["Version"],
                                                           want["Sum"])


def test_no_matching_prefix_is_refused(go: GoOracle, history: GitRepo, tmp_path: Path) -> None:
    """v1.9 matches no version: go refuses, and so does gopush (exit 4)."""
    with pytest.raises(GoError, match="no matching versions"):
        go.download("github.com/acme/q", "v1.9")
    with pytest.raises(GopushError, match="no matching versions for query") as ours:
        gopush(history, tmp_path / "dist", rev="v1.9")
    assert ours.value.exit_code == 4


@pytest.fixture
def ladder(go: GoOracle, tmp_path: Path) -> GitRepo:
    """v1.0.0, v1.1.0-rc.1, v1.1.0, v1.2.0, v1.3.0-pre, one commit each; HEAD at v1.0.0."""
    repo = repo_with(tmp_path, "cmp", {"go.mod": "module github.com/acme/cmp\n"}, go=go)
    for n, tag in enumerate(["v1.1.0-rc.1", "v1.1.0", "v1.2.0", "v1.3.0-pre"]):
        repo.commit(files={"a": str(n)})
        repo.tag(tag)
    repo.git("checkout", "-q", "--detach", "v1.0.0")
    return repo


@pytest.mark.parametrize("query", [">v1.0.0", ">=v1.1.0-rc.1", "<v1.2.0", "<=v1.1.0",
                                   "<v1.1.0", ">v1.2.0", ">=v1.1", "latest"])
def test_comparison_queries(go: GoOracle, ladder: GitRepo, tmp_path: Path, query: str) -> None:
    """Comparisons pick the lowest (>, >=) or highest (<, <=) release, else prerelease."""
    got = gopush(ladder, tmp_path / "dist", rev=query)
    assert_same(got, go.download("github.com/acme/cmp", query))


@pytest.mark.parametrize("query", ["<v1.0.0", "v1.3"])
def test_queries_matching_nothing_are_refused(go: GoOracle, ladder: GitRepo, tmp_path: Path,
                                              query: str) -> None:
    """`v1.3` never matches v1.3.0-pre (golang.org/issue/31972); `<v1.0.0` matches nothing:
    go's words, exit 4."""
    with pytest.raises(GoError) as go_err:
        go.download("github.com/acme/cmp", query)
    with pytest.raises(GopushError) as ours:
        gopush(ladder, tmp_path / "dist", rev=query)
    assert ours.value.exit_code == 4
    assert str(go_err.value).strip() in ours.value.message


# -- resolved once: the git processes of one build -------------------------------------------


def test_tagged_root_module_builds_with_at_most_8_git_commands(
        go: GoOracle, git_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        ) -> None:
    """`gopush build -v` of a tagged root module says how many git processes it ran: <= 8."""
    git_repo.commit(files={"go.mod": "module github.com/acme/count\n\ngo 1.21\n",
                           "a.go": "package count\n", "LICENSE": "MIT\n"})
    git_repo.tag("v1.0.0")
    go.map_repo(git_repo.path, "https://github.com/acme/count")
    old = os.getcwd()
    os.chdir(git_repo.path)
    try:
        code = main(["build", "-v", "--out", str(tmp_path / "dist")])
    finally:
        os.chdir(old)
    out, err = capsys.readouterr()
    assert code == 0, err
    counted = [line for line in err.splitlines() if "git: " in line and "commands" in line]
    assert counted, err
    count = int(counted[0].split("git: ", 1)[1].split()[0])
    assert 0 < count <= 8, counted
    want = go.download("github.com/acme/count", "v1.0.0")
    assert f"github.com/acme/count v1.0.0 {want['Sum']}" in out
