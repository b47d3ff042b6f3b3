"""create_zip: deterministic bytes, valid zips, atomic writes, honest sizes."""

from __future__ import annotations

import io
import os
import zipfile
from concurrent.futures import Future
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from gopush.errors import InvalidModuleZip, InvalidVersion
from gopush.modzip import create as create_module
from gopush.modzip.check import check_zip
from gopush.modzip.create import SMALL_FILE_BYTES, PackAhead, create_zip
from gopush.modzip.files import DataFile, FileKind, FileStat
from gopush.modzip.report import InvalidZipFiles

MODULE = "example.com/m"


def sample_files() -> list[DataFile]:
    """A small module with a streamed large file, a vendored file and a symlink."""
    rng = bytes((i * 7919) % 251 for i in range(SMALL_FILE_BYTES + 300_000))
    return [DataFile("go.mod", b"module example.com/m\n\ngo 1.22\n"),
            DataFile("z.go", b"package m\n"), DataFile("a/b.go", b"package a\n" * 50),
            DataFile("big/data.bin", rng), DataFile("vendor/x/y.go", b"package y\n"),
            DataFile("link", b"z.go", FileKind.SYMLINK), DataFile("empty.txt", b"")]


def test_same_files_same_bytes(tmp_path: Path) -> None:
    """The same files, in any order, give byte-identical zips and the same sum."""
    files = sample_files()
    first = create_zip(tmp_path / "1.zip", MODULE, "v1.0.0", files)
    second = create_zip(tmp_path / "2.zip", MODULE, "v1.0.0", files[::-1])
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()
    assert first.sum == second.sum and first.size == (tmp_path / "1.zip").stat().st_size
    assert first.files == 5


def test_zip_content_round_trips(tmp_path: Path) -> None:
    """Python's zipfile reads back every valid file, sorted, under module@version/."""
    files = sample_files()
    create_zip(tmp_path / "m.zip", MODULE, "v1.0.0", files)
    with zipfile.ZipFile(tmp_path / "m.zip") as z:
        assert z.testzip() is None
        names = z.namelist()
        assert names == sorted(names)
        for f in files:
            name = f"{MODULE}@v1.0.0/{f.path}"
            if f.kind == FileKind.REGULAR and not f.path.startswith("vendor/"):
                assert z.read(name) == f.data
            else:
                assert name not in names


def test_check_zip_agrees_with_create(tmp_path: Path) -> None:
    """check_zip accepts what create_zip writes and computes the same sum."""
    created = create_zip(tmp_path / "m.zip", MODULE, "v1.0.0", sample_files())
    checked = check_zip(tmp_path / "m.zip")
    assert checked.report.error() is None and checked.sum == created.sum
    assert checked.gomod == b"module example.com/m\n\ngo 1.22\n"


def test_progress_adds_up_to_file_count(tmp_path: Path) -> None:
    """on_progress reports every input file exactly once."""
    files = sample_files()
    seen: list[int] = []
    create_zip(tmp_path / "m.zip", MODULE, "v1.0.0", files, on_progress=seen.append)
    assert sum(seen) == len(files)


def test_invalid_files_raise_with_report_and_write_nothing(tmp_path: Path) -> None:
    """Rule violations raise InvalidZipFiles carrying the report; no file appears."""
    dest = tmp_path / "m.zip"
    with pytest.raises(InvalidZipFiles) as err:
        create_zip(dest, MODULE, "v1.0.0", [DataFile("a"), DataFile("A")])
    assert err.value.report.invalid[0].path == "A"
    assert str(err.value).startswith("example.com/m@v1.0.0: create zip: A: case-insensitive")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("module", "version", "text"), [
    (MODULE, "v1.0", "not canonical"), (MODULE, "1.0.0", "not canonical"),
    (MODULE, "v2.0.0", "v2"), ("example.com/m/v2", "v1.0.0", "v1"),
])
def test_bad_module_or_version(tmp_path: Path, module: str, version: str, text: str) -> None:
    """Module path and version are checked as go's Create checks them."""
    with pytest.raises((InvalidVersion, InvalidModuleZip), match=text):
        create_zip(tmp_path / "m.zip", module, version, [DataFile("a.go")])
    assert list(tmp_path.iterdir()) == []


class LyingFile:
    """A file that declares ``size`` but yields ``data``."""

    def __init__(self, path: str, size: int, data: bytes) -> None:
        self.path, self._size, self._data = path, size, data

    def stat(self) -> FileStat:
        return FileStat(self._size, FileKind.REGULAR)

    def open(self) -> io.BytesIO:
        return io.BytesIO(self._data)


@pytest.mark.parametrize("size", [10, SMALL_FILE_BYTES + 1])
def test_file_larger_than_declared_fails_cleanly(tmp_path: Path, size: int) -> None:
    """A file growing past its declared size fails the build and leaves no zip behind."""
    dest = tmp_path / "m.zip"
    dest.write_bytes(b"old")
    liar = LyingFile("grow.bin", size, b"x" * (size + 5000))
    with pytest.raises(InvalidModuleZip, match='file "grow.bin" is larger than declared size'):
        create_zip(dest, MODULE, "v1.0.0", [DataFile("a.go"), liar])
    assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.zip"]


def test_unreadable_file_is_a_source_error(tmp_path: Path) -> None:
    """An OSError while reading becomes a SourceError naming the file."""
    from gopush.errors import SourceError

    class Broken(LyingFile):
        def open(self) -> io.BytesIO:
            raise PermissionError(13, "Permission denied")

    with pytest.raises(SourceError, match="secret.txt: Permission denied"):
        create_zip(tmp_path / "m.zip", MODULE, "v1.0.0", [Broken("secret.txt", 3, b"")])
    assert list(tmp_path.iterdir()) == []


def test_many_entries_use_zip64_end_records(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """65535+ entries get Zip64 end records that zipfile and check_zip read."""
    files = [DataFile(f"d{i // 1000}/f{i}.go", b"") for i in range(65_540)]
    created = create_zip(tmp_path / "m.zip", MODULE, "v1.0.0", files)
    with zipfile.ZipFile(tmp_path / "m.zip") as z:
        assert len(z.infolist()) == 65_540
    checked = check_zip(tmp_path / "m.zip")
    assert checked.report.error() is None and checked.sum == created.sum


def test_streamed_file_pieces_form_one_deflate_stream(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A file streamed in many pieces inflates back to its content."""
    monkeypatch.setattr(create_module, "SMALL_FILE_BYTES", 1000)
    monkeypatch.setattr(create_module, "CHUNK_BYTES", 777)
    data = os.urandom(50_000) + b"a" * 50_000
    create_zip(tmp_path / "m.zip", MODULE, "v1.0.0", [DataFile("x.bin", data)])
    with zipfile.ZipFile(tmp_path / "m.zip") as z:
        assert z.read(f"{MODULE}@v1.0.0/x.bin") == data


class Unopenable(NamedTuple):
    """A file packed ahead by its source: opening it again is an error (but for the root
    go.mod, whose go line the zip rules read to choose the vendor rule)."""

    path: str
    data: bytes
    packed_ahead: Future[Any] | None

    def stat(self) -> FileStat:
        return FileStat(len(self.data), FileKind.REGULAR)

    def open(self) -> io.BytesIO:
        if self.path == "go.mod":
            return io.BytesIO(self.data)
        raise AssertionError(f"{self.path} was opened although it was packed ahead")


def packed_ahead(files: list[DataFile], pack: PackAhead) -> list[Any]:
    """The files as a streaming source hands them over: small regular ones packed ahead."""
    out: list[Any] = []
    for f in files:
        future = pack.offer(f.path, f.data) if f.kind == FileKind.REGULAR else None
        out.append(Unopenable(f.path, f.data, future) if future else f)
    return out


def test_files_packed_ahead_are_written_as_packed_with_the_same_bytes(tmp_path: Path) -> None:
    """create_zip writes a packed-ahead result without opening the file, and the zip is
    byte for byte the one it makes when it packs every file itself."""
    files = sample_files()
    create_zip(tmp_path / "own.zip", MODULE, "v1.0.0", files)
    with PackAhead() as pack:
        ahead = packed_ahead(files, pack)
    packed = sorted(f.path for f in ahead if isinstance(f, Unopenable))
    assert packed == ["a/b.go", "empty.txt", "go.mod", "z.go"]  # not big, vendored or links
    create_zip(tmp_path / "ahead.zip", MODULE, "v1.0.0", ahead)
    assert (tmp_path / "ahead.zip").read_bytes() == (tmp_path / "own.zip").read_bytes()


def test_pack_ahead_leaves_likely_omitted_large_and_over_budget_files() -> None:
    """Vendored files, files below a directory already seen to hold a go.mod, files over
    SMALL_FILE_BYTES and files past the budget are left to create_zip (None)."""
    with PackAhead(budget=100) as pack:
        assert pack.offer("vendor/x/y.go", b"package y\n") is None
        assert pack.offer("a/vendor/x/y.go", b"package y\n") is None
        assert pack.offer("nested/a.go", b"package a\n") is not None  # go.mod not seen yet
        assert pack.offer("nested/go.mod", b"module n\n") is None  # the nested module's
        assert pack.offer("nested/z.go", b"package z\n") is None
        assert pack.offer("nested/deep/z.go", b"package z\n") is None
        assert pack.offer("nestedx/z.go", b"package z\n") is not None
        assert pack.offer("big.bin", b"x" * (SMALL_FILE_BYTES + 1)) is None
        assert pack.offer("fits.txt", b"x" * 60) is not None
        assert pack.offer("over.txt", b"x" * 60) is None  # 100-byte budget spent


def test_pack_ahead_drops_queued_packs_on_error() -> None:
    """Leaving the with block on an error cancels the packs not started yet."""
    futures = []
    with pytest.raises(KeyboardInterrupt), PackAhead() as pack:
        for i in range(64):
            futures.append(pack.offer(f"f{i}.bin", os.urandom(1 << 20)))
        raise KeyboardInterrupt
    assert any(f.cancelled() for f in futures)


def test_invalid_files_drop_the_packs_not_started(tmp_path: Path) -> None:
    """When the files break the rules, create_zip cancels the packs still queued: an exit on
    the error does not wait for deflate work nobody will write."""
    files = [DataFile(f"f{i}.bin", os.urandom(1 << 20)) for i in range(48)]
    files.append(DataFile("a/../b.go", b"package b\n"))  # not clean: invalid
    with PackAhead() as pack:
        ahead = packed_ahead(files, pack)
    with pytest.raises(InvalidModuleZip):
        create_zip(tmp_path / "m.zip", MODULE, "v1.0.0", ahead)
    assert any(f.packed_ahead.cancelled() for f in ahead if isinstance(f, Unopenable))
