"""The file protocol module-zip code consumes, and an in-memory implementation.

As golang.org/x/mod/zip's ``File`` interface, a ``SourceFile`` has a slash-separated ``path``
relative to the module root, a ``stat()`` that never follows symbolic links, and an ``open()``
that gives the bytes of a regular file. ``modzip`` never learns where a file came from:
``gopush.sources`` produces these from git or a directory; tests and synthesized files (a root
LICENSE copied into a subdirectory module) use ``DataFile``.
"""

from __future__ import annotations

import io
from enum import StrEnum
from typing import BinaryIO, NamedTuple, Protocol, runtime_checkable


class FileKind(StrEnum):
    """What a path names, as ``os.lstat`` would say (links are not followed)."""

    REGULAR = "regular"
    SYMLINK = "symlink"
    DIRECTORY = "directory"
    OTHER = "other"  # device, socket, fifo, submodule placeholder, ...


class FileStat(NamedTuple):
    """The size in bytes and the kind of a file; ``size`` is the declared size."""

    size: int
    kind: FileKind = FileKind.REGULAR


@runtime_checkable
class SourceFile(Protocol):
    """A file offered for a module zip.

    ``path`` is slash-separated and relative to the module root. ``stat()`` describes the file
    itself, never a symlink's target. ``open()`` returns a fresh binary reader positioned at the
    start; it may be called more than once and is only called for regular files.
    """

    @property
    def path(self) -> str: ...

    def stat(self) -> FileStat: ...

    def open(self) -> BinaryIO: ...


class DataFile(NamedTuple):
    """A file held in memory: a regular file with ``data``, or another ``kind`` (no data)."""

    path: str
    data: bytes = b""
    kind: FileKind = FileKind.REGULAR

    def stat(self) -> FileStat:
        """Return the size of ``data`` and the file's kind."""
        return FileStat(size=len(self.data), kind=self.kind)

    def open(self) -> BinaryIO:
        """Return a new reader over ``data``."""
        return io.BytesIO(self.data)
