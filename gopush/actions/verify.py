"""``gopush verify``: compare what a registry serves with a local build or a given zip.

The published zip is downloaded the way consumers' go gets it (through the GOPROXY URL),
hashed (``h1:``) and put through the acceptance gate go's checks mirror (a published zip go
refuses is named as the first cause); the local side is a given zip or a fresh build of the checkout. When the
hashes differ, every file is compared and the difference explained: files added, missing or
changed, and the usual causes named - line endings, a copied root LICENSE, the vendor rule,
a working-tree build, a moved tag - the question every go ``SECURITY ERROR`` leaves open.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gopush.actions.artifact import load_artifact
from gopush.errors import InvalidModule, InvalidModuleZip, RegistryError
from gopush.modzip import zipread
from gopush.modzip.accept import accept_zip
from gopush.modzip.rules import is_vendored
from gopush.registry.base import Registry
from gopush.ui.base import Reporter


class ModuleMismatch(InvalidModule):
    """The published module differs from the local one (exit 4)."""


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """Which version to verify, and the local side: a zip, or a build request."""

    module: str
    version: str
    zip: Path | None = None
    rev: str | None = None  # with no zip: what to build (None: where go reads the version)
    subdir: str | None = None  # None: the directory whose go.mod declares the module
    worktree: bool = False


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file that differs: ``added`` (only local), ``missing`` (only published), ``changed``."""

    path: str
    change: str
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The comparison's outcome."""

    module: str
    version: str
    published_sum: str
    local_sum: str
    local: str  # where the local side came from
    diffs: list[FileDiff] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Tell whether go would accept the local content for the published version."""
        return self.published_sum == self.local_sum


def verify(request: VerifyRequest, registry: Registry, reporter: Reporter) -> VerifyResult:
    """Download module@version from ``registry`` and compare it with the local side.

    Raises:
        RegistryError: the registry does not serve module@version.
        InvalidModule, SourceError: the local side cannot be checked or built.
    """
    with tempfile.TemporaryDirectory(prefix="gopush-verify-") as scratch:
        published = Path(scratch) / "published.zip"
        published_sum = registry.download(request.module, request.version, published)
        if published_sum is None:
            raise RegistryError(f"{request.module}@{request.version} is not published in "
                                f"{registry.describe()}", status=404,
                                hint="check the module path, the version and the repository")
        reporter.step(f"published {request.module}@{request.version}: {published_sum}")
        refused = _go_refuses(published, request.module, request.version)
        local_zip, local = _local_side(request, Path(scratch), reporter)
        local_art = load_artifact(local_zip)
        if (local_art.module, local_art.version) != (request.module, request.version):
            raise InvalidModule(f"{local} holds {local_art.module}@{local_art.version}, not "
                                f"{request.module}@{request.version}: nothing to compare",
                                hint="pass the zip of that version, or verify the version "
                                     "the zip holds")
        local_sum = local_art.sum
        result = VerifyResult(request.module, request.version, published_sum, local_sum, local)
        if result.identical:
            return result
        diffs = compare_zips(published, local_zip, f"{request.module}@{request.version}/")
    causes = name_causes(diffs, worktree=request.worktree, built=request.zip is None)
    if refused is not None:
        causes.insert(0, f"go refuses the published zip ({refused}): every `go get` of this "
                         "version fails; publish a new version")
    return VerifyResult(request.module, request.version, published_sum, local_sum, local, diffs,
                        causes)


def _go_refuses(published: Path, module: str, version: str) -> str | None:
    """Return why go would refuse the downloaded zip (the one gate, ``accept_zip``), or None."""
    try:
        accept_zip(published, module, version)
    except InvalidModuleZip as err:
        return err.message
    return None


def _local_side(request: VerifyRequest, scratch: Path, reporter: Reporter) -> tuple[Path, str]:
    if request.zip is not None:
        return request.zip, str(request.zip)
    from gopush.actions.build import BuildRequest, build, build_located
    from gopush.sources.git import GitRepository
    from gopush.sources.module import locate_version

    options = BuildRequest(rev=request.rev or "HEAD", subdir=request.subdir,
                           module=request.module, version=request.version,
                           out=scratch / "build", worktree=request.worktree)
    if request.worktree:
        return build(options, reporter).zip_path, "a build of the working tree"
    located = locate_version(GitRepository.open(Path(".")), request.module, request.version,
                             rev=request.rev, subdir=request.subdir, cwd=Path("."))
    built = build_located(located, options, reporter)
    return built.zip_path, f"a build of revision {located.tag or located.commit.short}"


def compare_zips(published: Path, local: Path, prefix: str) -> list[FileDiff]:
    """Return the files that differ between two module zips, with a per-file cause."""
    theirs, ours = _digests(published, prefix), _digests(local, prefix)
    diffs = [FileDiff(p, "added", _file_cause(p, "added"))
             for p in sorted(ours.keys() - theirs.keys())]
    diffs += [FileDiff(p, "missing", _file_cause(p, "missing"))
              for p in sorted(theirs.keys() - ours.keys())]
    for path in sorted(ours.keys() & theirs.keys()):
        if ours[path] != theirs[path]:
            same_lf = _normalized(published, prefix + path) == _normalized(local, prefix + path)
            cause = "line endings (CRLF vs LF)" if same_lf else _file_cause(path)
            diffs.append(FileDiff(path, "changed", cause))
    return diffs


def name_causes(diffs: list[FileDiff], *, worktree: bool, built: bool) -> list[str]:
    """Return the likely causes of ``diffs``, most specific first."""
    causes = []
    if any(d.cause and d.cause.startswith("line endings") for d in diffs):
        causes.append("line endings: files differ only in CRLF vs LF; go zips the bytes git "
                      "stores (.gitattributes eol rules applied), so either a tool converted "
                      "them when it built one side, or the file's line endings changed in git "
                      "after publishing (a moved tag)")
    if any(d.cause == LICENSE_COPY for d in diffs):
        causes.append("root LICENSE: go copies the repository's root LICENSE into a module "
                      "in a subdirectory that has none; one side was built without that rule")
    if any(d.cause == VENDOR_RULE for d in diffs):
        causes.append("vendor rule: which vendor/ files a zip keeps depends on the go line of "
                      "go.mod; one side applied another rule")
    if worktree:
        causes.append("working-tree build: the local side holds uncommitted, untracked or "
                      "ignored files; build from the tag instead (drop --worktree)")
    unexplained = [d for d in diffs if d.cause is None]
    if built and not worktree and unexplained:
        causes.append("other content under the same version: the published zip was made "
                      "from other files than this tag holds - the tag was moved or re-created "
                      "after publishing, or the zip was made from a working tree (uncommitted "
                      "or untracked files); go and every proxy keep the first content "
                      "forever, so publish a new version")
    return causes


LICENSE_COPY = "root LICENSE copy"
VENDOR_RULE = "vendor rule"


def _file_cause(path: str, change: str = "changed") -> str | None:
    # go's rules add or leave out whole files; a file on both sides that differs is a
    # content change like any other
    if change == "changed":
        return None
    if path == "LICENSE":
        return LICENSE_COPY
    if is_vendored(path, fixed=False) or is_vendored(path, fixed=True):
        return VENDOR_RULE  # some go's rule leaves it out: one side applied another rule
    return None


def _digests(path: Path, prefix: str) -> dict[str, str]:
    with path.open("rb") as handle:
        return zipread.file_digests(handle, prefix)


def _normalized(path: Path, name: str) -> str:
    """Return the SHA-256 of entry ``name`` with CRLF read as LF, streamed (a changed file
    may be as large as a module allows)."""
    digest = hashlib.sha256()
    held = b""  # a CR that may start a CRLF split between two pieces
    with path.open("rb") as handle:
        for piece in zipread.file_chunks(handle, name):
            piece = held + piece
            held = b"\r" if piece.endswith(b"\r") else b""
            digest.update(piece[:len(piece) - len(held)].replace(b"\r\n", b"\n"))
    digest.update(held)
    return digest.hexdigest()
