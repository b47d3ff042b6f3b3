"""`gopush push DIR` of a GOPROXY layout holds the layout to the rules the web page's layout
upload applies (``proxydir.beside_problems``, one place): a .mod that is not the zip's go.mod,
or a .info for another version, refuses the push (exit 3) naming the file, before anything
is written to the target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gopush.cli.main import main
from gopush.errors import ExitCode
from gopush.modzip.accept import accept_zip
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.proxydir import MAX_INFO_BYTES, beside_problems

MODULE, VERSION = "example.com/laid", "v1.2.0"
GOMOD = f"module {MODULE}\n\ngo 1.21\n".encode()


def layout(root: Path) -> Path:
    """Write MODULE@VERSION as `gopush build --out` lays it out; return the @v directory."""
    at_v = root / MODULE / "@v"
    at_v.mkdir(parents=True)
    create_zip(at_v / f"{VERSION}.zip", MODULE, VERSION,
               [DataFile("go.mod", GOMOD), DataFile("a.go", b"package a\n")])
    (at_v / f"{VERSION}.mod").write_bytes(GOMOD)
    (at_v / f"{VERSION}.info").write_text(json.dumps({"Version": VERSION,
                                                      "Time": "2024-05-06T07:08:09Z"}))
    return at_v


def push(capsys: pytest.CaptureFixture[str], root: Path, target: Path) -> tuple[int, str]:
    code = main(["push", "--to", f"dir:{target}", str(root)])
    return code, capsys.readouterr().err


def test_a_consistent_layout_pushes_with_its_info(tmp_path: Path, capsys) -> None:
    at_v = layout(tmp_path / "out")
    code, err = push(capsys, tmp_path / "out", tmp_path / "proxy")
    assert code == ExitCode.OK, err
    served = tmp_path / "proxy" / MODULE / "@v" / f"{VERSION}.info"
    assert served.read_bytes() == (at_v / f"{VERSION}.info").read_bytes()


@pytest.mark.parametrize(("name", "content", "rule"), [
    (f"{VERSION}.mod", GOMOD + b"// edited\n", "differs from its go.mod"),
    (f"{VERSION}.info", json.dumps({"Version": "v1.2.1"}).encode(),
     "names 'v1.2.1', not the zip's version 'v1.2.0'"),
    (f"{VERSION}.info", b"[1, 2]", "not a JSON object"),
    (f"{VERSION}.info", json.dumps({"Version": VERSION, "Time": "2024-13-01T00:00:00Z"})
     .encode(), "its Time is not an RFC 3339 time"),
])
def test_a_file_that_disagrees_with_its_zip_refuses_the_push(tmp_path: Path, capsys,
                                                             name: str, content: bytes,
                                                             rule: str) -> None:
    at_v = layout(tmp_path / "out")
    (at_v / name).write_bytes(content)
    code, err = push(capsys, tmp_path / "out", tmp_path / "proxy")
    assert code == ExitCode.INVALID_MODULE
    assert f"{at_v / name}: {rule}" in err
    assert not (tmp_path / "proxy").exists()


def test_beside_problems_names_each_file_and_bounds_sizes(tmp_path: Path) -> None:
    at_v = layout(tmp_path)
    accepted = accept_zip(at_v / f"{VERSION}.zip")
    assert beside_problems(accepted, None, None) == []
    assert beside_problems(accepted, GOMOD, (at_v / f"{VERSION}.info").read_bytes()) == []
    assert beside_problems(accepted, GOMOD, json.dumps({"Version": VERSION}).encode()) == []
    found = beside_problems(accepted, b"module other\n", b" " * (MAX_INFO_BYTES + 1))
    assert [kind for kind, _ in found] == [".mod", ".info"]
    assert found[1][1] == f"larger than {MAX_INFO_BYTES} bytes"
    deep = b"[" * 100_000 + b"]" * 100_000
    assert beside_problems(accepted, None, deep[:MAX_INFO_BYTES])[0][1].startswith(
        "JSON nested too deeply")


def test_a_mod_differing_from_the_zip_only_in_line_endings_agrees(tmp_path: Path) -> None:
    """With `eol=crlf` in .gitattributes, go's zip (through git archive) holds a CRLF go.mod
    while go serves the git object's LF .mod beside it (the corpus case
    gomod-crlf-by-gitattributes): the layout gopush build writes must push."""
    at_v = tmp_path / MODULE / "@v"
    at_v.mkdir(parents=True)
    crlf = GOMOD.replace(b"\n", b"\r\n")
    create_zip(at_v / f"{VERSION}.zip", MODULE, VERSION,
               [DataFile("go.mod", crlf), DataFile("a.go", b"package a\n")])
    accepted = accept_zip(at_v / f"{VERSION}.zip")
    assert beside_problems(accepted, GOMOD, None) == []
    assert beside_problems(accepted, crlf, None) == []
    assert [kind for kind, _ in beside_problems(accepted, GOMOD + b"// more\n", None)] == [".mod"]
