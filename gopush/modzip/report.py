"""The verdict on a module's files: valid, omitted (with a reason) or invalid (with a reason).

This mirrors golang.org/x/mod/zip's ``CheckedFiles``: every file offered gets exactly one
verdict, and the error is derived from the verdicts (a size error first, else the list of
invalid files). Reasons are small string enums, so JSON output and tests match on them while
``detail`` carries the go command's own wording, which users can search for.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from gopush.errors import InvalidModuleZip

# An error message lists at most this many files; the report keeps them all.
MAX_LISTED_ISSUES = 50


class Omit(StrEnum):
    """Why a file is left out of the zip without making the module invalid."""

    SUBMODULE = "submodule"  # below a directory holding its own go.mod (a nested module)
    VENDORED = "vendored"  # inside a vendored package (vendor rules depend on the go line)
    SYMLINK = "symlink"  # symbolic links never go into module zips (golang.org/issue/27093)
    NOT_REGULAR = "not-regular"  # directories, devices, sockets, ...
    VCS_DIR = "vcs-dir"  # .bzr/.git/.hg/.svn trees of a directory source (not of git archive)
    HG_ARCHIVAL = "hg-archival"  # .hg_archival.txt at the root, always dropped


class Invalid(StrEnum):
    """Why a file (or zip entry) makes the module zip invalid."""

    PATH_NOT_CLEAN = "path-not-clean"
    PATH_NOT_RELATIVE = "path-not-relative"
    BAD_PATH = "bad-path"  # fails module.CheckFilePath (characters, elements, Windows names)
    OUTSIDE_PREFIX = "outside-prefix"  # zip entry not under <module>@<version>/
    CASE_COLLISION = "case-collision"  # equal to another path under Unicode case folding
    DUPLICATE = "duplicate"  # the same file listed twice
    FILE_AND_DIRECTORY = "file-and-directory"  # a path used both as a file and a directory
    GO_MOD_CASE = "go-mod-case"  # GO.MOD and friends at the root
    GO_MOD_NOT_ROOT = "go-mod-not-root"  # a go.mod entry below the root of a zip
    GO_MOD_TOO_LARGE = "go-mod-too-large"
    GO_MOD_MODULE_PATH = "go-mod-module-path"  # go.mod's module line names another module
    LICENSE_TOO_LARGE = "license-too-large"
    NAME_TOO_LONG = "name-too-long"  # a path element no file system extracts (go mod download)
    SIZE_MISMATCH = "size-mismatch"  # content larger (or smaller) than the declared size
    UNREADABLE = "unreadable"  # stat/open failed, corrupt entry, bad checksum, bad method


class FileIssue(NamedTuple):
    """One omitted or invalid file: its path, the reason, and the go command's wording."""

    path: str
    reason: Omit | Invalid
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


class InvalidZipFiles(InvalidModuleZip):
    """The files of a module break the zip rules; ``report`` holds every verdict."""

    def __init__(self, message: str, *, report: FileReport, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report


class FileReport(NamedTuple):
    """Verdicts for a set of files: ``valid`` paths in zip order, ``omitted``, ``invalid``.

    ``size_error`` is set when the valid files together (or the zip itself) exceed the limits.
    """

    valid: tuple[str, ...]
    omitted: tuple[FileIssue, ...] = ()
    invalid: tuple[FileIssue, ...] = ()
    size_error: str | None = None

    @property
    def ok(self) -> bool:
        """Tell whether these files make a valid module zip."""
        return self.size_error is None and not self.invalid

    def message(self) -> str:
        """Return the go command's text for the problem ("" when the report is ok)."""
        if self.size_error is not None:
            return self.size_error
        lines = [str(issue) for issue in self.invalid[:MAX_LISTED_ISSUES]]
        if len(self.invalid) > MAX_LISTED_ISSUES:
            lines.append(f"... and {len(self.invalid) - MAX_LISTED_ISSUES} more invalid files")
        return "\n".join(lines)

    def error(self, context: str = "") -> InvalidZipFiles | None:
        """Return the error these verdicts amount to, or None when the files are fine.

        ``context`` (such as ``"example.com/m@v1.0.0: create zip"``) prefixes the message.
        """
        if self.ok:
            return None
        text = self.message()
        if context:
            text = f"{context}: {text}"
        return InvalidZipFiles(text, report=self, hint=self._hint())

    def _hint(self) -> str:
        if self.size_error is not None:
            return ("module zips are limited to 500 MiB; move large assets out of the module "
                    "(for example into a nested module with its own go.mod)")
        return "rename or remove the files listed; the go command refuses such a module"
