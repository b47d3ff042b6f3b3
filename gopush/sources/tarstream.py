"""Read the tar stream ``git archive --format=tar`` writes, one member at a time.

``tarfile`` handles every dialect of tar and pays for it on each member; git writes one
dialect only (ustar with pax extended headers for long names and a pax global header holding
the commit id), and a module may have tens of thousands of files. This reader handles
exactly that dialect and refuses anything else, so a surprise is an error, never a silently
wrong file list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from gopush.errors import SourceError

BLOCK = 512


@dataclass(frozen=True, slots=True)
class Member:
    """One tar member: its path, type flag, size and (for symlinks) the link target."""

    name: str
    type: bytes  # b"0" file, b"2" symlink, b"5" directory, ...
    size: int
    linkname: str


def members(stream: IO[bytes]) -> Iterator[tuple[Member, IO[bytes]]]:
    """Yield each member with ``stream`` positioned at its data.

    The caller must read exactly ``member.size`` bytes with ``read_data`` before asking for
    the next member.

    Raises:
        SourceError: the stream is not a tar of the kind git writes.
    """
    pending: dict[str, str] = {}
    while True:
        header = _read_exact(stream, BLOCK)
        if header == b"\0" * BLOCK or not header:
            return
        member = _parse_header(header)
        if member.type == b"x":  # pax extended header for the next member
            pending = _pax_records(_read_data(stream, member.size))
            continue
        if member.type == b"g":  # pax global header: git's commit id comment
            _read_data(stream, member.size)
            continue
        if pending:
            member = Member(pending.get("path", member.name), member.type,
                            int(pending.get("size", member.size)),
                            pending.get("linkpath", member.linkname))
            pending = {}
        yield member, stream


def read_data(stream: IO[bytes], size: int) -> bytes:
    """Read a member's ``size`` bytes and skip its padding."""
    return _read_data(stream, size)


def skip_padding(stream: IO[bytes], size: int) -> None:
    """Skip the padding after ``size`` data bytes that the caller read itself."""
    _read_exact(stream, -size % BLOCK)


def _read_data(stream: IO[bytes], size: int) -> bytes:
    data = _read_exact(stream, size)
    skip_padding(stream, size)
    return data


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size and data:
        raise SourceError("git archive output ended in the middle of a file")
    return data


def _parse_header(header: bytes) -> Member:
    if header[257:262] != b"ustar":
        raise SourceError("git archive wrote a tar header gopush does not understand")
    name = _text(header[0:100])
    prefix = _text(header[345:500])
    return Member(f"{prefix}/{name}" if prefix else name, header[156:157] or b"0",
                  _octal(header[124:136]), _text(header[157:257]))


def _pax_records(data: bytes) -> dict[str, str]:
    """Parse "LEN key=value\\n" records."""
    records, pos = {}, 0
    while pos < len(data):
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        key, _, value = data[space + 1:pos + length - 1].partition(b"=")
        records[key.decode()] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _octal(field: bytes) -> int:
    digits = field.split(b"\0", 1)[0].strip()
    return int(digits, 8) if digits else 0
