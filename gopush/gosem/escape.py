"""GOPROXY escaping of module paths and versions (golang.org/x/mod/module, "Escaped Paths").

Module paths may contain upper-case letters, but proxies and module caches live on file
systems and web servers that may not tell ``rsc.io/QUOTE`` from ``rsc.io/quote``. So in URLs
and on disk every upper-case ASCII letter is written as ``!`` followed by its lower-case form:
``github.com/Azure/azure-sdk-for-go`` → ``github.com/!azure/azure-sdk-for-go``. Paths never
contain ``!``, so no escape for ``!`` itself is needed. Versions are escaped the same way; they
need not be semantic versions here but must be valid file-name elements without ``!``.

Unescaping refuses anything an escape could not have produced (a bare upper-case letter, ``!``
not followed by a lower-case letter, non-ASCII) and then checks the result like the go command:
a path must be a valid module path, a version a valid file-name element.
"""

from __future__ import annotations

from gopush.errors import InvalidPath, InvalidVersion
from gopush.gosem.goquote import quote
from gopush.gosem.modpath import PathKind, check_module_path, element_problem


def escape_path(path: str) -> str:
    """Return the escaped form of module path ``path``.

    Raises:
        InvalidPath: ``path`` is not a valid module path.
    """
    check_module_path(path)
    return _escape(path)


def escape_version(v: str) -> str:
    """Return the escaped form of version ``v`` (any valid file-name element without ``!``).

    Raises:
        InvalidVersion: ``version "..." invalid: disallowed version string``.
    """
    if element_problem(v, PathKind.FILE) or "!" in v or not v.isascii():
        raise InvalidVersion(f"version {quote(v)} invalid: disallowed version string",
                             data={"version": v})
    return _escape(v)


def _escape(s: str) -> str:
    return "".join("!" + c.lower() if "A" <= c <= "Z" else c for c in s)


def unescape_path(escaped: str) -> str:
    """Return the module path that ``escaped`` stands for.

    Raises:
        InvalidPath: ``escaped`` is not a valid escaping, or names an invalid module path.
    """
    path = _unescape(escaped)
    if path is None:
        raise InvalidPath(f"invalid escaped module path {quote(escaped)}",
                          data={"path": escaped})
    try:
        check_module_path(path)
    except InvalidPath as err:
        raise InvalidPath(f"invalid escaped module path {quote(escaped)}: {err}",
                          data={"path": escaped}) from err
    return path


def unescape_version(escaped: str) -> str:
    """Return the version that ``escaped`` stands for.

    Raises:
        InvalidVersion: ``escaped`` is not a valid escaping, or not a valid file-name element.
    """
    v = _unescape(escaped)
    if v is None:
        raise InvalidVersion(f"invalid escaped version {quote(escaped)}",
                             data={"version": escaped})
    reason = element_problem(v, PathKind.FILE)
    if reason:
        raise InvalidVersion(f"invalid escaped version {quote(v)}: {reason}",
                             data={"version": escaped})
    return v


def _unescape(escaped: str) -> str | None:
    """Undo ``_escape``; None when ``escaped`` could not have come from it."""
    out: list[str] = []
    bang = False
    for c in escaped:
        if not c.isascii() or "A" <= c <= "Z":
            return None
        if bang:
            if not "a" <= c <= "z":
                return None
            out.append(c.upper())
            bang = False
        elif c == "!":
            bang = True
        else:
            out.append(c)
    return None if bang else "".join(out)
