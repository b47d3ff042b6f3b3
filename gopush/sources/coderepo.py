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
* A go.mod is required below the root and for ``/vN`` paths; without one, go synthesizes
  ``module PATH``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NoReturn

from gopush.errors import InvalidModule, InvalidVersion, SourceError
from gopush.gosem import gomod, modpath, pseudo, semver
from gopush.sources.git import (
    MAX_GO_MOD_BYTES,
    REDATE_HINT,
    ArchivedFile,
    Commit,
    GitRepository,
)


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

    def __init__(self, repo: GitRepository, layout: ModuleLayout) -> None:
        self.repo = repo
        self.layout = layout
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

    def version_named_by(self, rev: str) -> str | None:
        """Return the version ``rev`` names when it is one of this module's version tags.

        ``go mod download MODULE@v1.8.3`` means that tag even when v1.9.1 marks the same commit,
        and even when v1.8.3 is retracted; so does ``gopush build --rev v1.8.3``. A tag shaped
        like a pseudo-version names that pseudo-version, which ``check_version`` then holds to
        go's rules (its commit, time and base must match), as go does for such a query.
        """
        prefix = self.layout.tag_prefix
        if not rev.startswith(prefix) or self.repo.read_tag(rev) is None:
            return None
        version = rev[len(prefix):]
        if semver.canonical(version) != version:
            return None
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
            hint = (f"tag a {self.layout.path_major.lstrip('/.')}.x.y version, or build the "
                    f"module whose path ends in /{major}")
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
        """Return the highest allowed tag among the commit's ancestors (go's RecentTag)."""
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
        key = (commit.hash, path)
        if key not in self._files_seen:
            found = self.repo.read_file(commit.hash, path, MAX_GO_MOD_BYTES) is not None
            self._files_seen[key] = found
        return self._files_seen[key]

    def check_go_mod(self, commit: Commit, version: str) -> None:
        """Check that go.mod exists, or may be absent, where go requires (go's findDir).

        Raises:
            InvalidModule: go.mod is missing where required, or +incompatible is not allowed.
        """
        data = self.go_mod(commit)
        where = self._join("go.mod")
        if data is None and (self.layout.dir or self.layout.path_major.startswith("/")):
            raise InvalidModule(
                f"{self.layout.path}@{version}: missing {where} at revision {commit.short}",
                hint="a module below the repository root or with a /vN path needs its own "
                     "go.mod: run `go mod init` there and commit it")
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
        try:
            _dir, data = self.find_dir(self.layout.tag_prefix + highest, highest)
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

    # -- where the module is ---------------------------------------------------------------

    def find_dir(self, rev: str, version: str) -> tuple[str, bytes | None]:
        """Return the module's directory at ``rev`` and its go.mod there (go's findDir).

        A ``/vN`` module lives in ``DIR/vN`` when ``DIR/vN/go.mod`` claims ``/vN``, else in
        ``DIR`` when ``DIR/go.mod`` does (an unversioned path also accepts a go.mod naming a
        gopkg.in path, golang.org/issue/34254). go.mod None: there is none where go allows
        that (the repository root of a v0/v1 or gopkg.in module), and go synthesizes one.
        (The repository root is taken to be shorter than the module path, as on the
        well-known hosts; for a vanity root ending in /vN go skips the vN/ directory.)

        Raises:
            InvalidModule: the go.mod files disagree, or go.mod is missing where required;
                the message is go's.
        """
        code_dir, major = self.layout.code_dir, self.layout.path_major
        prefix = modpath.split_path_version(self.layout.path)[0]
        root = prefix.removesuffix(f"/{code_dir}") if code_dir else prefix  # go's codeRoot
        file1 = f"{code_dir}/go.mod" if code_dir else "go.mod"
        data1 = self.repo.read_file(rev, file1, MAX_GO_MOD_BYTES)
        path1 = gomod.module_path(data1) if data1 is not None else ""
        found1 = data1 is not None and (_is_major(path1, major) or (
            not major and path1.startswith("gopkg.in/")))
        file2 = ""
        if major.startswith("/"):
            dir2 = f"{code_dir}/{major[1:]}" if code_dir else major[1:]
            file2 = f"{dir2}/go.mod"
            data2 = self.repo.read_file(rev, file2, MAX_GO_MOD_BYTES)
            path2 = gomod.module_path(data2) if data2 is not None else ""
            if found1 and data2 is not None and _is_major(path2, major):
                raise self._not_here(version, f"{prefix}/{file1} and ...{major}/go.mod both "
                                              f"have ...{major} module paths at revision {rev}")
            if data2 is not None and _is_major(path2, major):
                return dir2, data2
            if data2 is not None:
                raise self._not_here(version, f"{root}/{file2} is missing module path at "
                                              f"revision {rev}" if not path2 else
                                     f'{root}/{file2} has non-...{major} module path '
                                     f'"{path2}" at revision {rev}')
        if found1:
            return code_dir, data1
        if data1 is not None:
            raise self._not_here(version, _bad_go_mod(file1, path1, major, version, rev,
                                                      bool(file2)))
        if not code_dir and (not major or major.startswith(".")):
            return "", None
        if file2:
            raise self._not_here(version, f"missing {prefix}/go.mod and ...{major}/go.mod at "
                                          f"revision {rev}")
        raise self._not_here(version, f"missing {prefix}/go.mod at revision {rev}")

    def _not_here(self, version: str, reason: str) -> InvalidModule:
        return InvalidModule(f"{self.layout.path}@{version}: invalid version: {reason}")

    # -- files ----------------------------------------------------------------------------

    def go_mod(self, commit: Commit) -> bytes | None:
        """Return the module's go.mod at ``commit`` (None when it has none)."""
        return self.repo.read_file(commit.hash, self._join("go.mod"), MAX_GO_MOD_BYTES)

    def files(self, commit: Commit) -> list[ArchivedFile]:
        """Return the module's files at ``commit`` as go's zip would take them."""
        return self.repo.archive_files(commit.hash, self.layout.dir)

    def _join(self, name: str) -> str:
        return f"{self.layout.dir}/{name}" if self.layout.dir else name


def _is_major(path: str, path_major: str) -> bool:
    """Tell whether go.mod's module ``path`` serves the major versions of ``path_major``
    (go's isMajor: gopkg.in .vN and /vN suffixes of the same N match)."""
    if not path:
        return False
    _prefix, major, ok = modpath.split_path_version(path)
    if not ok:
        return False
    if not path_major:
        return major.lstrip("/.").removesuffix("-unstable") in ("", "v0", "v1")
    return bool(major) and path_major[1:] == major[1:]


def _bad_go_mod(file: str, path: str, path_major: str, version: str, rev: str,
                had_vn: bool) -> str:
    """Return go's reason for a go.mod at ``file`` that does not declare this module."""
    suffix = f" (and ...{path_major}/go.mod does not exist)" if had_vn else ""
    if not path:
        return f"{file} is missing module path{suffix} at revision {rev}"
    if path_major:
        return f'{file} has non-...{path_major} module path "{path}"{suffix} at revision {rev}'
    if not modpath.split_path_version(path)[2]:
        return f'{file} has malformed module path "{path}"{suffix} at revision {rev}'
    return (f'{file} has post-{semver.major(version)} module path "{path}"{suffix} at '
            f"revision {rev}")
