"""A GOPROXY directory on disk: the files `go` reads through ``GOPROXY=file://DIR``.

Both ``gopush build --out`` and the static-directory push target write this layout
(``<escaped module>/@v/<version>.zip|.mod|.info`` and ``<escaped module>/@v/list``; paths
from ``gosem.proxypath``), so they share these writers. Every file appears whole or not at
all: it is written to a temporary name in its directory, fsynced and renamed. Files get the
usual permissions (0666 minus the umask), so a static web server can read them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from gopush.gosem import pseudo, semver
from gopush.modzip.accept import info_document

__all__ = ["add_to_list", "copy_atomic", "info_document", "layout_zips", "write_atomic"]


def layout_zips(root: Path) -> list[Path]:
    """Return the module zips of the GOPROXY layout under ``root`` (``…/@v/*.zip``), sorted;
    [] when it holds none (``push`` and ``audit`` read a ``gopush build --out`` this way)."""
    return sorted(p for p in root.rglob("*.zip") if p.parent.name == "@v")


def add_to_list(list_path: Path, version: str) -> None:
    """Add ``version`` to a ``list`` file, sorted; pseudo-versions are never listed."""
    known = set(list_path.read_text().split()) if list_path.exists() else set()
    if not pseudo.is_pseudo_version(version):
        known.add(version)
    write_atomic(list_path, "".join(f"{v}\n" for v in semver.sort_versions(known)).encode())


def write_atomic(path: Path, data: bytes) -> None:
    """Create or replace ``path`` with ``data``, atomically."""
    _atomic(path, lambda out: out.write(data))


def copy_atomic(source: Path, path: Path) -> None:
    """Create or replace ``path`` with a copy of ``source``, atomically."""
    def copy(out: BinaryIO) -> None:
        with source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)

    _atomic(path, copy)


def _atomic(path: Path, fill: Callable[[BinaryIO], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
            out.flush()
            os.fchmod(out.fileno(), 0o666 & ~_umask())  # mkstemp makes 0600
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
