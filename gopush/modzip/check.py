"""Check an existing module zip the way the go command checks a download, without extracting.

``go mod download`` refuses a zip when an entry is not under ``<module>@<version>/``, when an
entry cannot be read back (unsupported method, corrupt deflate data, CRC mismatch, content
longer or shorter than declared), or when ``modzip.Unzip``'s checks fail: unclean or invalid
file paths, case-fold collisions, duplicates, a path both file and directory, a go.mod below
the root or in another case, go.mod or LICENSE over 16 MiB, more than 500 MiB declared in
total, or a zip file over 500 MiB. A go.mod whose module line names another path is refused
too: ``go mod download`` takes it, but go refuses the module when it loads it ("module
declares its path as"), so no registry should serve it. Directory entries are allowed (and
hashed as empty files, as ``dirhash.HashZip`` does).

Every entry gets a verdict; problems are reported together, not one at a time.

Bounded work: entries are read through ``zipread`` (64 KiB pieces, each checked against the
declared size and CRC as it comes), and only after every declared size has been counted
against the 500 MiB budget, so a lying zip is stopped at its first extra byte and a zip
declaring too much is refused without inflating anything. The central directory is walked
from the file twice (names and sizes, then contents) rather than held; what stays in memory
per entry is what the answer needs: the collision checker's keys (one per path element, not
per prefix: linear in the name bytes whatever the depth), the valid name and its 32-byte
digest for the h1:. Measured: about 650 bytes per entry of a short name (200,000 empty
entries: 153 MB peak RSS for `gopush check`, 24 MB of it the process itself).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from gopush.errors import InvalidModule, InvalidModuleZip, InvalidPath
from gopush.gosem import gomod, modpath
from gopush.gosem.dirhash import hash1_sorted
from gopush.modzip import zipfmt, zipread
from gopush.modzip.paths import clean, fold_key
from gopush.modzip.report import FileIssue, FileReport, Invalid
from gopush.modzip.rules import (
    MAX_ZIP_BYTES,
    CollisionChecker,
    has_too_long_name,
    issue,
    size_verdict,
)

CONTENTS_TOO_LARGE = ("total uncompressed size of module contents too large "
                      f"(max size is {MAX_ZIP_BYTES} bytes)")


class ZipCheck(NamedTuple):
    """What a module zip holds: its module@version, verdicts, h1: sum and go.mod bytes.

    ``sum`` is "" unless the zip is valid; ``gomod`` is None when the zip has no go.mod.
    """

    module: str
    version: str
    report: FileReport
    sum: str
    gomod: bytes | None


def check_zip(path_or_file: str | os.PathLike[str] | zipfmt.ReadSeeker,
              module: str | None = None,
              version: str | None = None) -> ZipCheck:
    """Check a module zip as ``go mod download`` would; infer module@version if not given.

    Per-entry problems land in ``report`` (``report.error()`` gives the combined error).

    Raises:
        InvalidModuleZip: the file is not a readable zip, module@version cannot be inferred,
            or the module path or version is invalid.
    """
    with _opened(path_or_file) as f:
        size = f.seek(0, os.SEEK_END)
        if size > MAX_ZIP_BYTES:
            too_big = (f"module zip file is too large ({size} bytes; "
                       f"limit is {MAX_ZIP_BYTES} bytes)")
            return ZipCheck(module or "", version or "", FileReport((), size_error=too_big), "",
                            None)
        try:
            entries = zipfmt.read_directory(f, size)
        except zipfmt.ZipFormatError as err:
            raise InvalidModuleZip(str(err), hint="the file is not a valid zip archive") from None
        module, version = _module_version(entries, module, version)
        return _ZipChecker(f, f"{module}@{version}/").run(module, version, entries)


@contextmanager
def _opened(path_or_file: str | os.PathLike[str] | zipfmt.ReadSeeker
            ) -> Iterator[zipfmt.ReadSeeker]:
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, "rb") as f:
            yield f
    else:
        yield path_or_file


def named_module_version(entries: zipfmt.Directory) -> tuple[str, str] | None:
    """Return the module@version the first entry's name is under, or None (unchecked)."""
    entry = entries.first()
    first = entry.raw_name.decode("utf-8", "replace") if entry is not None else ""
    head, at, rest = first.partition("@")
    if not head or not at or "/" not in rest:
        return None
    return head, rest.split("/", 1)[0]


def _module_version(entries: zipfmt.Directory, module: str | None,
                    version: str | None) -> tuple[str, str]:
    """Return module@version as given, else read from the first entry's name; check both."""
    if module is None or version is None:
        named = named_module_version(entries)
        if named is None:
            raise InvalidModuleZip(
                "cannot tell the module and version: the first entry is not under "
                "<module>@<version>/", hint="a module zip's entries are all under "
                "<module>@<version>/, as `gopush build` and the go command write them")
        module = module if module is not None else named[0]
        version = version if version is not None else named[1]
    try:
        modpath.check_module_version(module, version)
    except InvalidModule as err:
        raise InvalidModuleZip(str(err), hint=err.hint) from None
    return module, version


class _ZipChecker:
    """Runs the per-entry checks over one open zip: names first, then contents."""

    def __init__(self, f: zipfmt.ReadSeeker, prefix: str) -> None:
        self.f = f
        self.prefix = prefix
        self.valid: list[str] = []
        self.invalid: list[FileIssue] = []
        self.lines: list[bytes] = []  # raw name + b"\n" + SHA-256: sorts as the names do
        self.gomod: bytes | None = None

    def run(self, module: str, version: str, entries: zipfmt.Directory) -> ZipCheck:
        """Give every entry a verdict, read the ones that pass, and assemble the result."""
        keep, size_error = self._check_names(entries)
        if size_error is None:
            for entry, kept in zip(entries, keep):
                if kept:
                    self._read(entry)
        if self.gomod is not None and (declared := gomod.module_path(self.gomod)) != module:
            self.invalid.append(FileIssue("go.mod", Invalid.GO_MOD_MODULE_PATH, (
                f"go.mod declares module {declared}, but the zip is for {module}: go would "
                f"refuse it (module declares its path as: {declared} but was required as: "
                f"{module})" if declared else
                "go.mod has no module line: go would refuse it (parsing go.mod: missing "
                "module line)")))
        report = FileReport(tuple(self.valid), (), tuple(self.invalid), size_error)
        return ZipCheck(module, version, report, self._sum() if report.ok else "",
                        self.gomod if report.ok else None)

    def _sum(self) -> str:
        """Return the h1: of the entries read (their names cannot hold a newline or a byte
        below it, so sorting the lines sorts the names)."""
        self.lines.sort()
        return hash1_sorted((line[:-33], line[-32:].hex()) for line in self.lines)

    def _name_verdict(self, entry: zipfmt.Entry) -> str | FileIssue:
        """Return the entry's path below the prefix ("" for the prefix itself) or an issue."""
        raw = entry.raw_name
        full = raw.decode("utf-8", "replace")  # for messages only; checks use the raw bytes
        prefix = self.prefix.encode()
        if not raw.startswith(prefix):
            return issue(full, Invalid.OUTSIDE_PREFIX,
                         f"path does not have prefix \"{self.prefix}\"")
        try:
            name = raw[len(prefix):].decode("utf-8")
        except UnicodeDecodeError:
            return issue(full, Invalid.BAD_PATH, "malformed file path: invalid UTF-8")
        if name == "":
            return ""  # the module root's own directory entry: allowed, and hashed
        if entry.is_dir:
            name = name[:-1]
        if clean(name) != name:
            return issue(full, Invalid.PATH_NOT_CLEAN, "file path is not clean")
        try:
            modpath.check_file_path(name)
        except InvalidPath as err:
            return issue(full, Invalid.BAD_PATH, str(err))
        if has_too_long_name(name):
            return issue(full, Invalid.NAME_TOO_LONG)
        return name

    def _check_names(self, entries: zipfmt.Directory) -> tuple[bytearray, str | None]:
        """Check names, collisions, go.mod placement and sizes; return which entries to read
        (one byte per entry) and the size error, if any."""
        collisions = CollisionChecker()
        keep = bytearray(len(entries))
        total = 0
        size_error: str | None = None
        for i, entry in enumerate(entries):
            name = self._name_verdict(entry)
            problem = name if isinstance(name, FileIssue) else None
            if isinstance(name, str) and name:
                full = self.prefix + name + ("/" if entry.is_dir else "")
                problem = collisions.check(name, is_dir=entry.is_dir)
                if problem is None and not entry.is_dir:
                    problem = _file_verdict(full, name, entry.size)
                    if 0 <= entry.size <= MAX_ZIP_BYTES - total:
                        total += entry.size
                    elif size_error is None:
                        size_error = CONTENTS_TOO_LARGE
                if problem is not None:
                    problem = FileIssue(full, problem.reason, problem.detail)
            if problem is not None:
                self.invalid.append(problem)
            else:
                keep[i] = 1
        return keep, size_error

    def _read(self, entry: zipfmt.Entry) -> None:
        """Read one entry back (bounded pieces); record its digest or its issue."""
        full = entry.raw_name.decode("utf-8")
        is_gomod = not entry.is_dir and full == self.prefix + "go.mod"
        try:
            if is_gomod:
                content = bytearray()  # declared at most 16 MiB, and never read past that
                for piece in zipread.entry_chunks(self.f, entry):
                    content += piece
                digest = hashlib.sha256(content).digest()
            else:
                digest = zipread.entry_digest(self.f, entry)
        except zipread.EntryError as err:
            self.invalid.append(FileIssue(full, err.reason, str(err)))
            return
        self.lines.append(entry.raw_name + b"\n" + digest)
        if not entry.is_dir:
            self.valid.append(full)
        if is_gomod:
            self.gomod = bytes(content)


def _file_verdict(full: str, name: str, size: int) -> FileIssue | None:
    base = name.rpartition("/")[2]
    if fold_key(base) == "go.mod":
        if base != name:
            return issue(full, Invalid.GO_MOD_NOT_ROOT)
        if name != "go.mod":
            return issue(full, Invalid.GO_MOD_CASE)
    return size_verdict(name, size)  # the caller puts ``full`` in the issue
