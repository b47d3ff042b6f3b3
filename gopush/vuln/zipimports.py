"""What a module zip needs from the vulnerability database: its requirements and its imports.

``zip_inputs(f, module, version)`` reads a module zip (as ``go mod download`` stores it, every
file under ``module@version/``) and returns ``ModuleInputs``: the requirements of its go.mod
(``scan.requirements``) and the import paths of its own non-test ``.go`` files, as the shared
rule of issue 12 counts them (``vuln/scan.py``): ``_test.go`` files are left out, and so are
files in a ``testdata`` directory or below a directory whose name starts with ``.`` or ``_``
(the go command ignores those directories); so are files whose own name starts with ``.`` or
``_`` (go ignores those files too). Build constraints are ignored: every file counts.

Bounds: only the central directory and the ``.go`` entries are read, each entry through the
one zip reader (``modzip.zipread``, 64 KiB pieces, its CRC and size checked), and at most
``imports.MAX_SOURCE_BYTES`` of each (the import block is at the top). A zip the gate
accepted (``modzip.accept``) is at most 500 MiB, so the time is bounded by that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from gopush.errors import GopushError, InvalidModuleZip
from gopush.gosem import gomod
from gopush.modzip import zipfmt, zipread
from gopush.vuln import imports, scan


@dataclass(frozen=True)
class ModuleInputs:
    """A module's go.mod requirements and the import paths of its own non-test .go files.

    ``gomod_error``: why go.mod could not be read ("" when it could); the requirements are
    then empty (go's lax reading refused it, so nothing is known about them).
    """

    requirements: scan.Requirements
    imports: tuple[str, ...]
    gomod_error: str = ""


def counts_for_imports(path: str) -> bool:
    """Tell whether the file at ``path`` (slash-separated, relative to the module root) is
    one of the module's own non-test Go files whose imports count."""
    if not path.endswith(".go") or path.endswith("_test.go"):
        return False
    *dirs, name = path.split("/")
    if name.startswith((".", "_")):
        return False
    return not any(d == "testdata" or d.startswith((".", "_")) for d in dirs)


def zip_imports(f: BinaryIO, module: str, version: str) -> tuple[str, ...]:
    """Return the sorted import paths of the module's own non-test .go files in the zip.

    Raises:
        InvalidModuleZip: the zip (or a .go entry) cannot be read back as declared.
    """
    prefix = f"{module}@{version}/".encode()
    found: set[str] = set()
    for entry in zipread.open_directory(f):
        if entry.is_dir or not entry.raw_name.startswith(prefix):
            continue
        path = entry.raw_name[len(prefix):].decode("utf-8", "surrogateescape")
        if counts_for_imports(path):
            found.update(imports.go_imports(_head(f, entry)))
    return tuple(sorted(found))


def _head(f: BinaryIO, entry: zipfmt.Entry) -> bytes:
    """Return at most ``imports.MAX_SOURCE_BYTES`` of an entry's content.

    Raises:
        InvalidModuleZip: the entry cannot be read back as declared.
    """
    pieces: list[bytes] = []
    size = 0
    try:
        for piece in zipread.entry_chunks(f, entry):
            pieces.append(piece)
            size += len(piece)
            if size >= imports.MAX_SOURCE_BYTES:
                break
    except zipread.EntryError as err:
        name = entry.raw_name.decode("utf-8", "replace")
        raise InvalidModuleZip(f"{name}: {err}") from None
    return b"".join(pieces)[:imports.MAX_SOURCE_BYTES]


def zip_inputs(f: BinaryIO, module: str, version: str, go_mod: bytes) -> ModuleInputs:
    """Return the requirements (from ``go_mod``, the module's go.mod as the gate found it:
    the zip's own, or the synthesized one) and the imports of the zip in ``f``.

    Raises:
        InvalidModuleZip: as ``zip_imports``.
    """
    found = zip_imports(f, module, version)
    try:
        parsed = gomod.parse_lax(go_mod)
    except GopushError as err:
        return ModuleInputs(scan.Requirements((), "", False), found, err.message)
    return ModuleInputs(scan.requirements(parsed), found)
