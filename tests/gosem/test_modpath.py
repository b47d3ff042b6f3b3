"""gosem.modpath: path checks, major version suffixes and module.Check, against Go's rules."""

from __future__ import annotations

import pytest
from goref import GoRef
from hypothesis import given
from strategies import paths, versions

from gopush.errors import GopushError, InvalidPath, InvalidVersion
from gopush.gosem import modpath

# Paths from Go's module_test.go tables plus the rules added since (leading dash, '+' no longer
# in module paths, 8.3 short names). Expected verdicts come from x/mod in the same run.
GO_TABLE_PATHS = [
    "x.y/z", "x.y", "", "x.y/\udcffz", "/x.y/z", "x./z", ".x/z", "-x/z", "x..y/z",
    "x.y/z/../../w", "x.y//z", "x.y/z//w", "x.y/z/", "x.y/z/v0", "x.y/z/v1", "x.y/z/v2",
    "x.y/z/v2.0", "X.y/z", "!x.y/z", "_x.y/z", "x.y!/z", 'x.y"/z', "x.y#/z", "x.y$/z",
    "x.y%/z", "x.y&/z", "x.y'/z", "x.y(/z", "x.y)/z", "x.y*/z", "x.y+/z", "x.y,/z", "x.y-/z",
    "x.y./zt", "x.y:/z", "x.y;/z", "x.y</z", "x.y=/z", "x.y>/z", "x.y?/z", "x.y@/z", "x.y[/z",
    "x.y\\/z", "x.y]/z", "x.y^/z", "x.y_/z", "x.y`/z", "x.y{/z", "x.y}/z", "x.y~/z", "x.y/z!",
    "x.y/z+", "x.y/z-", "x.y/z.t", "x.y/z/t", "x.y/z~", "x.y/x.foo", "x.y/aux.foo", "x.y/prn",
    "x.y/prn2", "x.y/com", "x.y/com1", "x.y/com1.txt", "x.y/calm1", "github.com/!123/logrus",
    "github.com/user/unicode/испытание", "../x", "./y", "x:y", "\\temp\\foo", ".gitignore",
    ".github/ISSUE_TEMPLATE", "x☺y", "x.y/PROGRA~1", "x.y/a~1.txt", "x.y/a~", "x.y/a~b",
    "x.y/-z", "gopkg.in/yaml.v2", "gopkg.in/yaml", "gopkg.in/yaml.v0", "gopkg.in/yaml.v01",
    "x.y/z\x00", "x.y/a b", "-", "x.y/\u00a0", "example.com/Foo/Bar",
]

CHECKS = [("module", modpath.check_module_path), ("import", modpath.check_import_path),
          ("file", modpath.check_file_path)]


def _error_text(check: object, path: str) -> str:
    try:
        check(path)  # type: ignore[operator]
    except InvalidPath as err:
        assert err.message
        return err.message
    return ""


@pytest.mark.parametrize("path", GO_TABLE_PATHS)
def test_path_checks_match_go(goref: GoRef, path: str) -> None:
    """Each path check accepts what x/mod accepts and refuses with x/mod's exact text."""
    for (kind, check), op in zip(CHECKS, ("CheckPath", "CheckImportPath", "CheckFilePath")):
        assert _error_text(check, path) == goref.call("module." + op, path)[1], (kind, path)


@pytest.mark.parametrize(("check", "path", "reason"), [
    (modpath.check_module_path, "example.com/m", ""),
    (modpath.check_module_path, "foo/bar", "missing dot in first path element"),
    (modpath.check_module_path, "Example.com/m", "invalid char 'E' in first path element"),
    (modpath.check_module_path, "example.com/m/v1", "invalid version"),
    (modpath.check_module_path, "example.com/m+", "invalid char '+'"),
    (modpath.check_module_path, "-x.com", "leading dash"),
    (modpath.check_module_path, "example.com/.git", "leading dot in path element"),
    (modpath.check_import_path, "example.com/m+", ""),
    (modpath.check_import_path, "example.com/PROGRA~1", "trailing tilde and digits in path"),
    (modpath.check_file_path, "PROGRA~1/x.go", ""),
    (modpath.check_file_path, "dir/CON.txt", '"CON" disallowed as path element component'),
    (modpath.check_file_path, "a/./b", 'invalid path element "."'),
    (modpath.check_file_path, "a/b*", "invalid char '*'"),
    (modpath.check_file_path, "été/ünï.go", ""),
    (modpath.check_file_path, "x/1½.go", "invalid char '½'"),
])
def test_path_rules(check: object, path: str, reason: str) -> None:
    """The named rule decides; the error quotes the path and states the reason."""
    text = _error_text(check, path)
    assert (reason in text and text.startswith("malformed ")) if reason else text == ""


@pytest.mark.parametrize(("path", "want"), [
    ("x.y/z", ("x.y/z", "", True)), ("x.y/z/v2", ("x.y/z", "/v2", True)),
    ("x.y/z/v3", ("x.y/z", "/v3", True)), ("x.y/v", ("x.y/v", "", True)),
    ("x.y/z/v1", ("x.y/z/v1", "", False)), ("x.y/z/v0", ("x.y/z/v0", "", False)),
    ("x.y/z/v02", ("x.y/z/v02", "", False)), ("x.y/z/v2.1", ("x.y/z/v2.1", "", False)),
    ("x.y/v2", ("x.y", "/v2", True)), ("v2", ("v2", "", True)),
    ("gopkg.in/yaml.v0", ("gopkg.in/yaml", ".v0", True)),
    ("gopkg.in/yaml.v1", ("gopkg.in/yaml", ".v1", True)),
    ("gopkg.in/yaml.v2", ("gopkg.in/yaml", ".v2", True)),
    ("gopkg.in/yaml.v2-unstable", ("gopkg.in/yaml", ".v2-unstable", True)),
    ("gopkg.in/yaml.v01", ("gopkg.in/yaml.v01", "", False)),
    ("gopkg.in/yaml", ("gopkg.in/yaml", "", False)),
])
def test_split_path_version(path: str, want: tuple[str, str, bool]) -> None:
    """The /vN or gopkg.in .vN suffix is split off; malformed suffixes report ok=False."""
    assert modpath.split_path_version(path) == want


@pytest.mark.parametrize(("v", "path_major", "want"), [
    ("v0.0.0", "", True), ("v0.0.0", "/v2", False), ("v0.0.0", ".v0", True),
    ("v0.0.0-20190510104115-cbcb75029529", ".v1", True), ("v1.0.0", "/v2", False),
    ("v1.0.0", ".v1", True), ("v1.0.0", ".v1-unstable", True),
    ("v2.0.0+incompatible", "", True), ("v2.0.0", "", False), ("v2.0.0", "/v2", True),
    ("v2.0.0", ".v2", True),
])
def test_match_path_major(v: str, path_major: str, want: bool) -> None:
    """A version fits a path major suffix exactly when Go's MatchPathMajor says so."""
    assert modpath.match_path_major(v, path_major) is want


def test_check_path_major_error_text() -> None:
    """check_path_major names the wanted and the actual major version."""
    with pytest.raises(InvalidVersion, match=r'^version "v3.0.0" invalid: should be v2, not v3$'):
        modpath.check_path_major("v3.0.0", "/v2")
    with pytest.raises(InvalidVersion, match="should be v0 or v1, not v2"):
        modpath.check_path_major("v2.0.0", "")


# (path, version, error text or "" for ok): Go's checkTests plus the +incompatible rule.
CHECK_TABLE = [
    ("rsc.io/quote", "0.1.0", "rsc.io/quote@0.1.0: invalid version: not a semantic version"),
    ("rsc io/quote", "v1.0.0", "malformed module path \"rsc io/quote\": invalid char ' '"),
    ("github.com/go-yaml/yaml", "v0.8.0", ""), ("github.com/go-yaml/yaml", "v1.0.0", ""),
    ("github.com/go-yaml/yaml", "v2.0.0",
     "github.com/go-yaml/yaml@v2.0.0: invalid version: should be v0 or v1, not v2"),
    ("github.com/go-yaml/yaml/v2", "v1.0.0",
     "github.com/go-yaml/yaml/v2@v1.0.0: invalid version: should be v2, not v1"),
    ("github.com/go-yaml/yaml/v2", "v2.1.5", ""),
    ("example.com/m/v2", "v3.0.0", "example.com/m/v2@v3.0.0: invalid version: should be v2, not v3"),
    ("gopkg.in/yaml.v0", "v0.8.0", ""),
    ("gopkg.in/yaml.v0", "v1.0.0", "gopkg.in/yaml.v0@v1.0.0: invalid version: should be v0, not v1"),
    ("gopkg.in/yaml.v1", "v1.0.0", ""),
    ("gopkg.in/check.v1", "v0.0.0", "gopkg.in/check.v1@v0.0.0: invalid version: should be v1, not v0"),
    ("gopkg.in/check.v1", "v0.0.0-20160102150405-abcdef123456", ""),
    ("gopkg.in/yaml.v2", "v2.1.5", ""), ("rsc.io/quote", "v17.0.0+incompatible", ""),
    ("rsc.io/quote", "v17.0.0",
     "rsc.io/quote@v17.0.0: invalid version: should be v0 or v1, not v17"),
    ("rsc.io/quote", "v1.0.0+incompatible", ("rsc.io/quote@v1.0.0+incompatible: invalid version: "
     "+incompatible suffix not allowed: major version v1 is compatible")),
    ("rsc.io/quote/v2", "v2.0.0+incompatible", ("rsc.io/quote/v2@v2.0.0+incompatible: invalid "
     "version: +incompatible suffix not allowed: major version v2 is compatible")),
]


@pytest.mark.parametrize(("path", "version", "want"), CHECK_TABLE)
def test_check(path: str, version: str, want: str) -> None:
    """check() accepts valid pairs and otherwise raises with the go command's text."""
    try:
        modpath.check(path, version)
    except (InvalidPath, InvalidVersion) as err:
        assert err.message == want
    else:
        assert want == ""


@given(paths, versions)
def test_check_agrees_with_go(goref: GoRef, path: str, version: str) -> None:
    """Apart from the +incompatible rule, check() is module.Check, error text included."""
    go_error = goref.call("module.Check", path, version)[1]
    try:
        modpath.check(path, version)
    except GopushError as err:
        assert err.message == go_error or "+incompatible suffix not allowed" in err.message
    else:
        assert go_error == ""


@given(paths)
def test_path_checks_agree_with_go(goref: GoRef, path: str) -> None:
    """For generated paths the three checks give x/mod's verdict and text, and never crash."""
    for (_, check), op in zip(CHECKS, ("CheckPath", "CheckImportPath", "CheckFilePath")):
        assert _error_text(check, path) == goref.call("module." + op, path)[1]
    assert modpath.split_path_version(path) == _split_by_go(goref, path)


def _split_by_go(goref: GoRef, path: str) -> tuple[str, str, bool]:
    prefix, path_major, ok = goref.call("module.SplitPathVersion", path)[0]
    return prefix, path_major, ok == "true"


@given(versions, paths)
def test_path_major_agrees_with_go(goref: GoRef, v: str, path: str) -> None:
    """check_path_major gives CheckPathMajor's verdict for any version and path suffix."""
    _, path_major, _ = modpath.split_path_version(path)
    go_error = goref.call("module.CheckPathMajor", v, path_major)[1]
    assert modpath.match_path_major(v, path_major) == (go_error == "")
    if go_error:
        with pytest.raises(InvalidVersion) as err:
            modpath.check_path_major(v, path_major)
        assert err.value.message == go_error


@given(versions)
def test_canonical_version_agrees_with_go(goref: GoRef, v: str) -> None:
    """canonical_version is module.CanonicalVersion (keeps +incompatible)."""
    assert goref.call("module.CanonicalVersion", v)[0] == [modpath.canonical_version(v)]
