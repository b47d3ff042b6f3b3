"""The bytes of the ZIP format (APPNOTE.TXT) that module zips use: headers in and out.

Module zips need little of the format: deflate (method 8) or stored (method 0) entries, no
encryption, and Zip64 only for the end records when a zip has 65535 entries or more (a module
zip stays below 4 GiB, so entry sizes and offsets always fit in 32 bits). Writing our own
records lets ``create.py`` write entries compressed in parallel; reading our own lets
``zipread.py`` see raw entry names (as Go does; Python's zipfile rewrites some) and never trust
a declared size.

The central directory is not held in memory beyond one window: ``read_directory`` walks it
once to check every record and keeps only where it lies, and each walk over a ``Directory``
reads it again ``DIRECTORY_READ_BYTES`` at a time (a directory that fits in one window, the
common case, is read once and kept). A zip of 100,000 entries (or a hostile one of millions)
costs the same few hundred KiB to read as one of ten.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

LOCAL_SIG = 0x04034B50
CENTRAL_SIG = 0x02014B50
END_SIG = 0x06054B50
END64_SIG = 0x06064B50
END64_LOCATOR_SIG = 0x07064B50

STORED = 0
DEFLATED = 8
FLAG_ENCRYPTED = 0x1
FLAG_DATA_DESCRIPTOR = 0x8
FLAG_UTF8 = 0x800

VERSION_NEEDED = 20  # 2.0: deflate
VERSION_MADE_BY = (3 << 8) | 20  # Unix, 2.0: lets unzip restore the mode below
EXTERNAL_ATTR = (0o100644 << 16)  # regular file, rw-r--r--
DOS_TIME = 0  # 00:00:00
DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest DOS date: a fixed timestamp


class ReadSeeker(Protocol):
    """What the zip readers need of a zip: Go's ``io.ReadSeeker`` (a file opened "rb" is one;
    so is ``actions.artifact.HashingReader``, which hashes as it is read)."""

    def read(self, n: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_END64_LOCATOR = struct.Struct("<IIQI")
LOCAL_HEADER_SIZE = _LOCAL.size  # 30
LOCAL_CRC_OFFSET = 14  # crc32, compressed size, size: 12 bytes patched after streaming
MAX_U16 = 0xFFFF
MAX_U32 = 0xFFFFFFFF
_MAX_COMMENT = 0xFFFF
DIRECTORY_READ_BYTES = 64 * 1024  # central directory bytes read at a time
_DATA_DESCRIPTOR_SIG = 0x08074B50


class ZipFormatError(Exception):
    """The bytes are not a zip the go command could read (Go's "zip: not a valid zip file")."""


@dataclass(slots=True)
class Entry:
    """One central directory record: the raw name and what it declares."""

    raw_name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    offset: int  # of the local header

    @property
    def is_dir(self) -> bool:
        """Tell whether the name ends in a slash (a directory entry)."""
        return self.raw_name.endswith(b"/")


def name_flags(name: bytes) -> int:
    """Return the general-purpose flags for an entry name (UTF-8 bit for non-ASCII names)."""
    return 0 if name.isascii() else FLAG_UTF8


def local_header(name: bytes, crc: int, compressed_size: int, size: int) -> bytes:
    """Return a local file header for a deflated entry (sizes known, no data descriptor)."""
    return _LOCAL.pack(LOCAL_SIG, VERSION_NEEDED, name_flags(name), DEFLATED, DOS_TIME,
                       DOS_DATE, crc, compressed_size, size, len(name), 0) + name


def central_record(name: bytes, crc: int, compressed_size: int, size: int, offset: int) -> bytes:
    """Return the central directory record of a deflated entry."""
    return _CENTRAL.pack(CENTRAL_SIG, VERSION_MADE_BY, VERSION_NEEDED, name_flags(name), DEFLATED,
                         DOS_TIME, DOS_DATE, crc, compressed_size, size, len(name), 0, 0, 0, 0,
                         EXTERNAL_ATTR, offset) + name


def end_records(count: int, directory_size: int, directory_offset: int) -> bytes:
    """Return the end of central directory record, with Zip64 records before it when needed."""
    if count < MAX_U16 and directory_size < MAX_U32 and directory_offset < MAX_U32:
        return _END.pack(END_SIG, 0, 0, count, count, directory_size, directory_offset, 0)
    end64_offset = directory_offset + directory_size
    end64 = _END64.pack(END64_SIG, _END64.size - 12, VERSION_MADE_BY, 45, 0, 0, count, count,
                        directory_size, directory_offset)
    locator = _END64_LOCATOR.pack(END64_LOCATOR_SIG, 0, end64_offset, 1)
    end = _END.pack(END_SIG, 0, 0, MAX_U16, MAX_U16, MAX_U32, MAX_U32, 0)
    return end64 + locator + end


class Directory:
    """A zip's central directory: where it lies and how many records it holds.

    Iterating yields an ``Entry`` per record, in order, parsed as the bytes are read; a walk
    seeks before every read, so the caller may read entry data from the same file between
    two entries. ``read_directory`` has checked every record, so a walk raises only if the
    file changed since.
    """

    def __init__(self, f: ReadSeeker, count: int, offset: int, size: int, base: int = 0) -> None:
        self._f = f
        self.count = count
        self.offset = offset  # in the file
        self.size = size
        self.base = base  # added to every record's local header offset (bytes before the zip)
        self._held: bytes | None = None
        if size <= DIRECTORY_READ_BYTES:  # one window: read once, walk in memory
            f.seek(offset)
            self._held = f.read(size)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Entry]:
        if self._held is not None:
            return _parse_all(self._held, self.base)
        return _walk(self._f, self.offset, self.size, self.base)

    def first(self) -> Entry | None:
        """Return the first entry, or None when the zip is empty."""
        return next(iter(self), None)


def read_directory(f: ReadSeeker, size: int) -> Directory:
    """Find and check the central directory of the zip in ``f`` (``size`` bytes long).

    As Go's archive/zip reads it: the directory starts at the end record's offset plus the
    base offset (the bytes before the zip, as in a self-extracting archive: where the end
    record lies minus the directory size and offset it declares; a positive base is dropped
    when a record already starts at the declared offset), and its records are read until
    one is not a record (the declared directory size is not trusted). Their count must
    match the declared count modulo 65536 (Go compares 16 bits).

    Raises:
        ZipFormatError: no end record, a directory outside the file, or a count that does
            not match.
    """
    count, dir_size, dir_offset, end_offset = _find_end(f, size)
    base = end_offset - dir_size - dir_offset
    if not 0 <= base + dir_offset < size:
        raise ZipFormatError("zip: not a valid zip file")
    if base > 0 and _scan(f, dir_offset, size, most=1)[0] == 1:
        base = 0
    found, length = _scan(f, base + dir_offset, size)
    if found % 0x10000 != count % 0x10000:
        raise ZipFormatError("zip: not a valid zip file")
    return Directory(f, found, base + dir_offset, length, base)


def _scan(f: ReadSeeker, start: int, size: int, most: int = -1) -> tuple[int, int]:
    """Count the whole records from ``start`` until one is not (or the file or ``most``
    records end); return the count and the bytes they take."""
    found = length = 0
    buf, pos, at = b"", 0, start
    while found != most:
        need = _record_size(buf, pos)
        if len(buf) - pos < need and at < size:
            f.seek(at)
            chunk = f.read(min(max(DIRECTORY_READ_BYTES, need), size - at))
            if not chunk:  # the file shrank
                break
            at += len(chunk)
            buf, pos = buf[pos:] + chunk, 0
            continue
        try:
            _, end = _parse_central(buf, pos)
        except ZipFormatError:
            break
        found, length, pos = found + 1, length + end - pos, end
    return found, length


def _walk(f: ReadSeeker, start: int, size: int, base: int) -> Iterator[Entry]:
    """Yield the records of the directory at ``start``, reading a bounded window at a time."""
    buf, pos, at, left = b"", 0, start, size
    while pos < len(buf) or left:
        need = _record_size(buf, pos)
        while len(buf) - pos < need and left:
            f.seek(at)
            chunk = f.read(min(max(DIRECTORY_READ_BYTES, need), left))
            if not chunk:
                raise ZipFormatError("zip: not a valid zip file")
            at, left = at + len(chunk), left - len(chunk)
            buf, pos = buf[pos:] + chunk, 0
            need = _record_size(buf, pos)
        entry, pos = _parse_central(buf, pos, base)
        yield entry


def _parse_all(data: bytes, base: int) -> Iterator[Entry]:
    pos = 0
    while pos < len(data):
        entry, pos = _parse_central(data, pos, base)
        yield entry


def _record_size(buf: bytes, pos: int) -> int:
    """Return the length of the record at ``pos``, or of its fixed part while that is cut."""
    if len(buf) - pos < _CENTRAL.size:
        return _CENTRAL.size
    name_len: int
    extra_len: int
    comment_len: int
    name_len, extra_len, comment_len = struct.unpack_from("<HHH", buf, pos + 28)
    return _CENTRAL.size + name_len + extra_len + comment_len


def data_descriptor_crc(f: ReadSeeker, at: int) -> int | None:
    """Return the CRC-32 of the data descriptor at ``at`` (signature optional), or None when
    the file ends first (Go's reader then says "unexpected EOF")."""
    f.seek(at)
    raw = f.read(16)
    if len(raw) >= 4 and struct.unpack_from("<I", raw)[0] == _DATA_DESCRIPTOR_SIG:
        raw = raw[4:]
    if len(raw) < 12:
        return None
    return int(struct.unpack_from("<I", raw)[0])


def data_offset(f: ReadSeeker, entry: Entry) -> int:
    """Return where ``entry``'s data starts, from its local header.

    Raises:
        ZipFormatError: the local header is missing or truncated.
    """
    if entry.offset < 0:  # a negative base offset put it before the file (Go: ReadAt fails)
        raise ZipFormatError("zip: not a valid zip file")
    f.seek(entry.offset)
    head = f.read(LOCAL_HEADER_SIZE)
    if len(head) != LOCAL_HEADER_SIZE:
        raise ZipFormatError("unexpected EOF")
    fields = _LOCAL.unpack(head)
    if fields[0] != LOCAL_SIG:
        raise ZipFormatError("zip: not a valid zip file")
    name_len: int = fields[9]
    extra_len: int = fields[10]
    return entry.offset + LOCAL_HEADER_SIZE + name_len + extra_len


def _find_end(f: ReadSeeker, size: int) -> tuple[int, int, int, int]:
    """Return (entries, directory size, directory offset, where the end record is) from the
    end records (the Zip64 one when there is one)."""
    tail_len = min(size, _END.size + _MAX_COMMENT)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(struct.pack("<I", END_SIG), 0, max(0, len(tail) - _END.size + 4))
    while at >= 0 and at + _END.size <= len(tail):
        fields = _END.unpack_from(tail, at)
        if at + _END.size + fields[7] <= len(tail):  # the comment fits: a real end record
            break
        at = tail.rfind(struct.pack("<I", END_SIG), 0, at)
    else:
        raise ZipFormatError("zip: not a valid zip file")
    _, disk, dir_disk, _, count, dir_size, dir_offset, _ = fields
    if disk or dir_disk:
        raise ZipFormatError("zip: multi-disk archives are not supported")
    if count == MAX_U16 or dir_size == MAX_U32 or dir_offset == MAX_U32:
        return _find_end64(f, size - tail_len + at)
    return count, dir_size, dir_offset, size - tail_len + at


def _find_end64(f: ReadSeeker, end_offset: int) -> tuple[int, int, int, int]:
    if end_offset < _END64_LOCATOR.size:
        raise ZipFormatError("zip: not a valid zip file")
    f.seek(end_offset - _END64_LOCATOR.size)
    sig, _, end64_offset, _ = _END64_LOCATOR.unpack(f.read(_END64_LOCATOR.size))
    if sig != END64_LOCATOR_SIG:
        raise ZipFormatError("zip: not a valid zip file")
    f.seek(end64_offset)
    raw = f.read(_END64.size)
    if len(raw) != _END64.size or _END64.unpack(raw)[0] != END64_SIG:
        raise ZipFormatError("zip: not a valid zip file")
    fields = _END64.unpack(raw)
    return fields[7], fields[8], fields[9], end64_offset


def _parse_central(data: bytes, pos: int, base: int = 0) -> tuple[Entry, int]:
    if pos + _CENTRAL.size > len(data):
        raise ZipFormatError("zip: not a valid zip file")
    (sig, _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len, comment_len,
     _, _, _, offset) = _CENTRAL.unpack_from(data, pos)
    if sig != CENTRAL_SIG:
        raise ZipFormatError("zip: not a valid zip file")
    start = pos + _CENTRAL.size
    end = start + name_len + extra_len + comment_len
    if end > len(data):
        raise ZipFormatError("zip: not a valid zip file")
    name = data[start:start + name_len]
    extra = data[start + name_len:start + name_len + extra_len]
    usize, csize, offset = _apply_zip64(extra, usize, csize, offset)
    return Entry(name, flags, method, crc, csize, usize, offset + base), end


def _apply_zip64(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Replace 0xFFFFFFFF fields by their values in the Zip64 extra field (id 1), if any."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4:pos + 4 + length]
        pos += 4 + length
        if tag != 1:
            continue
        values = [usize, csize, offset]
        at = 0
        for i, value in enumerate(values):
            if value == MAX_U32:
                if at + 8 > len(body):
                    raise ZipFormatError("zip: not a valid zip file")
                values[i] = struct.unpack_from("<Q", body, at)[0]
                at += 8
        return values[0], values[1], values[2]
    return usize, csize, offset
