"""h1: hashes agree with Go's dirhash for file lists, zips and go.mod files.

``gosem.dirhash`` hashes file lists and go.mod files; zips (Go's HashZip) are hashed by
``modzip.zipread.hash_zip``, the one zip reader, tested here beside Go's HashZip.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from goref import GoRef
from hypothesis import given, settings
from hypothesis import strategies as st

from gopush.errors import InvalidModuleZip, InvalidPath
from gopush.gosem import dirhash
from gopush.modzip.zipread import hash_zip

names = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\n"),
                min_size=1, max_size=12)
files = st.dictionaries(names, st.binary(max_size=64), max_size=6)
zip_files = st.dictionaries(names.filter(lambda n: "\x00" not in n), st.binary(max_size=64),
                            max_size=6)  # Python's zipfile cuts names at NUL when writing


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@given(files)
def test_hash1_agrees_with_go(goref: GoRef, tree: dict[str, bytes]) -> None:
    """hash1 over (name, sha256) pairs equals Go's Hash1 over the same files."""
    args = [x for name, data in tree.items() for x in (name, data)]
    assert dirhash.hash1((name, _sha(data)) for name, data in tree.items()) == goref.call(
        "dirhash.Hash1", *args)[0][0]


def test_hash1_order_independent() -> None:
    """The input order does not matter: the summary is sorted by name."""
    items = [("m@v1.0.0/b", _sha(b"b")), ("m@v1.0.0/a", _sha(b"a")), ("m@v1.0.0/B", _sha(b""))]
    assert dirhash.hash1(items) == dirhash.hash1(reversed(items))
    assert dirhash.hash1(items).startswith("h1:")


def test_hash1_refuses_newline_names() -> None:
    """A file name with a newline is refused, naming the file."""
    with pytest.raises(InvalidPath, match=r'newlines are not supported: "a\\nb"'):
        dirhash.hash1([("a\nb", _sha(b""))])


@settings(max_examples=25)
@given(zip_files, st.booleans())
def test_hash_zip_agrees_with_go(goref: GoRef, tmp_path_factory: pytest.TempPathFactory,
                                 tree: dict[str, bytes], stored: bool) -> None:
    """hash_zip on a zip written by Python equals Go's HashZip, or refuses it where Go does."""
    path = tmp_path_factory.mktemp("zip") / "m.zip"
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in tree.items():
            archive.writestr(name, data)
    out, err = goref.call("dirhash.HashZip", str(path))
    with path.open("rb") as handle:
        if err:  # e.g. a directory entry ("x/") carrying data: Go's zip reader refuses it
            with pytest.raises(InvalidModuleZip):
                hash_zip(handle)
        else:
            assert hash_zip(handle) == out[0]


def test_hash_zip_refuses_directory_entry_with_data(goref: GoRef, tmp_path: Path) -> None:
    """A directory entry that declares data is refused by Go's HashZip and by ours."""
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("m@v1.0.0/dir/", b"\x00")
    _, err = goref.call("dirhash.HashZip", str(path))
    assert err
    with path.open("rb") as handle, pytest.raises(InvalidModuleZip, match="has data"):
        hash_zip(handle)


def test_hash_zip_raw_cp437_names(goref: GoRef, tmp_path: Path) -> None:
    """Entry names without the UTF-8 flag are hashed as their raw bytes, as Go does."""
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("x@v1.0.0/caf\u00e9")  # cp437-encodable, so stored without flag
        archive.writestr(info, b"data")
    with path.open("rb") as handle:
        assert hash_zip(handle) == goref.call("dirhash.HashZip", str(path))[0][0]


def test_hash_zip_refuses_garbage() -> None:
    """A stream that is not a zip raises InvalidModuleZip, not a zipfile traceback."""
    with pytest.raises(InvalidModuleZip, match="not a readable zip"):
        hash_zip(io.BytesIO(b"not a zip"))


@given(st.binary(max_size=200))
def test_hash_gomod_agrees_with_go(goref: GoRef, data: bytes) -> None:
    """hash_gomod is Hash1 of the single file named go.mod."""
    assert dirhash.hash_gomod(data) == goref.call("dirhash.Hash1", "go.mod", data)[0][0]
