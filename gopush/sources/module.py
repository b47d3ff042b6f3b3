"""One module at one revision, located once: go's ``codeRepo.Stat`` and ``findDir`` in one place.

``locate`` answers, for a revision of a repository, what ``go mod download -json MODULE@REV``
decides before it zips anything, and hands the answer on as one frozen ``ModuleAtRev``
(repository, commit, layout, version, the tag the revision names, the go.mod bytes read once
and parsed once). ``gopush build``, ``build --all``, ``check``, ``verify`` and ``push`` all
start from it. The steps, in our words:

* **The query** (go's ``modload.Query`` for one module). A revision that ends in a version
  is a version query: ``[DIR/]vX.Y.Z`` names that tag (``+incompatible`` is dropped to find
  it), a version of the module in ``DIR`` (where ``DIR`` holds no module, the tag is a
  plain revision of the module gopush builds, as go's Stat reads it); ``vX.Y.Z+meta`` names its own tag if there is one, else the tag ``vX.Y.Z``;
  ``vN`` and ``vN.M`` name the highest release (else prerelease) of that prefix that is not
  retracted; a pseudo-version names the commit at its end, and its time and base must fit.
  Anything else (a branch, another tag, a hash, ``HEAD~2``) is a git revision.
* **The module directory**: ``--subdir``; or the directory a version tag's prefix names
  (``sub/v1.2.0``: ``sub``, or ``sub/v2`` from v2 on); or the nearest go.mod above where
  gopush runs. Its go.mod gives the module path (the first ``module`` line, as
  ``modfile.ModulePath`` reads it), unless ``--module`` insists on another.
* **The version** (go's ``convert``): the version the query named, else the highest
  canonical tag at the commit, else a pseudo-version (``CodeRepo`` does that part).
* **findDir** (``coderepo.find_dir``): with the path's major version known, go reads
  ``DIR/go.mod`` and, for a ``/vN`` path, ``DIR/vN/go.mod``, and decides which one is the
  module, or refuses (both
  claim ``/vN``; ``vN/go.mod`` claims something else; go.mod has a malformed or post-v1 path;
  go.mod missing where it is required). gopkg.in paths never look in a ``vN/`` directory,
  and an unversioned path accepts a go.mod declaring a ``gopkg.in`` path
  (golang.org/issue/34254). The refusals carry go's own words.
* **go.mod, read once and parsed once**: at most ``MAX_GO_MOD_BYTES``, every candidate of one
  revision read by one git process. go itself never parses a downloaded module's go.mod
  strictly; a strict parse is done here only to warn (``parse_error``), and the lax parse
  (the ``go`` line, retractions) is what the build uses when the strict one fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from gopush.errors import InvalidModule, InvalidVersion, SourceError
from gopush.gosem import gomod, modpath, pseudo, semver
from gopush.modzip.rules import MAX_GO_MOD_BYTES
from gopush.sources.coderepo import CodeRepo, GoModReader, ModuleLayout, find_dir, layout_for
from gopush.sources.git import Commit, GitRepository


@dataclass(frozen=True, slots=True)
class ModuleAtRev:
    """A module located at a revision: everything decided before its files are read."""

    code: CodeRepo  # the repository and the module's layout in it
    commit: Commit
    version: str
    tag: str | None  # the version tag the revision named ("sub/v1.2.0"), else None
    go_mod: bytes | None  # the module's go.mod as go reads it; None: go synthesizes one
    declared: str  # its module path, as modfile.ModulePath reads it ("" without go.mod)
    parsed: gomod.GoMod | None  # the strict parse, else the lax one, else None
    parse_error: str | None  # what the strict parse found ("go.mod:3: unknown directive...")

    @property
    def repo(self) -> GitRepository:
        """Return the repository."""
        return self.code.repo

    @property
    def layout(self) -> ModuleLayout:
        """Return where the module lives in the repository."""
        return self.code.layout

    @property
    def path(self) -> str:
        """Return the module path."""
        return self.code.layout.path


def locate(repo: GitRepository, rev: str = "HEAD", *, subdir: str | None = None,
           module: str | None = None, cwd: Path | None = None,
           version: str | None = None) -> ModuleAtRev:
    """Locate the module ``rev`` names, as ``go mod download MODULE@REV`` would.

    ``subdir`` is the module's directory in the repository (None: the directory a version
    tag names, else the nearest go.mod above ``cwd``); ``module`` insists on a module path
    (for a repository without go.mod, or a vanity path); ``version`` insists on a version
    (checked against the commit as go checks a requested version).

    Raises:
        SourceError: the revision does not exist, or the directory is missing.
        InvalidModule, InvalidVersion: go would refuse this module at this revision.
    """
    query = _Query.parse(rev)
    if (query.kind in ("prefix", "latest", "compare") and query.prefix
            and not repo.is_dir("HEAD", query.prefix.rstrip("/"))):
        query = _Query(rev, "", "", "rev")  # no module directory: a branch like release/v1.2
    if query.kind in ("prefix", "latest", "compare"):
        picked, path = _pick(repo, query, subdir=subdir, module=module, cwd=cwd)
        # the module path is the one asked for (go's MODULE@QUERY), even where the picked
        # tag has no go.mod to say it (a v2.0.0+incompatible release)
        return locate(repo, picked, subdir=subdir, module=module or path, cwd=cwd,
                      version=version)
    commit, tag = _commit_of(repo, query)
    reader = GoModReader(repo, commit.hash, commit.short)
    module_dir = _module_dir(reader, query, tag, subdir, module, cwd)
    path = module_path(reader.declared(module_dir), module, module_dir)
    code = CodeRepo(repo, layout_for(path, module_dir), reader)
    if tag is not None and query.prefix != code.layout.tag_prefix:
        # the tag is not one of this module's versions (release/v1.0.0 of a root module
        # whose release/ directory holds no module): go's Stat reads it as a plain revision
        tag = None
    named = version or (tag[len(code.layout.tag_prefix):] if tag else None)
    if named and not pseudo.is_pseudo_version(named):
        # go's checkCanonical runs findDir before it compares the major version with the
        # path, so a go.mod of another major is refused with findDir's words
        find_dir(reader, code.layout, named.removesuffix("+incompatible"))
    version = (code.check_version(version, commit) if version
               else _version(code, query, commit, tag))
    found_dir, go_mod = find_dir(reader, code.layout, version)
    if found_dir != code.layout.dir:  # --module named a /vN path that lives in vN/
        code = CodeRepo(repo, layout_for(path, found_dir), reader)
    code.check_incompatible(commit, version)
    parsed, parse_error = gomod.parse_as_dependency(go_mod)
    return ModuleAtRev(code, commit, version, tag, go_mod, reader.declared(found_dir) or "",
                       parsed, parse_error)


def locate_version(repo: GitRepository, module: str, version: str, *, rev: str | None = None,
                   subdir: str | None = None, cwd: Path | None = None) -> ModuleAtRev:
    """Locate ``module@version`` where go reads it in this repository (for ``verify``),
    filling in the revision and directory the caller left None.

    The revision is the commit a pseudo-version names, or the version's tag: ``v1.2.0``,
    ``sub/v1.2.0`` for a module in ``sub/`` (or ``sub/v2/``), without ``+incompatible``.
    The directory is the one whose go.mod declares ``module`` there; with none (a module
    without go.mod) it is looked for from ``cwd``.

    Raises:
        as ``locate``.
    """
    base = version.removesuffix("+incompatible")
    if rev is None and pseudo.is_pseudo_version(base):
        rev = pseudo.pseudo_version_rev(base)
    if rev is None:
        tags = [t for t in repo.all_tags() if t == base or t.endswith(f"/{base}")]
        found = [(t, d) for t in tags
                 if (d := declaring_dir(repo, repo.commit(t).hash, module)) is not None]
        rev, found_dir = found[0] if len(found) == 1 else (base, None)
        subdir = subdir if subdir is not None else found_dir
    if subdir is None:
        subdir = declaring_dir(repo, repo.commit(rev).hash, module)
    return locate(repo, rev, subdir=subdir, module=module, cwd=cwd, version=version)


class Untagged(NamedTuple):
    """A module with no version tag at a commit, and the tags there go passes over for it
    (``CodeRepo.unusable_tags``: tag, why)."""

    path: str
    unusable: list[tuple[str, str]]


def locate_tagged(repo: GitRepository,
                  rev: str) -> tuple[Commit, list[ModuleAtRev], list[Untagged]]:
    """Locate every module of the repository that has a version tag at ``rev``.

    Returns the commit, the tagged modules, and the modules without a tag there. Modules under ``vendor/`` and ``testdata/`` directories are never release
    modules; a go.mod without a module line names no module. Every go.mod is read by one
    git process.
    """
    commit = repo.commit(rev)
    dirs = [d for d in repo.go_mod_dirs(commit.hash)
            if not {"vendor", "testdata"} & set(d.split("/"))]
    reader = GoModReader(repo, commit.hash, commit.short)
    reader.read_many(dirs)
    located: list[ModuleAtRev] = []
    untagged: list[Untagged] = []
    for module_dir in dirs:
        path = reader.declared(module_dir)
        if not path:
            continue
        code = CodeRepo(repo, layout_for(path, module_dir), reader)
        if pseudo.is_pseudo_version(code.version_of(commit)):
            untagged.append(Untagged(path, code.unusable_tags(commit)))
        else:
            located.append(locate(repo, commit.hash, subdir=module_dir))
    return commit, located, untagged


def declaring_dir(repo: GitRepository, commit: str, module: str) -> str | None:
    """Return the directory whose go.mod declares ``module`` at ``commit``, or None."""
    dirs = repo.go_mod_dirs(commit)
    datas = repo.read_files([(commit, _join(d, "go.mod")) for d in dirs], MAX_GO_MOD_BYTES)
    for directory, data in zip(dirs, datas, strict=True):
        if data is not None and gomod.module_path(data) == module:
            return directory
    return None


def module_path(declared: str | None, insisted: str | None, module_dir: str) -> str:
    """Return the module path from go.mod's ``declared`` one (None: no go.mod), or from
    --module (which wins, with a check).

    Raises:
        InvalidModule: no path at all, or one go could not serve.
    """
    if declared is not None and not declared and not insisted:
        # go's findDir: "go.mod is missing module path"
        raise InvalidModule(f"{_join(module_dir, 'go.mod')} is missing module path",
                            hint="add `module PATH` as the first line of go.mod")
    path = insisted or declared
    if not path:
        raise InvalidModule("this module has no go.mod and no --module was given",
                            hint="pass --module PATH (e.g. --module github.com/OWNER/REPO)")
    try:
        modpath.check_module_path(path)
    except InvalidModule as err:
        if insisted:
            raise
        raise InvalidModule(f"go.mod: {err.message}",
                            hint="pass --module IMPORT/PATH: go serves such a module under the "
                                 "path it is fetched by") from None
    return path


# -- the query --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Query:
    """A revision as go's Query reads it: ``kind`` is one of canonical (a version tag),
    metadata (vX.Y.Z+meta), prefix (vN, vN.M), latest, compare (<v1.2.3, >=v1.2 ...),
    pseudo, or rev (anything git resolves)."""

    rev: str
    prefix: str  # "sub/" for sub/v1.2.3; "" otherwise
    version: str  # the version part ("" for kind rev)
    kind: str
    op: str = ""  # for kind compare: <, <=, > or >=

    @classmethod
    def parse(cls, rev: str) -> _Query:
        head, slash, last = rev.rpartition("/")
        prefix = head + slash
        if _is_semver_prefix(last):
            return cls(rev, prefix, last, "prefix")
        if last == "latest":
            return cls(rev, prefix, "", "latest")
        op = last[:2] if last[:2] in ("<=", ">=") else last[:1]
        if op in ("<", ">", "<=", ">=") and semver.is_valid(last[len(op):]):
            return cls(rev, prefix, last[len(op):], "compare", op)
        if not semver.is_valid(last):
            return cls(rev, "", "", "rev")
        if pseudo.is_pseudo_version(last):
            return cls(rev, prefix, last, "pseudo")
        if _module_canonical(last) == last:
            return cls(rev, prefix, last, "canonical")
        return cls(rev, prefix, last, "metadata")


def _is_semver_prefix(v: str) -> bool:
    """Tell whether ``v`` is ``vN`` or ``vN.M`` (go's isSemverPrefix)."""
    parts = v[1:].split(".") if v.startswith("v") else []
    return 0 < len(parts) <= 2 and all(p.isdigit() and p.isascii() for p in parts)


def _module_canonical(v: str) -> str:
    """Return go's module.CanonicalVersion: semver.Canonical keeping ``+incompatible``."""
    canonical = semver.canonical(v)
    return canonical + "+incompatible" if semver.build(v) == "+incompatible" else canonical


def _commit_of(repo: GitRepository, query: _Query) -> tuple[Commit, str | None]:
    """Return the commit ``query`` names, and the version tag it names (None if none).

    Raises:
        InvalidVersion: a version query naming no tag or commit (go's "unknown revision").
    """
    if query.kind == "rev":
        return repo.commit(query.rev), None
    if query.kind == "pseudo":
        short = pseudo.pseudo_version_rev(query.version)
        return _known(repo, short, query, short), None
    tag = query.prefix + query.version.removesuffix("+incompatible")
    if (commit := repo.tag_commit(tag)) is not None:
        return commit, tag if query.kind == "canonical" else None
    if query.kind == "metadata":  # v1.2.3+meta with no such tag: the tag v1.2.3 (go's Query)
        canonical = query.prefix + semver.canonical(query.version)
        if (commit := repo.tag_commit(canonical)) is not None:
            return commit, canonical
    kind = repo.peeled_type(f"refs/tags/{tag}")
    if kind not in (None, "commit"):
        # go's Stat finds the tag, then its git log shows nothing for a tree or a blob
        raise InvalidVersion(f"{query.rev}: invalid version: unexpected response from git log: "
                             f"\"\" (tag {tag} names a {kind}, not a commit)",
                             hint="tag a commit: `git tag -f TAG COMMIT`")
    return _known(repo, query.rev, query, query.version), None


def _known(repo: GitRepository, rev: str, query: _Query, shown: str) -> Commit:
    try:
        return repo.commit(rev)
    except SourceError:
        raise InvalidVersion(f"{query.rev}: invalid version: unknown revision {shown}",
                             hint="check the name with `git tag` (fetch tags with "
                                  "`git fetch --tags`)") from None


def _version(code: CodeRepo, query: _Query, commit: Commit, tag: str | None) -> str:
    """Return the version go gives ``commit`` when asked for ``query`` (go's convert)."""
    prefix = code.layout.tag_prefix
    if tag is not None and tag.startswith(prefix):  # a version tag of this very module
        return code.check_version(tag[len(prefix):] + _incompatible(query), commit)
    if query.kind == "pseudo":
        return code.check_version(query.version, commit)
    best = code.version_of(commit)
    if query.kind == "canonical" and tag is None and query.prefix == prefix:
        # a branch named like one of this module's versions, not a tag
        raise InvalidVersion(f"{code.layout.path}@{query.version}: invalid version: resolves "
                             f"to version {best} ({query.version} is not a tag)",
                             hint=f"tag the commit {query.version}, or build --rev "
                                  f"{commit.short}")
    if query.kind != "metadata" or not pseudo.is_pseudo_version(best):
        return best
    # no canonical tag at the commit: a tag equal to vX.Y.Z+meta in precedence is the base
    # of the pseudo-version (go's convert: "use it as the base of an unambiguous
    # pseudo-version"), whatever higher tag its ancestors have
    for name in code.repo.tags_at(commit.hash):
        version, _ = code._tag_to_version(name, commit)
        if version and semver.compare(version, query.version) == 0:
            return pseudo.pseudo_version(code.layout.pseudo_major, version, commit.time,
                                         commit.short)
    return best


def _incompatible(query: _Query) -> str:
    return "+incompatible" if query.version.endswith("+incompatible") else ""


def _pick(repo: GitRepository, query: _Query, *, subdir: str | None, module: str | None,
          cwd: Path | None) -> tuple[str, str]:
    """Return the tag a version-list query picks among the module's versions that are not
    retracted (go's Query), and the module's path: releases before prereleases; the lowest
    for ``>`` and ``>=``, the highest otherwise. ``latest`` with no version at all is the
    tip (HEAD: go asks the origin's default branch).

    The module's layout comes from its go.mod at HEAD (or at the tag prefix's directory).

    Raises:
        InvalidVersion: no version matches (go's "no matching versions for query").
    """
    at_head = locate(repo, "HEAD", subdir=subdir if subdir is not None else (
        query.prefix.rstrip("/") if query.prefix else None), module=module, cwd=cwd)
    code = at_head.code
    listed = _versions(code, query.version + "." if query.kind == "prefix" else "")
    matching = [v for v in listed if _matches(query, v) and not code._retracted(v)]
    releases = [v for v in matching if not semver.prerelease(v)]
    if not matching and query.kind == "latest":
        return "HEAD", code.layout.path
    if not matching:
        shown = query.op + query.version
        raise InvalidVersion(f"module {code.layout.path}: no matching versions for query "
                             f"\"{shown}\"", hint="list the module's tags with `git tag`")
    pool = releases or matching
    picked = pool[0] if query.op in (">", ">=") else pool[-1]
    return code.layout.tag_prefix + picked.removesuffix("+incompatible"), code.layout.path


def _matches(query: _Query, version: str) -> bool:
    """Tell whether ``version`` answers a version-list query.

    ``v1.2`` matches v1.2.x at or above v1.2.0 (never its prereleases, golang.org/issue/31972,
    nor v1.20.x).
    """
    if query.kind == "latest":
        return True
    order = semver.compare(version, query.version)
    if query.kind == "prefix":
        return version.startswith(query.version + ".") and order >= 0
    return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[query.op]


def _versions(code: CodeRepo, prefix: str = "") -> list[str]:
    """List the module's versions starting with ``prefix`` as go's ``Versions(prefix)``
    does: its compatible tags, then ``vN.x.y+incompatible`` for tags of an unversioned root
    module whose latest compatible version has no go.mod, by major version, unless that
    major's latest tag has one. "Latest" is among the versions of ``prefix`` only (a query
    @v2 asks for prefix "v2.", so no v1 release hides v2.0.0+incompatible from it)."""
    versions = [v for v in code.release_versions() if v.startswith(prefix)]
    if code.layout.code_dir or code.layout.path_major:
        return versions
    higher = semver.sort_versions([
        t for t in code.repo.all_tags()
        if t.startswith(prefix) and t == semver.canonical(t) and not pseudo.is_pseudo_version(t)
        and not modpath.match_path_major(t, "")])
    if not higher:
        return versions
    latest_by_major = {semver.major(v): v for v in higher}
    asked = ([versions[-1]] if versions else []) + list(latest_by_major.values())
    has_go_mod = dict(zip(asked, (data is not None for data in code.repo.read_files(
        [(f"refs/tags/{v}", "go.mod") for v in asked], MAX_GO_MOD_BYTES)), strict=True))
    if versions and has_go_mod[versions[-1]]:
        return versions  # golang.org/issue/34189: consumers are meant to stay on v0/v1
    return versions + [v + "+incompatible" for v in higher
                       if not has_go_mod[latest_by_major[semver.major(v)]]]


# -- the module directory and its go.mod ----------------------------------------------------


def _module_dir(reader: GoModReader, query: _Query, tag: str | None, subdir: str | None,
                module: str | None, cwd: Path | None) -> str:
    """Return the module's directory: --subdir, the one a version tag names, or the nearest
    go.mod above ``cwd``."""
    if subdir is not None:
        subdir = subdir.strip("/")
        if not reader.repo.is_dir(reader.rev, subdir):
            raise SourceError(f"no directory {subdir!r} at {reader.short}",
                              hint="--subdir is relative to the repository root")
        return subdir
    start = _prefix_in_repo(reader.repo, cwd)
    parts = start.split("/") if start else []
    nearest = ["/".join(parts[:depth]) for depth in range(len(parts), -1, -1)]
    candidates = list(nearest)
    if query.kind != "rev":  # the directories a version query may name, in the same read
        code_dir = query.prefix.rstrip("/")
        candidates += [code_dir, _join(code_dir, semver.major(query.version))]
    reader.read_many(candidates)
    tagged = _tagged_dir(reader, query, tag, module)
    if tagged is not None:
        return tagged
    for candidate in nearest:
        if reader.read(candidate) is not None:
            return candidate
    if module:
        return start
    raise InvalidModule(
        f"no go.mod in {start or 'the repository root'} or its parents at {reader.short}",
        hint="commit a go.mod (`go mod init MODULE`), pass --subdir DIR for a module elsewhere "
             "in the repository, or pass --module PATH for a repository without go.mod")


def _tagged_dir(reader: GoModReader, query: _Query, tag: str | None,
                module: str | None) -> str | None:
    """Return the directory of the module a version query ``DIR/vX.Y.Z`` names, or None
    (not a version query, or no go.mod there: the directory then comes from where gopush
    runs).

    From v2 on, ``DIR/vN/`` holds the module when its go.mod claims a ``/vN`` path (the
    major-subdirectory layout), ``--module`` (if given) is a ``/vN`` path too, and ``DIR``'s
    own go.mod does not claim ``/vN`` (then go's findDir refuses the pair). A ``.vN`` path
    (gopkg.in) never lives in a ``vN/`` directory.
    """
    if query.kind == "rev" or (tag is None and not query.prefix):
        return None
    code_dir = query.prefix.rstrip("/")
    major = semver.major(query.version)
    if major not in ("v0", "v1"):
        dir2 = _join(code_dir, major)
        reader.read_many([dir2, code_dir])
        claims = [p.endswith(f"/{major}") for p in (reader.declared(dir2) or "",
                                                    module or f"/{major}",
                                                    reader.declared(code_dir) or "")]
        if claims == [True, True, False]:
            return dir2
    return code_dir if reader.read(code_dir) is not None else None


def _prefix_in_repo(repo: GitRepository, where: Path | None) -> str:
    if repo.toplevel is None or where is None:
        return ""
    rel = Path(where).resolve().relative_to(repo.toplevel.resolve()).as_posix()
    return "" if rel == "." else rel




def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name
