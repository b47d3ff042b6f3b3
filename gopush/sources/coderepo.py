"""A module inside a git repository: where its files are, and which version a commit is.

This mirrors the go command's ``modfetch/coderepo.go`` so that gopush names a commit exactly
as ``go mod download -json MODULE@<commit>`` does:

* The module's *code directory* (``code_dir``) is its directory in the repository, minus a
  trailing ``vN`` element when the module path ends in ``/vN`` and lives in that ``vN/``
  directory (the major-version-subdirectory layout). Its tags are ``<code_dir>/vX.Y.Z``
  (plain ``vX.Y.Z`` at the root).
* A commit's version is the highest *canonical* tag of this module pointing at it (``v1.2``
  and pseudo-version-shaped tags are ignored; retracted versions too). A ``vN`` tag with N >= 2
  on a module path without ``/vN`` becomes ``vN.x.y+incompatible`` only when the repository
  root has no go.mod at that commit and no ``vN/go.mod`` claims that major version.
* With no such tag, the version is a pseudo-version based on the highest allowed tag among the
  commit's ancestors.
* Where go.mod must be, and which one is the module's, is ``find_dir`` (below).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NoReturn

from gopush.errors import InvalidModule, InvalidVersion, SourceError
from gopush.gosem import gomod, modpath, pseudo, semver
from gopush.modzip.report import Invalid
from gopush.modzip.rules import MAX_GO_MOD_BYTES, TEXTS
from gopush.sources.git import REDATE_HINT, ArchivedFile, Commit, GitRepository, UnreadFile


@dataclass(frozen=True, slots=True)
class ModuleLayout:
    """Where a module lives in its repository (pure data; see ``layout_for``)."""

    path: str  # module path, e.g. github.com/acme/hello/v2
    code_dir: str  # tag prefix directory: "" at the root
    dir: str  # directory holding the module's files: code_dir, or code_dir/vN
    path_major: str  # "", "/v2", ".v1" (gopkg.in)

    @property
    def tag_prefix(self) -> str:
        """Return the prefix of this module's tags ("" or "sub/")."""
        return f"{self.code_dir}/" if self.code_dir else ""

    @property
    def pseudo_major(self) -> str:
        """Return the major version pseudo-versions must carry ("" means v0)."""
        digits = self.path_major.lstrip("/.").removesuffix("-unstable")
        return digits if self.path_major else ""


def layout_for(module_path: str, module_dir: str) -> ModuleLayout:
    """Work out the layout of ``module_path`` stored in ``module_dir`` of its repository."""
    _prefix, path_major, _ok = modpath.split_path_version(module_path)
    module_dir = module_dir.strip("/")
    parent, _, last = module_dir.rpartition("/")
    if path_major.startswith("/") and last == path_major[1:]:
        return ModuleLayout(module_path, parent, module_dir, path_major)
    return ModuleLayout(module_path, module_dir, module_dir, path_major)


# Hosts whose repository root is always HOST/OWNER/NAME (GitLab: HOST/GROUP/.../NAME).
KNOWN_HOSTS = ("github.com", "gitlab.com", "bitbucket.org")


def repo_root_from_remote(url: str) -> str | None:
    """Return the import path of a repository from its remote URL, for well-known hosts.

    ``https://github.com/Acme/Hello.git`` and ``git@github.com:Acme/Hello.git`` both give
    ``github.com/Acme/Hello``; URLs of other hosts give None (their paths can be anything).
    """
    rest = url.strip()
    for scheme in ("https://", "http://", "ssh://", "git://", "git+ssh://"):
        rest = rest.removeprefix(scheme)
    host, sep, path = rest.partition("/")
    if ":" in host and not sep or ":" in host and "@" in host:  # scp-like git@host:owner/name
        host, _, first = host.partition(":")
        path = f"{first}/{path}" if sep else first
    host = host.rpartition("@")[2].split(":", 1)[0].lower()
    path = path.strip("/").removesuffix(".git")
    if host not in KNOWN_HOSTS or path.count("/") < 1:
        return None
    return f"{host}/{path}"


def expected_module_prefix(layout: ModuleLayout, root: str) -> str:
    """Return the module path (without /vN) go expects for ``layout`` in repository ``root``."""
    return f"{root}/{layout.code_dir}" if layout.code_dir else root


class CodeRepo:
    """One module of a GitRepository, answering the questions go's codeRepo answers."""

    def __init__(self, repo: GitRepository, layout: ModuleLayout,
                 known: GoModReader | None = None) -> None:
        """``known``: the go.mod files of one commit (``known.rev``, its hash) read already;
        questions about that commit's go.mod files are answered through it, without
        another git process."""
        self.repo = repo
        self.layout = layout
        self._known = known
        self._files_seen: dict[tuple[str, str], bool] = {}

    # -- versions -------------------------------------------------------------------------

    def version_of(self, commit: Commit) -> str:
        """Return the version go gives ``commit``: its highest tag, else a pseudo-version."""
        best = ""
        for tag in self.repo.tags_at(commit.hash):
            version, canonical = self._tag_to_version(tag, commit)
            if canonical and semver.compare(best, version) < 0:
                best = version
        if best:
            return best
        base, _ = self._tag_to_version(self._recent_tag(commit), commit)
        version = pseudo.pseudo_version(self.layout.pseudo_major, base, commit.seconds,
                                        commit.short)
        if not pseudo.is_pseudo_version(version):
            # Past 9999 the timestamp has more than 14 digits: go makes this version, reads
            # it back as a plain revision name, and finds no such revision.
            raise InvalidVersion(
                f"{self.layout.path}@{version}: invalid version: unknown revision {version} "
                f"(commit {commit.short} is dated after 9999-12-31, and a pseudo-version's "
                "timestamp holds 14 digits)", hint=REDATE_HINT)
        return version

    def check_version(self, version: str, commit: Commit) -> str:
        """Validate an explicitly requested ``version`` for ``commit``; return it canonical.

        A compatible v2+ version on a path without /vN gains ``+incompatible`` where go would
        add it.

        Raises:
            InvalidVersion: not canonical, or the major version does not fit the module path.
        """
        if semver.canonical(version) != version.removesuffix("+incompatible"):
            wanted = semver.canonical(version) or semver.canonical(f"v{version}")
            raise InvalidVersion(
                f"{self.layout.path}@{version}: invalid version: not a canonical version",
                hint=f"use {wanted!r}" if wanted else "versions look like v1.2.3 or v1.2.3-rc.1")
        if pseudo.is_pseudo_version(version):
            self._check_pseudo(version, commit)
        bare = version.removesuffix("+incompatible")
        if modpath.match_path_major(bare, self.layout.path_major):
            if version.endswith("+incompatible"):
                raise InvalidVersion(
                    f"{self.layout.path}@{version}: invalid version: +incompatible suffix not "
                    f"allowed: major version {semver.major(bare)} is compatible")
            return version
        if self._can_use_incompatible(commit, version):
            return bare + "+incompatible"
        raise self._major_mismatch(bare)

    def _major_mismatch(self, version: str) -> InvalidVersion:
        major = semver.major(version)
        prefix, _, _ = modpath.split_path_version(self.layout.path)
        if self.layout.path_major:
            wanted = self.layout.path_major.lstrip("/.")
            if self.layout.path_major.startswith("/") and major in ("v0", "v1"):
                # go has no /v1 (nor /v0): those versions belong to the unsuffixed path
                hint = (f"tag a {wanted}.x.y version; {major}.x.y versions belong to the "
                        f"module path without a major version suffix, {prefix}")
            else:
                hint = (f"tag a {wanted}.x.y version, or build the module whose path ends "
                        f"in /{major}")
        else:
            hint = (f"change the module line of go.mod to {prefix}/{major} (and the imports "
                    f"inside the module), or release it as v1.x.y")
        return InvalidVersion(
            f"{self.layout.path}@{version}: invalid version: module contains a go.mod file, so "
            f"module path must match major version (\"{prefix}/{major}\")"
            if not self.layout.path_major else
            f"{self.layout.path}@{version}: invalid version: module path includes a major "
            f"version suffix, so major version must match (should be "
            f"{self.layout.path_major.lstrip('/.')}, not {major})", hint=hint)

    def _check_pseudo(self, version: str, commit: Commit) -> None:
        """Check that pseudo-version ``version`` names ``commit`` (go's validatePseudoVersion).

        Its revision and time must be the commit's; its base, if any, must be a tag of this
        module that the commit descends from, and not a tag of the commit itself (a commit
        with a canonical tag is named by that tag).

        Raises:
            InvalidVersion: with go's reason.
        """
        rev = pseudo.pseudo_version_rev(version)
        if rev != commit.short:
            self._rev_mismatch(version, rev, commit)
        stamp = pseudo.format_seconds(commit.seconds)
        if pseudo.format_time(pseudo.pseudo_version_time(version)) != stamp:
            raise self._invalid_pseudo(
                version, f"does not match version-control timestamp (expected {stamp})")
        base = pseudo.pseudo_version_base(version.removesuffix("+incompatible"))
        if not base:
            if not self.layout.pseudo_major and semver.major(version) == "v1":
                raise self._invalid_pseudo(
                    version, "major version without preceding tag must be v0, not v1")
            return
        prefix = self.layout.tag_prefix
        for tag in self.repo.tags_at(commit.hash):
            if tag.removeprefix(prefix) == base:
                raise self._invalid_pseudo(
                    version, f"tag ({tag}) found on revision {rev} is already canonical, so "
                             "should not be replaced with a pseudo-version derived from that tag")
        bases = sorted(t for t in self.repo.all_tags() if t.startswith(prefix + base)
                       and semver.compare(t[len(prefix):], base) == 0)
        if not bases:
            raise self._invalid_pseudo(version, f"preceding tag ({base}) not found")
        ancestors = set(self.repo.merged_tags(commit.hash))
        if not any(tag in ancestors for tag in bases):
            raise self._invalid_pseudo(
                version, f"revision {rev} is not a descendent of preceding tag ({bases[-1]})")

    def _rev_mismatch(self, version: str, rev: str, commit: Commit) -> NoReturn:
        """Raise go's error for a pseudo-version whose revision is not ``commit``'s."""
        if rev.startswith(commit.short):
            raise self._invalid_pseudo(version, f"revision is longer than canonical "
                                                f"(expected {commit.short})")
        if commit.short.startswith(rev):
            raise self._invalid_pseudo(version, f"revision is shorter than canonical "
                                                f"(expected {commit.short})")
        try:
            self.repo.commit(rev)
        except SourceError:
            raise InvalidVersion(
                f"{self.layout.path}@{version}: invalid version: unknown revision {rev}",
                hint="a pseudo-version names the commit whose hash it ends with; this "
                     "repository has none") from None
        raise self._invalid_pseudo(
            version, f"does not match short name of revision (expected {commit.short})")

    def _invalid_pseudo(self, version: str, reason: str) -> InvalidVersion:
        return InvalidVersion(f"{self.layout.path}@{version}: invalid pseudo-version: {reason}")

    def unusable_tags(self, commit: Commit) -> list[tuple[str, str]]:
        """Return the tags at ``commit`` that look like versions of this module (its tag
        prefix, then a semantic version) but that go cannot use as one, each with why.

        go drops them without a word (its tagToVersion), so a commit carrying only such a
        tag gets a pseudo-version; saying which tag was passed over, and why, is gopush's.
        """
        prefix, found = self.layout.tag_prefix, []
        for tag in self.repo.tags_at(commit.hash):
            trimmed = tag[len(prefix):]
            if not tag.startswith(prefix) or not semver.is_valid(trimmed) \
                    or pseudo.is_pseudo_version(tag) or self._tag_to_version(tag, commit)[0]:
                continue
            version = semver.canonical(trimmed)
            if not trimmed.startswith(version):
                why = f"{trimmed} is not a complete version (go reads {version} only)"
            elif self._retracted(version):
                why = f"{version} is retracted in go.mod"
            else:
                why = self._major_mismatch(version).message.split(": invalid version: ")[-1]
            found.append((tag, why))
        return found

    def _tag_to_version(self, tag: str, commit: Commit) -> tuple[str, bool]:
        """Map a tag to this module's version ("" if not one), and whether it is canonical."""
        prefix = self.layout.tag_prefix
        if not tag.startswith(prefix) or pseudo.is_pseudo_version(tag):
            return "", False
        trimmed = tag[len(prefix):]
        version = semver.canonical(trimmed)
        if not version or not trimmed.startswith(version) or self._retracted(version):
            return "", False
        canonical = version == trimmed
        if modpath.match_path_major(version, self.layout.path_major):
            return version, canonical
        if self._can_use_incompatible(commit, version):
            return version + "+incompatible", canonical
        return "", False

    def _recent_tag(self, commit: Commit) -> str:
        """Return the highest allowed tag among the commit's ancestors (go's RecentTag).

        Raises:
            SourceError: the repository is a shallow clone: go reads the ancestors from its
                own full clone, and the tag it would base the pseudo-version on may be
                missing here.
        """
        if self.repo.shallow:
            raise SourceError(
                f"commit {commit.short} has no version tag, and its pseudo-version depends on "
                "the tags of its ancestors, which this shallow clone may lack (go reads them "
                "from a full clone)",
                hint="fetch the whole history and the tags (`git fetch --unshallow --tags`; in "
                     "GitHub Actions, actions/checkout with fetch-depth: 0), or build a tag")
        tags = self.repo.merged_tags(commit.hash)
        if self.layout.pseudo_major or self._can_use_incompatible(commit, ""):
            return self._highest(tags, self.layout.pseudo_major, commit)
        return self._highest(tags, "v1", commit) or self._highest(tags, "v0", commit)

    def _highest(self, tags: list[str], major: str, commit: Commit) -> str:
        """Return the highest tag allowed for ``major`` ("" = any +incompatible-able major)."""
        prefix, highest = self.layout.tag_prefix, ""
        for tag in tags:
            if not tag.startswith(prefix):
                continue
            version = tag[len(prefix):]
            # go's tagAllowed: only tags its tagToVersion accepts (complete, canonical-prefixed,
            # not pseudo-version shaped, not retracted) can be a pseudo-version base.
            canonical = semver.canonical(version)
            if (not canonical or not version.startswith(canonical)
                    or pseudo.is_pseudo_version(tag) or self._retracted(canonical)):
                continue
            if major and semver.major(version) != major:
                continue
            # Any major is allowed only where it could be +incompatible: not v5.0.0 when a
            # v5/go.mod claims it (go.dev/issue/51324).
            if not major and not self._can_use_incompatible(commit, version):
                continue
            if semver.compare(version, highest) > 0:
                highest = version
        return prefix + highest if highest else ""

    def _can_use_incompatible(self, commit: Commit, version: str) -> bool:
        """Tell whether a v2+ tag may be used as +incompatible at ``commit``.

        Answers are remembered per (commit, major), as go's incompatibleOk map does: a
        repository with hundreds of tags must not cost hundreds of git calls.
        """
        if self.layout.code_dir or self.layout.path_major:
            return False
        if self._has_file(commit, "go.mod"):
            return False
        if version and not version.endswith("+incompatible"):
            return not self._has_file(commit, f"{semver.major(version)}/go.mod")
        return True

    def _has_file(self, commit: Commit, path: str) -> bool:
        directory, _, name = path.rpartition("/")
        if name == "go.mod" and self._known is not None and self._known.rev == commit.hash:
            return self._known.read(directory) is not None
        key = (commit.hash, path)
        if key not in self._files_seen:
            found = self.repo.read_file(commit.hash, path, MAX_GO_MOD_BYTES) is not None
            self._files_seen[key] = found
        return self._files_seen[key]

    def check_incompatible(self, commit: Commit, version: str) -> None:
        """Check that a ``+incompatible`` version is allowed at ``commit`` (go's checkGoMod;
        where go.mod must be is ``find_dir`` (below)).

        Raises:
            InvalidVersion: +incompatible is not allowed.
        """
        if version.endswith("+incompatible") and not self._can_use_incompatible(commit, ""):
            raise InvalidVersion(
                f"{self.layout.path}@{version}: invalid version: +incompatible suffix not "
                "allowed: module contains a go.mod file, so semantic import versioning is "
                "required")

    # -- retractions ----------------------------------------------------------------------

    def _retracted(self, version: str) -> bool:
        return any(semver.compare(lo, version) <= 0 <= semver.compare(hi, version)
                   for lo, hi in self._retractions)

    @cached_property
    def _retractions(self) -> list[tuple[str, str]]:
        """Retracted intervals declared by the go.mod of the highest release (go's
        retractedVersions).

        The highest release is the highest compatible version without prerelease (else the
        highest prerelease); its go.mod is read where the module lived at that tag, as
        ``find_dir`` places it. When that go.mod cannot be used (``find_dir`` refuses, or the
        lax parse fails) no version counts as retracted; a module without go.mod there
        retracts nothing.
        """
        versions = self.release_versions()
        if not versions:
            return []
        releases = [v for v in versions if not semver.prerelease(v)]
        highest = (releases or versions)[-1]
        tag = self.layout.tag_prefix + highest
        known = self._known
        # most often the highest release is the commit being built, its go.mod read already
        reader = (known if known is not None and tag in self.repo.tags_at(known.rev)
                  else GoModReader(self.repo, f"refs/tags/{tag}"))
        try:
            _dir, data = find_dir(reader, self.layout, highest)
        except InvalidModule:
            return []
        if data is None:
            return []
        try:
            parsed = gomod.parse_lax(data, "go.mod")
        except InvalidModule:
            return []
        return [(r.low, r.high) for r in parsed.retract]

    def release_versions(self) -> list[str]:
        """List this module's tagged, compatible versions in ascending order (go's Versions)."""
        prefix, found = self.layout.tag_prefix, []
        if self.layout.path.startswith("gopkg.in/") and self.layout.path.endswith("-unstable"):
            return []  # gopkg.in/NAME.v2-unstable has no tags: v2 tags belong to NAME.v2
        for tag in self.repo.all_tags():
            version = tag[len(prefix):] if tag.startswith(prefix) else ""
            if (not version or version != semver.canonical(version)
                    or pseudo.is_pseudo_version(version)):
                continue
            if modpath.match_path_major(version, self.layout.path_major):
                found.append(version)
        return semver.sort_versions(found)

    # -- files ----------------------------------------------------------------------------

    def files(self, commit: Commit) -> list[ArchivedFile | UnreadFile]:
        """Return the module's files at ``commit`` as go's zip would take them (those the
        zip omits whatever they hold listed, not read: see ``archive_files``)."""
        return self.repo.archive_files(commit.hash, self.layout.dir, skip_omitted=True)

    def _join(self, name: str) -> str:
        return f"{self.layout.dir}/{name}" if self.layout.dir else name


# -- findDir: which go.mod is the module's ---------------------------------------------------


def find_dir(reader: GoModReader, layout: ModuleLayout,
             version: str) -> tuple[str, bytes | None]:
    """Return the module's directory and go.mod for ``version``, as go's ``findDir`` does.

    Raises:
        InvalidVersion: go's findDir refuses (its words, after ``invalid version:``).
    """
    rev = _rev_label(layout, version, reader.short)
    second = layout.path_major.startswith("/")  # gopkg.in's .vN is never a directory
    dir2 = _join(layout.code_dir, layout.path_major[1:]) if second else None
    reader.read_many([layout.code_dir] + ([dir2] if dir2 is not None else []))
    _refuse_oversized(reader, layout, version, dir2)
    gomod1 = reader.read(layout.code_dir)
    mpath1 = reader.declared(layout.code_dir) or ""
    found1 = gomod1 is not None and (_is_major(mpath1, layout.path_major)
                                     or _replaces_gopkg_in(mpath1, layout.path_major))
    if dir2 is not None and (gomod2 := reader.read(dir2)) is not None:
        _check_major_dir(layout, version, rev, dir2, reader.declared(dir2) or "", found1)
        return dir2, gomod2
    if found1:
        return layout.code_dir, gomod1
    file1 = _join(layout.code_dir, "go.mod")
    if gomod1 is not None:
        raise _refused(layout, version, _mismatch(layout, file1, mpath1, version, rev, second))
    if not layout.code_dir and not second:
        return "", None  # go synthesizes `module PATH` (v0/v1 at the root, and gopkg.in)
    prefix, _, _ = modpath.split_path_version(layout.path)
    where = (f"missing {prefix}/go.mod and ...{layout.path_major}/go.mod" if second
             else f"missing {prefix}/go.mod")
    raise _refused(layout, version, f"{where} at revision {rev}",
                   hint="a module below the repository root or with a /vN path needs its own "
                        "go.mod: run `go mod init` there and commit it")


def _refuse_oversized(reader: GoModReader, layout: ModuleLayout, version: str,
                      dir2: str | None) -> None:
    """Refuse a module whose go.mod is over ``MAX_GO_MOD_BYTES``, as go ends up refusing it.

    go's git ReadFile has no size limit: findDir reads such a go.mod whole, and whichever one
    it picks goes into the zip, which x/mod then refuses ("go.mod file too large"); where
    findDir refuses first, its words differ but the verdict is the same. A ``vN/go.mod``
    counts whenever it is oversized (go picks it or refuses the pair); the ``DIR/go.mod``
    counts unless a ``vN/go.mod`` that fits the cap is there to be picked instead (gopush
    cannot read the oversized one's module path to tell whether both claim ``/vN``).

    Raises:
        InvalidVersion: with the zip rules' words.
    """
    over2 = dir2 is not None and reader.oversized(dir2)
    over1 = reader.oversized(layout.code_dir) and (dir2 is None or reader.read(dir2) is None)
    if over1 or over2:
        raise _refused(layout, version, f"go.mod: {TEXTS[Invalid.GO_MOD_TOO_LARGE]}",
                       hint="go refuses a module whose go.mod is over 16 MiB; shrink it and "
                            "tag a new version")


def _check_major_dir(layout: ModuleLayout, version: str, rev: str, dir2: str, mpath2: str,
                     found1: bool) -> None:
    """Check a ``vN/go.mod`` that exists: it must claim ``/vN``, and be the only one to.

    Raises:
        InvalidVersion: as go's findDir ("both have", "has non-.../vN module path").
    """
    prefix, _, _ = modpath.split_path_version(layout.path)
    major, file2 = layout.path_major, _join(dir2, "go.mod")
    if not _is_major(mpath2, major):
        reason = (f"{prefix}/{file2} has non-...{major} module path \"{mpath2}\""
                  if mpath2 else f"{prefix}/{file2} is missing module path")
        raise _refused(layout, version, f"{reason} at revision {rev}")
    if found1:
        file1 = _join(layout.code_dir, "go.mod")
        raise _refused(layout, version, f"{prefix}/{file1} and ...{major}/go.mod both have "
                                        f"...{major} module paths at revision {rev}")


def _mismatch(layout: ModuleLayout, file1: str, mpath1: str, version: str, rev: str,
              second: bool) -> str:
    """Return go's words for a go.mod whose path does not fit the module's major version."""
    suffix = f" (and ...{layout.path_major}/go.mod does not exist)" if second else ""
    if not mpath1:
        return f"{file1} is missing module path{suffix} at revision {rev}"
    if layout.path_major:
        return (f"{file1} has non-...{layout.path_major} module path \"{mpath1}\"{suffix} at "
                f"revision {rev}")
    if not modpath.split_path_version(mpath1)[2]:
        return f"{file1} has malformed module path \"{mpath1}\"{suffix} at revision {rev}"
    return (f"{file1} has post-{semver.major(version)} module path "
            f"\"{mpath1}\"{suffix} at revision {rev}")


def _is_major(mpath: str, path_major: str) -> bool:
    """Tell whether go.mod path ``mpath`` fits the major version of ``path_major`` (isMajor)."""
    if not mpath:
        return False
    _, mpath_major, ok = modpath.split_path_version(mpath)
    if not ok:
        return False
    if not path_major:
        return _major_prefix(mpath_major) in ("", "v0", "v1")
    return bool(mpath_major) and mpath_major[1:] == path_major[1:]


def _replaces_gopkg_in(mpath: str, path_major: str) -> bool:
    """golang.org/issue/34254: an unversioned path accepts a go.mod declaring gopkg.in/..."""
    return not path_major and mpath.startswith("gopkg.in/")


def _major_prefix(path_major: str) -> str:
    """Return go's PathMajorPrefix: "/v2" and ".v2-unstable" give "v2"."""
    return path_major.lstrip("/.").removesuffix("-unstable")


def _refused(layout: ModuleLayout, version: str, reason: str, *, hint: str | None = None
             ) -> InvalidVersion:
    return InvalidVersion(f"{layout.path}@{version}: invalid version: {reason}",
                          hint=hint or "go refuses this module at this revision; fix go.mod "
                                       "(or the vN/ directory) and tag a new version")


def _rev_label(layout: ModuleLayout, version: str, short: str) -> str:
    """Return how go names the revision of ``version`` in findDir's messages (revToRev)."""
    if pseudo.is_pseudo_version(version):
        return short
    return layout.tag_prefix + version.removesuffix("+incompatible")


class GoModReader:
    """go.mod files of one revision, each read at most once (many in one git process).

    ``rev`` is what git reads (a commit hash, or a tag); ``short`` the commit's short hash,
    which go's messages name for a pseudo-version ("" where no pseudo-version is asked).
    """

    def __init__(self, repo: GitRepository, rev: str, short: str = "") -> None:
        self.repo = repo
        self.rev = rev
        self.short = short
        self._seen: dict[str, bytes | None] = {}
        self._paths: dict[str, str | None] = {}
        self._oversized: set[str] = set()

    def read_many(self, dirs: list[str]) -> None:
        """Read the go.mod of each directory not read yet, in one git process."""
        wanted = [d for d in dict.fromkeys(dirs) if d not in self._seen]
        over: dict[int, int] = {}
        datas = self.repo.read_files([(self.rev, _join(d, "go.mod")) for d in wanted],
                                     MAX_GO_MOD_BYTES, oversized=over)
        self._seen.update(zip(wanted, datas, strict=True))
        self._oversized.update(wanted[i] for i in over)

    def oversized(self, directory: str) -> bool:
        """Tell whether ``directory`` holds a go.mod file over ``MAX_GO_MOD_BYTES`` (which
        ``read`` gives as None, unread: go reads it whole, then its zip refuses it)."""
        self.read_many([directory])
        return directory in self._oversized

    def read(self, directory: str) -> bytes | None:
        """Return the go.mod of ``directory`` (None: none, not a file, or over the cap)."""
        self.read_many([directory])
        return self._seen[directory]

    def declared(self, directory: str) -> str | None:
        """Return the module path the go.mod of ``directory`` declares (None: no go.mod)."""
        if directory not in self._paths:
            data = self.read(directory)
            self._paths[directory] = gomod.module_path(data) if data is not None else None
        return self._paths[directory]


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name
