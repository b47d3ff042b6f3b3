"""Which files of a module are its own Go code, and the imports they declare (pure).

``imported`` in a finding means: an affected package is imported by the audited module's own
non-test code. Its own code is every ``.go`` file the module zip holds, except:

- ``_test.go`` files (tests are not built into consumers' programs);
- files under a ``testdata`` directory, or under a directory whose name starts with ``.``
  or ``_`` (the go command ignores those directories in package patterns);
- files under a ``vendor`` directory (other modules' code, copied in).

Build constraints are ignored: every such file counts, whatever its GOOS, GOARCH or tags.
Each file is read up to ``imports.MAX_SOURCE_BYTES`` (its import block comes first; the
rest is never needed; a file whose header goes past them adds ``imports.UNREAD``), from ``SourceFile``s or from a zip through the one zip reader
(``modzip.zipread``), so memory stays bounded whatever the files declare.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from gopush.errors import InvalidModuleZip
from gopush.modzip import zipfmt, zipread
from gopush.modzip.files import FileKind, SourceFile
from gopush.vuln.imports import MAX_SOURCE_BYTES, go_imports

_SKIPPED_DIRS = ("testdata", "vendor")


def is_own_go_file(path: str) -> bool:
    """Tell whether ``path`` (slash-separated, relative to the module root) is one of the
    module's own non-test Go files, by the rules in this module's docstring."""
    if not path.endswith(".go") or path.endswith("_test.go"):
        return False
    *dirs, _ = path.split("/")
    return not any(d in _SKIPPED_DIRS or d.startswith((".", "_")) for d in dirs)


def imports_of_files(files: Iterable[SourceFile]) -> frozenset[str]:
    """Return the import paths declared by the module's own Go files among ``files``
    (regular files only; each read up to ``MAX_SOURCE_BYTES``)."""
    found: set[str] = set()
    for source in files:
        if is_own_go_file(source.path) and source.stat().kind is FileKind.REGULAR:
            with source.open() as handle:
                found.update(go_imports(handle.read(MAX_SOURCE_BYTES + 1)))
    return frozenset(found)


def imports_of_zip(f: BinaryIO, prefix: str) -> frozenset[str]:
    """Return the import paths declared by the own Go files of the module zip in ``f``,
    whose entries start with ``prefix`` (``module@version/``).

    Raises:
        InvalidModuleZip: the zip, or one of those files, cannot be read back as declared.
    """
    raw_prefix = prefix.encode()
    found: set[str] = set()
    for entry in zipread.open_directory(f):
        if entry.is_dir or not entry.raw_name.startswith(raw_prefix):
            continue
        path = entry.raw_name[len(raw_prefix):].decode("utf-8", "surrogateescape")
        if is_own_go_file(path):
            found.update(go_imports(_head(f, entry, path)))
    return frozenset(found)


def _head(f: BinaryIO, entry: zipfmt.Entry, path: str) -> bytes:
    """Return the first ``MAX_SOURCE_BYTES`` of an entry and one more byte (the scanner
    then knows the file goes on), checked as the zip reader checks."""
    pieces: list[bytes] = []
    held, wanted = 0, MAX_SOURCE_BYTES + 1
    try:
        for piece in zipread.entry_chunks(f, entry):
            pieces.append(piece[:wanted - held])
            held += len(pieces[-1])
            if held >= wanted:
                break
    except zipread.EntryError as err:
        raise InvalidModuleZip(f"{path}: {err}") from None
    return b"".join(pieces)
