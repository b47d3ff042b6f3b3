"""Write a module zip, as golang.org/x/mod/zip's ``Create`` would, and compute its h1: sum.

The zip holds each valid file (see ``rules.check_files``) as ``<module>@<version>/<path>``,
deflated, in byte order of the paths (for files from ``git archive`` this is the order the go
command writes too; the h1: sum sorts names anyway, so order never changes it). Timestamps
and attributes are fixed, so the same files always give the same bytes.

Speed: files are read once; CRC-32, SHA-256 and deflate run on a thread pool (zlib and
hashlib release the GIL). Deflate is zlib-ng's where its wheel is installed (the ``zlib-ng``
package, a dependency on the platforms that have wheels): the same format and level as
zlib's, about a third less CPU, zips within 0.5% of zlib's size; elsewhere the standard
library's zlib. The bytes of a zip are thus the same for the same files with the same
deflater (``DEFLATER`` names it; zlib-ng's output has been seen to differ between x86-64 and
ARM64, as zlib's may between builds of zlib), and the h1: sum, which hashes the files, never
depends on it. Small files are packed whole by a worker; files larger than
``SMALL_FILE_BYTES`` are streamed in ``CHUNK_BYTES`` pieces, each deflated independently and
joined with sync flushes (a valid deflate stream, as pigz makes), so a big file never sits
in memory whole. A source that reads its files one after another (``git archive``) can have
them packed while it is still reading, with ``PackAhead``: deflate then runs beside the
reading instead of after it, and the bytes are the same either way. The zip goes to a
temporary file beside ``dest_path``, is fsynced, then renamed: readers see the old file or
the complete new one, never half a zip.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import BinaryIO, Protocol, Self

from gopush.errors import InvalidModuleZip, SourceError
from gopush.gosem import modpath
from gopush.gosem.dirhash import hash1
from gopush.modzip import zipfmt
from gopush.modzip.files import SourceFile
from gopush.modzip.report import FileReport
from gopush.modzip.rules import check_files, valid_files

try:
    # zlib's API; the GIL released while deflating; CRC-32 with carry-less multiplication
    from zlib_ng import zlib_ng

    _deflate_lib: ModuleType = zlib_ng  # or zlib: the same API (see _DeflateStream)
except ImportError:  # no wheel for this platform: the standard library's zlib
    _deflate_lib = zlib

COMPRESS_LEVEL = 6  # zlib's default; part of the byte-for-byte reproducibility promise
DEFLATER = (f"zlib-ng {_deflate_lib.ZLIBNG_VERSION}" if _deflate_lib is not zlib
            else f"zlib {zlib.ZLIB_RUNTIME_VERSION}")
SMALL_FILE_BYTES = 4 * 1024 * 1024  # files up to this size are read whole by one worker
CHUNK_BYTES = 1024 * 1024  # larger files are read and deflated in pieces of this size
MAX_AHEAD_BYTES = 64 * 1024 * 1024  # bytes of small files packed ahead of the writer
MAX_AHEAD_FILES = 512
MAX_PACK_AHEAD_BYTES = 64 * 1024 * 1024  # bytes of a source's files packed while it is read
# Files offered to PackAhead go to its threads in batches of about this many bytes (or files):
# one task per file costs a hand-over between threads each, a tenth of deflate's own time.
PACK_BATCH_BYTES = 256 * 1024
PACK_BATCH_FILES = 64


@dataclass(frozen=True, slots=True)
class CreatedZip:
    """The outcome of ``create_zip``: verdicts, h1: sum, zip size in bytes, entry count."""

    report: FileReport
    sum: str
    size: int
    files: int


@dataclass(frozen=True, slots=True)
class _Packed:
    """A whole small file, deflated: what the writer needs to emit its entry."""

    crc: int
    size: int
    sha256: str
    payload: bytes


def create_zip(dest_path: str | os.PathLike[str], module: str, version: str,
               files: Sequence[SourceFile], *,
               on_progress: Callable[[int], None] | None = None) -> CreatedZip:
    """Write the module zip of ``files`` for module@version to ``dest_path``; return its sum.

    The vendor rule follows the go line of the root go.mod among ``files`` (as
    ``rules.check_files`` finds it). A file may carry ``packed_ahead``, the future
    ``PackAhead.offer`` returned for its bytes; that result is written instead of packing the
    file again. ``on_progress(n)`` is called with counts of input files handled (omitted ones
    first), adding up to ``len(files)``. Nothing is left at ``dest_path`` on failure.

    Raises:
        InvalidVersion, InvalidPath: module path or version invalid, or not canonical.
        InvalidModuleZip: the files break the zip rules (``err.report`` has the verdicts), or
            a file turned out larger than its declared size.
        SourceError: a file could not be read.
    """
    try:
        modpath.check_module_version(module, version)
        report = check_files(files)
        err = report.error(f"{module}@{version}: create zip")
        if err is not None:
            raise err
        progress = on_progress or (lambda n: None)
        if skipped := len(files) - len(report.valid):
            progress(skipped)
        entries = sorted(valid_files(files, report), key=lambda f: f.path)
        with _AtomicFile(Path(dest_path)) as out:
            writer = _write_entries(out, f"{module}@{version}/", entries, progress)
    except BaseException:
        _drop_packed_ahead(files)
        raise
    return CreatedZip(report=report, sum=hash1(writer.digests), size=writer.size,
                      files=len(entries))


def _write_entries(out: BinaryIO, prefix: str, entries: Sequence[SourceFile],
                   progress: Callable[[int], None]) -> _ZipWriter:
    """Write every entry and the central directory to ``out``; return the finished writer."""
    pool = ThreadPoolExecutor(_workers())
    try:
        writer = _ZipWriter(out, pool)
        for source, packed in _packed_ahead(entries, pool):
            try:
                if packed is None:
                    writer.stream(prefix + source.path, source)
                else:
                    writer.add(prefix + source.path, packed.result())
            except OSError as exc:
                raise SourceError(f"{source.path}: {exc.strerror or exc}") from exc
            except _TooLarge:
                raise InvalidModuleZip(
                    f"{prefix[:-1]}: create zip: file \"{source.path}\" is larger than "
                    "declared size", hint="the file changed while the zip was written; retry"
                ) from None
            progress(1)
        writer.finish()
        return writer
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


def _packed_ahead(entries: Sequence[SourceFile], pool: ThreadPoolExecutor
                  ) -> Iterator[tuple[SourceFile, PackedAhead | None]]:
    """Yield entries in order with their packing futures (None: stream it), kept ahead."""
    ahead: deque[tuple[SourceFile, PackedAhead | None, int]] = deque()
    ahead_bytes = 0
    upcoming = iter(entries)
    exhausted = False
    while ahead or not exhausted:
        while not exhausted and len(ahead) < MAX_AHEAD_FILES and ahead_bytes < MAX_AHEAD_BYTES:
            source = next(upcoming, None)
            if source is None:
                exhausted = True
                break
            size = source.stat().size
            if (packed := _packed_ahead_of(source)) is not None:
                ahead.append((source, packed, 0))  # its bytes are in memory already
            elif size <= SMALL_FILE_BYTES:
                ahead.append((source, pool.submit(_pack_small, source, size), size))
                ahead_bytes += size
            else:
                ahead.append((source, None, 0))
        if not ahead:
            return
        source, future, size = ahead.popleft()
        ahead_bytes -= size
        yield source, future


class PackedAhead(Protocol):
    """A file's packing started ahead (``PackAhead.offer``): ``result()`` waits for it."""

    def result(self) -> _Packed: ...

    def cancel(self) -> bool: ...

    def cancelled(self) -> bool: ...


class _TooLarge(Exception):
    """A file gave more bytes than its declared size."""


def _pack_small(source: SourceFile, size: int) -> _Packed:
    with source.open() as r:
        data = _read_up_to(r, size + 1)
    if len(data) > size:
        raise _TooLarge(source.path)
    return _pack(data)


def _pack(data: bytes) -> _Packed:
    """Deflate a whole small file; the one place its entry's bytes are made."""
    deflater = _deflater()
    payload = deflater.compress(data) + deflater.flush()
    return _Packed(_deflate_lib.crc32(data), len(data), hashlib.sha256(data).hexdigest(),
                   payload)


def _packed_ahead_of(source: SourceFile) -> PackedAhead | None:
    return getattr(source, "packed_ahead", None)


def _drop_packed_ahead(files: Sequence[SourceFile]) -> None:
    """Cancel the packs not started yet: nothing will be written, and a process exiting on
    an error (or a Ctrl-C) would otherwise wait for its pool to deflate them all."""
    for source in files:
        if (packed := _packed_ahead_of(source)) is not None:
            packed.cancel()


class PackAhead:
    """Packs small files while their source is still reading the rest of them.

    ``git archive`` streams a module's files one after another; packing them as they arrive
    (``offer``) puts deflate on one core while git and the reader use the other, where
    packing after the whole archive was read would leave them in turn. The source keeps the
    returned ``PackedAhead`` on the file as ``packed_ahead`` and ``create_zip`` writes its
    result: the same bytes ``create_zip`` would make itself. Files go to the threads in
    batches (``PACK_BATCH_BYTES``, ``PACK_BATCH_FILES``), each file still deflated on its own.

    Which files the zip keeps is known only once every file is seen, so this guesses: files
    under a ``vendor/`` directory, or under a directory already seen to hold a go.mod (a
    nested module), are not packed. A wrong guess costs one wasted deflate or one file
    packed later, never a different zip. At most ``budget`` bytes are packed ahead, which
    bounds the memory the packed payloads take beside the files' own bytes.

    Use as a context manager around the reading: on a normal exit the last batch is started
    and the queued packs go on (the threads end when they are done); on an error the ones
    not started are dropped.
    """

    def __init__(self, budget: int = MAX_PACK_AHEAD_BYTES) -> None:
        self._pool = ThreadPoolExecutor(_workers(), thread_name_prefix="gopush-pack-ahead")
        self._left = budget
        self._module_dirs: set[str] = set()
        self._batch = _Batch()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._batch.start(self._pool)
        else:
            self._batch.cancel()
        self._pool.shutdown(wait=False, cancel_futures=exc_type is not None)

    def offer(self, path: str, data: bytes) -> PackedAhead | None:
        """Start packing ``data``, the bytes of the regular file at ``path`` (relative to the
        module root); return its ``PackedAhead``, or None when the file is left to
        ``create_zip``."""
        directory, _, name = path.rpartition("/")
        if directory and name.lower() == "go.mod":
            self._module_dirs.add(directory)
        if len(data) > SMALL_FILE_BYTES or len(data) > self._left or self._likely_omitted(path):
            return None
        self._left -= len(data)
        packed = self._batch.add(data)
        if self._batch.size >= PACK_BATCH_BYTES or len(self._batch.datas) >= PACK_BATCH_FILES:
            self._batch.start(self._pool)
            self._batch = _Batch()
        return packed

    def _likely_omitted(self, path: str) -> bool:
        if path.startswith("vendor/") or "/vendor/" in path:
            return True
        directory = path
        while self._module_dirs and (cut := directory.rfind("/")) > 0:
            directory = directory[:cut]
            if directory in self._module_dirs:
                return True
        return False


class _Batch:
    """Files packed by one task of PackAhead's threads; each gets a ``_Slot`` in it."""

    def __init__(self) -> None:
        self.datas: list[bytes] = []
        self.size = 0
        self.future: Future[list[_Packed]] | None = None
        self._dropped = False

    def add(self, data: bytes) -> _Slot:
        self.datas.append(data)
        self.size += len(data)
        return _Slot(self, len(self.datas) - 1)

    def start(self, pool: ThreadPoolExecutor) -> None:
        if self.datas and self.future is None and not self._dropped:
            self.future = pool.submit(_pack_all, self.datas)

    def cancel(self) -> bool:
        future = self.future
        self._dropped = future is None
        return future is None or future.cancel()

    def cancelled(self) -> bool:
        return self._dropped or (self.future is not None and self.future.cancelled())

    def results(self) -> list[_Packed]:
        if self.future is None:  # never started (the reading ended early): pack here
            self.future = Future()
            self.future.set_result(_pack_all(self.datas))
        return self.future.result()


class _Slot:
    """One file's place in a ``_Batch``: a ``PackedAhead``."""

    __slots__ = ("_batch", "_index")

    def __init__(self, batch: _Batch, index: int) -> None:
        self._batch = batch
        self._index = index

    def result(self) -> _Packed:
        return self._batch.results()[self._index]

    def cancel(self) -> bool:
        return self._batch.cancel()

    def cancelled(self) -> bool:
        return self._batch.cancelled()


def _pack_all(datas: list[bytes]) -> list[_Packed]:
    return [_pack(data) for data in datas]


def _read_up_to(r: BinaryIO, limit: int) -> bytes:
    """Read until EOF or ``limit`` bytes, whichever comes first (short reads allowed)."""
    parts: list[bytes] = []
    got = 0
    while got < limit:
        chunk = r.read(limit - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _deflate_chunk(data: bytes, last: bool) -> bytes:
    deflater = _deflater()
    return deflater.compress(data) + deflater.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class _DeflateStream(Protocol):
    """What zlib's and zlib-ng's compress objects both offer."""

    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self, mode: int = zlib.Z_FINISH, /) -> bytes: ...


def _deflater() -> _DeflateStream:
    """A new raw deflate stream at ``COMPRESS_LEVEL``: the one place entries' bytes are
    deflated. New for every file or piece (zlib-ng's output after a reset may differ)."""
    stream: _DeflateStream = _deflate_lib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15)
    return stream


class _ZipWriter:
    """Writes entries and the central directory; collects (name, sha256) for the h1: sum."""

    def __init__(self, out: BinaryIO, pool: ThreadPoolExecutor) -> None:
        self._out = out
        self._pool = pool
        self._offset = 0
        self._central: list[bytes] = []
        self.size = 0
        self.digests: list[tuple[str, str]] = []

    def add(self, name: str, packed: _Packed) -> None:
        """Write one whole entry."""
        raw = name.encode()
        self._central.append(zipfmt.central_record(raw, packed.crc, len(packed.payload),
                                                   packed.size, self._offset))
        header = zipfmt.local_header(raw, packed.crc, len(packed.payload), packed.size)
        self._out.write(header)
        self._out.write(packed.payload)
        self._offset += len(header) + len(packed.payload)
        self.digests.append((name, packed.sha256))

    def stream(self, name: str, source: SourceFile) -> None:
        """Write one large entry piece by piece, then fill in its header's CRC and sizes."""
        raw = name.encode()
        declared = source.stat().size
        start = self._offset
        header = zipfmt.local_header(raw, 0, 0, 0)
        self._out.write(header)
        crc, size, compressed, sha = 0, 0, 0, hashlib.sha256()
        with source.open() as r:
            for piece in self._deflated_pieces(r, declared):
                data, deflated = piece
                crc = _deflate_lib.crc32(data, crc)
                sha.update(data)
                size += len(data)
                out = deflated.result()
                self._out.write(out)
                compressed += len(out)
        self._out.seek(start + zipfmt.LOCAL_CRC_OFFSET)
        self._out.write(zipfmt.local_header(raw, crc, compressed, size)[14:26])
        self._out.seek(0, os.SEEK_END)
        self._offset = start + len(header) + compressed
        self._central.append(zipfmt.central_record(raw, crc, compressed, size, start))
        self.digests.append((name, sha.hexdigest()))

    def _deflated_pieces(self, r: BinaryIO, declared: int
                         ) -> Iterator[tuple[bytes, Future[bytes]]]:
        """Yield (piece, future deflate of it), keeping a few pieces in flight."""
        inflight: deque[tuple[bytes, Future[bytes]]] = deque()
        total = 0
        piece = _read_up_to(r, CHUNK_BYTES)
        while True:
            following = _read_up_to(r, CHUNK_BYTES) if piece else b""
            total += len(piece)
            if total > declared:
                raise _TooLarge()
            last = not following
            inflight.append((piece, self._pool.submit(_deflate_chunk, piece, last)))
            if len(inflight) > 4:
                yield inflight.popleft()
            if last:
                break
            piece = following
        yield from inflight

    def finish(self) -> None:
        """Write the central directory and end records; ``size`` is then the zip's size."""
        directory = b"".join(self._central)
        end = zipfmt.end_records(len(self._central), len(directory), self._offset)
        self._out.write(directory)
        self._out.write(end)
        self.size = self._offset + len(directory) + len(end)


class _AtomicFile:
    """A temporary file beside ``dest`` that replaces it on success and vanishes on failure."""

    def __init__(self, dest: Path) -> None:
        self._dest = dest

    def __enter__(self) -> BinaryIO:
        fd, tmp = tempfile.mkstemp(prefix=f".{self._dest.name}.", suffix=".tmp",
                                   dir=self._dest.parent)
        self._tmp = Path(tmp)
        self._file: BinaryIO = os.fdopen(fd, "w+b", buffering=1024 * 1024)
        return self._file

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            if exc_type is None:
                os.chmod(self._tmp, 0o644)
                os.replace(self._tmp, self._dest)
        except BaseException:
            self._file.close()
            self._tmp.unlink(missing_ok=True)
            raise
        if exc_type is not None:
            self._tmp.unlink(missing_ok=True)
        else:
            _fsync_dir(self._dest.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not possible everywhere (Windows); the rename itself is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
