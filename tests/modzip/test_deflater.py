"""The deflater behind create_zip: zlib-ng where its wheel is installed, zlib otherwise.

Both must give valid zips that the real go reads, the same h1: sum (it hashes the files, not
their deflated bytes), and the same bytes run after run.
"""

from __future__ import annotations

import json
import random
import zipfile
import zlib
from pathlib import Path

import pytest
from gotool import GoOracle

from gopush.modzip import create as create_module
from gopush.modzip.check import check_zip
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile, FileKind

MODULE = "example.com/deflate"
VERSION = "v1.0.0"
GO_MOD = b"module example.com/deflate\n\ngo 1.22\n"


def deflaters() -> list[object]:
    """The deflate libraries create_zip may use here: zlib always, zlib-ng if installed."""
    found: list[object] = [pytest.param(zlib, id="zlib")]
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        found.append(pytest.param(None, id="zlib-ng", marks=pytest.mark.skip(
            reason="zlib-ng has no wheel for this platform")))
    else:
        found.append(pytest.param(zlib_ng, id="zlib-ng"))
    return found


def module_files() -> list[DataFile]:
    """Go-like text, a file streamed in many sync-flushed pieces, an empty file, a link."""
    text = b"".join(b"func f%d(x int) int { return x * %d }\n" % (i, i) for i in range(3000))
    mixed = random.Random(11).randbytes(40_000) + text  # incompressible, then text
    return [DataFile("go.mod", GO_MOD), DataFile("f.go", b"package deflate\n\n" + text),
            DataFile("big/data.bin", mixed), DataFile("empty.txt", b""),
            DataFile("link", b"f.go", FileKind.SYMLINK)]


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stream files over 10 kB in 7 kB pieces, so a test reaches the joined deflate streams."""
    monkeypatch.setattr(create_module, "SMALL_FILE_BYTES", 10_000)
    monkeypatch.setattr(create_module, "CHUNK_BYTES", 7_000)


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize("library", deflaters())
def test_each_deflater_gives_the_same_bytes_each_time_and_the_same_sum(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: object) -> None:
    """Two zips of the same files are byte-identical; the sum is the one zlib's zip has;
    every entry inflates (with the standard library's zlib) to the file's bytes."""
    files = module_files()
    reference = create_zip(tmp_path / "zlib.zip", MODULE, VERSION, files)
    monkeypatch.setattr(create_module, "_deflate_lib", library)
    first = create_zip(tmp_path / "1.zip", MODULE, VERSION, files)
    second = create_zip(tmp_path / "2.zip", MODULE, VERSION, files[::-1])
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()
    assert first.sum == second.sum == reference.sum == check_zip(tmp_path / "1.zip").sum
    with zipfile.ZipFile(tmp_path / "1.zip") as z:
        for f in files:
            if f.kind == FileKind.REGULAR:
                assert z.read(f"{MODULE}@{VERSION}/{f.path}") == f.data


def test_deflater_in_use_is_named() -> None:
    """DEFLATER says which library made the bytes (zlib-ng whenever it can be imported)."""
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        assert create_module.DEFLATER.startswith("zlib ")
    else:
        assert create_module.DEFLATER == f"zlib-ng {zlib_ng.ZLIBNG_VERSION}"


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize("library", deflaters())
def test_real_go_downloads_the_zip_from_a_proxy_directory(
        go: GoOracle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: object) -> None:
    """go mod download from GOPROXY=file://DIR unpacks every entry with its own inflater and
    reports the sum create_zip computed."""
    monkeypatch.setattr(create_module, "_deflate_lib", library)
    proxy = tmp_path / "proxy"
    at_v = proxy / MODULE / "@v"
    at_v.mkdir(parents=True)
    created = create_zip(at_v / f"{VERSION}.zip", MODULE, VERSION, module_files())
    (at_v / f"{VERSION}.mod").write_bytes(GO_MOD)
    (at_v / f"{VERSION}.info").write_text(json.dumps({"Version": VERSION,
                                                      "Time": "2026-01-02T03:04:05Z"}))
    (at_v / "list").write_text(f"{VERSION}\n")
    info = go.download(MODULE, VERSION, GOPROXY=proxy.as_uri())
    assert info["Sum"] == created.sum
    unpacked = Path(info["Dir"])
    for f in module_files():  # the same bytes each call
        if f.kind == FileKind.REGULAR:
            assert (unpacked / f.path).read_bytes() == f.data
