"""Accept an uploaded module zip only if the go command would accept it.

``check_upload`` is the single gate every upload (and every zip fetched from an upstream
GOPROXY) passes: ``modzip.accept.accept_zip``, the same gate ``gopush check`` and ``gopush
push`` use (paths, case-fold collisions, size lies, limits, the ``<module>@<version>/``
prefix, path/version agreement, a go.mod that must declare the module path the zip is for;
the synthesized ``module <path>`` go.mod for a zip without one; a pseudo-version's time).

At most ``MAX_CONCURRENT_CHECKS`` checks run at once, whoever asks: the synchroniser's one
thread (new versions), a request thread deciding an upload for a version that exists, and
upstream fetches (request threads too, up to the thread pool's 40). A check's memory is
bounded whatever the zip declares (64 KiB pieces; about 650 bytes per entry for names,
digests and the collision checker's keys, measured: some 65 MB for a module of 100,000
files), and its time is CPU time (inflate,
SHA-256, CRC-32), so more checks at once than the two cores a small registry host has add
memory and no throughput. A caller waits its turn here; the wait is bounded by the checks
ahead of it, each bounded by the 500 MiB a zip may hold (about 1 s for 400 MiB of zeros).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from gopush.modzip import zipfmt
from gopush.modzip.accept import AcceptedZip, accept_zip
from gopush.modzip.check import named_module_version

MAX_CONCURRENT_CHECKS = 2
_checks = threading.BoundedSemaphore(MAX_CONCURRENT_CHECKS)


def check_upload(path: Path, module: str | None = None,
                 version: str | None = None) -> AcceptedZip:
    """Check the zip at ``path`` (for ``module@version`` when given); return what it holds.

    Raises:
        InvalidModuleZip: go would refuse the zip; the message lists every problem.
    """
    with _checks:
        return accept_zip(path, module, version)


def peek_module_version(path: Path) -> tuple[str, str] | None:
    """Return the module@version a zip is named for (its first entry's prefix), or None.

    Only the central directory is read, so this is cheap enough to answer ``upload/go`` with;
    it proves nothing: ``check_upload`` decides whether the zip is what it claims.
    """
    try:
        with path.open("rb") as f:
            return named_module_version(zipfmt.read_directory(f, os.fstat(f.fileno()).st_size))
    except (zipfmt.ZipFormatError, OSError):
        return None
