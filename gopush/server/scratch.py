"""The private scratch directory of a server that keeps nothing on local disk.

With ``--database postgresql://…`` and a blob store that is not a directory (``--blobs
postgresql`` or ``s3://…``) no ``--data`` is needed: uploads are still received into local
scratch files (hashed as they arrive), joined and checked there, in a directory of the
system's temporary space that the server removes when it stops. A server killed with -9
cannot remove it, so each directory carries an ``.owner`` file that its server holds an
exclusive ``flock`` on for its whole life; the kernel drops the lock when the process dies,
and the next server to start (on the same machine, as the same user) deletes every such
directory whose lock it can take. The lock is taken before the file gets its name, so a
directory being made is never mistaken for an abandoned one.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("gopush.server")

PREFIX = "gopush-scratch-"
OWNER = ".owner"


@contextmanager
def private_scratch() -> Iterator[Path]:
    """Give a new scratch directory held by this process for the ``with`` block, then
    delete it; first delete those that killed servers left (``reclaim_abandoned``)."""
    reclaim_abandoned()
    path = Path(tempfile.mkdtemp(prefix=PREFIX))
    fd = _hold(path)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def reclaim_abandoned(parent: Path | None = None) -> int:
    """Delete the scratch directories under ``parent`` (the system's temporary directory)
    whose server is gone; return how many. Directories of live servers, of other users,
    or without an owner file are left alone."""
    removed = 0
    for directory in (parent or Path(tempfile.gettempdir())).glob(f"{PREFIX}*"):
        try:
            if directory.stat().st_uid != os.getuid():
                continue
            fd = os.open(directory / OWNER, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue  # not a directory, not ours, or no owner file: not one we made
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its server is alive
        finally:
            os.close(fd)
        shutil.rmtree(directory, ignore_errors=True)
        log.warning("removed %s, left by a gopush serve that was killed", directory)
        removed += 1
    return removed


def _hold(directory: Path) -> int:
    """Create ``directory/.owner`` already locked by this process; return its descriptor."""
    provisional = directory / f"{OWNER}.new"
    fd = os.open(provisional, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(provisional, directory / OWNER)
    return fd
