"""Load a module zip as a ``ModuleArtifact``: check it as go would and hash it, in one read.

The gate (``gopush.modzip.accept.accept_zip``, the one ``gopush check`` and ``gopush serve``
run) walks the zip; a ``HashingReader`` between it and the file feeds MD5 (for the Cloudsmith
upload) and SHA-256 (to compare with what a registry holds) from the same reads, so a 200 MB
zip is read about once. The ``h1:``, the go.mod (the zip's, or the synthesized one) and the
``.info`` come from the gate.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from gopush.errors import InvalidModule, InvalidModuleZip
from gopush.modzip.accept import AcceptedZip, accept_zip
from gopush.registry.artifact import ModuleArtifact
from gopush.ui.base import Reporter

READ_SIZE = 1 << 20  # bytes per read when hashing the rest of a zip


def load_artifact(path: Path, reporter: Reporter | None = None) -> ModuleArtifact:
    """Check a module zip as go would and hash it, all in one read of the file.

    Raises:
        InvalidModule: the zip breaks a rule (the message lists every offending file).
    """
    try:
        handle = path.open("rb")
    except OSError as err:
        raise InvalidModule(f"cannot read {path}: {err.strerror}") from None
    with handle:
        hashing = HashingReader(handle)
        try:
            accepted = accept_zip(hashing)
            md5, sha256 = hashing.finish()
        except InvalidModuleZip as err:  # say which of the inputs
            err.message = f"{path}: {err.message}"
            raise
        finally:
            hashing.close()
    if reporter is not None:
        reporter.detail(f"checked {path}: {accepted.module}@{accepted.version} {accepted.sum} "
                        f"({accepted.files} files, {hashing.size} bytes; "
                        f"{hashing.bytes_read} bytes read in all to check and hash it)")
    return ModuleArtifact(zip_path=path, accepted=accepted, info=_info(path, accepted),
                          size=hashing.size, md5=md5, sha256=sha256)


class HashingReader:
    """A seekable reader that hashes the file while another reader walks through it.

    Bytes are fed to MD5 and SHA-256 whenever a read continues where the hashes stopped,
    which is how a zip checker walks entries in order. A read that starts a little past that
    point (after the checker skipped a local header's file name and extra field) first
    hashes the skipped bytes, so hashing keeps pace; ``finish`` hashes whatever is left
    (typically only the central directory). The file is read about once.

    MD5, the slowest hash, runs in a worker thread (hashlib releases the GIL), so it overlaps
    with the SHA-256 and CRC-32 work of this thread on a second core (measured: 0.34 s instead
    of 0.62 s for 200 MB, which the old two-pass read also cost). Call ``close`` to stop it.
    """

    MAX_GAP = 64 * 1024  # a local header's name and extra field; never a whole entry

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.md5, self.sha256 = _ThreadedDigests(hashlib.md5()), hashlib.sha256()
        self.hashed = 0
        self.bytes_read = 0
        self.size = os.fstat(raw.fileno()).st_size

    def read(self, n: int = -1) -> bytes:
        """Read like the wrapped file, hashing bytes that extend the hashed prefix."""
        position = self.raw.tell()
        if self.hashed < position <= self.hashed + self.MAX_GAP:
            self._hash(self.hashed, os.pread(self.raw.fileno(), position - self.hashed,
                                             self.hashed))
        data = self.raw.read(n)
        self._hash(position, data)
        return data

    def _hash(self, position: int, data: bytes) -> None:
        self.bytes_read += len(data)
        end = position + len(data)
        if position <= self.hashed < end:
            piece = memoryview(data)[self.hashed - position:]
            self.md5.update(piece)
            self.sha256.update(piece)
            self.hashed = end

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Seek the wrapped file."""
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        """Return the wrapped file's position."""
        return self.raw.tell()

    def seekable(self) -> bool:
        """Tell zip readers they may seek."""
        return True

    def readable(self) -> bool:
        """Tell readers they may read."""
        return True

    def finish(self) -> tuple[str, str]:
        """Hash the rest of the file; return the MD5 and SHA-256 hex digests."""
        self.raw.seek(self.hashed)
        while self.hashed < self.size and self.read(READ_SIZE):
            pass
        (md5,) = self.md5.hexdigests()
        return md5, self.sha256.hexdigest()

    def close(self) -> None:
        """Stop the hashing worker (idempotent); the digests are unusable afterwards."""
        self.md5.close()


class _ThreadedDigests:
    """hashlib objects fed from one worker thread, in order, with a bounded backlog.

    ``update`` queues the bytes (at most ``BACKLOG`` pieces wait, so memory stays bounded);
    ``hexdigests`` waits for the queue to drain. The caller must not change a buffer it
    handed over (bytes and memoryviews of bytes are immutable).
    """

    BACKLOG = 8

    def __init__(self, *digests: Any) -> None:
        self._digests = digests
        self._queue: queue.Queue[bytes | memoryview | None] = queue.Queue(self.BACKLOG)
        self._worker = threading.Thread(target=self._run, name="gopush-hash", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            for digest in self._digests:
                digest.update(data)

    def update(self, data: bytes | memoryview) -> None:
        """Queue ``data`` for hashing."""
        self._queue.put(data)

    def hexdigests(self) -> list[str]:
        """Return the hex digests of everything queued (the worker then stops)."""
        self.close()
        return [str(digest.hexdigest()) for digest in self._digests]

    def close(self) -> None:
        """Stop the worker after what is queued; idempotent."""
        if self._worker.is_alive():
            self._queue.put(None)
            self._worker.join()


def _info(zip_path: Path, accepted: AcceptedZip) -> bytes:
    """Return the ``.info`` beside a zip in a GOPROXY layout, or the gate's, published now.

    Raises:
        InvalidModule: the ``.mod`` or ``.info`` beside the zip disagrees with it
            (``proxydir.beside_problems``, the rules the web page's layout upload applies).
    """
    from gopush.proxydir import beside_problems, read_beside  # not at start-up: needs semver

    try:
        mod, info = read_beside(zip_path)
    except OSError as err:
        raise InvalidModule(f"cannot read the files beside {zip_path}: {err.strerror}") from None
    problems = beside_problems(accepted, mod, info)
    if problems:
        raise InvalidModule("; ".join(f"{zip_path.with_suffix(suffix)}: {rule}"
                                      for suffix, rule in problems),
                            hint="a GOPROXY layout's .mod and .info must match its zip: "
                                 "rebuild it with `gopush build --out`, or push the zip alone")
    return info if info is not None else accepted.info(datetime.now(UTC))
