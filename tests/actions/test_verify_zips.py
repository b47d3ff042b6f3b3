"""verify reads both zips through the one bounded reader: line-ending comparison streams."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from gopush.actions.verify import _normalized, compare_zips
from gopush.errors import InvalidModuleZip

P = "example.com/v@v1.0.0/"
EDGE = 64 * 1024  # the reader's piece size: a CRLF may straddle two pieces


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in files.items():
            z.writestr(P + name, data)
    return path


def test_crlf_split_between_two_pieces_reads_as_lf(tmp_path: Path) -> None:
    """A CR ending one 64 KiB piece and the LF starting the next are one line ending; a CR
    alone at the edge stays a CR."""
    crlf = _zip(tmp_path / "crlf.zip", {"a.txt": b"x" * (EDGE - 1) + b"\r\ny\r\n"})
    lf = _zip(tmp_path / "lf.zip", {"a.txt": b"x" * (EDGE - 1) + b"\ny\n"})
    lone = _zip(tmp_path / "cr.zip", {"a.txt": b"x" * (EDGE - 1) + b"\ry\n"})
    assert _normalized(crlf, P + "a.txt") == _normalized(lf, P + "a.txt")
    assert _normalized(lone, P + "a.txt") != _normalized(lf, P + "a.txt")
    assert compare_zips(crlf, lf, P)[0].cause == "line endings (CRLF vs LF)"


def test_a_published_zip_that_lies_is_refused(tmp_path: Path) -> None:
    """A downloaded zip whose entry inflates past its declared size is refused with go's
    reason, not read whole."""
    good = _zip(tmp_path / "good.zip", {"a.txt": b"abc" * 100})
    data = bytearray(good.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")  # declares 10 bytes
    data[30 - 8:30 - 4] = (10).to_bytes(4, "little")
    lying = tmp_path / "lying.zip"
    lying.write_bytes(bytes(data))
    with pytest.raises(InvalidModuleZip, match="larger than declared"):
        compare_zips(lying, good, P)


def test_vendor_rule_is_named_only_where_a_go_rule_omits_the_file(tmp_path: Path) -> None:
    """The cause "vendor rule" follows modzip's vendor rule (either go line's): a file some
    go leaves out (``vendor/a/b.go``, ``vendor/modules.txt`` since go 1.24,
    ``a/vendor/x.go`` before it) present on one side only; never a file every go keeps
    (``vendor/x.go``), nor a vendored file on both sides whose content differs."""
    published = _zip(tmp_path / "published.zip", {
        "go.mod": b"module example.com/v\n", "vendor/a/b.go": b"package b\n"})
    local = _zip(tmp_path / "local.zip", {
        "go.mod": b"module example.com/v\n", "vendor/a/b.go": b"package b // edited\n",
        "vendor/x.go": b"package v\n", "vendor/modules.txt": b"# m\n",
        "a/vendor/x.go": b"package x\n", "vendor/c/d.go": b"package d\n"})
    causes = {d.path: d.cause for d in compare_zips(published, local, P)}
    assert causes == {"a/vendor/x.go": "vendor rule", "vendor/c/d.go": "vendor rule",
                      "vendor/modules.txt": "vendor rule", "vendor/x.go": None,
                      "vendor/a/b.go": None}
