"""The one zip reader: entry contents read back as Go's ``archive/zip`` reads them, in bounded
pieces, trusting no declared size.

Every zip gopush reads goes through here: ``check.check_zip`` (``gopush check``, push,
verify and every upload or upstream fetch ``gopush serve`` accepts), ``hash_zip`` (the
``h1:`` of a zip a registry serves, as the go command computes it before comparing with
go.sum) and ``verify``'s file-by-file comparison. Go's rules for reading one entry, which
``entry_chunks`` applies as the bytes come:

- the local header must be there (signature ``PK\\3\\4``); the data follows its name and
  extra field, whatever lengths the central directory gives for those;
- only stored (0) and deflated (8) entries, never encrypted ones;
- a directory entry (name ending in ``/``) may carry compressed bytes but must declare no
  content ("zip: not a valid zip file");
- the content may not grow past the declared uncompressed size (Go's reader says "zip: not
  a valid zip file", x/mod's Unzip "uncompressed size of file … is larger than declared
  size"), nor end before it ("unexpected EOF"); the compressed data is read only up to its
  declared compressed size, so a deflate stream that runs past it ends with "unexpected
  EOF" too;
- the CRC-32 must match the declared one when that is set or a data descriptor follows
  (whose own CRC must match as well): "zip: checksum error".

Memory: a piece is at most ``READ_BYTES`` of compressed input and ``PIECE_BYTES`` of output,
whatever an entry declares, so a 400 MiB entry of zeros packed into 400 kB costs what a
small file costs. The 500 MiB limits are the checker's (``rules.MAX_ZIP_BYTES``); this
module reads whatever the zip declares, and stops at the first byte that contradicts it.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator

from gopush.errors import InvalidModuleZip, InvalidPath
from gopush.gosem.dirhash import hash1_sorted
from gopush.modzip import zipfmt
from gopush.modzip.report import Invalid

READ_BYTES = 64 * 1024  # compressed bytes read at a time
PIECE_BYTES = 64 * 1024  # uncompressed bytes produced at a time (zlib's max_length)
EMPTY_SHA256 = hashlib.sha256().digest()


class EntryError(Exception):
    """An entry's data cannot be read back as declared; ``reason`` classifies it and the
    message is the go command's wording."""

    def __init__(self, reason: Invalid, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def entry_chunks(f: zipfmt.ReadSeeker, entry: zipfmt.Entry) -> Iterator[bytes]:
    """Yield ``entry``'s content in pieces of at most ``PIECE_BYTES``, checked as they come.

    A directory entry yields nothing. Stops with the first contradiction of what the entry
    declares, before any byte past its declared size is produced.

    Raises:
        EntryError: missing local header, unsupported method or encryption, corrupt deflate
            data, content larger or smaller than declared, or a CRC mismatch.
    """
    try:
        start = zipfmt.data_offset(f, entry)
    except zipfmt.ZipFormatError as err:
        raise EntryError(Invalid.UNREADABLE, str(err)) from None
    if entry.is_dir:
        if entry.size:  # Go tolerates compressed bytes here (jar writes them), not content
            raise EntryError(Invalid.UNREADABLE,
                             "directory entry has data: zip: not a valid zip file")
        return
    if entry.flags & zipfmt.FLAG_ENCRYPTED:
        raise EntryError(Invalid.UNREADABLE, "zip: encrypted entries are not supported")
    if entry.method not in (zipfmt.STORED, zipfmt.DEFLATED):
        raise EntryError(Invalid.UNREADABLE, "zip: unsupported compression algorithm")
    crc, got = 0, 0
    for piece in _pieces(f, entry, start):
        got += len(piece)
        if got > entry.size:
            raise EntryError(Invalid.SIZE_MISMATCH, "uncompressed size is larger than declared "
                             f"size ({entry.size} bytes): zip: not a valid zip file")
        crc = zlib.crc32(piece, crc)
        yield piece
    if got != entry.size:
        raise EntryError(Invalid.SIZE_MISMATCH,
                         f"unexpected EOF: {got} of {entry.size} declared bytes")
    _check_crc(f, entry, start, crc)


def _check_crc(f: zipfmt.ReadSeeker, entry: zipfmt.Entry, start: int, crc: int) -> None:
    if entry.flags & zipfmt.FLAG_DATA_DESCRIPTOR:
        declared = zipfmt.data_descriptor_crc(f, start + entry.compressed_size)
        if declared is None:
            raise EntryError(Invalid.UNREADABLE, "unexpected EOF: the data descriptor is "
                             "missing")
        if declared != entry.crc or crc != entry.crc:
            raise EntryError(Invalid.UNREADABLE, "zip: checksum error")
    elif entry.crc and crc != entry.crc:
        raise EntryError(Invalid.UNREADABLE, "zip: checksum error")


def _pieces(f: zipfmt.ReadSeeker, entry: zipfmt.Entry, start: int) -> Iterator[bytes]:
    """Yield the raw or inflated data, one bounded piece at a time, and one piece past the
    declared size at most (so the caller sees the lie)."""
    at, left = start, entry.compressed_size
    inflater = zlib.decompressobj(-15) if entry.method == zipfmt.DEFLATED else None
    while left > 0:
        f.seek(at)  # the caller may use the file between two pieces
        chunk = f.read(min(READ_BYTES, left))
        if not chunk:
            raise EntryError(Invalid.UNREADABLE, "unexpected EOF")
        at, left = at + len(chunk), left - len(chunk)
        if inflater is None:
            yield chunk
            continue
        while chunk:
            try:
                piece = inflater.decompress(chunk, PIECE_BYTES)
            except zlib.error:
                raise EntryError(Invalid.UNREADABLE, "flate: corrupt input") from None
            if piece:
                yield piece
            if inflater.eof:
                # bytes after the end of the deflate stream are ignored, as Go does (zlib
                # may leave them in unconsumed_tail too, and would return them forever)
                return
            chunk = inflater.unconsumed_tail
    if inflater is not None:
        # all input consumed; output zlib still holds back (none once it saw the end)
        while not inflater.eof and (piece := _drain(inflater)):
            yield piece
        if not inflater.eof:
            raise EntryError(Invalid.UNREADABLE, "unexpected EOF")


def _drain(inflater: zlib._Decompress) -> bytes:
    try:
        return inflater.decompress(b"", PIECE_BYTES)
    except zlib.error:
        raise EntryError(Invalid.UNREADABLE, "flate: corrupt input") from None


def entry_digest(f: zipfmt.ReadSeeker, entry: zipfmt.Entry) -> bytes:
    """Return the SHA-256 of ``entry``'s content (raw 32 bytes).

    Raises:
        EntryError: as ``entry_chunks``.
    """
    if entry.is_dir:
        for _ in entry_chunks(f, entry):
            pass
        return EMPTY_SHA256
    sha = hashlib.sha256()
    for piece in entry_chunks(f, entry):
        sha.update(piece)
    return sha.digest()


def open_directory(f: zipfmt.ReadSeeker) -> zipfmt.Directory:
    """Return the central directory of the zip in ``f``.

    Raises:
        InvalidModuleZip: ``f`` is not a readable zip.
    """
    size = f.seek(0, 2)
    try:
        return zipfmt.read_directory(f, size)
    except zipfmt.ZipFormatError as err:
        raise InvalidModuleZip(f"not a readable zip file: {err}",
                               hint="check that the upload or download completed") from None


def hash_zip(f: zipfmt.ReadSeeker) -> str:
    """Return the ``h1:`` of a zip's entries as Go's ``dirhash.HashZip`` computes it.

    Names are the raw entry names; directory entries hash as empty files; a name listed
    twice gives two lines, both with the content of the last entry of that name (Go keeps
    the last in a map). Unlike ``check.check_zip``, no module rule applies: this is the
    hash the go command compares with go.sum.

    Raises:
        InvalidModuleZip: not a readable zip, an entry that cannot be read back as declared
            (the message names it), or a name with a newline.
    """
    digests: dict[bytes, bytes] = {}
    repeats: dict[bytes, int] = {}
    for entry in open_directory(f):
        try:
            digest = entry_digest(f, entry)
        except EntryError as err:
            raise InvalidModuleZip(f"{_shown(entry.raw_name)}: {err}",
                                   hint="the zip is corrupt or lies about its content; "
                                        "go refuses it too") from None
        if entry.raw_name in digests:
            repeats[entry.raw_name] = repeats.get(entry.raw_name, 0) + 1
        digests[entry.raw_name] = digest
    names = sorted(digests)
    try:
        return hash1_sorted((name, digests[name].hex()) for name in names
                            for _ in range(1 + repeats.get(name, 0)))
    except InvalidPath as err:
        raise InvalidModuleZip(err.message, hint=err.hint) from None


def file_digests(f: zipfmt.ReadSeeker, prefix: str) -> dict[str, str]:
    """Return ``{path below prefix: SHA-256 hex}`` for the zip's files under ``prefix``.

    Raises:
        InvalidModuleZip: as ``hash_zip``.
    """
    raw_prefix = prefix.encode()
    found: dict[str, str] = {}
    for entry in open_directory(f):
        if entry.is_dir or not entry.raw_name.startswith(raw_prefix):
            continue
        path = entry.raw_name[len(raw_prefix):].decode("utf-8", "surrogateescape")
        try:
            found[path] = entry_digest(f, entry).hex()
        except EntryError as err:
            raise InvalidModuleZip(f"{_shown(entry.raw_name)}: {err}") from None
    return found


def file_chunks(f: zipfmt.ReadSeeker, name: str) -> Iterator[bytes]:
    """Yield the content of the (last) entry named ``name``, checked as ``entry_chunks`` does.

    Raises:
        InvalidModuleZip: no such entry, or it cannot be read back as declared.
    """
    raw = name.encode("utf-8", "surrogateescape")
    found = None
    for entry in open_directory(f):
        if entry.raw_name == raw:
            found = entry
    if found is None:
        raise InvalidModuleZip(f"{name}: no such file in the zip")
    try:
        yield from entry_chunks(f, found)
    except EntryError as err:
        raise InvalidModuleZip(f"{name}: {err}") from None


def _shown(raw_name: bytes) -> str:
    return raw_name.decode("utf-8", "replace")
