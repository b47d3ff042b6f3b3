"""gosem.proxypath: GOPROXY paths are built escaped and parsed back, with clear refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies import module_paths, paths

from gopush.errors import GopushError, InvalidPath, InvalidVersion
from gopush.gosem import proxypath
from gopush.gosem.proxypath import ProxyKind, ProxyPath

M = "github.com/Azure/go-autorest/v14"
E = "github.com/!azure/go-autorest/v14"


def test_builders() -> None:
    """Each builder escapes module and version and uses the protocol's ending."""
    assert proxypath.list_path(M) == f"{E}/@v/list"
    assert proxypath.latest_path(M) == f"{E}/@latest"
    assert proxypath.info_path(M, "v14.2.0") == f"{E}/@v/v14.2.0.info"
    assert proxypath.mod_path(M, "v14.0.0-RC1") == f"{E}/@v/v14.0.0-!r!c1.mod"
    assert proxypath.zip_path(M, "v14.2.0") == f"{E}/@v/v14.2.0.zip"


@pytest.mark.parametrize(("path", "want"), [
    (f"{E}/@v/list", ProxyPath(M, ProxyKind.LIST)),
    (f"/{E}/@v/list", ProxyPath(M, ProxyKind.LIST)),
    (f"{E}/@latest", ProxyPath(M, ProxyKind.LATEST)),
    (f"{E}/@v/v14.2.0.info", ProxyPath(M, ProxyKind.INFO, "v14.2.0")),
    (f"{E}/@v/v14.0.0-!r!c1.mod", ProxyPath(M, ProxyKind.MOD, "v14.0.0-RC1")),
    (f"{E}/@v/v14.2.0.zip", ProxyPath(M, ProxyKind.ZIP, "v14.2.0")),
    ("example.com/m/@v/master.info", ProxyPath("example.com/m", ProxyKind.INFO, "master")),
    ("example.com/m/@v/list.info", ProxyPath("example.com/m", ProxyKind.INFO, "list")),
])
def test_parse(path: str, want: ProxyPath) -> None:
    """Every kind of proxy path parses to its unescaped module, kind and version."""
    assert proxypath.parse_proxy_path(path) == want


@pytest.mark.parametrize(("path", "error", "text"), [
    ("example.com/m", InvalidPath, "not a GOPROXY path"),
    ("example.com/m/@v/", InvalidPath, "not a GOPROXY path"),
    ("example.com/m/@v/.zip", InvalidPath, "not a GOPROXY path"),
    ("example.com/m/@v/v1.0.0.tar", InvalidPath, "not a GOPROXY path"),
    ("/@v/list", InvalidPath, "not a GOPROXY path"),
    ("@latest", InvalidPath, "not a GOPROXY path"),
    ("github.com/Azure/x/@v/list", InvalidPath, "invalid escaped module path"),
    ("foo/@v/list", InvalidPath, "missing dot in first path element"),
    ("example.com/m/@v/v1.0.0-RC1.info", InvalidVersion, "invalid escaped version"),
    ("example.com/m/@v/a/b.info", InvalidVersion, "invalid escaped version"),
    ("example.com/m/@v/v1!.mod", InvalidVersion, "invalid escaped version"),
])
def test_parse_refuses(path: str, error: type[GopushError], text: str) -> None:
    """Malformed proxy paths raise the documented error saying what is wrong."""
    with pytest.raises(error, match=text):
        proxypath.parse_proxy_path(path)


def test_not_a_proxy_path_has_a_hint() -> None:
    """The refusal of a non-proxy path lists the shapes that are accepted."""
    with pytest.raises(InvalidPath) as err:
        proxypath.parse_proxy_path("example.com/m/info")
    assert err.value.hint and "@v/list" in err.value.hint


@given(module_paths)
def test_round_trip(module: str) -> None:
    """Whatever the builders make, parse_proxy_path takes back to module, kind and version."""
    try:
        list_path = proxypath.list_path(module)
    except InvalidPath:
        return
    assert proxypath.parse_proxy_path(list_path) == ProxyPath(module, ProxyKind.LIST)
    assert proxypath.parse_proxy_path(proxypath.latest_path(module)).kind is ProxyKind.LATEST
    for build, kind in ((proxypath.info_path, ProxyKind.INFO), (proxypath.mod_path, ProxyKind.MOD),
                        (proxypath.zip_path, ProxyKind.ZIP)):
        got = proxypath.parse_proxy_path(build(module, "v1.2.3-Beta"))
        assert got == ProxyPath(module, kind, "v1.2.3-Beta")


@given(paths)
def test_parse_never_crashes(path: str) -> None:
    """Arbitrary input either parses or raises a GopushError with a message."""
    try:
        proxypath.parse_proxy_path(path + "/@v/v1.0.0.zip")
        proxypath.parse_proxy_path(path)
    except GopushError as err:
        assert err.message
