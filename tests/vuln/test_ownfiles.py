"""The module's own non-test Go files, and the imports read from them (zip and SourceFiles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gopush.errors import InvalidModuleZip
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.vuln.imports import MAX_SOURCE_BYTES
from gopush.vuln.ownfiles import imports_of_files, imports_of_zip, is_own_go_file


@pytest.mark.parametrize(("path", "own"), [
    ("main.go", True),
    ("internal/x/x.go", True),
    ("x_test.go", False),  # tests are not built into consumers' programs
    ("sub/y_test.go", False),
    ("testdata/t.go", False),
    ("a/testdata/b/t.go", False),
    (".hidden/h.go", False),
    ("_tools/t.go", False),
    ("a/_b/c.go", False),
    ("vendor/golang.org/x/net/http2/h.go", False),
    ("README.md", False),
    ("go.mod", False),
    ("x.go.txt", False),
    ("_x.go", True),  # a file name (not a directory) starting with _ is still the module's
    ("testdatax/t.go", True),
])
def test_is_own_go_file(path: str, own: bool) -> None:
    """Only non-test .go files outside testdata/, vendor/ and ./_ directories count."""
    assert is_own_go_file(path) is own


FILES = {
    "go.mod": b"module example.com/app\n\ngo 1.22\n\nrequire golang.org/x/net v0.6.0\n",
    "main.go": b'package main\n\nimport (\n\t"fmt"\n\t"golang.org/x/net/http2/hpack"\n)\n\n'
               b"func main() { fmt.Println(hpack.NewDecoder(0, nil)) }\n",
    "main_test.go": b'package main\n\nimport "golang.org/x/net/html"\n',
    "testdata/gen.go": b'package gen\n\nimport "golang.org/x/text/language"\n',
    "_examples/e.go": b'package e\n\nimport "golang.org/x/crypto/ssh"\n',
    "internal/wire/wire.go": b'//go:build ignore\n\npackage wire\n\nimport n "net/http"\n',
}
OWN = {"fmt", "golang.org/x/net/http2/hpack", "net/http"}


def test_imports_of_files_reads_only_own_files() -> None:
    """Build tags are ignored; tests, testdata/ and _examples/ are not the module's code."""
    files = [DataFile(path, data) for path, data in FILES.items()]
    assert imports_of_files(files) == OWN


def test_imports_of_zip_match_the_files(tmp_path: Path) -> None:
    """A zip of the same files gives the same imports, read through the one zip reader."""
    dest = tmp_path / "v1.0.0.zip"
    create_zip(dest, "example.com/app", "v1.0.0",
               [DataFile(p, d) for p, d in FILES.items()])
    with dest.open("rb") as handle:
        assert imports_of_zip(handle, "example.com/app@v1.0.0/") == OWN


def test_imports_of_zip_reads_a_bounded_head(tmp_path: Path) -> None:
    """A Go file larger than MAX_SOURCE_BYTES is read up to the bound, its imports kept."""
    big = b'package big\n\nimport "golang.org/x/net/html"\n\nvar x = `' + \
        b"a" * (MAX_SOURCE_BYTES + (1 << 20)) + b"`\n"
    dest = tmp_path / "v1.0.0.zip"
    create_zip(dest, "example.com/big", "v1.0.0",
               [DataFile("go.mod", b"module example.com/big\n"), DataFile("big.go", big)])
    with dest.open("rb") as handle:
        assert imports_of_zip(handle, "example.com/big@v1.0.0/") == {"golang.org/x/net/html"}


def test_imports_of_zip_refuses_a_lying_entry(tmp_path: Path) -> None:
    """A Go file whose bytes do not match its CRC is refused with the zip reader's reason."""
    dest = tmp_path / "v1.0.0.zip"
    create_zip(dest, "example.com/bad", "v1.0.0",
               [DataFile("go.mod", b"module example.com/bad\n"),
                DataFile("bad.go", b'package bad\n\nimport "net/http"\n' + b"//" * 200)])
    data = bytearray(dest.read_bytes())
    at = data.index(b"bad.go") + len(b"bad.go") + 8  # inside the deflated data
    data[at] ^= 0xFF
    dest.write_bytes(bytes(data))
    with dest.open("rb") as handle, pytest.raises(InvalidModuleZip, match="bad.go"):
        imports_of_zip(handle, "example.com/bad@v1.0.0/")
