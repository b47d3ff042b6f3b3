"""A GOPROXY directory on disk: the files `go` reads through ``GOPROXY=file://DIR``.

Both ``gopush build --out`` and the static-directory push target write this layout
(``<escaped module>/@v/<version>.zip|.mod|.info`` and ``<escaped module>/@v/list``; paths
from ``gosem.proxypath``), so they share these writers. Every file appears whole or not at
all: it is written to a temporary name in its directory, fsynced and renamed. Files get the
usual permissions (0666 minus the umask), so a static web server can read them.

A layout read back (``gopush push DIR`` and the web page's layout upload) must agree with
itself: ``beside_problems`` is the one statement of how a zip's ``.mod`` and ``.info`` must
match it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from gopush import boundedjson
from gopush.gosem import pseudo, semver
from gopush.modzip.accept import AcceptedZip, info_document
from gopush.modzip.rules import MAX_GO_MOD_BYTES

__all__ = ["MAX_INFO_BYTES", "add_to_list", "beside_problems", "copy_atomic", "info_document",
           "layout_zips", "read_beside", "write_atomic"]

MAX_INFO_BYTES = 64 * 1024  # a .info: Version, Time and perhaps Origin; go's own are < 1 kB
MAX_MOD_BYTES = MAX_GO_MOD_BYTES  # a .mod is the zip's go.mod, which the zip rules cap
# go reads Time with time.Time's UnmarshalJSON: RFC 3339, fractional seconds allowed.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def layout_zips(root: Path) -> list[Path]:
    """Return the module zips of the GOPROXY layout under ``root`` (``…/@v/*.zip``), sorted;
    [] when it holds none (``push`` and ``audit`` read a ``gopush build --out`` this way)."""
    return sorted(p for p in root.rglob("*.zip") if p.parent.name == "@v")


def beside_problems(accepted: AcceptedZip, mod: bytes | None,
                    info: bytes | None) -> list[tuple[str, str]]:
    """Return how the ``.mod`` and ``.info`` beside an accepted zip disagree with it, as
    (``".mod"`` or ``".info"``, the rule broken) pairs; [] when they agree or are absent.

    The rules (a file that is absent breaks none):

    - the ``.mod`` is the zip's go.mod (the synthesized ``module PATH`` for a zip without
      one), at most ``MAX_MOD_BYTES``: consumers' go.sum holds the hash of each. Byte for
      byte but for line endings: go reads the ``.mod`` from the git object, while the zip's
      files come through ``git archive``, which converts line endings as ``.gitattributes``
      says (``eol=crlf``), so go itself serves an LF ``.mod`` beside a CRLF go.mod there;
    - the ``.info`` is a JSON object of at most ``MAX_INFO_BYTES`` whose ``Version`` is the
      zip's version (go refuses a proxy's answer for another version) and whose ``Time``, if
      it has one, is an RFC 3339 time, as go reads it.
    """
    problems = []
    if mod is not None and len(mod) > MAX_MOD_BYTES:
        problems.append((".mod", f"larger than {MAX_MOD_BYTES} bytes"))
    elif mod is not None and _lf(mod) != _lf(accepted.gomod):
        where = "the go.mod go synthesizes for it" if accepted.gomod_synthesized else "its go.mod"
        rule = (f"differs from {where} ({accepted.module}@{accepted.version}): "
                "a .mod must be the zip's go.mod (line endings aside)")
        problems.append((".mod", rule))
    if info is not None and (problem := _info_problem(info, accepted.version)):
        problems.append((".info", problem))
    return problems


def _lf(text: bytes) -> bytes:
    """Return ``text`` with CRLF line endings as LF (what ``eol=crlf`` changes)."""
    return text.replace(b"\r\n", b"\n")


def _info_problem(info: bytes, version: str) -> str | None:
    """Return why ``info`` is not a ``.info`` for ``version``, or None."""
    if len(info) > MAX_INFO_BYTES:
        return f"larger than {MAX_INFO_BYTES} bytes"
    try:
        doc = boundedjson.loads(info)
    except boundedjson.UnreadableJson as err:
        return f"{err.why}: a .info is a JSON object with Version and Time"
    if not isinstance(doc, dict):
        return "not a JSON object: a .info is a JSON object with Version and Time"
    if doc.get("Version") != version:
        shown = doc.get("Version")
        named = repr(shown[:100]) if isinstance(shown, str) else "no Version string"
        return f"names {named}, not the zip's version {version!r}"
    time = doc.get("Time")
    if time is not None and not _is_rfc3339(time):
        return "its Time is not an RFC 3339 time such as 2024-01-02T15:04:05Z"
    return None


def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return False
    try:  # the pattern lets through month 13 or hour 25
        datetime.fromisoformat(value.replace("Z", "+00:00")[:19])
    except ValueError:
        return False
    return True


def read_beside(zip_path: Path) -> tuple[bytes | None, bytes | None]:
    """Return the ``.mod`` and ``.info`` beside ``zip_path`` (None for one that is not a
    regular file), each read only one byte past its cap (``beside_problems`` names it)."""
    return (_read_capped(zip_path.with_suffix(".mod"), MAX_MOD_BYTES),
            _read_capped(zip_path.with_suffix(".info"), MAX_INFO_BYTES))


def _read_capped(path: Path, cap: int) -> bytes | None:
    if not path.is_file():
        return None
    with path.open("rb") as f:
        return f.read(cap + 1)


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
