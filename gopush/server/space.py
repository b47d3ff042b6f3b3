"""Running out of disk space: how a full disk is recognised, what the server does meanwhile,
and the rule by which it finds out that space returned.

A write into the data directory fails for lack of space with ENOSPC (the file system is
full) or EDQUOT (the quota is spent); SQLite says SQLITE_FULL ("database or disk is full"),
or, for a quota and for its shared-memory index, a plain I/O error. Every write the server
makes goes through ``blobs`` (files) or ``db.Database.tx`` (metadata), and both hand such a
failure to ``Space.full``, which logs the path, raises ``DiskFull`` and puts the server in
**read-only mode**:

- reads (the GOPROXY endpoint, package lists, status) go on as before: they write nothing;
- every write request (POST and PUT; DELETE, which frees space, is still tried) is answered
  ``507`` with "The registry is out of disk space." before its body is read, and a write
  that runs out of space half-way is answered the same and leaves nothing behind (its
  temporary files are deleted, its transaction rolled back);
- ``/readyz`` answers 503 with the reason; the log says when the mode starts and ends.

**The rule.** A *probe* writes ``PROBE_BYTES`` (1 MiB) to a new file under ``tmp/``, fsyncs
and deletes it. Read-only mode begins when a write fails for lack of space, or when a probe
fails: at start, and at each periodic sweep (``app._sweep_periodically``, every
``--upload-expiry``/2 and at least hourly), so a disk filled by something else is noticed
too. It ends at the first probe that succeeds: while read-only, each write request, each
``/readyz`` and each periodic sweep probes, so the first upload after space is freed simply
works, without a restart. A probe on a full disk fails at its first write, so probing on
every request while read-only costs next to nothing; a writable server does not probe on
requests at all.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gopush.errors import GopushError

log = logging.getLogger("gopush.server")

_OUT = "The registry is out of disk space"
OUT_OF_SPACE = f"{_OUT}."  # the 507's detail
PROBE_BYTES = 1 << 20  # one receive buffer (receive.FLUSH_BYTES): the least an upload needs
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = 13
_SQLITE_IOERR = 10


class DiskFull(GopushError):
    """A write failed because the data directory's file system is full or over quota."""

    def __init__(self, path: Path | str, cause: BaseException) -> None:
        super().__init__(f"out of disk space writing {path}: {_why(cause)}")
        self.path = path


def _why(cause: BaseException) -> str:
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(cause)


def is_full_errno(err: BaseException) -> bool:
    """Tell whether ``err`` is an OSError saying the disk is full or the quota spent."""
    return isinstance(err, OSError) and err.errno in _FULL_ERRNOS


class Space:
    """Whether the data directory under ``root`` takes writes; see the module docstring."""

    def __init__(self, root: Path, probe_dir: Path) -> None:
        self.root = root
        self.probe_dir = probe_dir
        self._lock = threading.Lock()
        self._reason: str | None = None  # set while read-only
        self._on_writable: list[Callable[[], None]] = []

    @property
    def read_only(self) -> bool:
        """Tell whether the server is in read-only mode (a write ran out of space)."""
        return self._reason is not None

    @property
    def reason(self) -> str | None:
        """Say why writes are refused (no path: this text is shown to clients), or None."""
        return self._reason

    def when_writable(self, action: Callable[[], None]) -> None:
        """Run ``action`` each time read-only mode ends (from the thread that noticed)."""
        self._on_writable.append(action)

    def full(self, path: Path | str, cause: BaseException) -> DiskFull:
        """Enter read-only mode because writing ``path`` failed with ``cause``; return the
        ``DiskFull`` to raise. The path goes to the log only."""
        with self._lock:
            entering = self._reason is None
            self._reason = f"{_OUT} ({_why(cause)})"
        if entering:
            log.warning("data directory %s is out of disk space (%s, writing %s): serving "
                        "reads only; uploads get 507 until space is freed (a %d-byte test "
                        "write must succeed)", self.root, _why(cause), path, PROBE_BYTES)
        return DiskFull(path, cause)

    @contextmanager
    def guard(self, path: Path | str) -> Iterator[None]:
        """Turn an ENOSPC/EDQUOT raised by the block into ``DiskFull`` (read-only mode)."""
        try:
            yield
        except OSError as err:
            if is_full_errno(err):
                raise self.full(path, err) from err
            raise

    def full_cause(self, err: sqlite3.Error) -> BaseException | None:
        """Return why a SQLite error means the disk is full, or None when it does not:
        SQLITE_FULL itself, or for an I/O error (a quota, the shared-memory index) the
        ENOSPC/EDQUOT a probe then gets."""
        code = getattr(err, "sqlite_errorcode", None)
        if code == _SQLITE_FULL or "database or disk is full" in str(err):
            return err
        if code is not None and code & 0xFF == _SQLITE_IOERR:
            failure = self.probe()
            return failure if failure is not None and is_full_errno(failure) else None
        return None

    def writable(self) -> bool:
        """Tell whether writes may go ahead now: yes unless read-only, and then only if a
        probe succeeds (which ends read-only mode)."""
        return not self.read_only or self.check()

    def check(self) -> bool:
        """Probe and return whether the disk took it; enter or leave read-only mode."""
        failure = self.probe()
        if failure is not None:
            self.full(self.probe_dir, failure)
            return False
        self._resume()
        return True

    def probe(self) -> OSError | None:
        """Write ``PROBE_BYTES`` to a new file, fsync and delete it; return the error, or
        None when the disk took them."""
        path = self.probe_dir / f"probe-{secrets.token_hex(8)}"
        try:
            with path.open("xb", buffering=0) as file:
                view = memoryview(bytes(PROBE_BYTES))
                while view:
                    view = view[file.write(view):]
                os.fsync(file.fileno())
        except OSError as err:
            return err
        finally:
            path.unlink(missing_ok=True)
        return None

    def _resume(self) -> None:
        with self._lock:
            leaving, self._reason = self._reason is not None, None
        if leaving:
            log.warning("data directory %s has space again: uploads resume", self.root)
            for action in self._on_writable:
                action()
