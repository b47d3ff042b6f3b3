"""gosem.escape: GOPROXY !-escaping of module paths and versions, both ways."""

from __future__ import annotations

import pytest
from goref import GoRef
from hypothesis import assume, given
from strategies import module_paths, paths, versions

from gopush.errors import InvalidPath, InvalidVersion
from gopush.gosem import escape, modpath


@pytest.mark.parametrize(("path", "escaped"), [
    ("ascii.com/abcdefghijklmnopqrstuvwxyz.-_~0123456789", None),
    ("github.com/GoogleCloudPlatform/omega", "github.com/!google!cloud!platform/omega"),
    ("github.com/Azure/azure-sdk-for-go", "github.com/!azure/azure-sdk-for-go"),
    ("github.com/Sirupsen/logrus", "github.com/!sirupsen/logrus"),
])
def test_escape_path_examples(path: str, escaped: str | None) -> None:
    """Upper-case letters become ! plus lower case; other paths are unchanged; both ways."""
    want = escaped or path
    assert escape.escape_path(path) == want
    assert escape.unescape_path(want) == path


@pytest.mark.parametrize("bad", [
    "github.com/GoogleCloudPlatform/omega", "github.com/!google!cloud!platform!/omega",
    "github.com/!0google!cloud!platform/omega", "github.com/!_google!cloud!platform/omega",
    "github.com/!!google!cloud!platform/omega", "", "github.com/é", "example.com/x/v1",
])
def test_unescape_path_refuses(bad: str) -> None:
    """Strings no escape produces, or that name invalid module paths, are refused."""
    with pytest.raises(InvalidPath, match="^invalid escaped module path "):
        escape.unescape_path(bad)


def test_escape_path_refuses_invalid_path() -> None:
    """escape_path checks the module path first and reports its problem."""
    with pytest.raises(InvalidPath, match='malformed module path "foo": missing dot'):
        escape.escape_path("foo")


@pytest.mark.parametrize(("v", "escaped"), [
    ("v1.2.3", "v1.2.3"), ("v1.0.0-RC1", "v1.0.0-!r!c1"), ("master", "master"),
    ("v2.0.0+incompatible", "v2.0.0+incompatible"),
])
def test_escape_version(v: str, escaped: str) -> None:
    """Versions escape like paths and unescape back."""
    assert escape.escape_version(v) == escaped
    assert escape.unescape_version(escaped) == v


@pytest.mark.parametrize("v", ["", "v1!", "a/b", "v1.0.0*", "..", "vé"])
def test_escape_version_refuses(v: str) -> None:
    """Versions that are not plain ASCII file-name elements without ! are refused."""
    with pytest.raises(InvalidVersion, match="disallowed version string"):
        escape.escape_version(v)


@pytest.mark.parametrize("bad", ["v1.0.0-RC1", "v1!", "!1", "a/b", ""])
def test_unescape_version_refuses(bad: str) -> None:
    """Bad escapes and non-element results are refused."""
    with pytest.raises(InvalidVersion, match="^invalid escaped version "):
        escape.unescape_version(bad)


@given(module_paths)
def test_path_round_trip(path: str) -> None:
    """For every valid module path, unescape(escape(p)) == p and the escape has no upper case."""
    assume(_valid(path))
    escaped = escape.escape_path(path)
    assert escaped == escaped.lower()
    assert escape.unescape_path(escaped) == path


@given(paths)
def test_paths_agree_with_go(goref: GoRef, path: str) -> None:
    """escape_path and unescape_path give x/mod's results and error texts."""
    for op, func, error in (("EscapePath", escape.escape_path, InvalidPath),
                            ("UnescapePath", escape.unescape_path, InvalidPath)):
        out, go_error = goref.call("module." + op, path)
        _agrees(func, error, path, out[0], go_error)


@given(versions)
def test_versions_agree_with_go(goref: GoRef, v: str) -> None:
    """escape_version and unescape_version give x/mod's results and error texts."""
    for op, func in (("EscapeVersion", escape.escape_version),
                     ("UnescapeVersion", escape.unescape_version)):
        out, go_error = goref.call("module." + op, v)
        _agrees(func, InvalidVersion, v, out[0], go_error)


def _agrees(func: object, error: type[Exception], arg: str, go_out: str, go_error: str) -> None:
    try:
        got = func(arg)  # type: ignore[operator]
    except error as err:
        assert go_error and str(err) == go_error or "disallowed version string" in str(err)
    else:
        assert not go_error and got == go_out


def _valid(path: str) -> bool:
    try:
        modpath.check_module_path(path)
    except InvalidPath:
        return False
    return True
