"""The adversarial corpus: small git repositories, each probing one rule of the go command.

Each ``Case`` is a repository (its commits, files and tags), the query go is asked
(``go mod download -json MODULE@QUERY``) and the ``gopush build`` arguments that name the same
thing. ``rule`` says which rule of go's sources the case probes (file and function), so a
disagreement points at the code to read. go's answer is the expected one, whatever it is: the
table never types a version or a hash by hand.

Placeholders: in ``module``, ``{root}`` is ``github.com/corpus/<case name>`` (the repository's
import path). In ``query``, ``rev``, ``args`` and file contents, ``{c0}``, ``{c1}``, ... are
the full hashes of the case's commits and ``{HEAD}`` the last one (``{c0:.12}`` gives the
12-letter short hash); file contents may also use ``{root}``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Symlink:
    """A symbolic link in the tree."""

    target: str


@dataclass(frozen=True)
class Gitlink:
    """A submodule entry (mode 160000) pointing at a commit of another repository."""

    hash: str


@dataclass(frozen=True)
class Sized:
    """A file of ``size`` bytes of one repeated line (kept out of the table for brevity)."""

    size: int
    line: bytes = b"Permission is hereby granted, free of charge.\n"

    def data(self) -> bytes:
        """Return the content: ``line`` repeated, cut to ``size`` bytes."""
        return (self.line * (self.size // len(self.line) + 1))[:self.size]


@dataclass(frozen=True)
class Encoded:
    """A text file stored in another encoding (``{root}`` replaced before encoding)."""

    text: str
    encoding: str


Content = str | bytes | Symlink | Gitlink | Sized | Encoded


@dataclass(frozen=True)
class Commit:
    """One commit: files written (a directory's files replace it), paths deleted, tags made.

    ``tags`` ending in ``^annotated`` are annotated tags; ``NAME@TARGET`` tags the object
    git names TARGET (another tag, ``HEAD:go.mod``, ``HEAD^{{tree}}``) instead of the commit. ``branch`` puts the commit on that
    branch, started at ``parent`` (``c0``...; default the current HEAD) when it is new.
    ``date`` is the commit time (seconds since 1970); ``raw_time`` writes the committer line's
    time verbatim (e.g. ``"-100 +0000"``) for dates git's porcelain refuses. ``extra`` adds
    entries to the root tree that git's index cannot hold (two entries of one name).
    """

    files: dict[str, Content] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    branch: str | None = None
    parent: str | None = None
    date: int | None = None
    raw_time: str | None = None
    extra: tuple[tuple[str, str, str], ...] = ()  # (mode, name, content) entries added to the
    #                                              root tree as is: duplicate names allowed
    replaces: str | None = None  # `git replace` that commit (c0...) by this one: a local
    #                              refs/replace/ ref, which no clone (go's) fetches


@dataclass(frozen=True)
class Case:
    """One repository, one question to go, the same question to gopush."""

    name: str
    rule: str  # the rule probed: go's source file and function, and what it says
    commits: tuple[Commit, ...]
    query: str = "{HEAD}"  # what go is asked: MODULE@QUERY
    module: str = "{root}"
    rev: str | None = None  # gopush's --rev (default: the query)
    args: tuple[str, ...] = ()  # more gopush build arguments (--subdir, --version, --module)
    vanity: str | None = None  # serve the repository at this import path (gopkg.in)
    point: int | None = None  # the point of issue 11 the rule belongs to
    reason: str | None = None  # words go's refusal and gopush's must share (default: go's
    #                            innermost clause); placeholders allowed
    diverge: str | None = None  # why gopush deliberately refuses what go accepts here
    xfail: str | None = None  # a known disagreement fixed by another part of issue 11

    def digest(self) -> str:
        """Return a digest of everything that defines the case (xfail and prose excluded)."""
        text = repr((self.name, self.commits, self.query, self.module, self.rev, self.args,
                     self.vanity))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def gomod(path: str = "{root}", go: str = "1.21", extra: str = "") -> str:
    """Return a go.mod declaring ``path``, with ``go`` and extra lines."""
    return f"module {path}\n\ngo {go}\n{extra}"


GO = "package p\n"
NO_GOMOD = ("--module", "{root}")  # gopush needs the path of a repository without go.mod
LICENSE = "Copyright 2024 Corpus. MIT License.\n"
SIXTEEN_MIB = 16 << 20

# Sources cited below, as paths in github.com/golang/go and golang.org/x/mod.
CODEREPO = "cmd/go/internal/modfetch/coderepo.go"
PSEUDO = "cmd/go/internal/modfetch/pseudo.go"
GITHOST = "cmd/go/internal/modfetch/codehost/git.go"
QUERY = "cmd/go/internal/modload/query.go"
ZIP = "x/mod/zip/zip.go"
MODFILE = "x/mod/modfile/read.go, rule.go"
MODULE = "x/mod/module/module.go"


def _simple(files: dict[str, Content] | None = None, tags: tuple[str, ...] = ()) -> Commit:
    return Commit(files={"go.mod": gomod(), "p.go": GO, **(files or {})}, tags=tags)


CASES: list[Case] = [
    # -- tags and pseudo-versions ------------------------------------------------------------
    Case("tag-lightweight", f"{CODEREPO} convert: a canonical tag at the commit is its version",
         (_simple(tags=("v1.0.0",)),)),
    Case("tag-annotated", f"{GITHOST} Stat: annotated tags are peeled to their commit",
         (_simple(tags=("v1.0.0^annotated",)),)),
    Case("tag-highest-of-several", f"{CODEREPO} convert: the highest canonical tag wins",
         (_simple(tags=("v1.1.0", "v1.3.0^annotated", "v1.2.0")),)),
    Case("tag-noncanonical-only", f"{CODEREPO} tagToVersion: v1.2 is incomplete, ignored",
         (_simple(tags=("v1.2",)),)),
    Case("tag-noncanonical-beside-canonical", f"{CODEREPO} tagToVersion: v1.9 ignored, v1.1.0 used",
         (_simple(tags=("v1.9", "v1.1.0")),)),
    Case("tag-build-metadata-only", f"{CODEREPO} tagToVersion: v1.2.3+meta is not canonical",
         (_simple(tags=("v1.2.3+meta",)),)),
    Case("pseudo-no-tags", f"{PSEUDO} PseudoVersion: v0.0.0-time-hash without a base",
         (_simple(),)),
    Case("pseudo-after-release", f"{PSEUDO} PseudoVersion: vX.Y.(Z+1)-0.time-hash",
         (_simple(tags=("v1.2.3",)), Commit(files={"q.go": GO}))),
    Case("pseudo-after-prerelease", f"{PSEUDO} PseudoVersion: vX.Y.Z-pre.0.time-hash",
         (_simple(tags=("v1.3.0-rc.1^annotated",)), Commit(files={"q.go": GO}))),
    Case("pseudo-after-build-metadata-tag", f"{GITHOST} RecentTag + {CODEREPO} tagToVersion: "
         "v1.2.3+meta is a base", (_simple(tags=("v1.2.3+meta",)), Commit(files={"q.go": GO}))),
    Case("pseudo-base-v1-not-v2", f"{CODEREPO} convert: the base of a path without /vN is v1 "
         "or v0, never a v2 tag (go.mod present)",
         (_simple(tags=("v1.4.0", "v2.0.0")), Commit(files={"q.go": GO}))),
    Case("pseudo-tag-on-other-branch", f"{GITHOST} RecentTag: only tags merged into the commit",
         (_simple(tags=("v1.0.0",)),
          Commit(files={"side.go": GO}, tags=("v1.5.0",), branch="side", parent="c0"),
          Commit(files={"main.go": GO}, branch="main"))),
    Case("pseudo-merged-branch-tag", f"{GITHOST} RecentTag: a tag on a merged-in branch counts",
         (_simple(tags=("v1.0.0",)),
          Commit(files={"side.go": GO}, tags=("v1.5.0",), branch="side", parent="c0"),
          Commit(files={"side2.go": GO}, branch="side"))),
    Case("pseudo-shaped-tag-ignored", f"{CODEREPO} tagToVersion: a pseudo-version-shaped tag "
         "is ignored when naming a commit",
         (_simple(tags=("v1.0.0-20240101000000-abcdefabcdef",)),)),
    Case("pseudo-shaped-tag-not-a-base", f"{CODEREPO} tagToVersion: a pseudo-version-shaped "
         "tag is no pseudo-version base",
         (_simple(tags=("v1.0.0", "v1.5.1-0.20240101000000-abcdefabcdef")),
          Commit(files={"q.go": GO}))),
    Case("pseudo-shaped-tag-matching", f"{CODEREPO} validatePseudoVersion: a pseudo-shaped "
         "tag naming this very commit and time resolves to itself",
         (_simple(tags=("v0.0.0-20240101000000-{c0:.12}",)),),
         query="v0.0.0-20240101000000-{c0:.12}", point=6),
    Case("pseudo-shaped-tag-wrong-hash", f"{CODEREPO} revToRev: a pseudo-version query means "
         "its hash, not the tag of that name: a tag whose commit does not match is refused",
         (_simple(tags=("v0.0.0-20240101000000-abcdefabcdef",)),),
         query="v0.0.0-20240101000000-abcdefabcdef", point=6),
    Case("pseudo-shaped-tag-wrong-time", f"{CODEREPO} validatePseudoVersion: the timestamp "
         "must be the commit's", (_simple(tags=("v0.0.0-20230101000000-{c0:.12}",)),),
         query="v0.0.0-20230101000000-{c0:.12}", point=6),
    Case("pseudo-shaped-tag-other-commit", f"{CODEREPO} validatePseudoVersion: a pseudo-shaped "
         "tag on c1 naming c0's hash resolves to c0",
         (_simple(), Commit(files={"q.go": GO}, tags=("v0.0.0-20240101000000-{c0:.12}",))),
         query="v0.0.0-20240101000000-{c0:.12}", point=6),
    Case("pseudo-shaped-tag-wrong-base", f"{CODEREPO} validatePseudoVersion: the base tag must "
         "exist and be an ancestor",
         (_simple(tags=("v1.2.4-0.20240101000000-{c0:.12}",)),),
         query="v1.2.4-0.20240101000000-{c0:.12}", point=6),
    Case("pseudo-shaped-tag-v1-without-base", f"{CODEREPO} validatePseudoVersion: major version "
         "without preceding tag must be v0",
         (_simple(tags=("v1.0.0-20240101000000-{c0:.12}",)),),
         query="v1.0.0-20240101000000-{c0:.12}", point=6),
    Case("pseudo-version-query", f"{CODEREPO} validatePseudoVersion: the commit's own "
         "pseudo-version", (_simple(),), query="v0.0.0-20240101000000-{c0:.12}",
         rev="{c0}", args=("--version", "v0.0.0-20240101000000-{c0:.12}")),
    Case("pseudo-version-query-wrong-time", f"{CODEREPO} validatePseudoVersion: does not match "
         "version-control timestamp", (_simple(),), query="v0.0.0-20240101000001-{c0:.12}",
         rev="{c0}", args=("--version", "v0.0.0-20240101000001-{c0:.12}")),
    Case("pseudo-version-query-own-tag", f"{CODEREPO} validatePseudoVersion: a pseudo-version "
         "based on the commit's own canonical tag is refused",
         (_simple(tags=("v1.0.0",)),), query="v1.0.1-0.20240101000000-{c0:.12}",
         rev="{c0}", args=("--version", "v1.0.1-0.20240101000000-{c0:.12}"), point=6),
    # -- queries -----------------------------------------------------------------------------
    Case("query-short-hash", f"{GITHOST} Stat: a short hash names its commit",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO})), query="{c1:.7}"),
    Case("query-branch", f"{GITHOST} Stat: a branch name resolves to its tip",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, branch="dev", parent="c0"),
          Commit(files={"m.go": GO}, branch="main")), query="dev"),
    Case("query-lower-tag-same-commit", f"{CODEREPO} convert: a canonical query is kept even "
         "when a higher tag marks the commit", (_simple(tags=("v1.0.0", "v1.1.0")),),
         query="v1.0.0"),
    Case("query-build-metadata", f"{CODEREPO} convert: @v1.2.3+meta is a pseudo-version base",
         (_simple(tags=("v1.2.3+meta",)),), query="v1.2.3+meta", point=5),
    Case("query-build-metadata-beside-canonical", f"{CODEREPO} convert: @v1.2.3+meta with "
         "v1.2.3 on the same commit is v1.2.3",
         (_simple(tags=("v1.2.3+meta", "v1.2.3")),), query="v1.2.3+meta", point=5),
    Case("query-semver-prefix", f"{QUERY} queryProxy: @v1.2 is the highest v1.2.x, not tag v1.2",
         (_simple(tags=("v1.2",)), Commit(files={"q.go": GO}, tags=("v1.2.5",)),
          Commit(files={"r.go": GO})), query="v1.2", point=5),
    # -- +incompatible -----------------------------------------------------------------------
    Case("incompatible-tag", f"{CODEREPO} tagToVersion: v2 tag, no go.mod: +incompatible",
         (Commit(files={"p.go": GO}, tags=("v2.0.0",)),), args=NO_GOMOD),
    Case("incompatible-query", f"{CODEREPO} convert: @v2.0.0 without go.mod gains +incompatible",
         (Commit(files={"p.go": GO}, tags=("v2.0.0",)),), query="v2.0.0",
         args=NO_GOMOD),
    Case("incompatible-query-suffix", f"{CODEREPO} revToRev: @v2.0.0+incompatible is tag v2.0.0",
         (Commit(files={"p.go": GO}, tags=("v2.0.0",)),), query="v2.0.0+incompatible",
         rev="v2.0.0", args=NO_GOMOD),
    Case("incompatible-blocked-by-gomod", f"{CODEREPO} canUseIncompatible: a root go.mod "
         "forbids +incompatible: v2 tag ignored", (_simple(tags=("v2.0.0",)),)),
    Case("incompatible-query-blocked", f"{CODEREPO} convert: module contains a go.mod file, so "
         "major version must be compatible", (_simple(tags=("v2.0.0",)),), query="v2.0.0"),
    Case("incompatible-beside-v2-gomod", f"{CODEREPO} canUseIncompatible: only the root go.mod "
         "counts for the tag at the commit",
         (Commit(files={"p.go": GO, "v2/go.mod": gomod("{root}/v2"), "v2/p.go": GO},
                 tags=("v2.0.0",)),), args=NO_GOMOD),
    Case("incompatible-pseudo-base", f"{CODEREPO} convert: +incompatible pseudo-versions keep "
         "the v2 base", (Commit(files={"p.go": GO}, tags=("v2.1.0",)),
                         Commit(files={"q.go": GO})), args=NO_GOMOD),
    Case("incompatible-with-v1-release", f"{CODEREPO} Versions/appendIncompatibleVersions: "
         "latest v1 without go.mod, v3 tag without go.mod",
         (Commit(files={"p.go": GO}, tags=("v1.0.0",)),
          Commit(files={"q.go": GO}, tags=("v3.0.0",))), args=NO_GOMOD),
    # -- retractions (point 4) ---------------------------------------------------------------
    Case("retract-self", f"{CODEREPO} retractedVersions: the highest release retracts itself; "
         "its tag is no version, the base skips it",
         (_simple(tags=("v1.0.0",)),
          Commit(files={"go.mod": gomod(extra="retract v1.1.0\n")}, tags=("v1.1.0",))),
         point=4),
    Case("retract-range", f"{CODEREPO} retractedVersions: a retracted range hides v1.0.0..v1.1.0",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0",)),
          Commit(files={"go.mod": gomod(extra="retract [v1.0.0, v1.1.0]\n")},
                 tags=("v1.2.0",))), query="{c1}", point=4),
    Case("retract-range-base", f"{CODEREPO} convert: a retracted tag is no pseudo-version base",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0",)),
          Commit(files={"r.go": GO}),
          Commit(files={"go.mod": gomod(extra="retract v1.1.0\n")}, tags=("v1.2.0",),
                 branch="release", parent="c1")), query="{c2}", point=4),
    Case("retract-named-tag", f"{CODEREPO} convert: @v1.1.0 names the tag even if retracted",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0",)),
          Commit(files={"go.mod": gomod(extra="retract v1.1.0\n")}, tags=("v1.2.0",))),
         query="v1.1.0", point=4),
    Case("retract-prerelease-not-highest", f"{CODEREPO} retractedVersions: the highest "
         "release, not a higher prerelease, declares retractions",
         (_simple(tags=("v1.0.0",)),
          Commit(files={"go.mod": gomod(extra="retract v1.0.0\n")}, tags=("v1.1.0-rc.1",))),
         query="{c0}", point=4),
    Case("retract-only-prereleases", f"{CODEREPO} retractedVersions: with no release, the "
         "highest prerelease declares retractions",
         (_simple(tags=("v1.0.0-rc.1",)),
          Commit(files={"go.mod": gomod(extra="retract v1.0.0-rc.1\n")},
                 tags=("v1.0.0-rc.2",))), query="{c0}", point=4),
    Case("retract-bad-gomod-at-highest", f"{CODEREPO} retractedVersions: ParseLax fails on the "
         "highest release's go.mod: no retraction applies",
         (_simple(tags=("v1.0.0",)),
          Commit(files={"go.mod": gomod(extra="retract v1.0.0\nrequire (\n")},
                 tags=("v1.1.0",))), query="{c0}", point=4),
    Case("retract-wrong-path-at-highest", f"{CODEREPO} retractedVersions: GoMod(highest) fails "
         "(findDir: go.mod claims /v3): no retraction applies",
         (_simple(tags=("v1.0.0",)),
          Commit(files={"go.mod": gomod("{root}/v3", extra="retract v1.0.0\n")},
                 tags=("v1.1.0",))), query="{c0}", point=4),
    Case("retract-no-gomod-at-highest", f"{CODEREPO} retractedVersions: no go.mod at the "
         "highest release (legacyGoMod): nothing retracted",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, delete=("go.mod",),
                                           tags=("v1.1.0",)),
          Commit(files={"go.mod": gomod(extra="retract v1.0.0\n")})), query="{c0}", point=4),
    Case("retract-gomod-in-major-subdir-at-release", f"{CODEREPO} retractedVersions via "
         "GoMod/findDir: the go.mod read is where the module lived at the highest release "
         "(v2/go.mod), not where it lives now",
         (Commit(files={"go.mod": gomod("{root}/v2"), "p.go": GO}, tags=("v2.0.0",)),
          Commit(files={"v2/go.mod": gomod("{root}/v2", extra="retract v2.0.0\n"),
                        "v2/p.go": GO}, delete=("go.mod", "p.go"), tags=("v2.1.0",)),
          Commit(files={"go.mod": gomod("{root}/v2"), "p.go": GO}, delete=("v2",))),
         module="{root}/v2", query="{c0}", point=4),
    Case("retract-gomod-at-root-at-release", f"{CODEREPO} retractedVersions via GoMod/findDir: "
         "the release lived at the root (go.mod claims /v2); now the module is in v2/",
         (Commit(files={"v2/go.mod": gomod("{root}/v2"), "v2/p.go": GO}, tags=("v2.0.0",)),
          Commit(files={"go.mod": gomod("{root}/v2", extra="retract v2.0.0\n"), "p.go": GO},
                 delete=("v2",), tags=("v2.1.0",)),
          Commit(files={"v2/go.mod": gomod("{root}/v2"), "v2/p.go": GO},
                 delete=("go.mod", "p.go"))),
         module="{root}/v2", query="{c0}", args=("--subdir", "v2"), point=4),
    Case("retract-incompatible-ignored", f"{CODEREPO} retractedVersions: +incompatible "
         "versions are cut off the list: v1.1.0 declares retractions, not v2.0.0",
         (Commit(files={"p.go": GO}, tags=("v1.0.0",)),
          Commit(files={"q.go": GO}, tags=("v1.1.0",)),
          Commit(files={"r.go": GO}, tags=("v2.0.0",)),
          Commit(files={"s.go": GO}, delete=("r.go",))), query="{c1}", args=NO_GOMOD,
         point=4),
    Case("retract-subdirectory-module", f"{CODEREPO} retractedVersions: a module in sub/ reads "
         "sub/go.mod at sub/vX tags",
         (Commit(files={"sub/go.mod": gomod("{root}/sub"), "sub/p.go": GO},
                 tags=("sub/v1.0.0",)),
          Commit(files={"sub/go.mod": gomod("{root}/sub", extra="retract v1.0.0\n")},
                 tags=("sub/v1.1.0",))),
         module="{root}/sub", query="{c0}", args=("--subdir", "sub"), point=4),
    Case("retract-block-with-rationale", f"{MODFILE} parseRetract: a retract block with "
         "comments", (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}),
                      Commit(files={"go.mod": gomod(extra="retract (\n\t// broken\n\tv1.0.0\n)\n")},
                             tags=("v1.0.1",))), query="{c1}", point=4),
    # -- commit times (point 6) --------------------------------------------------------------
    Case("time-epoch", f"{PSEUDO} PseudoVersion: 1970-01-01 is a valid timestamp",
         (Commit(files={"go.mod": gomod(), "p.go": GO}, date=0),), point=6),
    Case("time-year-2100", f"{PSEUDO} PseudoVersion: a far-future time in 14 digits",
         (Commit(files={"go.mod": gomod(), "p.go": GO}, date=4102444800),), point=6),
    Case("time-year-10000", f"{PSEUDO} PseudoVersion: year 10000 does not fit 14 digits",
         (Commit(files={"go.mod": gomod(), "p.go": GO}, date=253402300800),), point=6),
    Case("time-before-1970", f"{GITHOST} Stat: a negative commit time",
         (Commit(files={"go.mod": gomod(), "p.go": GO}, raw_time="-100 +0000"),), point=6,
         reason="invalid time from git log"),
    Case("time-year-10000-tagged", f"{CODEREPO} convert: a tag needs no timestamp, but .info "
         "carries the time", (Commit(files={"go.mod": gomod(), "p.go": GO}, date=253402300800,
                                     tags=("v1.0.0",)),), point=6,
         reason="year outside of range [0,9999]",
         diverge="go downloads it but cannot write its .info (json: year outside of range "
         "[0,9999]), so no GOPROXY could serve the version: gopush refuses to publish it"),
    Case("time-zone-offset", f"{PSEUDO} PseudoVersion: the time is taken in UTC",
         (Commit(files={"go.mod": gomod(), "p.go": GO}, raw_time="1704067200 +0530"),),
         point=6),
    # -- more version rules (points 4, 5, 6) ---------------------------------------------------
    Case("tag-literal-incompatible", f"{CODEREPO} tagToVersion: a tag v2.0.0+incompatible is "
         "not canonical (semver.Canonical drops the build)",
         (Commit(files={"p.go": GO}, tags=("v2.0.0+incompatible",)),), args=NO_GOMOD),
    Case("tag-leading-zero", f"{CODEREPO} tagToVersion: v1.02.0 is no semantic version",
         (_simple(tags=("v1.02.0",)),)),
    Case("tag-other-module-prefix", f"{CODEREPO} tagToVersion: sub/v1.0.0 is not the root "
         "module's tag", (_simple(tags=("sub/v1.0.0",)),)),
    Case("query-branch-shaped-like-version", f"{CODEREPO} convert/checkCanonical: a canonical "
         "query that is a branch, not a tag, resolves to another version: refused",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, branch="v1.9.0", parent="c0")),
         query="v1.9.0", reason="(v1.9.0 is not a tag)", point=5),
    Case("pseudo-version-query-longer-rev", f"{CODEREPO} validatePseudoVersion: revision is "
         "longer than canonical", (_simple(),), query="v0.0.0-20240101000000-{c0:.16}",
         rev="{c0}", args=("--version", "v0.0.0-20240101000000-{c0:.16}"), point=6),
    Case("pseudo-version-query-not-descendant", f"{CODEREPO} validatePseudoVersion: the base "
         "tag must be an ancestor", (_simple(), Commit(files={"q.go": GO}, tags=("v1.2.3",),
                                                      branch="side", parent="c0"),
                                     Commit(files={"m.go": GO}, branch="main")),
         query="v1.2.4-0.20240101020000-{c2:.12}", rev="{c2}",
         args=("--version", "v1.2.4-0.20240101020000-{c2:.12}"), point=6),
    Case("pseudo-version-query-older-base", f"{CODEREPO} validatePseudoVersion: any ancestor "
         "tag may be the base, not only the highest",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0",)),
          Commit(files={"r.go": GO})),
         query="v1.0.1-0.20240101020000-{c2:.12}", rev="{c2}",
         args=("--version", "v1.0.1-0.20240101020000-{c2:.12}"), point=6),
    Case("pseudo-version-query-metadata-base", f"{CODEREPO} validatePseudoVersion: a base "
         "equal to a non-canonical tag (v1.2.3+meta) is found",
         (_simple(tags=("v1.2.3+meta",)), Commit(files={"q.go": GO})),
         query="v1.2.4-0.20240101010000-{c1:.12}", rev="{c1}",
         args=("--version", "v1.2.4-0.20240101010000-{c1:.12}"), point=6),
    Case("retract-only-release-self", f"{CODEREPO} retractedVersions: the only release "
         "retracts itself: the commit gets a v0 pseudo-version",
         (_simple({"go.mod": gomod(extra="retract v1.0.0 // oops\n")}, tags=("v1.0.0",)),),
         point=4),
    Case("retract-highest-both-claim", f"{CODEREPO} retractedVersions: findDir refuses the "
         "highest release (go.mod and v2/go.mod both claim /v2): no retraction applies",
         (Commit(files={"go.mod": gomod("{root}/v2"), "p.go": GO}, tags=("v2.0.0",)),
          Commit(files={"go.mod": gomod("{root}/v2", extra="retract v2.0.0\n"),
                        "v2/go.mod": gomod("{root}/v2", extra="retract v2.0.0\n"),
                        "v2/p.go": GO}, tags=("v2.1.0",))),
         module="{root}/v2", query="{c0}", point=4),
    Case("retract-ignores-higher-major", f"{CODEREPO} Versions: a /v2 module's tags are not "
         "the v1 module's releases: v1.1.0's go.mod declares retractions",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0",)),
          Commit(files={"go.mod": gomod("{root}/v2", extra="retract v1.0.0\n")},
                 tags=("v2.0.0",))), query="{c0}", point=4),
    Case("time-last-second", f"{PSEUDO} PseudoVersion: 9999-12-31T23:59:59Z still fits",
         (Commit(files={"go.mod": gomod(), "p.go": GO}, date=253402300799),), point=6),
    Case("time-year-10000-after-tag", f"{PSEUDO} PseudoVersion: past 9999 after a tag, the "
         "pseudo-version go makes names no revision",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, date=253402300800)), point=6),
    Case("time-beyond-int64", f"{GITHOST} Stat: a committer time past int64 is no time",
         (Commit(files={"go.mod": gomod(), "p.go": GO}, raw_time="99999999999999999999 +0000"),),
         reason="invalid time from git log", point=6),
    Case("incompatible-query-beside-v2-gomod", f"{CODEREPO} canUseIncompatible: @v2.0.0 is "
         "the v2 module's once v2/go.mod exists (go.dev/issue/51324)",
         (Commit(files={"p.go": GO, "v2/go.mod": gomod("{root}/v2"), "v2/p.go": GO},
                 tags=("v2.0.0",)),), query="v2.0.0", args=NO_GOMOD, point=3),
    Case("incompatible-query-beside-v2-gomod-root", f"{CODEREPO} canUseIncompatible: as "
         "above, the module at the root named by --subdir ''",
         (Commit(files={"p.go": GO, "v2/go.mod": gomod("{root}/v2"), "v2/p.go": GO},
                 tags=("v2.0.0",)),), query="v2.0.0", args=(*NO_GOMOD, "--subdir", "")),
    Case("incompatible-explicit-beside-v2-gomod-root", f"{CODEREPO} canUseIncompatible: as "
         "below, the module at the root named by --subdir ''",
         (Commit(files={"p.go": GO, "v2/go.mod": gomod("{root}/v2"), "v2/p.go": GO},
                 tags=("v2.0.0",)),), query="v2.0.0+incompatible", rev="v2.0.0",
         args=(*NO_GOMOD, "--subdir", "", "--version", "v2.0.0+incompatible")),
    Case("incompatible-explicit-beside-v2-gomod", f"{CODEREPO} canUseIncompatible: an explicit "
         "@v2.0.0+incompatible is still allowed beside v2/go.mod (go.dev/issue/51324)",
         (Commit(files={"p.go": GO, "v2/go.mod": gomod("{root}/v2"), "v2/p.go": GO},
                 tags=("v2.0.0",)),), query="v2.0.0+incompatible", rev="v2.0.0",
         args=(*NO_GOMOD, "--version", "v2.0.0+incompatible"), point=3),
    Case("incompatible-suffix-on-compatible", f"{CODEREPO} checkCanonical: +incompatible suffix "
         "not allowed: major version v1 is compatible", (_simple(tags=("v1.0.0",)),),
         query="v1.0.0+incompatible", rev="v1.0.0", args=("--version", "v1.0.0+incompatible")),
    Case("incompatible-base-skips-claimed-major", f"{CODEREPO} tagAllowed: a v2 tag claimed by "
         "v2/go.mod is no base of the unversioned module",
         (Commit(files={"p.go": GO}, tags=("v1.0.0",)),
          Commit(files={"v2/go.mod": gomod("{root}/v2"), "v2/p.go": GO}, tags=("v2.0.0",)),
          Commit(files={"q.go": GO})), args=NO_GOMOD),
    Case("pseudo-v2-module-base", f"{CODEREPO} convert: a /v2 module's pseudo-version is based "
         "on its v2 tags only", (Commit(files={"go.mod": gomod("{root}/v2"), "p.go": GO},
                                        tags=("v1.9.0", "v2.1.0")),
                                 Commit(files={"q.go": GO})), module="{root}/v2"),
    # -- major-version layout (point 3) -----------------------------------------------------
    Case("major-subdir-v2", f"{CODEREPO} findDir: v2/go.mod claiming /v2 is the module",
         (Commit(files={"go.mod": gomod(), "p.go": GO, "v2/go.mod": gomod("{root}/v2"),
                        "v2/p.go": GO}, tags=("v2.0.0",)),),
         module="{root}/v2", query="v2.0.0", point=3),
    Case("major-subdir-v2-pseudo", f"{CODEREPO} convert: pseudo-versions of /v2 are v2.0.0-...",
         (Commit(files={"v2/go.mod": gomod("{root}/v2"), "v2/p.go": GO}),),
         module="{root}/v2", args=("--subdir", "v2"), point=3),
    Case("major-branch-v2", f"{CODEREPO} findDir: the root go.mod claiming /v2 is the module",
         (Commit(files={"go.mod": gomod("{root}/v2"), "p.go": GO}, tags=("v2.0.0",)),),
         module="{root}/v2", query="v2.0.0", point=3),
    Case("major-both-claim", f"{CODEREPO} findDir: go.mod and v2/go.mod both claim /v2",
         (Commit(files={"go.mod": gomod("{root}/v2"), "p.go": GO,
                        "v2/go.mod": gomod("{root}/v2"), "v2/p.go": GO}, tags=("v2.0.0",)),),
         module="{root}/v2", query="v2.0.0", point=3),
    Case("major-subdir-non-v2-path", f"{CODEREPO} findDir: v2/go.mod has a non-/v2 path",
         (Commit(files={"go.mod": gomod("{root}/v2"), "p.go": GO,
                        "v2/go.mod": gomod("{root}/other"), "v2/p.go": GO},
                 tags=("v2.0.0",)),), module="{root}/v2", query="v2.0.0", point=3),
    Case("major-subdir-missing-path", f"{CODEREPO} findDir: v2/go.mod is missing module path",
         (Commit(files={"go.mod": gomod("{root}/v2"), "p.go": GO,
                        "v2/go.mod": "go 1.21\n", "v2/p.go": GO}, tags=("v2.0.0",)),),
         module="{root}/v2", query="v2.0.0", point=3),
    Case("major-root-unversioned-path", f"{CODEREPO} findDir: go.mod has non-.../v2 module "
         "path (and .../v2/go.mod does not exist)",
         (_simple(tags=("v2.0.0",)),), module="{root}/v2", query="v2.0.0",
         args=("--module", "{root}/v2"), point=3),
    Case("major-missing-both", f"{CODEREPO} findDir: missing go.mod and .../v2/go.mod",
         (Commit(files={"p.go": GO}, tags=("v2.0.0",)),), module="{root}/v2",
         query="v2.0.0", args=("--module", "{root}/v2"), point=3),
    Case("major-v0-suffix", f"{MODULE} SplitPathVersion: /v0 is no valid major suffix",
         (Commit(files={"go.mod": gomod("{root}/v0"), "p.go": GO}, tags=("v0.1.0",)),),
         module="{root}/v0", query="v0.1.0", point=3),
    Case("major-v1-suffix", f"{MODULE} SplitPathVersion: /v1 is no valid major suffix",
         (Commit(files={"go.mod": gomod("{root}/v1"), "p.go": GO}, tags=("v1.0.0",)),),
         module="{root}/v1", query="v1.0.0", point=3),
    Case("major-tag-v3-path-v2", f"{CODEREPO} convert: module contains a go.mod file, so major "
         "version must be compatible: should be v2, not v3",
         (Commit(files={"go.mod": gomod("{root}/v2"), "p.go": GO}, tags=("v3.0.0",)),),
         module="{root}/v2", query="v3.0.0", point=3),
    Case("major-v2-dir-at-v1", f"{CODEREPO} findDir: a v2/ directory without go.mod is plain "
         "content of the v1 module", (_simple({"v2/p.go": GO}, tags=("v1.0.0",)),),
         query="v1.0.0", point=3),
    Case("major-gopkgin-v1", f"{CODEREPO} findDir: gopkg.in/NAME.v1 with its own go.mod",
         (Commit(files={"go.mod": gomod("gopkg.in/corpus/gin1.v1"), "p.go": GO},
                 tags=("v1.0.0",)),), vanity="gopkg.in/corpus/gin1.v1",
         module="gopkg.in/corpus/gin1.v1", query="v1.0.0", point=3),
    Case("major-gopkgin-no-gomod", f"{CODEREPO} findDir: implicit go.mod is fine for gopkg.in",
         (Commit(files={"p.go": GO}, tags=("v2.1.0",)),), vanity="gopkg.in/corpus/gin2.v2",
         module="gopkg.in/corpus/gin2.v2", query="v2.1.0",
         args=("--module", "gopkg.in/corpus/gin2.v2"), point=3),
    Case("major-gopkgin-unversioned-gomod", f"{CODEREPO} isMajor: gopkg.in/NAME.v2 whose "
         "go.mod says gopkg.in/NAME (no suffix) is refused",
         (Commit(files={"go.mod": gomod("gopkg.in/corpus/gin3"), "p.go": GO},
                 tags=("v2.0.0",)),), vanity="gopkg.in/corpus/gin3.v2",
         module="gopkg.in/corpus/gin3.v2", query="v2.0.0",
         args=("--module", "gopkg.in/corpus/gin3.v2"), point=3),
    Case("major-gopkgin-bug-34254", f"{CODEREPO} canReplaceMismatchedVersionDueToBug: an "
         "unversioned path may hold a go.mod naming a gopkg.in path",
         (Commit(files={"go.mod": gomod("gopkg.in/corpus/gin4.v3"), "p.go": GO},
                 tags=("v1.0.0",)),), query="v1.0.0", args=("--module", "{root}"), point=3),
    Case("major-gomod-other-path", f"{CODEREPO} findDir: at v0/v1 any unversioned go.mod path "
         "is accepted by go mod download", (Commit(files={"go.mod": gomod("example.com/else"),
                                                   "p.go": GO}, tags=("v1.0.0",)),),
         query="v1.0.0", args=("--module", "{root}"), point=3),
    # -- subdirectory modules ------------------------------------------------------------------
    Case("sub-module-tag", f"{CODEREPO} newCodeRepo: sub/vX.Y.Z tags belong to the sub module",
         (Commit(files={"go.mod": gomod(), "p.go": GO, "sub/go.mod": gomod("{root}/sub"),
                        "sub/p.go": GO}, tags=("v1.0.0", "sub/v0.3.0")),),
         module="{root}/sub", query="v0.3.0", rev="sub/v0.3.0"),
    Case("sub-module-missing-gomod", f"{CODEREPO} findDir: missing .../sub/go.mod",
         (Commit(files={"go.mod": gomod(), "sub/p.go": GO}, tags=("sub/v1.0.0",)),),
         module="{root}/sub", query="v1.0.0", rev="sub/v1.0.0",
         args=("--subdir", "sub", "--module", "{root}/sub"),
         point=3),
    Case("sub-module-pseudo-own-tags", f"{CODEREPO} convert: a sub module's base comes from "
         "its own prefixed tags only",
         (Commit(files={"go.mod": gomod(), "sub/go.mod": gomod("{root}/sub"), "sub/p.go": GO},
                 tags=("v3.0.0", "sub/v0.4.0")), Commit(files={"sub/q.go": GO})),
         module="{root}/sub", args=("--subdir", "sub")),
    Case("license-copied-into-sub", f"{ZIP} CreateFromVCS: the root LICENSE is copied into a "
         "sub module without one",
         (Commit(files={"LICENSE": LICENSE, "sub/go.mod": gomod("{root}/sub"),
                        "sub/p.go": GO}, tags=("sub/v1.0.0",)),),
         module="{root}/sub", query="v1.0.0", rev="sub/v1.0.0"),
    Case("license-sub-has-own", f"{ZIP} CreateFromVCS: a sub module's own LICENSE wins",
         (Commit(files={"LICENSE": LICENSE, "sub/go.mod": gomod("{root}/sub"),
                        "sub/LICENSE": "own\n", "sub/p.go": GO}, tags=("sub/v1.0.0",)),),
         module="{root}/sub", query="v1.0.0", rev="sub/v1.0.0"),
    Case("license-copied-at-limit", f"{ZIP} checkFiles: a copied LICENSE of exactly 16 MiB",
         (Commit(files={"LICENSE": Sized(SIXTEEN_MIB), "sub/go.mod": gomod("{root}/sub"),
                        "sub/p.go": GO}, tags=("sub/v1.0.0",)),),
         module="{root}/sub", query="v1.0.0", rev="sub/v1.0.0", point=6),
    Case("license-copied-over-limit", f"{ZIP} checkFiles: a copied LICENSE over 16 MiB: LICENSE "
         "file too large",
         (Commit(files={"LICENSE": Sized(SIXTEEN_MIB + 1), "sub/go.mod": gomod("{root}/sub"),
                        "sub/p.go": GO}, tags=("sub/v1.0.0",)),),
         module="{root}/sub", query="v1.0.0", rev="sub/v1.0.0", point=6),
    # -- go.mod leniency (points 1, 2, 6) -----------------------------------------------------
    Case("gomod-unknown-directive", f"{MODFILE} ParseLax: unknown directives are skipped",
         (_simple({"go.mod": gomod(extra="frobnicate yes\n")}, tags=("v1.0.0",)),), point=1),
    Case("gomod-bad-toolchain", f"{MODFILE} ParseLax: a bad toolchain line is no error for go "
         "mod download", (_simple({"go.mod": gomod(extra="toolchain banana\n")},
                                   tags=("v1.0.0",)),), point=1),
    Case("gomod-bad-godebug", f"{MODFILE} ParseLax: a bad godebug line",
         (_simple({"go.mod": gomod(extra="godebug nonsense\n")}, tags=("v1.0.0",)),), point=1),
    Case("gomod-require-syntax-error", f"{MODFILE} ParseLax: a require line without version",
         (_simple({"go.mod": gomod(extra="require (\n\tgithub.com/x/y\n)\n")},
                  tags=("v1.0.0",)),), point=1),
    Case("gomod-unterminated-block", f"{MODFILE} ModulePath: only the module line is read",
         (_simple({"go.mod": gomod(extra="require (\n")}, tags=("v1.0.0",)),), point=1),
    Case("gomod-raw-string-module", f"{MODFILE} ModulePath: a raw-string module path",
         (_simple({"go.mod": "module `{root}`\n\ngo 1.21\n"}, tags=("v1.0.0",)),), point=1),
    Case("gomod-quoted-module", f"{MODFILE} ModulePath: a quoted module path",
         (_simple({"go.mod": 'module "{root}"\n\ngo 1.21\n'}, tags=("v1.0.0",)),), point=1),
    Case("gomod-two-module-lines", f"{MODFILE} ModulePath: the first module line counts",
         (_simple({"go.mod": "module {root}\nmodule example.com/second\n"},
                  tags=("v1.0.0",)),), point=1),
    Case("gomod-symlink", f"{ZIP} CreateFromVCS + {CODEREPO} GoMod: go.mod is a symlink",
         (Commit(files={"real.mod": gomod(), "go.mod": Symlink("real.mod"), "p.go": GO},
                 tags=("v1.0.0",)),), query="v1.0.0", point=6),
    Case("gomod-directory", f"{CODEREPO} findDir: go.mod is a directory",
         (Commit(files={"go.mod/x.txt": "x\n", "p.go": GO}, tags=("v1.0.0",)),),
         query="v1.0.0", args=NO_GOMOD, point=6,
         reason="is a directory"),
    Case("gomod-crlf-by-gitattributes", f"{ZIP} CreateFromVCS: git archive applies eol=crlf to "
         "go.mod; the .mod file is the blob",
         (_simple({".gitattributes": "* text eol=crlf\n"}, tags=("v1.0.0",)),), point=2),
    Case("gomod-utf16-by-gitattributes", f"{ZIP} CreateFromVCS: working-tree-encoding=UTF-16 "
         "go.mod in the zip; vendor rule reads it laxly",
         (_simple({".gitattributes": "go.mod working-tree-encoding=UTF-16LE\n",
                   "go.mod": Encoded("module {root}\n\ngo 1.24\n", "utf-16-le"),
                   "vendor/modules.txt": "# x\n", "pkg/vendor/v.go": GO},
                  tags=("v1.0.0",)),), point=2),
    Case("gomod-bom", f"{MODFILE} a UTF-8 byte order mark before the module line",
         (_simple({"go.mod": "\ufeff" + gomod()}, tags=("v1.0.0",)),), point=1),
    # -- vendor rule by go line (point 2) -----------------------------------------------------
    Case("vendor-go-1.23", f"{ZIP} isVendoredPackage: before go 1.24 vendor/modules.txt stays "
         "and pkg/vendor/v.go is vendored",
         (_simple({"go.mod": gomod(go="1.23"), "vendor/modules.txt": "# x\n",
                   "vendor/x/y.go": GO, "pkg/vendor/v.go": GO}, tags=("v1.0.0",)),), point=2),
    Case("vendor-go-1.24", f"{ZIP} isVendoredPackage: from go 1.24 vendor/modules.txt goes and "
         "pkg/vendor/v.go stays",
         (_simple({"go.mod": gomod(go="1.24"), "vendor/modules.txt": "# x\n",
                   "vendor/x/y.go": GO, "pkg/vendor/v.go": GO}, tags=("v1.0.0",)),), point=2),
    Case("vendor-go-line-after-bad-toolchain", f"{ZIP} parseGoVers: ParseLax reads the go line "
         "past a bad toolchain line",
         (_simple({"go.mod": gomod(go="1.24", extra="toolchain banana\n"),
                   "vendor/modules.txt": "# x\n", "pkg/vendor/v.go": GO},
                  tags=("v1.0.0",)),), point=2),
    Case("vendor-go-line-syntax-error", f"{ZIP} parseGoVers: a go.mod ParseLax refuses gives "
         "no go version (pre-1.24 rule)",
         (_simple({"go.mod": gomod(go="1.24", extra="require (\n"),
                   "vendor/modules.txt": "# x\n", "pkg/vendor/v.go": GO},
                  tags=("v1.0.0",)),), point=2),
    Case("vendor-gomod-symlink", f"{ZIP} CreateFromVCS: a symlinked go.mod gives no go version",
         (Commit(files={"real.mod": gomod(go="1.24"), "go.mod": Symlink("real.mod"),
                        "p.go": GO, "vendor/modules.txt": "# x\n", "pkg/vendor/v.go": GO},
                 tags=("v1.0.0",)),), point=2),
    # -- files (points 6, 7) ------------------------------------------------------------------
    Case("files-case-collision", f"{ZIP} checkFiles: case-insensitive file name collision",
         (_simple({"A.go": GO, "a.go": GO}, tags=("v1.0.0",)),), point=6),
    Case("files-symlink-omitted", f"{ZIP} CreateFromVCS: symlinks are not regular files",
         (_simple({"link.go": Symlink("p.go")}, tags=("v1.0.0",)),)),
    Case("files-invalid-name", f"{MODULE} CheckFilePath: a file name with a colon is refused",
         (_simple({"bad:name.go": GO}, tags=("v1.0.0",)),),
         reason='malformed file path "bad:name.go": invalid char'),
    Case("files-unicode-17-letter", f"{MODULE} fileNameOK: unicode.IsLetter (Unicode 17 in go "
         "1.27) for a letter Python 3.11 does not know", (_simple({"\U00031350.go": GO},
                                                           tags=("v1.0.0",)),), point=7),
    Case("files-nested-module-omitted", f"{ZIP} CreateFromVCS: files under a nested go.mod "
         "leave the zip", (_simple({"tools/go.mod": gomod("{root}/tools"),
                                    "tools/t.go": GO}, tags=("v1.0.0",)),)),
    Case("files-nested-gomod-uppercase", f"{ZIP} checkFiles: GO.MOD in a subdirectory",
         (_simple({"sub/GO.MOD": gomod("{root}/sub"), "sub/s.go": GO}, tags=("v1.0.0",)),)),
    Case("files-submodule-gitlink", f"{ZIP} CreateFromVCS: git archive skips gitlinks",
         (_simple({"third_party/lib": Gitlink("0123456789abcdef0123456789abcdef01234567")},
                  tags=("v1.0.0",)),)),
    Case("files-duplicate-symlink-and-file", f"{ZIP} CreateFromVCS/checkFiles: a tree holding "
         "a file and a symlink of the same name", (Commit(
             files={"go.mod": gomod(), "p.go": GO, "a.go": GO}, tags=("v1.0.0",),
             extra=(("120000", "a.go", "p.go"),)),), point=6),
    Case("files-duplicate-file", f"{ZIP} checkFiles: a tree holding two files of one name "
         "(multiple entries for file)", (Commit(
             files={"go.mod": gomod(), "p.go": GO, "a.go": GO}, tags=("v1.0.0",),
             extra=(("100644", "a.go", "package p // other\n"),)),), point=6),
    Case("files-hg-archival", f"{ZIP} CreateFromVCS: .hg_archival.txt is dropped",
         (_simple({".hg_archival.txt": "repo: x\n"}, tags=("v1.0.0",)),)),
    # -- the adversary's probes (issue 11 trial) ----------------------------------------------
    Case("tag-slash-prefix-no-dir", f"{GITHOST} Stat + {CODEREPO} convert: release/v1.0.0 is "
         "a plain tag of the root module (no release/ directory): a pseudo-version",
         (_simple(tags=("release/v1.0.0",)),), query="release/v1.0.0"),
    Case("tag-slash-prefix-dir-without-gomod", f"{GITHOST} Stat + {CODEREPO} convert: "
         "release/v1.0.0 where release/ holds no go.mod names a root-module commit",
         (_simple({"release/r.go": GO}, tags=("release/v1.0.0",)),), query="release/v1.0.0"),
    Case("rev-head-tilde", f"{GITHOST} Stat: go knows no HEAD~1; gopush's --rev HEAD~1 names "
         "the commit go is asked for by hash", (_simple(tags=("v1.0.0",)),
                                                Commit(files={"q.go": GO})),
         query="{c0}", rev="HEAD~1"),
    Case("rev-refs-heads", f"{GITHOST} Stat: refs/heads/dev as gopush's --rev is branch dev",
         (_simple(), Commit(files={"q.go": GO}, branch="dev", parent="c0"),
          Commit(files={"m.go": GO}, branch="main")), query="dev", rev="refs/heads/dev"),
    Case("query-tag-and-branch-same-name", f"{GITHOST} Stat: a tag wins over a branch of the "
         "same name", (_simple(tags=("dev",)), Commit(files={"q.go": GO}, branch="dev",
                                                      parent="c0"),
                       Commit(files={"m.go": GO}, branch="main")), query="dev"),
    Case("query-build-metadata-other-commit", f"{CODEREPO} Stat/convert: @v1.0.0+meta names "
         "its own tag even when v1.0.0 tags another commit",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.0.0+meta",))),
         query="v1.0.0+meta", point=5),
    Case("query-latest-skips-retracted", f"{QUERY} queryProxy: latest skips the retracted "
         "highest release", (_simple(tags=("v1.0.0",)),
                             Commit(files={"go.mod": gomod(extra="retract v1.1.0\n")},
                                    tags=("v1.1.0",)), Commit(files={"q.go": GO})),
         query="latest", point=5),
    Case("query-latest-all-retracted", f"{QUERY} queryProxy: latest when every release is "
         "retracted", (_simple(tags=("v1.0.0",)),
                       Commit(files={"go.mod": gomod(extra="retract [v1.0.0, v1.1.0]\n")},
                              tags=("v1.1.0",)), Commit(files={"q.go": GO})),
         query="latest", point=5),
    Case("query-prefix-skips-retracted", f"{QUERY} queryProxy: @v1 skips retracted versions",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0",)),
          Commit(files={"go.mod": gomod(extra="retract v1.2.0\n")}, tags=("v1.2.0",))),
         query="v1", point=5),
    Case("query-below", f"{QUERY} queryProxy: @<v1.2.0 is the highest release below",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0",)),
          Commit(files={"r.go": GO}, tags=("v1.2.0",))), query="<v1.2.0", point=5),
    Case("pseudo-after-prerelease-with-metadata", f"{CODEREPO} tagToVersion: v1.2.3-rc.1+build "
         "is a base (vX.Y.Z-rc.1.0.time-hash)",
         (_simple(tags=("v1.2.3-rc.1+build",)), Commit(files={"q.go": GO}))),
    Case("incompatible-prerelease-tag", f"{CODEREPO} tagToVersion: a v2 prerelease tag without "
         "go.mod is +incompatible", (Commit(files={"p.go": GO}, tags=("v2.0.0-rc.1",)),),
         args=NO_GOMOD),
    Case("incompatible-metadata-base", f"{CODEREPO} convert: a v2.0.0+build tag without go.mod "
         "is a +incompatible pseudo-version base",
         (Commit(files={"p.go": GO}, tags=("v2.0.0+build",)), Commit(files={"q.go": GO})),
         args=NO_GOMOD),
    Case("incompatible-and-v1-same-commit", f"{CODEREPO} convert: v1.5.0 and v2.0.0 on one "
         "commit without go.mod", (Commit(files={"p.go": GO}, tags=("v1.5.0", "v2.0.0")),),
         args=NO_GOMOD),
    Case("incompatible-gomod-added-later", f"{CODEREPO} canUseIncompatible: go.mod added after "
         "the v2 tag: the later commit's base skips v2",
         (Commit(files={"p.go": GO}, tags=("v2.0.0",)), Commit(files={"go.mod": gomod()}))),
    Case("incompatible-latest-v2-gomod-later", f"{CODEREPO} Versions: latest with a v2 tag "
         "(no go.mod) and go.mod only in a later commit",
         (Commit(files={"p.go": GO}, tags=("v2.0.0",)), Commit(files={"go.mod": gomod()})),
         query="latest", point=5),
    Case("vendor-go-1.24rc1", f"{ZIP} isVendoredPackage: version.Lang(go1.24rc1) is go1.24",
         (_simple({"go.mod": gomod(go="1.24rc1"), "vendor/modules.txt": "# x\n",
                   "pkg/vendor/v.go": GO}, tags=("v1.0.0",)),), point=2),
    Case("vendor-go-1.23.9", f"{ZIP} isVendoredPackage: go 1.23.9 keeps the old rule",
         (_simple({"go.mod": gomod(go="1.23.9"), "vendor/modules.txt": "# x\n",
                   "pkg/vendor/v.go": GO}, tags=("v1.0.0",)),), point=2),
    Case("vendor-go-v-prefix", f"{MODFILE} laxGoVersionRE: 'go v1.24' needs a suffix; "
         "ParseLax fails: old rule", (_simple({"go.mod": gomod(go="v1.24"),
                                               "vendor/modules.txt": "# x\n",
                                               "pkg/vendor/v.go": GO},
                                              tags=("v1.0.0",)),), point=2),
    Case("vendor-go-lax-suffix", f"{MODFILE} laxGoVersionRE: 'go 1.24.x' reads as 1.24",
         (_simple({"go.mod": gomod(go="1.24.x"), "vendor/modules.txt": "# x\n",
                   "pkg/vendor/v.go": GO}, tags=("v1.0.0",)),), point=2),
    Case("vendor-gomod-crlf", f"{MODFILE} a CRLF go.mod blob: the go line still reads 1.24",
         (_simple({"go.mod": gomod(go="1.24").replace("\n", "\r\n"),
                   "vendor/modules.txt": "# x\n", "pkg/vendor/v.go": GO},
                  tags=("v1.0.0",)),), point=2),
    Case("vendor-nested-old-rule", f"{ZIP} isVendoredPackage: nested vendor directories, go "
         "1.23", (_simple({"go.mod": gomod(go="1.23"), "a/vendor/b/vendor/c.go": GO,
                           "a/vendor/v.go": GO, "vendor/vendor/x.go": GO,
                           "abc/vendor/x.go": GO, "x/vendorz/y.go": GO},
                          tags=("v1.0.0",)),), point=2),
    Case("vendor-nested-new-rule", f"{ZIP} isVendoredPackage: nested vendor directories, go "
         "1.24", (_simple({"go.mod": gomod(go="1.24"), "a/vendor/b/vendor/c.go": GO,
                           "a/vendor/v.go": GO, "vendor/vendor/x.go": GO,
                           "abc/vendor/x.go": GO, "x/vendorz/y.go": GO},
                          tags=("v1.0.0",)),), point=2),
    Case("gomod-deprecated-comment", f"{MODFILE} a // Deprecated: comment changes nothing",
         (_simple({"go.mod": "// Deprecated: use example.com/other\nmodule {root}\n\ngo 1.21\n"},
                  tags=("v1.0.0",)),)),
    Case("gomod-module-block", f"{MODFILE} ModulePath: 'module (' gives the path '(', "
         "which findDir's isMajor lets pass at v1 (gopush needs --module to know the path)",
         (_simple({"go.mod": "module (\n\t{root}\n)\n\ngo 1.21\n"}, tags=("v1.0.0",)),),
         args=("--module", "{root}"), point=1),
    Case("gomod-module-comment", f"{MODFILE} ModulePath: a comment after the path is cut",
         (_simple({"go.mod": "module {root} // the module\n\ngo 1.21\n"}, tags=("v1.0.0",)),),
         point=1),
    Case("gomod-retract-noncanonical", f"{MODFILE} parseVersion: 'retract v1.0' in the highest "
         "release's go.mod", (_simple(tags=("v1.0.0",)),
                              Commit(files={"go.mod": gomod(extra="retract v1.0\n")},
                                     tags=("v1.1.0",)), Commit(files={"q.go": GO})),
         query="{c0}", point=4),
    Case("gomod-retract-reversed-range", f"{MODFILE} parseVersionInterval: a reversed range",
         (_simple(tags=("v1.0.0",)),
          Commit(files={"go.mod": gomod(extra="retract [v1.1.0, v1.0.0]\n")},
                 tags=("v1.1.0",))), query="{c0}", point=4),
    Case("Upper-Case-Path", f"{MODULE} EscapePath: a module path with upper-case letters",
         (_simple(tags=("v1.0.0",)),), query="v1.0.0"),
    Case("files-long-names", f"{ZIP} CreateFromVCS: names over tar's 100 bytes (git archive "
         "writes pax headers)", (_simple({"d" * 120 + ".go": GO,
                                          "/".join(["deep" * 10] * 5) + "/x.go": GO},
                                         tags=("v1.0.0",)),)),
    Case("files-windows-reserved", f"{MODULE} checkElem: 'aux.go' is a reserved Windows name",
         (_simple({"aux.go": GO}, tags=("v1.0.0",)),)),
    Case("files-trailing-dot", f"{MODULE} checkElem: trailing dot in path element",
         (_simple({"x.": "x\n"}, tags=("v1.0.0",)),)),
    Case("files-tilde-short-name", f"{MODULE} checkElem: a Windows short name in a file path",
         (_simple({"GOPUSH~1.go": GO}, tags=("v1.0.0",)),)),
    Case("files-export-attributes", f"{GITHOST} ensureGitAttributes: export-ignore and "
         "export-subst are switched off", (_simple({
             ".gitattributes": "ignored.go export-ignore\nsubst.go export-subst\n",
             "ignored.go": GO, "subst.go": "package p // $Format:%H$\n"},
             tags=("v1.0.0",)),)),
    Case("files-ident-attribute", f"{GITHOST} ReadZip: git archive expands $Id$ for ident",
         (_simple({".gitattributes": "p.go ident\n", "p.go": "package p // $Id$\n"},
                  tags=("v1.0.0",)),)),
    Case("files-nested-gomod-symlink", f"{ZIP} checkFiles: a symlinked sub/go.mod makes no "
         "nested module", (_simple({"sub/real.mod": gomod("{root}/sub"),
                                    "sub/go.mod": Symlink("real.mod"), "sub/s.go": GO},
                                   tags=("v1.0.0",)),)),
    Case("files-root-gomod-uppercase", f"{ZIP} checkFiles: GO.MOD at the root",
         (Commit(files={"GO.MOD": gomod(), "p.go": GO}, tags=("v1.0.0",)),), args=NO_GOMOD),
    Case("files-symlinked-directory", f"{ZIP} CreateFromVCS: a symlink to a directory is "
         "omitted", (_simple({"real/r.go": GO, "alias": Symlink("real")}, tags=("v1.0.0",)),)),
    Case("gopkgin-unstable-head", f"{CODEREPO} Versions: gopkg.in/NAME.v2-unstable has no "
         "tagged versions; its commits are v2 pseudo-versions",
         (Commit(files={"go.mod": gomod("gopkg.in/corpus/un1.v2-unstable"), "p.go": GO},
                 tags=("v2.0.0",)), Commit(files={"q.go": GO})),
         vanity="gopkg.in/corpus/un1.v2-unstable", module="gopkg.in/corpus/un1.v2-unstable",
         point=3),
    Case("gopkgin-unstable-tagged-commit", f"{CODEREPO} convert: a v2.0.0 tag at the commit of "
         "a .v2-unstable module",
         (Commit(files={"go.mod": gomod("gopkg.in/corpus/un2.v2-unstable"), "p.go": GO},
                 tags=("v2.0.0",)), Commit(files={"q.go": GO})),
         vanity="gopkg.in/corpus/un2.v2-unstable", module="gopkg.in/corpus/un2.v2-unstable",
         query="{c0}", point=3),
    Case("license-root-symlink", f"{CODEREPO} zip: ReadFile(LICENSE) of a symlink copies the "
         "link's blob", (Commit(files={"COPYING": LICENSE, "LICENSE": Symlink("COPYING"),
                                       "sub/go.mod": gomod("{root}/sub"), "sub/p.go": GO},
                                tags=("sub/v1.0.0",)),),
         module="{root}/sub", query="v1.0.0", rev="sub/v1.0.0"),
    Case("license-root-directory", f"{CODEREPO} zip: a root LICENSE directory is not copied",
         (Commit(files={"LICENSE/x.txt": LICENSE, "sub/go.mod": gomod("{root}/sub"),
                        "sub/p.go": GO}, tags=("sub/v1.0.0",)),),
         module="{root}/sub", query="v1.0.0", rev="sub/v1.0.0"),
    Case("license-sub-symlink", f"{CODEREPO} zip: a symlinked sub/LICENSE counts as present "
         "(haveLICENSE), then is omitted", (Commit(
             files={"LICENSE": LICENSE, "sub/COPYING": "own\n", "sub/LICENSE": Symlink("COPYING"),
                    "sub/go.mod": gomod("{root}/sub"), "sub/p.go": GO},
             tags=("sub/v1.0.0",)),), module="{root}/sub", query="v1.0.0", rev="sub/v1.0.0"),
    Case("license-copied-into-major-subdir", f"{CODEREPO} zip: the root LICENSE is copied into "
         "a module living in v2/", (Commit(
             files={"LICENSE": LICENSE, "go.mod": gomod(), "p.go": GO,
                    "v2/go.mod": gomod("{root}/v2"), "v2/p.go": GO}, tags=("v2.0.0",)),),
         module="{root}/v2", query="v2.0.0"),
    Case("gomod-over-limit-root", f"{GITHOST} ReadFile ignores maxSize: findDir reads a 16 MiB+1 "
         "go.mod; the zip refuses it", (Commit(files={"go.mod": Sized(
             SIXTEEN_MIB + 1, b"module github.com/corpus/gomod-over-limit-root\n"),
             "p.go": GO}, tags=("v1.0.0",)),), query="v1.0.0", args=NO_GOMOD, point=6),
    Case("gomod-over-limit-sub", f"{GITHOST} ReadFile ignores maxSize: a sub module's 16 MiB+1 "
         "go.mod is found, then refused by the zip", (Commit(files={"sub/go.mod": Sized(
             SIXTEEN_MIB + 1, b"module github.com/corpus/gomod-over-limit-sub/sub\n"),
             "sub/p.go": GO}, tags=("sub/v1.0.0",)),), module="{root}/sub", query="v1.0.0",
         rev="sub/v1.0.0", args=("--module", "{root}/sub", "--subdir", "sub"), point=6),
    Case("pseudo-version-query-incompatible", f"{CODEREPO} validatePseudoVersion: a "
         "+incompatible pseudo-version query",
         (Commit(files={"p.go": GO}, tags=("v2.0.0",)), Commit(files={"q.go": GO})),
         query="v2.0.1-0.20240101010000-{c1:.12}+incompatible", args=NO_GOMOD, point=5),
    Case("pseudo-version-query-sub-module", f"{CODEREPO} validatePseudoVersion: a sub module's "
         "pseudo-version query", (Commit(files={"go.mod": gomod(), "sub/go.mod": gomod(
             "{root}/sub"), "sub/p.go": GO}, tags=("sub/v0.1.0",)),
             Commit(files={"sub/q.go": GO})),
         module="{root}/sub", query="v0.1.1-0.20240101010000-{c1:.12}",
         args=("--subdir", "sub"), point=5),
    Case("files-non-utf8-name", f"{MODULE} CheckFilePath: a file name that is not UTF-8",
         (_simple({"\udcff.go": GO}, tags=("v1.0.0",)),)),
    Case("sub-module-major-branch", f"{CODEREPO} findDir: sub/go.mod claiming sub/v2 at tag "
         "sub/v2.0.0", (Commit(files={"sub/go.mod": gomod("{root}/sub/v2"), "sub/p.go": GO},
                               tags=("sub/v2.0.0",)),),
         module="{root}/sub/v2", query="v2.0.0", rev="sub/v2.0.0", point=3),
    Case("sub-module-major-subdir", f"{CODEREPO} findDir: sub/v2/go.mod at tag sub/v2.0.0",
         (Commit(files={"sub/go.mod": gomod("{root}/sub"), "sub/p.go": GO,
                        "sub/v2/go.mod": gomod("{root}/sub/v2"), "sub/v2/p.go": GO},
                 tags=("sub/v2.0.0",)),),
         module="{root}/sub/v2", query="v2.0.0", rev="sub/v2.0.0", point=3),
    Case("query-tag-named-like-hash", f"{GITHOST} Stat: a tag named like another commit's "
         "short hash", (_simple(), Commit(files={"q.go": GO}, tags=("{c0:.7}",))),
         query="{c0:.7}"),
    Case("query-latest-prerelease-only", f"{QUERY} queryProxy: latest with only prereleases",
         (_simple(tags=("v1.0.0-rc.1",)), Commit(files={"q.go": GO}, tags=("v1.0.0-rc.2",)),
          Commit(files={"r.go": GO})), query="latest", point=5),
    Case("query-latest-release-over-prerelease", f"{QUERY} queryProxy: latest prefers a "
         "release to a higher prerelease",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0-rc.1",))),
         query="latest", point=5),
    Case("query-above", f"{QUERY} queryProxy: @>v1.0.0 is the lowest release above",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0",)),
          Commit(files={"r.go": GO}, tags=("v1.2.0",))), query=">v1.0.0", point=5),
    Case("query-semver-prefix-only-tag", f"{QUERY} queryProxy: @v1.0 with only the tag v1.0",
         (_simple(tags=("v1.0",)),), query="v1.0", point=5),
    Case("gomod-over-limit-major-subdir", f"{CODEREPO} findDir: go.mod and a 16 MiB+1 "
         "v2/go.mod both claim /v2 (go reads it whole)", (Commit(files={
             "go.mod": gomod("{root}/v2"), "p.go": GO, "v2/p.go": GO, "v2/go.mod": Sized(
                 SIXTEEN_MIB + 1, b"module github.com/corpus/gomod-over-limit-major-subdir/v2\n")},
             tags=("v2.0.0",)),), module="{root}/v2", query="v2.0.0", point=6,
         xfail="both refuse, in other words: gopush says go.mod file too large, go's findDir "
               "says both have .../v2 module paths (gopush does not read an oversized "
               "go.mod's module line)"),
    Case("tag-of-annotated-tag", f"{GITHOST} Stat: a tag of an annotated tag peels to the "
         "commit (%D decorations peel fully)",
         (_simple(tags=("v1.0.0^annotated",)),
          Commit(files={"q.go": GO}, tags=("v1.1.0^annotated@v1.0.0",))), query="{c0}"),
    Case("tag-of-annotated-tag-query", f"{GITHOST} Stat: @v1.1.0, a tag of a tag",
         (_simple(tags=("v1.0.0^annotated",)),
          Commit(files={"q.go": GO}, tags=("v1.1.0^annotated@v1.0.0",))), query="v1.1.0"),
    Case("tag-of-tag-is-base", f"{GITHOST} RecentTag: for-each-ref --merged peels a tag of a "
         "tag", (_simple(tags=("v1.0.0^annotated",)),
                 Commit(files={"q.go": GO}, tags=("v1.1.0^annotated@v1.0.0",)),
                 Commit(files={"r.go": GO}))),
    Case("tag-on-blob", f"{GITHOST} RecentTag/Stat: a v1.1.0 tag naming a blob is no base",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0@HEAD:go.mod",)))),
    Case("tag-on-blob-query", f"{GITHOST} Stat: @v1.1.0 naming a blob",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0@HEAD:go.mod",))),
         query="v1.1.0"),
    Case("tag-on-tree-latest", f"{QUERY} queryProxy: latest when the highest tag names a tree",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO},
                                            tags=("v1.1.0@HEAD^{{tree}}",))),
         query="latest", point=5),
    Case("retract-highest-tag-on-blob", f"{CODEREPO} retractedVersions: GoMod of a highest "
         "release that names a blob fails: nothing retracted",
         (_simple(tags=("v1.0.0",)),
          Commit(files={"go.mod": gomod(extra="retract v1.0.0\n")}, tags=("v1.1.0",)),
          Commit(files={"q.go": GO}, tags=("v1.2.0@HEAD:go.mod",))), query="{c0}", point=4),
    Case("major-root-gomod-v1-suffix", f"{CODEREPO} findDir: go.mod says /v1 at v1.0.0 "
         "(malformed module path)", (Commit(files={"go.mod": gomod("{root}/v1"), "p.go": GO},
                                            tags=("v1.0.0",)),),
         query="v1.0.0", args=("--module", "{root}"), point=3),
    Case("major-root-gomod-post-v1", f"{CODEREPO} findDir: go.mod says /v2 at v1.0.0 "
         "(post-v1 module path)", (Commit(files={"go.mod": gomod("{root}/v2"), "p.go": GO},
                                          tags=("v1.0.0",)),),
         query="v1.0.0", args=("--module", "{root}"), point=3),
    Case("files-committed-vcs-dirs", f"{ZIP} CreateFromVCS: committed .svn/.hg/.bzr "
         "directories are ordinary files from git", (_simple({
             "sub/.svn/entries": "x\n", ".hg/store": "x\n", ".bzr/x": "x\n"},
             tags=("v1.0.0",)),)),
    Case("files-case-collision-dir", f"{ZIP} collisionChecker: a file and a directory that "
         "differ in case", (_simple({"a.go": GO, "A.GO/x.go": GO}, tags=("v1.0.0",)),)),
    Case("files-case-collision-unicode-16", f"{ZIP} strToFold: U+A7CB and U+0264 fold together "
         "in Unicode 16", (_simple({"\ua7cb.go": GO, "\u0264.go": GO}, tags=("v1.0.0",)),),
         point=7),
    Case("pseudo-base-prerelease-above-release", f"{GITHOST} RecentTag: a later v1.1.0-rc.1 is "
         "the base, above v1.0.0",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0-rc.1",)),
          Commit(files={"r.go": GO}))),
    Case("gomod-module-nbsp", f"{MODFILE} ModulePath: bytes.TrimSpace cuts a no-break space "
         "after 'module'", (_simple({"go.mod": "module\u00a0{root}\n\ngo 1.21\n"},
                                    tags=("v1.0.0",)),), point=1),
    Case("gomod-module-tab", f"{MODFILE} ModulePath: a tab after 'module'",
         (_simple({"go.mod": "module\t{root}\n\ngo 1.21\n"}, tags=("v1.0.0",)),), point=1),
    Case("gomod-module-escaped-quote", f"{MODFILE} ModulePath: strconv.Unquote reads escapes",
         (_simple({"go.mod": 'module "\\x67it\\u0068ub.com/corpus/gomod-module-escaped-quote"\n'
                             '\ngo 1.21\n'}, tags=("v1.0.0",)),), point=1),
    Case("gomod-module-comment-in-quotes", f"{MODFILE} ModulePath: // is cut even inside "
         "quotes; the unquote fails: missing module path",
         (_simple({"go.mod": 'module "{root}//x"\n\ngo 1.21\n'}, tags=("v1.0.0",)),),
         query="v1.0.0", args=NO_GOMOD, point=1),
    Case("files-backslash-name", f"{MODULE} CheckFilePath: a backslash in a file name",
         (_simple({"a\\b.go": GO}, tags=("v1.0.0",)),)),
    Case("query-head", f"{GITHOST} Stat: @HEAD is the default branch's tip",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO})), query="HEAD"),
    Case("query-default-branch-name", f"{GITHOST} Stat: @main names the branch",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO})), query="main"),
    Case("query-latest-no-tags", f"{QUERY} queryProxy: latest with no tags is the tip's "
         "pseudo-version", (_simple(), Commit(files={"q.go": GO})), query="latest", point=5),
    Case("query-full-hash-tagged", f"{CODEREPO} convert: a full hash of a tagged commit is "
         "its tag", (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO})), query="{c0}"),
    Case("replaced-commit", f"{GITHOST} statLocal: go's own clone fetches no refs/replace/, "
         "so a locally replaced commit is the original one",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}),
          Commit(files={"r.go": GO}, branch="side", parent="c0", replaces="c1")),
         query="{c1}"),
    Case("retract-incompatible-version", f"{CODEREPO} convert: retract v2.0.0+incompatible "
         "in the v1 go.mod retracts the v2.0.0 tag (build metadata compares equal)",
         (Commit(files={"p.go": GO}, tags=("v2.0.0",)),
          Commit(files={"go.mod": gomod(extra="retract v2.0.0+incompatible\n")},
                 tags=("v1.0.0",))), query="{c0}", args=NO_GOMOD, point=4),
    Case("gomod-gitlink", f"{CODEREPO} findDir: a gitlink named go.mod is no file; git "
         "archive gives a directory entry", (Commit(files={
             "go.mod": Gitlink("0123456789abcdef0123456789abcdef01234567"), "p.go": GO},
             tags=("v1.0.0",)),), query="v1.0.0", args=NO_GOMOD),
    Case("vendor-top-level-file", f"{ZIP} isVendoredPackage: vendor/x.go is no vendored "
         "package (no directory below vendor/)",
         (_simple({"go.mod": gomod(go="1.24"), "vendor/x.go": GO, "vendor/modules.txt": "#\n",
                   "vendor/a/b.go": GO}, tags=("v1.0.0",)),), point=2),
    Case("files-nested-module-case", f"{ZIP} checkFiles: Sub/go.mod makes Sub/ a nested "
         "module, not sub/", (_simple({"Sub/go.mod": gomod("{root}/Sub"), "Sub/s.go": GO,
                                       "sub/x.go": GO}, tags=("v1.0.0",)),)),
    Case("tag-prerelease-leading-zero", f"{CODEREPO} tagToVersion: v1.0.0-rc.01 is no "
         "semantic version", (_simple(tags=("v1.0.0-rc.01",)),)),
    Case("tag-capital-v", f"{CODEREPO} tagToVersion: V1.0.0 is no version",
         (_simple(tags=("V1.0.0",)),)),
    Case("files-tree-entry-dotdot", f"{MODULE} CheckFilePath: a tree entry named '..' "
         "(git mktree allows it; git archive writes it)", (Commit(
             files={"go.mod": gomod(), "p.go": GO}, tags=("v1.0.0",),
             extra=(("100644", "..", "x\n"),)),), point=6),
    Case("files-tree-entry-dot", f"{MODULE} CheckFilePath: a tree entry named '.'", (Commit(
        files={"go.mod": gomod(), "p.go": GO}, tags=("v1.0.0",),
        extra=(("100644", ".", "x\n"),)),), point=6),
    Case("files-tree-entry-dotgit", f"{ZIP} CreateFromVCS: a committed file named .git",
         (Commit(files={"go.mod": gomod(), "p.go": GO}, tags=("v1.0.0",),
                 extra=(("100644", ".git", "x\n"),)),), point=6),
    Case("files-name-over-255", f"{ZIP} checkFiles: no length limit on a file name (300 "
         "bytes, past what a Linux file system holds)", (Commit(
             files={"go.mod": gomod(), "p.go": GO}, tags=("v1.0.0",),
             extra=(("100644", "n" * 300 + ".go", GO),)),)),
    Case("files-leading-trailing-space", f"{MODULE} fileNameOK: spaces at either end of a "
         "file name", (_simple({" a.go": GO, "b.go ": GO}, tags=("v1.0.0",)),)),
    Case("incompatible-latest-v1-has-gomod", f"{CODEREPO} Versions (golang.org/issue/34189): "
         "the latest v1 has a go.mod, so no v2 tag is listed: latest is v1.0.0",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, delete=("go.mod",),
                                           tags=("v2.0.0",))),
         query="latest", args=NO_GOMOD, point=5),
    Case("incompatible-prefix-v2-unlisted", f"{QUERY} queryProxy: @v2 finds nothing when "
         "v2.0.0+incompatible is not listed", (_simple(tags=("v1.0.0",)),
                                               Commit(files={"q.go": GO}, delete=("go.mod",),
                                                      tags=("v2.0.0",))),
         query="v2", args=NO_GOMOD, point=5),
    Case("incompatible-latest-major-has-gomod", f"{CODEREPO} appendIncompatibleVersions: the "
         "latest v2 tag has a go.mod, so no v2 tag is +incompatible",
         (Commit(files={"p.go": GO}, tags=("v2.0.0",)),
          Commit(files={"go.mod": gomod()}, tags=("v2.1.0",)), Commit(files={"q.go": GO})),
         query="latest", point=5),
    Case("query-sub-prefix", f"{QUERY} queryProxy: @v1 of a sub module lists its sub/ tags",
         (Commit(files={"go.mod": gomod(), "sub/go.mod": gomod("{root}/sub"), "sub/p.go": GO},
                 tags=("v1.5.0", "sub/v1.0.0")),
          Commit(files={"sub/q.go": GO}, tags=("sub/v1.1.0",)), Commit(files={"sub/r.go": GO})),
         module="{root}/sub", query="v1", rev="sub/v1", point=5),
    Case("query-sub-latest", f"{QUERY} queryProxy: @latest of a sub module",
         (Commit(files={"go.mod": gomod(), "sub/go.mod": gomod("{root}/sub"), "sub/p.go": GO},
                 tags=("v1.5.0", "sub/v1.0.0")),
          Commit(files={"sub/q.go": GO}, tags=("sub/v1.1.0",)), Commit(files={"sub/r.go": GO})),
         module="{root}/sub", query="latest", rev="sub/latest", point=5),
    Case("pseudo-version-query-major-subdir", f"{CODEREPO} validatePseudoVersion: a /v2 "
         "module in v2/, its pseudo-version based on v2.0.0",
         (Commit(files={"go.mod": gomod(), "p.go": GO, "v2/go.mod": gomod("{root}/v2"),
                        "v2/p.go": GO}, tags=("v2.0.0",)), Commit(files={"v2/q.go": GO})),
         module="{root}/v2", query="v2.0.1-0.20240101010000-{c1:.12}",
         args=("--subdir", "v2"), point=5),
    Case("query-latest-major-subdir", f"{QUERY} queryProxy: @latest of a /v2 module in v2/",
         (Commit(files={"go.mod": gomod(), "p.go": GO, "v2/go.mod": gomod("{root}/v2"),
                        "v2/p.go": GO}, tags=("v1.0.0", "v2.0.0")),
          Commit(files={"v2/q.go": GO}, tags=("v2.1.0",))),
         module="{root}/v2", query="latest", args=("--subdir", "v2"), point=5),
    Case("retract-prerelease-range", f"{CODEREPO} retractedVersions: a range of prereleases "
         "retracted by the highest release",
         (_simple(tags=("v1.0.0-rc.1",)), Commit(files={"q.go": GO}, tags=("v1.0.0",)),
          Commit(files={"go.mod": gomod(extra="retract [v1.0.0-rc.1, v1.0.0-rc.9]\n")},
                 tags=("v1.0.1",))), query="{c0}", point=4),
    Case("major-gopkgin-v0", f"{CODEREPO} findDir: gopkg.in/NAME.v0 at v0.1.0",
         (Commit(files={"go.mod": gomod("gopkg.in/corpus/g0.v0"), "p.go": GO},
                 tags=("v0.1.0",)),), vanity="gopkg.in/corpus/g0.v0",
         module="gopkg.in/corpus/g0.v0", query="v0.1.0", point=3),
    Case("query-at-most", f"{QUERY} queryProxy: @<=v1.1.0 is the highest release at or below",
         (_simple(tags=("v1.0.0",)), Commit(files={"q.go": GO}, tags=("v1.1.0",)),
          Commit(files={"r.go": GO}, tags=("v1.2.0",))), query="<=v1.1.0", point=5),
]
