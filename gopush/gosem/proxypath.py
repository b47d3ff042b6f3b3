"""Relative paths of the GOPROXY protocol (``go help goproxy``), built and parsed.

A module proxy answers, relative to its base URL:

- ``<module>/@v/list``               the known versions, one per line
- ``<module>/@v/<version>.info``     JSON ``{"Version": ..., "Time": ...}``
- ``<module>/@v/<version>.mod``      the go.mod file
- ``<module>/@v/<version>.zip``      the module zip
- ``<module>/@latest``               optional: ``.info`` of the latest version

``<module>`` and ``<version>`` are written in escaped form (``gosem.escape``), so a static tree
of files on a case-insensitive file system can serve them. Module paths never contain ``@``,
so ``/@v/`` and ``/@latest`` mark the split unambiguously. Percent-decoding a URL is the HTTP
layer's job; these functions see the decoded path.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from gopush.errors import InvalidPath
from gopush.gosem.escape import escape_path, escape_version, unescape_path, unescape_version

_EXPECTED = ("expected <module>/@v/list, <module>/@v/<version>.info, .mod or .zip, "
             "or <module>/@latest")


class ProxyKind(StrEnum):
    """What a proxy path asks for; the value is the path's ending."""

    LIST = "list"
    INFO = ".info"
    MOD = ".mod"
    ZIP = ".zip"
    LATEST = "@latest"


class ProxyPath(NamedTuple):
    """A parsed proxy request: unescaped module path, kind, and version ("" for list/latest)."""

    module: str
    kind: ProxyKind
    version: str = ""


def list_path(module: str) -> str:
    """Return ``<escaped module>/@v/list``.

    Raises:
        InvalidPath: ``module`` is not a valid module path.
    """
    return f"{escape_path(module)}/@v/list"


def latest_path(module: str) -> str:
    """Return ``<escaped module>/@latest``.

    Raises:
        InvalidPath: ``module`` is not a valid module path.
    """
    return f"{escape_path(module)}/@latest"


def info_path(module: str, version: str) -> str:
    """Return ``<escaped module>/@v/<escaped version>.info``.

    Raises:
        InvalidPath: ``module`` is not a valid module path.
        InvalidVersion: ``version`` cannot be a file name.
    """
    return _version_path(module, version, ProxyKind.INFO)


def mod_path(module: str, version: str) -> str:
    """Return ``<escaped module>/@v/<escaped version>.mod`` (raises as ``info_path``)."""
    return _version_path(module, version, ProxyKind.MOD)


def zip_path(module: str, version: str) -> str:
    """Return ``<escaped module>/@v/<escaped version>.zip`` (raises as ``info_path``)."""
    return _version_path(module, version, ProxyKind.ZIP)


def _version_path(module: str, version: str, kind: ProxyKind) -> str:
    return f"{escape_path(module)}/@v/{escape_version(version)}{kind.value}"


def parse_proxy_path(path: str) -> ProxyPath:
    """Return what the relative proxy ``path`` asks for (one leading ``/`` is allowed).

    The version is unescaped and checked to be a valid file-name element, but not required to
    be a semantic version: clients may ask ``.info`` for queries such as branch names.

    Raises:
        InvalidPath: ``path`` is not a proxy path, or its module part is not a valid escaped
            module path.
        InvalidVersion: its version part is not a valid escaped version.
    """
    rel = path.removeprefix("/")
    if rel.endswith("/@latest"):
        return ProxyPath(_module(rel.removesuffix("/@latest"), path), ProxyKind.LATEST)
    escaped_module, sep, rest = rel.partition("/@v/")
    if not sep:
        raise _not_proxy_path(path)
    module = _module(escaped_module, path)
    if rest == "list":
        return ProxyPath(module, ProxyKind.LIST)
    for kind in (ProxyKind.INFO, ProxyKind.MOD, ProxyKind.ZIP):
        if rest.endswith(kind.value) and len(rest) > len(kind.value):
            return ProxyPath(module, kind, unescape_version(rest.removesuffix(kind.value)))
    raise _not_proxy_path(path)


def _module(escaped: str, path: str) -> str:
    if not escaped:
        raise _not_proxy_path(path)
    return unescape_path(escaped)


def _not_proxy_path(path: str) -> InvalidPath:
    return InvalidPath(f"not a GOPROXY path: {path!r}", hint=_EXPECTED, data={"path": path})
