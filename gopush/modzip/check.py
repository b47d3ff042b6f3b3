"""Check an existing module zip the way the go command checks a download, without extracting.

``go mod download`` refuses a zip when an entry is not under ``<module>@<version>/``, when an
entry cannot be read back (unsupported method, corrupt deflate data, CRC mismatch, content
longer or shorter than declared), or when ``modzip.Unzip``'s checks fail: unclean or invalid
file paths, case-fold collisions, duplicates, a path both file and directory, a go.mod below
the root or in another case, go.mod or LICENSE over 16 MiB, more than 500 MiB declared in
total, or a zip file over 500 MiB. A go.mod whose module line names another path is refused
too: ``go mod download`` takes it, but go refuses the module when it loads it ("module
declares its path as"), so no registry should serve it. Directory entries are allowed (and
hashed as empty files, as ``dirhash.HashZip`` does). Entry data is inflated with a hard
limit of its declared size, so a zip that lies about sizes costs at most the 500 MiB it is
allowed.

Every entry gets a verdict; problems are reported together, not one at a time.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, NamedTuple

from gopush.errors import InvalidModule, InvalidModuleZip, InvalidPath
from gopush.gosem import gomod, modpath
from gopush.gosem.dirhash import hash1
from gopush.modzip import zipfmt
from gopush.modzip.paths import clean, fold_key
from gopush.modzip.report import FileIssue, FileReport, Invalid
from gopush.modzip.rules import (
    MAX_GO_MOD_BYTES,
    MAX_LICENSE_BYTES,
    MAX_ZIP_BYTES,
    CollisionChecker,
    issue,
)

READ_BYTES = 1024 * 1024  # compressed bytes read at a time
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


def check_zip(path_or_file: str | os.PathLike[str] | BinaryIO, module: str | None = None,
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
def _opened(path_or_file: str | os.PathLike[str] | BinaryIO) -> Iterator[BinaryIO]:
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, "rb") as f:
            yield f
    else:
        yield path_or_file


def named_module_version(entries: list[zipfmt.Entry]) -> tuple[str, str] | None:
    """Return the module@version the first entry's name is under, or None (unchecked)."""
    first = entries[0].raw_name.decode("utf-8", "replace") if entries else ""
    head, at, rest = first.partition("@")
    if not head or not at or "/" not in rest:
        return None
    return head, rest.split("/", 1)[0]


def _module_version(entries: list[zipfmt.Entry], module: str | None,
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
    """Runs the per-entry checks over one open zip."""

    def __init__(self, f: BinaryIO, prefix: str) -> None:
        self.f = f
        self.prefix = prefix
        self.valid: list[str] = []
        self.invalid: list[FileIssue] = []
        self.digests: list[tuple[str, str]] = []
        self.gomod: bytes | None = None

    def run(self, module: str, version: str, entries: list[zipfmt.Entry]) -> ZipCheck:
        """Give every entry a verdict, read the ones that pass, and assemble the result."""
        named: list[tuple[zipfmt.Entry, str | FileIssue | None]] = [
            (e, self._name_verdict(e)) for e in entries]
        collisions = CollisionChecker()
        size_error = self._check_names(named, collisions)
        if size_error is None:
            for entry, name in named:
                if name is not None:
                    self._read(entry, name)
        if self.gomod is not None and (declared := gomod.module_path(self.gomod)) != module:
            self.invalid.append(FileIssue("go.mod", Invalid.GO_MOD_MODULE_PATH, (
                f"go.mod declares module {declared}, but the zip is for {module}: go would "
                f"refuse it (module declares its path as: {declared} but was required as: "
                f"{module})" if declared else
                "go.mod has no module line: go would refuse it (parsing go.mod: missing "
                "module line)")))
        report = FileReport(tuple(self.valid), (), tuple(self.invalid), size_error)
        h1 = hash1(self.digests) if report.ok else ""
        return ZipCheck(module, version, report, h1, self.gomod if report.ok else None)

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
        return name

    def _check_names(self, named: list[tuple[zipfmt.Entry, str | FileIssue | None]],
                     collisions: CollisionChecker) -> str | None:
        """Check collisions, go.mod placement and sizes; keep names still valid in ``named``."""
        total = 0
        size_error: str | None = None
        for i, (entry, name) in enumerate(named):
            if isinstance(name, FileIssue):
                self.invalid.append(name)
                named[i] = (entry, None)
                continue
            if name is None or name == "":
                continue
            full = self.prefix + name + ("/" if entry.is_dir else "")
            problem = collisions.check(name, is_dir=entry.is_dir)
            if problem is None and not entry.is_dir:
                problem = _file_verdict(full, name, entry.size)
                if 0 <= entry.size <= MAX_ZIP_BYTES - total:
                    total += entry.size
                elif size_error is None:
                    size_error = CONTENTS_TOO_LARGE
            if problem is not None:
                self.invalid.append(FileIssue(full, problem.reason, problem.detail))
                named[i] = (entry, None)
        return size_error

    def _read(self, entry: zipfmt.Entry, name: str) -> None:
        """Inflate one entry (at most its declared size), record its digest or its issue."""
        full = entry.raw_name.decode("utf-8")
        try:
            data_hash, content = _inflate(self.f, entry, keep=not entry.is_dir and name == "go.mod")
        except _EntryError as err:
            self.invalid.append(FileIssue(full, err.reason, str(err)))
            return
        self.digests.append((full, data_hash))
        if not entry.is_dir:
            self.valid.append(full)
        if content is not None:
            self.gomod = content


def _file_verdict(full: str, name: str, size: int) -> FileIssue | None:
    base = name.rpartition("/")[2]
    if fold_key(base) == "go.mod":
        if base != name:
            return issue(full, Invalid.GO_MOD_NOT_ROOT)
        if name != "go.mod":
            return issue(full, Invalid.GO_MOD_CASE)
    if name == "go.mod" and size > MAX_GO_MOD_BYTES:
        return issue(full, Invalid.GO_MOD_TOO_LARGE)
    if name == "LICENSE" and size > MAX_LICENSE_BYTES:
        return issue(full, Invalid.LICENSE_TOO_LARGE)
    return None


class _EntryError(Exception):
    """An entry's data cannot be read back as declared."""

    def __init__(self, reason: Invalid, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _inflate(f: BinaryIO, entry: zipfmt.Entry, *, keep: bool) -> tuple[str, bytes | None]:
    """Return the SHA-256 hex of the entry's content (and the content when ``keep``).

    Raises:
        _EntryError: unsupported method or encryption, corrupt data, size or CRC mismatch.
    """
    try:
        start = zipfmt.data_offset(f, entry)
    except zipfmt.ZipFormatError as err:
        raise _EntryError(Invalid.UNREADABLE, str(err)) from None
    if entry.is_dir:
        # Like Go's reader: a directory may carry compressed bytes (jar does that) but must
        # not declare content.
        if entry.size:
            raise _EntryError(Invalid.UNREADABLE, "zip: not a valid zip file")
        return hashlib.sha256().hexdigest(), None
    if entry.flags & zipfmt.FLAG_ENCRYPTED:
        raise _EntryError(Invalid.UNREADABLE, "zip: encrypted entries are not supported")
    if entry.method not in (zipfmt.STORED, zipfmt.DEFLATED):
        raise _EntryError(Invalid.UNREADABLE, "zip: unsupported compression algorithm")
    sha, crc, got, kept = hashlib.sha256(), 0, 0, bytearray() if keep else None
    for data in _entry_data(f, entry, start):
        got += len(data)
        if got > entry.size:
            raise _EntryError(Invalid.SIZE_MISMATCH, "uncompressed size is larger than declared "
                              f"size ({entry.size} bytes)")
        sha.update(data)
        crc = zlib.crc32(data, crc)
        if kept is not None:
            kept += data
    if got != entry.size:
        raise _EntryError(Invalid.SIZE_MISMATCH, f"unexpected EOF: {got} of {entry.size} "
                          "declared bytes")
    if (entry.crc or entry.flags & zipfmt.FLAG_DATA_DESCRIPTOR) and crc != entry.crc:
        raise _EntryError(Invalid.UNREADABLE, "zip: checksum error")
    return sha.hexdigest(), bytes(kept) if kept is not None else None


def _entry_data(f: BinaryIO, entry: zipfmt.Entry, start: int) -> Iterator[bytes]:
    """Yield the entry's uncompressed bytes, never more than declared size + 1 in total."""
    f.seek(start)
    left = entry.compressed_size
    limit = entry.size + 1
    inflater = zlib.decompressobj(-15) if entry.method == zipfmt.DEFLATED else None
    while left > 0 and limit > 0:
        chunk = f.read(min(READ_BYTES, left))
        if not chunk:
            raise _EntryError(Invalid.UNREADABLE, "unexpected EOF")
        left -= len(chunk)
        if inflater is None:
            limit -= len(chunk)
            yield chunk
            continue
        while chunk and limit > 0:
            try:
                data = inflater.decompress(chunk, limit)
            except zlib.error:
                raise _EntryError(Invalid.UNREADABLE, "flate: corrupt input") from None
            limit -= len(data)
            yield data
            chunk = inflater.unconsumed_tail
        if inflater.eof:
            return
    if inflater is not None and not inflater.eof and limit > 0:
        raise _EntryError(Invalid.UNREADABLE, "unexpected EOF")
