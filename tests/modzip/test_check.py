"""check_zip on hostile and unusual zips, each also offered to the real go command.

A ``file://`` GOPROXY serves each zip to ``go mod download``; check_zip must refuse exactly
the zips go refuses, and agree on the h1: sum of those it accepts.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from gotool import GoError, GoOracle

from gopush.errors import InvalidModuleZip
from gopush.modzip import check as check_module
from gopush.modzip import zipfmt
from gopush.modzip.check import check_zip
from gopush.modzip.report import Invalid
from gopush.modzip.rules import MAX_GO_MOD_BYTES

MODULE = "example.com/hostile"
VERSION = "v1.0.0"
P = f"{MODULE}@{VERSION}/"


def build(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """Return zip bytes holding ``entries`` (names as given, duplicates allowed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            with pytest.warns(UserWarning) if z.NameToInfo.get(name) else _nothing():
                z.writestr(info, data)
    return buf.getvalue()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


def central_records(data: bytes) -> list[int]:
    """Return the offsets of the central directory records."""
    out, at = [], data.find(b"PK\x01\x02")
    while at >= 0:
        out.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    return out


def set_field(data: bytes, entry: int, *, usize: int | None = None, crc: int | None = None,
              method: int | None = None) -> bytes:
    """Change an entry's declared size, CRC or method in both its headers."""
    buf = bytearray(data)
    cd = central_records(data)[entry]
    local = struct.unpack_from("<I", buf, cd + 42)[0]
    for off_usize, off_crc, off_method in ((cd + 24, cd + 16, cd + 10),
                                           (local + 22, local + 14, local + 8)):
        if usize is not None:
            struct.pack_into("<I", buf, off_usize, usize)
        if crc is not None:
            struct.pack_into("<I", buf, off_crc, crc)
        if method is not None:
            struct.pack_into("<H", buf, off_method, method)
    return bytes(buf)


def go_verdict(go: GoOracle, tmp_path: Path, zip_bytes: bytes) -> str | None:
    """Offer the zip to a fresh go (empty module cache) through a file:// GOPROXY.

    Returns go's h1: sum, or None when go refuses the zip.
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    go = GoOracle(tmp_path / "go", go.go)
    proxy = tmp_path / "proxy"
    vdir = proxy / MODULE / "@v"
    vdir.mkdir(parents=True, exist_ok=True)
    (vdir / "list").write_text(VERSION + "\n")
    (vdir / f"{VERSION}.info").write_text(json.dumps({"Version": VERSION}))
    (vdir / f"{VERSION}.mod").write_text(f"module {MODULE}\n")
    (vdir / f"{VERSION}.zip").write_bytes(zip_bytes)
    try:
        info = go.download(MODULE, VERSION, GOPROXY=proxy.as_uri(), GOFLAGS="-modcacherw")
    except GoError:
        return None
    return str(info["Sum"])


def ours(zip_bytes: bytes) -> str | None:
    """Return check_zip's sum, or None when it refuses the zip (report error or raise)."""
    try:
        checked = check_zip(io.BytesIO(zip_bytes), MODULE, VERSION)
    except InvalidModuleZip:
        return None
    return None if checked.report.error() else checked.sum


GOOD = [(P + "go.mod", f"module {MODULE}\n".encode()), (P + "a.go", b"package a\n")]

HOSTILE = {
    "outside prefix": GOOD + [("../evil.go", b"x")],
    "other module prefix": GOOD + [("example.com/other@v1.0.0/x.go", b"x")],
    "dot-dot inside": GOOD + [(P + "a/../../evil.go", b"x")],
    "absolute": GOOD + [("/etc/passwd", b"x")],
    "unclean": GOOD + [(P + "./b.go", b"x")],
    "case collision": GOOD + [(P + "A.go", b"x")],
    "kelvin collision": GOOD + [(P + "k.go", b"x"), (P + "\u212a.go", b"y")],
    "duplicate": GOOD + [(P + "a.go", b"package b\n")],
    "root GO.MOD": [(P + "GO.MOD", b"module x\n")],
    "go.mod below root": GOOD + [(P + "sub/go.mod", b"module x\n")],
    "go.mod too large": [(P + "go.mod", b"\n" * (MAX_GO_MOD_BYTES + 1))],
    "bad char": GOOD + [(P + "a:b.go", b"x")],
    "file and directory": GOOD + [(P + "d", b"x"), (P + "d/e.go", b"y")],
    "directory entry with data": GOOD + [(P + "d/", b"data")],
    # x/mod takes it; go mod download cannot extract it ("file name too long")
    "element over 255 bytes": GOOD + [(P + "d/" + "n" * 253 + ".go", b"x")],
}


@pytest.mark.parametrize("entries", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_zip_refused_like_go(go: GoOracle, tmp_path: Path,
                                     entries: list[tuple[str, bytes]]) -> None:
    """check_zip refuses each hostile zip, and so does go."""
    data = build(entries)
    assert ours(data) is None
    assert go_verdict(go, tmp_path, data) is None


def test_size_lie_smaller_is_caught(go: GoOracle, tmp_path: Path) -> None:
    """An entry inflating to more than its declared size is refused (by go too)."""
    data = set_field(build(GOOD + [(P + "big.txt", b"a" * 100_000)]), 2, usize=10)
    checked = check_zip(io.BytesIO(data), MODULE, VERSION)
    assert [i.reason for i in checked.report.invalid] == [Invalid.SIZE_MISMATCH]
    assert go_verdict(go, tmp_path, data) is None


def test_size_lie_larger_is_caught(go: GoOracle, tmp_path: Path) -> None:
    """An entry inflating to less than its declared size is refused (by go too)."""
    data = set_field(build(GOOD + [(P + "b.txt", b"abc" * 10)]), 2, usize=1000)
    assert ours(data) is None
    assert go_verdict(go, tmp_path, data) is None


def test_bad_crc_and_method_are_caught(go: GoOracle, tmp_path: Path) -> None:
    """A wrong CRC-32 or an unsupported method is refused (by go too)."""
    bad_crc = set_field(build(GOOD), 1, crc=0x12345678)
    bad_method = set_field(build(GOOD), 1, method=12)
    for i, data in enumerate((bad_crc, bad_method)):
        assert ours(data) is None
        assert go_verdict(go, tmp_path / str(i), data) is None


def test_lie_about_total_size_stops_before_inflating(monkeypatch: pytest.MonkeyPatch) -> None:
    """Declared sizes over 500 MiB are a size error, and no entry is inflated."""
    data = set_field(build(GOOD + [(P + "x", b"x")]), 2, usize=0xFFFF_FFF0)
    monkeypatch.setattr(check_module.zipread, "entry_chunks",
                        lambda *a, **k: pytest.fail("inflated"))
    checked = check_zip(io.BytesIO(data), MODULE, VERSION)
    assert checked.report.size_error is not None
    assert "total uncompressed size of module contents too large" in checked.report.size_error


def test_zip_file_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip file larger than the limit is refused without reading its entries."""
    monkeypatch.setattr(check_module, "MAX_ZIP_BYTES", 100)
    checked = check_zip(io.BytesIO(build(GOOD)), MODULE, VERSION)
    assert checked.report.size_error is not None
    assert "module zip file is too large" in checked.report.size_error


def test_accepted_zips_agree_with_go(go: GoOracle, tmp_path: Path) -> None:
    """Zips go accepts (stored entries, directory entries) get go's h1: from check_zip."""
    variants = [build(GOOD), build(GOOD, zipfile.ZIP_STORED),
                build([(P, b""), (P + "d/", b""), *GOOD, (P + "d/x.go", b"package d\n")]),
                build([*GOOD, (P + "n" * 252 + ".go", b"x")])]  # 255 bytes: extracts
    for i, data in enumerate(variants):
        want = go_verdict(go, tmp_path / str(i), data)
        assert want is not None
        assert ours(data) == want


def test_infers_module_and_version_and_reads_go_mod() -> None:
    """Without module/version, check_zip takes them from the entries; go.mod bytes come back."""
    checked = check_zip(io.BytesIO(build(GOOD)))
    assert (checked.module, checked.version) == (MODULE, VERSION)
    assert checked.gomod == f"module {MODULE}\n".encode()
    assert checked.report.valid == (P + "go.mod", P + "a.go")


@pytest.mark.parametrize("data", [b"", b"not a zip at all", build(GOOD)[:-10],
                                  b"PK\x05\x06" + b"\0" * 18])
def test_unreadable_or_unprefixed_zip_raises(data: bytes) -> None:
    """Garbage, truncated or empty zips without a module@version raise InvalidModuleZip."""
    with pytest.raises(InvalidModuleZip):
        check_zip(io.BytesIO(data))


def test_bad_module_or_version_raises() -> None:
    """A non-canonical version or bad module path is an error, as in go's CheckZip."""
    with pytest.raises(InvalidModuleZip, match="not canonical"):
        check_zip(io.BytesIO(build(GOOD)), MODULE, "v1.0")
    with pytest.raises(InvalidModuleZip):
        check_zip(io.BytesIO(build(GOOD)), "not a module", VERSION)


def test_every_problem_is_reported() -> None:
    """All bad entries are listed, not just the first."""
    data = build(GOOD + [("../x", b""), (P + "A.go", b""), (P + "c:d", b"")])
    report = check_zip(io.BytesIO(data), MODULE, VERSION).report
    assert [i.reason for i in report.invalid] == [
        Invalid.OUTSIDE_PREFIX, Invalid.CASE_COLLISION, Invalid.BAD_PATH]
    assert report.valid == (P + "go.mod", P + "a.go")


def test_go_mod_naming_another_module_is_refused_like_go_get(go: GoOracle,
                                                             tmp_path: Path) -> None:
    """go mod download takes a zip whose go.mod names another module, but go get refuses
    the module ("declares its path as"); check_zip refuses it, naming both paths."""
    other = b"module example.com/other\n"
    data = build([(P + "go.mod", other), (P + "a.go", b"package a\n")])
    proxy = tmp_path / "proxy" / MODULE / "@v"
    proxy.mkdir(parents=True)
    (proxy / "list").write_text(VERSION + "\n")
    (proxy / f"{VERSION}.info").write_text(json.dumps({"Version": VERSION}))
    (proxy / f"{VERSION}.mod").write_bytes(other)
    (proxy / f"{VERSION}.zip").write_bytes(data)
    consumer = GoOracle(tmp_path / "go", go.go)
    (consumer.work / "go.mod").write_text("module example.com/consumer\n\ngo 1.21\n")
    got = consumer.run(["get", f"{MODULE}@{VERSION}"],
                       GOPROXY=(tmp_path / "proxy").as_uri())
    assert got.returncode != 0, got.stderr
    assert "declares its path as: example.com/other" in got.stderr

    report = check_zip(io.BytesIO(data), MODULE, VERSION).report
    assert [(i.path, i.reason) for i in report.invalid] == [("go.mod",
                                                             Invalid.GO_MOD_MODULE_PATH)]
    assert "declares its path as: example.com/other" in report.message()
    assert ours(build(GOOD)) is not None  # the module line naming the module itself is fine


def test_bytes_after_the_deflate_stream_are_ignored_as_go_does(go: GoOracle,
                                                                tmp_path: Path) -> None:
    """A deflate stream that ends before its declared compressed size (here exactly at a
    64 KiB piece boundary, then 200 stray bytes) is read to its end and the rest ignored, as
    Go's reader does: same h1: as go. (zlib keeps returning such bytes as unconsumed input;
    a reader that looped on them never ended.)"""
    data = b"\0" * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = packer.compress(data) + packer.flush() + b"\xff" * 200
    gomod = f"module {MODULE}\n".encode()
    gomod_body = zlib.compress(gomod, 9)[2:-4]
    entries = [(P + "go.mod", gomod_body, gomod), (P + "zeros.bin", body, data)]
    central, offset, out = [], 0, bytearray()
    for name, packed, content in entries:
        raw = name.encode()
        header = zipfmt.local_header(raw, zlib.crc32(content), len(packed), len(content))
        out += header + packed
        central.append(zipfmt.central_record(raw, zlib.crc32(content), len(packed),
                                             len(content), offset))
        offset += len(header) + len(packed)
    directory = b"".join(central)
    zip_bytes = bytes(out + directory + zipfmt.end_records(2, len(directory), offset))
    want = go_verdict(go, tmp_path, zip_bytes)
    assert want is not None
    assert ours(zip_bytes) == want


def test_deflate_data_running_past_its_compressed_size_is_refused_like_go(
        go: GoOracle, tmp_path: Path) -> None:
    """An entry whose deflate stream goes on past its declared compressed size is cut there:
    "unexpected EOF", as go's reader says (go refuses the zip too)."""
    data = bytearray(build(GOOD + [(P + "big.txt", bytes(range(256)) * 400)]))
    cd = central_records(bytes(data))[2]
    local = struct.unpack_from("<I", data, cd + 42)[0]
    csize = struct.unpack_from("<I", data, cd + 20)[0]
    for at in (cd + 20, local + 18):
        struct.pack_into("<I", data, at, csize // 2)
    checked = check_zip(io.BytesIO(bytes(data)), MODULE, VERSION)
    assert [(i.reason, i.detail) for i in checked.report.invalid] == [
        (Invalid.UNREADABLE, "unexpected EOF")]
    assert go_verdict(go, tmp_path, bytes(data)) is None
