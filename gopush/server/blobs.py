"""Content-addressed blob files: write once through a temporary file, then rename into place.

A blob lives at ``blobs/sha256/<first two hex>/<sha256 hex>``. Bytes arrive in a
``Incoming`` temporary file under ``tmp/`` (same file system, so the final rename is atomic),
which hashes them (MD5 and SHA-256) as they are written. ``commit`` fsyncs the file, renames it
to its address and fsyncs the directory, so after a crash a blob is either whole or absent;
an interrupted upload leaves only a file in ``tmp/``, which ``BlobStore.sweep`` removes on the
next start. Blobs are never modified; metadata elsewhere decides which of them are visible.

Every write here runs under ``Space.guard``: a full disk (ENOSPC, EDQUOT) raises
``space.DiskFull`` and puts the server in read-only mode (``server.space``); the caller
deletes the temporary file as on any other failure.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from gopush.errors import GopushError
from gopush.server.space import Space

_COPY_BYTES = 1 << 20


class BlobMissing(GopushError):
    """A blob a row points at is not in the store (deleted behind the registry's back)."""


class BlobCorrupt(GopushError):
    """A blob's bytes do not hash to its name: the store changed them (never served)."""


class BlobStoreUnavailable(GopushError):
    """The blob store cannot be reached or refused the operation; the message names why
    (connection refused, access denied, bucket missing...), never a credential."""


class Blobs(Protocol):
    """Content-addressed, write-once bytes every instance of a registry sees, named by the
    lower-case hex SHA-256 of their content (``--blobs``: a directory, PostgreSQL large
    objects, S3). The contract every store keeps:

    - bytes arrive in a local scratch file (``incoming``: this process's own, never shared),
      which ``commit`` stores under its SHA-256 and then removes; storing bytes already
      there is a no-op reported as not new. A blob is whole or absent, never partial.
    - every read is verified against the name: ``chunks`` raises ``BlobCorrupt`` after the
      last chunk if the digest differs (a streaming reader aborts the response then);
      ``read_bytes`` and ``local_copy`` raise it before returning anything.
    - the parts of a multipart upload are kept in the store too (``put_part``...), so the
      parts of one upload may reach different instances.
    - failures to reach the store raise ``BlobStoreUnavailable`` naming the cause; a blob
      not there raises ``BlobMissing``; a local full disk raises ``space.DiskFull``.
    """

    def incoming(self, label: str = "upload") -> Incoming:
        """Return a new, empty local scratch file to fill (``commit`` or ``discard`` it)."""
        ...

    def commit(self, incoming: Incoming) -> tuple[str, bool]:
        """Store a finished scratch file under its SHA-256 (removing the scratch file);
        return the SHA-256 and whether this call stored it (False: it was there)."""
        ...

    def put_bytes(self, data: bytes, label: str = "small") -> str:
        """Store small ``data`` (a go.mod); return its SHA-256."""
        ...

    def read_bytes(self, sha256: str) -> bytes:
        """Return the verified content of a small blob."""
        ...

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """Yield the blob's content in pieces of about a MiB; verified at the end."""
        ...

    def local_copy(self, sha256: str) -> AbstractContextManager[Path]:
        """Give a verified local file with the blob's content for random access (a zip's
        central directory), for the ``with`` block only (the blob's own file for a
        directory store; a scratch copy, removed after, for a remote one)."""
        ...

    def exists(self, sha256: str) -> bool:
        """Tell whether the blob is in the store."""
        ...

    def names(self) -> Iterable[str]:
        """Return the SHA-256 of every blob in the store."""
        ...

    def delete(self, sha256s: Iterable[str]) -> None:
        """Delete these blobs (missing ones are ignored); the caller decided that no row
        needs them."""
        ...

    def sweep(self) -> int:
        """Delete this process's scratch files left by an interrupted run; return how many."""
        ...

    def put_part(self, upload: str, number: int, incoming: Incoming) -> None:
        """Keep a finished scratch file as part ``number`` of multipart upload ``upload``
        (replacing a part sent before under that number), visible to every instance."""
        ...

    def parts(self, upload: str) -> dict[int, int]:
        """Return the parts of ``upload`` kept so far: number → size in bytes."""
        ...

    def part_chunks(self, upload: str, number: int) -> Iterator[bytes]:
        """Yield the content of one part."""
        ...

    def delete_parts(self, upload: str) -> None:
        """Delete every part of ``upload`` (joined, expired or abandoned)."""
        ...

    def check(self) -> None:
        """Raise ``BlobStoreUnavailable`` unless the store can be read and written now
        (``/readyz``)."""
        ...

    def describe(self) -> str:
        """Return how logs and errors name the store (no credentials)."""
        ...


class Incoming:
    """A temporary file being filled, with running MD5 and SHA-256 digests."""

    def __init__(self, path: Path, space: Space) -> None:
        self.path = path
        self.size = 0
        self._space = space
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._finished = False
        with space.guard(path):
            self._file: Any = path.open("xb", buffering=0)  # callers write large buffers

    def park(self) -> None:
        """Close the descriptor until the next write or ``rewind`` reopens the file (an
        upload waiting for its next part, perhaps forever, holds none)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self) -> Any:
        """Return the open file, reopening a parked one at its end (never recreating it)."""
        if self._file is None:
            self._file = self.path.open("r+b", buffering=0)
            self._file.seek(self.size)
        return self._file

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` and fold it into the digests; readers of ``path`` see it at once.

        Raises:
            DiskFull: the disk is full; what was appended since ``mark`` is not trusted.
        """
        view = memoryview(data)
        with self._space.guard(self.path):
            file = self._open()
            while view:
                view = view[file.write(view):]
        self._md5.update(data)
        self._sha256.update(data)
        self.size += len(data)

    def copy_from(self, path: Path) -> None:
        """Append the whole content of the file at ``path``."""
        with path.open("rb") as source:
            while chunk := source.read(_COPY_BYTES):
                self.write(chunk)

    def mark(self) -> tuple[int, Any, Any]:
        """Return where the file stands now, for ``rewind`` (size and copies of the digests)."""
        return self.size, self._md5.copy(), self._sha256.copy()

    def rewind(self, mark: tuple[int, Any, Any]) -> None:
        """Drop everything written since ``mark``: truncate the file, restore the digests.

        Only call it when no write is in flight (``receive.Pipe.abandon`` waits for that).
        """
        size, md5, sha256 = mark
        file = self._open()
        file.truncate(size)
        file.seek(size)
        self.size, self._md5, self._sha256 = size, md5, sha256

    @property
    def md5(self) -> str:
        """Return the lower-case hex MD5 of what was written so far."""
        return self._md5.hexdigest()

    @property
    def sha256(self) -> str:
        """Return the lower-case hex SHA-256 of what was written so far."""
        return self._sha256.hexdigest()

    def finish(self) -> None:
        """Flush and fsync the file and close it (idempotent)."""
        if not self._finished:
            with self._space.guard(self.path):  # some file systems report ENOSPC only here
                file = self._open()
                os.fsync(file.fileno())
            file.close()
            self._finished = True

    def discard(self) -> None:
        """Close and delete the temporary file."""
        if self._file is not None and not self._file.closed:
            self._file.close()
        self._finished = True
        self.path.unlink(missing_ok=True)


class BlobStore:
    """Blob files under ``root`` (``root/blobs`` and ``root/tmp``)."""

    def __init__(self, root: Path, space: Space) -> None:
        self.blobs = root / "blobs" / "sha256"
        self.tmp = root / "tmp"
        self.space = space
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def sweep(self, older_than: float | None = None) -> int:
        """Delete temporary files left by an interrupted run; return how many were removed.

        With ``older_than`` (a Unix time), only those last written before it: several
        instances sharing the directory (``--database postgresql://``) each write their own
        scratch files here, so a killed one's are told apart by age alone (see
        ``Storage.sweep_orphans``).
        """
        removed = 0
        for leftover in self.tmp.iterdir():
            try:
                if older_than is not None and leftover.stat().st_mtime >= older_than:
                    continue
            except FileNotFoundError:
                continue  # its owner finished with it meanwhile
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    def names(self) -> list[str]:
        """Return the SHA-256 of every blob on disk (the file names under ``blobs/``)."""
        return [blob.name for blob in self.blobs.glob("??/*")]

    def delete(self, sha256s: list[str]) -> None:
        """Delete these blobs (the caller decided, holding the database lock, that no row
        needs them)."""
        for sha in sha256s:
            self.path(sha).unlink(missing_ok=True)

    def incoming(self, label: str = "upload") -> Incoming:
        """Return a new, empty temporary file to fill."""
        return Incoming(self.tmp / f"{label}-{secrets.token_hex(8)}", self.space)

    def temp_path(self, label: str) -> Path:
        """Return a fresh path under ``tmp/`` (the caller creates and removes it)."""
        return self.tmp / f"{label}-{secrets.token_hex(8)}"

    def path(self, sha256: str) -> Path:
        """Return where the blob with this SHA-256 lives (it may not exist)."""
        return self.blobs / sha256[:2] / sha256

    def commit(self, incoming: Incoming) -> tuple[str, bool]:
        """Move a finished temporary file to its address; return its SHA-256 and whether
        this call put it there.

        If the blob already exists (same bytes), the temporary file is dropped (not new).
        """
        incoming.finish()
        sha = incoming.sha256
        dest = self.path(sha)
        if dest.exists():
            incoming.path.unlink(missing_ok=True)
            return sha, False
        with self.space.guard(dest):
            dest.parent.mkdir(exist_ok=True)
            os.replace(incoming.path, dest)
            _fsync_dir(dest.parent)
        return sha, True

    def put_bytes(self, data: bytes, label: str = "small") -> str:
        """Store small ``data`` (a go.mod) as a blob; return its SHA-256."""
        incoming = self.incoming(label)
        incoming.write(data)
        return self.commit(incoming)[0]

    def read_bytes(self, sha256: str) -> bytes:
        """Return the verified content of a small blob."""
        return b"".join(self.chunks(sha256))

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """Yield the blob's content in pieces of a MiB; raise ``BlobCorrupt`` after the
        last one if it does not hash to ``sha256``."""
        digest = hashlib.sha256()
        try:
            source = self.path(sha256).open("rb")
        except FileNotFoundError:
            raise BlobMissing(f"blob {sha256} is missing from {self.blobs}") from None
        with source:
            while chunk := source.read(_COPY_BYTES):
                digest.update(chunk)
                yield chunk
        _verified(sha256, digest.hexdigest(), str(self.blobs))

    @contextmanager
    def local_copy(self, sha256: str) -> Iterator[Path]:
        """Give the blob's own file, after checking that it hashes to ``sha256``."""
        for _ in self.chunks(sha256):
            pass
        yield self.path(sha256)

    def exists(self, sha256: str) -> bool:
        """Tell whether the blob is on disk."""
        return self.path(sha256).is_file()


def _verified(expected: str, got: str, where: str) -> None:
    """Raise ``BlobCorrupt`` unless a blob read from ``where`` hashed to its name."""
    if got != expected:
        raise BlobCorrupt(f"blob {expected} in {where} is corrupt: its content hashes to {got}",
                          hint="restore it from a backup (gopush serve --export/--import "
                               "verifies every blob); nothing was served from it")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
