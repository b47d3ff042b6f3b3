"""Accept an uploaded module zip only if the go command would accept it.

``check_upload`` is the single gate every upload (and every zip fetched from an upstream
GOPROXY) passes: ``modzip.check.check_zip`` (the same checker ``gopush check`` uses: paths,
case-fold collisions, size lies, limits, the ``<module>@<version>/`` prefix, path/version
agreement, and a go.mod that must declare the module path the zip is for); a zip without a
go.mod is served with the synthesized ``module <path>`` go.mod the go command expects.

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

from gopush.errors import GopushError, InvalidModuleZip
from gopush.gosem import pseudo
from gopush.modzip import zipfmt
from gopush.modzip.check import check_zip, named_module_version
from gopush.server.storage import Checked, now

MAX_CONCURRENT_CHECKS = 2
_checks = threading.BoundedSemaphore(MAX_CONCURRENT_CHECKS)


def check_upload(path: Path, module: str | None = None,
                 version: str | None = None) -> Checked:
    """Check the zip at ``path`` (for ``module@version`` when given); return what it holds.

    Raises:
        InvalidModuleZip: go would refuse the zip; the message lists every problem.
    """
    with _checks:
        result = check_zip(path, module, version)
    where = f"{result.module}@{result.version}"
    error = result.report.error(where)
    if error is not None:
        raise error
    data = result.gomod if result.gomod is not None else synthesized_gomod(result.module)
    try:
        info_time = _info_time(result.version)
    except GopushError as err:  # a pseudo-version whose time is no time (month 13, ...)
        raise InvalidModuleZip(f"{where}: {err.message}", hint=err.hint) from None
    return Checked(result.module, result.version, result.sum, data, info_time)


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


def synthesized_gomod(module: str) -> bytes:
    """Return the go.mod the go command assumes for a module without one."""
    return f"module {module}\n".encode()


def _info_time(version: str) -> str:
    """Return the .info Time: a pseudo-version's own time, else the time of publication."""
    if pseudo.is_pseudo_version(version):
        return pseudo.pseudo_version_time(version).strftime("%Y-%m-%dT%H:%M:%SZ")
    return now()
