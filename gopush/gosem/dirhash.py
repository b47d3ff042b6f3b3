"""The ``h1:`` hash of a module's files, as in go.sum and sum.golang.org (x/mod sumdb/dirhash).

Hash1, in our words: for every file, take the SHA-256 of its content in lower-case hex and write
the line ``"<hex>  <name>\\n"`` (two spaces); sort the lines by file name (byte order); hash
the concatenated lines with SHA-256 again; the result is ``"h1:"`` plus the standard base64 of
that digest. Names are whatever the caller uses: for a module zip they are the zip's entry
names, ``<module>@<version>/<file>``; for a go.mod alone the single name is ``go.mod``. A name
containing a newline would make the summary ambiguous, so it is refused.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

from gopush.errors import InvalidModuleZip, InvalidPath
from gopush.gosem.goquote import quote

if TYPE_CHECKING:
    import zipfile

_CHUNK = 1 << 20  # bytes read at a time when hashing zip entries
_UTF8_FLAG = 0x800  # zip general-purpose flag bit 11: the entry name is UTF-8


def hash1(items: Iterable[tuple[str, str]]) -> str:
    """Return the ``h1:`` hash of files given as ``(name, sha256 hex digest of content)`` pairs.

    Raises:
        InvalidPath: a name contains a newline.
    """
    return _summary_hash((name.encode("utf-8", "surrogateescape"), digest)
                         for name, digest in items)


def _summary_hash(lines: Iterable[tuple[bytes, str]]) -> str:
    summary = hashlib.sha256()
    for name, digest in sorted(lines):  # Go sorts names as byte strings
        if b"\n" in name:
            shown = quote(name.decode("utf-8", "surrogateescape"))
            raise InvalidPath(f"dirhash: filenames with newlines are not supported: {shown}")
        summary.update(f"{digest}  ".encode() + name + b"\n")
    return "h1:" + base64.b64encode(summary.digest()).decode("ascii")


def hash_zip(fileobj: IO[bytes]) -> str:
    """Return the ``h1:`` hash of a zip's entries, reading each entry's uncompressed content.

    Entry names are used exactly as stored (raw bytes), as Go's HashZip does. If a name occurs
    twice, Go hashes the content of the last entry of that name for both lines; so do we.

    Raises:
        InvalidPath: an entry name contains a newline.
        InvalidModuleZip: ``fileobj`` is not a readable zip.
    """
    # zipfile is imported here, not at the top: a push hashes entries as modzip.check reads
    # them and never calls this, and zipfile is ~2 ms of its start-up
    import zipfile

    try:
        with zipfile.ZipFile(fileobj) as archive:
            return _hash_archive(archive)
    except (zipfile.BadZipFile, UnicodeDecodeError, EOFError) as err:
        raise InvalidModuleZip(f"not a readable zip file: {err}",
                               hint="check that the upload or download completed") from err


def _hash_archive(archive: zipfile.ZipFile) -> str:
    digests: dict[bytes, str] = {}
    names = []
    for info in archive.infolist():
        name = _raw_name(info)
        names.append(name)
        digests[name] = _entry_digest(archive, info)
    return _summary_hash((name, digests[name]) for name in names)


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    """Return the entry name as stored: Python decodes non-UTF-8-flagged names as cp437."""
    if info.flag_bits & _UTF8_FLAG:
        return info.orig_filename.encode("utf-8", "surrogateescape")
    return info.orig_filename.encode("cp437")


def _entry_digest(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    if info.orig_filename.endswith("/"):
        # Go's archive/zip reads a directory entry as empty, and refuses one that declares
        # uncompressed data (a compressed size alone is tolerated, as jar tools write it).
        if info.file_size:
            raise InvalidModuleZip(f"zip: directory entry {quote(info.orig_filename)} "
                                   "has data: not a valid zip file")
        return hashlib.sha256(b"").hexdigest()
    digest = hashlib.sha256()
    with archive.open(info) as entry:
        while chunk := entry.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_gomod(data: bytes) -> str:
    """Return the ``h1:`` hash of a go.mod file's content (the ``<module> <version>/go.mod``
    line of go.sum): Hash1 over the single file named ``go.mod``."""
    return hash1([("go.mod", hashlib.sha256(data).hexdigest())])
