"""Content-addressed blobs (``--blobs``): the ``Blobs`` protocol, scratch files, the directory store.

Bytes arrive in an ``Incoming`` scratch file under ``DATA/tmp/``, which hashes them (MD5 and
SHA-256) as they are written; a store's ``commit`` keeps them under their SHA-256. The
directory store (``DirectoryBlobs``) keeps a blob at ``PATH/sha256/<first two hex>/<sha256>``:
``commit`` fsyncs the file, renames it to its address and fsyncs the directory, so after a
crash a blob is either whole or absent; an interrupted upload leaves only a scratch file,
which ``sweep`` removes on the next start. PostgreSQL large objects are ``server.pgblobs``;
``open_blobs`` is the one place a ``--blobs`` value becomes a store. Blobs are never
modified; metadata elsewhere decides which of them are visible, and no caller sees a path
of a blob (only ``local_copy``, for the length of a ``with`` block).

Every write here runs under ``Space.guard``: a full disk (ENOSPC, EDQUOT) raises
``space.DiskFull`` and puts the server in read-only mode (``server.space``); the caller
deletes the temporary file as on any other failure.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from gopush.errors import ConfigError, ExitCode, GopushError
from gopush.server.redaction import redacted
from gopush.server.space import Space

_COPY_BYTES = 1 << 20


class BlobMissing(GopushError):
    """A blob a row points at is not in the store (deleted behind the registry's back)."""


class BlobCorrupt(GopushError):
    """A blob's bytes do not hash to its name: the store changed them (never served)."""


class BlobStoreUnavailable(GopushError):
    """The blob store cannot be reached or refused the operation; the message names why
    (connection refused, access denied, bucket missing...) and the store, never a credential.

    ``cause`` says why in a few words of a fixed vocabulary that name nothing of the
    deployment (no endpoint, host, bucket, path or credential): ``/readyz`` shows it to
    anyone who asks, where the message goes to the server log only. At `gopush serve`'s
    start (which sweeps the store) it exits 6, as an unreachable registry does.
    """

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, message: str, *, hint: str | None = None,
                 cause: str = "it cannot be reached") -> None:
        super().__init__(message, hint=hint)
        self.cause = cause


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

    def sweep(self, older_than: float | None = None) -> int:
        """Delete scratch files left by an interrupted run; return how many. With
        ``older_than`` (a Unix time) only those last written before it (instances sharing a
        data directory tell a killed one's scratch files apart by age alone)."""
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
        self._unhashed = False  # bytes came in by copy_range: the digests are not theirs
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

    def copy_range(self, path: Path, offset: int, size: int) -> None:
        """Append ``size`` bytes of the file at ``path`` from ``offset``, copied by the kernel
        and not hashed (a part the join already hashed, kept in the store as well): the
        digests are unusable from then on (``md5``/``sha256`` raise), so such a file can be
        a part (``Blobs.put_part``) but never a blob (``commit``)."""
        self._unhashed = True
        with path.open("rb") as source, self._space.guard(self.path):
            file = self._open()
            while size > 0:
                copied = os.copy_file_range(source.fileno(), file.fileno(), size, offset)
                if copied == 0:
                    raise OSError(f"{path} ended {size} bytes early")
                offset += copied
                size -= copied
                self.size += copied

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
    def hashed(self) -> bool:
        """Tell whether the digests are usable (nothing came in by ``copy_range``)."""
        return not self._unhashed

    @property
    def md5(self) -> str:
        """Return the lower-case hex MD5 of what was written so far."""
        self._check_hashed()
        return self._md5.hexdigest()

    @property
    def sha256(self) -> str:
        """Return the lower-case hex SHA-256 of what was written so far."""
        self._check_hashed()
        return self._sha256.hexdigest()

    def _check_hashed(self) -> None:
        if self._unhashed:
            raise RuntimeError(f"{self.path} holds bytes copied unhashed (copy_range)")

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


class DirectoryBlobs:
    """Blob files in a directory (``--blobs dir:PATH``; by default ``DATA/blobs``).

    A blob lives at ``PATH/sha256/<first two hex>/<sha256 hex>``; the parts of a multipart
    upload at ``PATH/parts/<upload>/<number>``, so instances that share ``PATH`` (a network
    file system) share both. Scratch files live under ``scratch`` (``DATA/tmp``), this
    process's own; on another file system than ``PATH`` a commit copies the file into place
    through a hidden temporary name (still atomic: the final step is a rename).
    """

    def __init__(self, root: Path, space: Space, scratch: Path) -> None:
        self.root = root
        self.blobs = root / "sha256"
        self.parts_dir = root / "parts"
        self.tmp = scratch
        self.space = space
        try:
            for directory in (self.blobs, self.parts_dir):
                directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # named here: the data directory may be fine
            raise ConfigError(f"cannot use the blob directory {root}: {err.strerror}",
                              hint="pass --blobs dir:PATH with a writable directory") from None
        self.tmp.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        """Return the directory, as logs and errors name the store."""
        return f"directory {self.root}"

    def check(self) -> None:
        """Raise ``BlobStoreUnavailable`` unless the blob directory can be listed."""
        try:
            next(iter(os.scandir(self.blobs)), None)
        except OSError as err:
            raise BlobStoreUnavailable(f"the blob directory {self.root} cannot be read: "
                                       f"{err.strerror}",
                                       cause="its directory cannot be read") from None

    def sweep(self, older_than: float | None = None) -> int:
        """Delete scratch files left by an interrupted run, and copies a commit across file
        systems left half-made; return how many were removed.

        With ``older_than`` (a Unix time), only those last written before it: several
        instances sharing the directory (``--database postgresql://``) each write their own
        scratch files and half-made copies, so a killed one's are told apart by age alone
        (see ``Storage.sweep_orphans``).
        """
        return sweep_scratch([*self.tmp.iterdir(), *self.blobs.glob("??/.*")], older_than)

    def names(self) -> list[str]:
        """Return the SHA-256 of every blob on disk (the file names under ``sha256/``)."""
        return [blob.name for blob in self.blobs.glob("??/*") if is_sha256(blob.name)]

    def delete(self, sha256s: Iterable[str]) -> None:
        """Delete these blobs (the caller decided that no row needs them)."""
        for sha in sha256s:
            self._path(sha).unlink(missing_ok=True)

    def incoming(self, label: str = "upload") -> Incoming:
        """Return a new, empty temporary file to fill."""
        return Incoming(self.tmp / f"{label}-{secrets.token_hex(8)}", self.space)

    def _path(self, sha256: str) -> Path:
        """Return where the blob with this SHA-256 lives (it may not exist)."""
        if not is_sha256(sha256):
            raise BlobMissing(f"{sha256!r} is not the SHA-256 of a blob")
        return self.blobs / sha256[:2] / sha256

    def commit(self, incoming: Incoming) -> tuple[str, bool]:
        """Move a finished temporary file to its address; return its SHA-256 and whether
        this call put it there.

        If the blob already exists (same bytes), the temporary file is dropped (not new); of
        two instances committing the same bytes at once, the hard link decides.
        """
        incoming.finish()
        sha = incoming.sha256
        dest = self._path(sha)
        if dest.exists():
            incoming.path.unlink(missing_ok=True)
            return sha, False
        with self.space.guard(dest):
            dest.parent.mkdir(exist_ok=True)
            return sha, _link_once(incoming.path, dest)

    def put_bytes(self, data: bytes, label: str = "small") -> str:
        """Store small ``data`` (a go.mod) as a blob; return its SHA-256."""
        incoming = self.incoming(label)
        try:
            incoming.write(data)
            return self.commit(incoming)[0]
        finally:
            incoming.discard()  # a no-op once committed

    def read_bytes(self, sha256: str) -> bytes:
        """Return the verified content of a small blob."""
        return b"".join(self.chunks(sha256))

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """Yield the blob's content in pieces of a MiB; raise ``BlobCorrupt`` after the
        last one if it does not hash to ``sha256``."""
        digest = hashlib.sha256()
        try:
            source = self._path(sha256).open("rb")
        except FileNotFoundError:
            raise BlobMissing(f"blob {sha256} is missing from {self.root}") from None
        with source:
            while chunk := source.read(_COPY_BYTES):
                digest.update(chunk)
                yield chunk
        _verified(sha256, digest.hexdigest(), str(self.root))

    @contextmanager
    def local_copy(self, sha256: str) -> Iterator[Path]:
        """Give the blob's own file, after checking that it hashes to ``sha256``."""
        for _ in self.chunks(sha256):
            pass
        yield self._path(sha256)

    def exists(self, sha256: str) -> bool:
        """Tell whether the blob is on disk."""
        return is_sha256(sha256) and self._path(sha256).is_file()

    # -- the parts of multipart uploads ------------------------------------------------------

    def _part_dir(self, upload: str) -> Path:
        if not upload or not all(c.isalnum() or c in "-_" for c in upload):
            raise ValueError(f"{upload!r} is not an upload identifier")
        return self.parts_dir / upload

    def put_part(self, upload: str, number: int, incoming: Incoming) -> None:
        """Keep a finished scratch file as part ``number`` of ``upload`` (a rename, or a
        copy across file systems), replacing one sent before under that number."""
        incoming.finish()
        directory = self._part_dir(upload)
        with self.space.guard(directory):
            directory.mkdir(exist_ok=True)
            _move(incoming.path, directory / f"{number:05d}")

    def parts(self, upload: str) -> dict[int, int]:
        """Return the parts of ``upload`` kept so far: number → size in bytes."""
        found: dict[int, int] = {}
        try:
            entries = list(os.scandir(self._part_dir(upload)))
        except FileNotFoundError:
            return found
        for entry in entries:
            if entry.name.isdigit():
                try:
                    found[int(entry.name)] = entry.stat().st_size
                except FileNotFoundError:
                    pass  # deleted meanwhile (the upload completed elsewhere)
        return found

    def part_chunks(self, upload: str, number: int) -> Iterator[bytes]:
        """Yield the content of one part in pieces of a MiB."""
        try:
            source = (self._part_dir(upload) / f"{number:05d}").open("rb")
        except FileNotFoundError:
            raise BlobMissing(f"part {number} of upload {upload} is missing from "
                              f"{self.root}") from None
        with source:
            while chunk := source.read(_COPY_BYTES):
                yield chunk

    def delete_parts(self, upload: str) -> None:
        """Delete every part of ``upload`` and its directory."""
        directory = self._part_dir(upload)
        shutil.rmtree(directory, ignore_errors=True)


def is_sha256(name: object) -> bool:
    """Tell whether ``name`` is a blob's name: 64 lower-case hex digits (a SHA-256)."""
    return isinstance(name, str) and len(name) == 64 and all(
        c in "0123456789abcdef" for c in name)


def _move(source: Path, dest: Path) -> None:
    """Rename ``source`` to ``dest`` durably, replacing it (a part sent again); across file
    systems, copy it beside ``dest`` under a hidden name first, so ``dest`` is whole or
    absent."""
    try:
        os.replace(source, dest)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        hidden = _copied_beside(source, dest)
        try:
            os.replace(hidden, dest)
        finally:
            hidden.unlink(missing_ok=True)
        source.unlink(missing_ok=True)
    _fsync_dir(dest.parent)


def _link_once(source: Path, dest: Path) -> bool:
    """Give ``source``'s content the name ``dest`` unless it exists (a hard link: of two
    instances linking at once, exactly one succeeds), then remove ``source``; return whether
    this call made ``dest``."""
    hidden = None
    try:
        try:
            os.link(source, dest)
        except OSError as err:
            if err.errno != errno.EXDEV:
                raise
            hidden = _copied_beside(source, dest)
            os.link(hidden, dest)
    except FileExistsError:
        return False
    finally:
        if hidden is not None:
            hidden.unlink(missing_ok=True)
        source.unlink(missing_ok=True)
    _fsync_dir(dest.parent)
    return True


def _copied_beside(source: Path, dest: Path) -> Path:
    """Copy ``source`` (fsynced) to a hidden name in ``dest``'s directory; return it."""
    hidden = dest.parent / f".{dest.name}-{secrets.token_hex(4)}"
    try:
        shutil.copyfile(source, hidden)
        with hidden.open("rb") as copied:
            os.fsync(copied.fileno())
    except BaseException:
        hidden.unlink(missing_ok=True)
        raise
    return hidden


def check_blobs_url(url: str | None, *, database_is_postgresql: bool) -> None:
    """Refuse a ``--blobs`` value that names no store this gopush has, or ``postgresql``
    without a PostgreSQL ``--database`` (called before anything is made on disk).

    Raises:
        ConfigError: saying which values are understood.
    """
    if url == "postgresql":
        if not database_is_postgresql:
            raise ConfigError("--blobs postgresql keeps blobs in the --database database, "
                              "which must then be postgresql://",
                              hint="pass --database postgresql://USER@HOST/DB, or another "
                                   "--blobs (dir:PATH)")
        return
    if url is not None and url.startswith("s3://"):
        _s3_module().parse_s3_url(url)
        return
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]+):", url or "")
    if scheme and scheme[1] != "dir":
        raise ConfigError(f"--blobs {redacted(url or '')!r} names no blob store gopush knows",
                          hint="pass dir:PATH (or a path), postgresql, or s3://BUCKET/PREFIX")


def open_blobs(url: str | None, *, data: Path, space: Space, database: object = None) -> Blobs:
    """Open the blob store a ``--blobs`` value names: ``dir:PATH`` or a path (default
    ``DATA/blobs``), ``postgresql`` (large objects in ``database``, a
    ``db.PostgresDatabase``) or ``s3://BUCKET/PREFIX``. Scratch files go to ``DATA/tmp``.

    Raises:
        ConfigError: as ``check_blobs_url``.
    """
    from gopush.server.db import PostgresDatabase

    check_blobs_url(url, database_is_postgresql=isinstance(database, PostgresDatabase))
    scratch = data / "tmp"
    if url == "postgresql":
        from gopush.server.pgblobs import PostgresBlobs

        assert isinstance(database, PostgresDatabase)
        return PostgresBlobs(database, space, scratch)
    if url is not None and url.startswith("s3://"):
        store: Blobs = _s3_module().open_s3_blobs(url, scratch, space)
        return store
    if not url or url == "dir:":
        return DirectoryBlobs(data / "blobs", space, scratch)
    return DirectoryBlobs(Path(url.removeprefix("dir:")).expanduser(), space, scratch)


def _s3_module() -> Any:
    """Return ``server.blobs_s3`` (boto3 is an extra: say how to get it)."""
    try:
        from gopush.server import blobs_s3
    except ImportError:
        raise ConfigError("--blobs s3:// needs the boto3 client",
                          hint="pip install 'gopush[s3]'") from None
    return blobs_s3


def sweep_scratch(leftovers: Iterable[Path], older_than: float | None = None) -> int:
    """Delete these scratch files (with ``older_than``, a Unix time, only those last written
    before it); return how many went. The one rule of ``Blobs.sweep`` for every store."""
    removed = 0
    for leftover in leftovers:
        try:
            if older_than is not None and leftover.stat().st_mtime >= older_than:
                continue
        except FileNotFoundError:
            continue  # its owner finished with it meanwhile
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed


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
