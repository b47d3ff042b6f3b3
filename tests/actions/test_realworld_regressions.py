"""Shapes found in real public Go repositories where gopush build and the go command disagreed.

Each test rebuilds the shape in a small synthetic git repository and asks the real go command,
in the same run, what it makes of it (``go mod download -json MODULE@QUERY``). Nothing expected
here is typed by hand. Where the real repository is named, it is only where the shape was seen.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import GitRepo
from gotool import GoError, GoOracle

from gopush.actions.build import BuildRequest, BuiltModule, build
from gopush.errors import GopushError
from gopush.ui.base import NullReporter

GO_MOD = "module {path}\n\ngo 1.21\n"


def _build(repo: GitRepo, out: Path, **options: object) -> BuiltModule:
    request = BuildRequest(repo=repo.path, out=out, **options)  # type: ignore[arg-type]
    return build(request, NullReporter())


def _assert_same(got: BuiltModule, want: dict) -> None:
    assert (got.module, got.version) == (want["Path"], want["Version"])
    assert got.sum == want["Sum"]
    assert got.gomod_sum == want["GoModSum"]


def _commit_hash(repo: GitRepo, rev: str) -> str:
    return repo.git("rev-parse", f"{rev}^{{commit}}").strip()


# -- pseudo-version base: go's RecentTag only considers tags its tagToVersion accepts ----------


@pytest.mark.parametrize("odd_tag", [
    "v1.2",  # incomplete: gorilla/mux has "v1.1"
    "v1.9.9-0.20200101000000-abcdefabcdef",  # shaped like a pseudo-version
])
def test_pseudo_base_skips_tags_go_ignores(go: GoOracle, git_repo: GitRepo, tmp_path: Path,
                                           odd_tag: str) -> None:
    """An ancestor tag go's tagToVersion rejects is no pseudo-version base; v1.1.0 still is."""
    module = "github.com/acme/oddtag"
    go.map_repo(git_repo.path, f"https://{module}")
    git_repo.commit(files={"go.mod": GO_MOD.format(path=module), "a.go": "package a\n"})
    git_repo.tag("v1.1.0")
    git_repo.commit(files={"b.go": "package a\n"})
    git_repo.tag(odd_tag)
    head = git_repo.commit(files={"c.go": "package a\n"})
    want = go.download(module, head)
    _assert_same(_build(git_repo, tmp_path / "dist"), want)


# -- --rev naming a version tag: go resolves MODULE@<tag> to that tag -------------------------


def test_rev_naming_one_of_two_tags_builds_that_tag(go: GoOracle, git_repo: GitRepo,
                                                    tmp_path: Path) -> None:
    """--rev v1.8.3 on a commit also tagged v1.9.1 builds v1.8.3, as go's MODULE@v1.8.3 does.

    Seen in sirupsen/logrus, where v1.8.3 and v1.9.1 tag the same commit.
    """
    module = "github.com/acme/twotags"
    go.map_repo(git_repo.path, f"https://{module}")
    git_repo.commit(files={"go.mod": GO_MOD.format(path=module), "a.go": "package a\n"})
    git_repo.tag("v1.8.3")
    git_repo.tag("v1.9.1")
    want = go.download(module, "v1.8.3")
    _assert_same(_build(git_repo, tmp_path / "dist", rev="v1.8.3"), want)


def test_rev_naming_a_retracted_tag_builds_that_tag(go: GoOracle, git_repo: GitRepo,
                                                    tmp_path: Path) -> None:
    """--rev v1.0.0 of a retracted v1.0.0 still builds v1.0.0, as go's MODULE@v1.0.0 does."""
    module = "github.com/acme/retracted"
    go.map_repo(git_repo.path, f"https://{module}")
    git_repo.commit(files={"go.mod": GO_MOD.format(path=module), "a.go": "package a\n"})
    git_repo.tag("v1.0.0")
    git_repo.commit(files={"go.mod": GO_MOD.format(path=module) + "\nretract v1.0.0\n"})
    git_repo.tag("v1.1.0")
    want = go.download(module, "v1.0.0")
    _assert_same(_build(git_repo, tmp_path / "dist", rev="v1.0.0"), want)


def test_rev_naming_a_major_tag_without_suffix_is_refused(go: GoOracle, git_repo: GitRepo,
                                                          tmp_path: Path) -> None:
    """--rev v3.0.0 where go.mod lacks /v3 is refused, as go refuses MODULE@v3.0.0.

    Seen in Masterminds/semver v3.0.0; gopush quietly built a v1 pseudo-version instead.
    """
    module = "github.com/acme/nosuffix"
    go.map_repo(git_repo.path, f"https://{module}")
    git_repo.commit(files={"go.mod": GO_MOD.format(path=module), "a.go": "package a\n"})
    git_repo.tag("v1.0.0")
    git_repo.commit(files={"b.go": "package a\n"})
    git_repo.tag("v3.0.0")
    with pytest.raises(GoError):
        go.download(module, "v3.0.0")
    with pytest.raises(GopushError):
        _build(git_repo, tmp_path / "dist", rev="v3.0.0")


# -- --module against go.mod: go's findDir requires the same major version -------------------


def test_module_flag_with_another_major_is_refused(go: GoOracle, git_repo: GitRepo,
                                                   tmp_path: Path) -> None:
    """--module PATH is refused when go.mod declares PATH/v4, as go refuses PATH@<commit>.

    Seen in dgrijalva/jwt-go just before v4.0.0-preview1.
    """
    module = "github.com/acme/major"
    go.map_repo(git_repo.path, f"https://{module}")
    head = git_repo.commit(files={"go.mod": GO_MOD.format(path=module + "/v4"),
                                  "a.go": "package a\n"})
    with pytest.raises(GoError):
        go.download(module, head)
    with pytest.raises(GopushError):
        _build(git_repo, tmp_path / "dist", module=module)


def test_malformed_module_line_is_served_under_the_import_path(go: GoOracle, git_repo: GitRepo,
                                                               tmp_path: Path) -> None:
    """A go.mod saying `module copy` builds with --module as go serves it; the error hints so.

    Seen in otiai10/copy v1.0.0: go serves it as github.com/otiai10/copy, gopush stopped at
    'malformed module path "copy"' without a hint.
    """
    module = "github.com/acme/copy"
    go.map_repo(git_repo.path, f"https://{module}")
    git_repo.commit(files={"go.mod": "module copy\n", "a.go": "package copy\n"})
    git_repo.tag("v1.0.0")
    want = go.download(module, "v1.0.0")
    _assert_same(_build(git_repo, tmp_path / "dist", module=module), want)
    with pytest.raises(GopushError) as refused:
        _build(git_repo, tmp_path / "dist2")
    assert refused.value.hint and "--module" in refused.value.hint


# -- a go.mod of another major: refused with go's reason (coderepo.go findDir) ---------------


def _gos_reason(err: GoError) -> str:
    """go's reason, without the MODULE@QUERY prefix and the revision go names it by."""
    reason = str(err).strip().splitlines()[-1].rsplit("invalid version: ", 1)[-1]
    return reason.rsplit(" at revision ", 1)[0]


@pytest.mark.parametrize(("asked", "declared", "tag"), [
    # chi v4.1.3 and jwt-go v4.0.0-preview1 asked as the unsuffixed path: "post-v4"
    ("github.com/acme/post", "github.com/acme/post/v4", "v4.1.3"),
    # rsc.io/quote/v2 at v2.0.0, whose go.mod still said rsc.io/quote: "non-.../v2"
    ("github.com/acme/nonv/v2", "github.com/acme/nonv", "v2.0.0"),
])
def test_go_mod_of_another_major_is_refused_with_gos_reason(
        go: GoOracle, git_repo: GitRepo, tmp_path: Path, asked: str, declared: str,
        tag: str) -> None:
    """--module PATH at a tag whose go.mod declares another major: go's findDir reason.

    go says "go.mod has post-<major of the version> module path ..." for an unsuffixed path
    and "go.mod has non-.../vN module path ... (and .../vN/go.mod does not exist)" for a
    /vN path; gopush said "(go.mod has post-v1 module path)" in both cases.
    """
    root = asked.removesuffix("/v2")
    go.map_repo(git_repo.path, f"https://{root}")
    git_repo.commit(files={"go.mod": GO_MOD.format(path=declared), "a.go": "package a\n"})
    git_repo.tag(tag)
    with pytest.raises(GoError) as theirs:
        go.download(asked, tag)
    with pytest.raises(GopushError) as ours:
        _build(git_repo, tmp_path / "dist", rev=tag, module=asked)
    assert _gos_reason(theirs.value) in ours.value.message
