"""Module paths, import paths and file paths, and how a path's major version meets a version.

Mirrors golang.org/x/mod/module (module.go). The rules, in our words:

- A path is one or more non-empty elements joined by single slashes: no leading or trailing
  slash, no ``//``, valid UTF-8, not empty. Import and module paths may not start with ``-``.
- An element is not all dots, does not end with a dot and, in module paths, does not start with
  one. Module path elements use ASCII letters, digits and ``- . _ ~``; import paths also allow
  ``+``; file paths allow ASCII letters and digits, space, ``!#$%&()+,-.=@[]^_{}~`` and every
  rune Go's ``unicode.IsLetter`` calls a letter, by Go's Unicode version (go1.27: 17), not
  Python's (3.11: 14, which lacks some 14,000 letters): see ``gounicode``.
- The part of an element before its first dot must not be a reserved Windows device name
  (CON, PRN, AUX, NUL, COM1-9, LPT1-9, any case), and, except in file paths, must not end in a
  tilde followed by digits (a Windows 8.3 short name such as ``PROGRA~1``).
- A module path's first element is a lower-case domain-like name: ``a-z 0-9 . -`` only, at least
  one dot, no leading dash. A trailing ``/vN`` must be N >= 2 without leading zero or dots, and
  ``gopkg.in/`` paths must end in ``.vN`` (N may be 0 or 1 there, optionally ``-unstable``).
- A version fits a path whose major suffix is ``/vN`` or ``.vN`` only if its major version is
  vN; with no suffix, v0, v1 and any ``+incompatible`` version fit. Old ``v0.0.0-``
  pseudo-versions also fit ``gopkg.in/...v1`` paths.

Errors read like the go command's: ``malformed module path "x": missing dot in first path
element`` and ``example.com/m/v2@v3.0.0: invalid version: should be v2, not v3``.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache

from gopush.errors import InvalidPath, InvalidVersion
from gopush.gosem import semver
from gopush.gosem.goquote import quote, quote_rune
from gopush.gosem.gounicode import is_letter

BAD_WINDOWS_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)
_ASCII_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_MODULE_CHARS = _ASCII_ALNUM | frozenset("-._~")
_IMPORT_CHARS = _MODULE_CHARS | frozenset("+")
_FILE_CHARS = _ASCII_ALNUM | frozenset("!#$%&()+,-.=@[]^_{}~ ")
_FIRST_ELEM_CHARS = frozenset("-.0123456789abcdefghijklmnopqrstuvwxyz")
_SURROGATE = re.compile("[\ud800-\udfff]")


class PathKind(Enum):
    """Which family of rules a path is checked against (the noun in the error)."""

    MODULE = "module"
    IMPORT = "import"
    FILE = "file"


# The ASCII characters each kind of path allows; anything else goes through _char_ok.
_ALLOWED = {PathKind.MODULE: _MODULE_CHARS, PathKind.IMPORT: _IMPORT_CHARS,
            PathKind.FILE: _FILE_CHARS}


def check_module_path(path: str) -> None:
    """Check that ``path`` is a valid module path (``module.CheckPath``).

    Raises:
        InvalidPath: ``malformed module path "...": <reason>``.
    """
    _raise_if(PathKind.MODULE, path, path_problem(path, PathKind.MODULE) or _module_problem(path))


def check_import_path(path: str) -> None:
    """Check that ``path`` is a valid import path (``module.CheckImportPath``).

    Raises:
        InvalidPath: ``malformed import path "...": <reason>``.
    """
    _raise_if(PathKind.IMPORT, path, path_problem(path, PathKind.IMPORT))


def check_file_path(path: str) -> None:
    """Check that the slash-separated ``path`` is a valid file path in a module zip.

    Raises:
        InvalidPath: ``malformed file path "...": <reason>``.
    """
    _raise_if(PathKind.FILE, path, path_problem(path, PathKind.FILE))


def _raise_if(kind: PathKind, path: str, reason: str) -> None:
    if reason:
        raise InvalidPath(f"malformed {kind.value} path {quote(path)}: {reason}",
                          data={"path": path, "kind": kind.value, "reason": reason})


def path_problem(path: str, kind: PathKind) -> str:
    """Return why ``path`` breaks the general rules for ``kind`` ("" when it does not)."""
    if not path.isascii() and _SURROGATE.search(path):  # surrogateescape'd bytes: not UTF-8
        return "invalid UTF-8"
    if not path:
        return "empty string"
    if path[0] == "-" and kind is not PathKind.FILE:
        return "leading dash"
    if "//" in path:
        return "double slash"
    if path[-1] == "/":
        return "trailing slash"
    for elem in path.split("/"):
        reason = _file_element_problem(elem) if kind is PathKind.FILE else \
            element_problem(elem, kind)
        if reason:
            return reason
    return ""


@lru_cache(maxsize=4096)
def _file_element_problem(elem: str) -> str:
    """``element_problem`` of a file path element, remembered: a module's file paths repeat
    their directories' names thousands of times."""
    return element_problem(elem, PathKind.FILE)


def element_problem(elem: str, kind: PathKind) -> str:
    """Return why one path element breaks the rules for ``kind`` ("" when it does not)."""
    if not elem:
        return "empty path element"
    if elem.count(".") == len(elem):
        return f"invalid path element {quote(elem)}"
    if elem[0] == "." and kind is PathKind.MODULE:
        return "leading dot in path element"
    if elem[-1] == ".":
        return "trailing dot in path element"
    allowed = _ALLOWED[kind]
    if not allowed.issuperset(elem):  # fast path: every char in the ASCII set
        for c in elem:
            if not _char_ok(c, kind):
                return f"invalid char {quote_rune(c)}"
    short = elem.split(".", 1)[0]
    if short.isascii() and short.upper() in BAD_WINDOWS_NAMES:
        return f"{quote(short)} disallowed as path element component on Windows"
    if kind is not PathKind.FILE and _is_short_name(short):
        return "trailing tilde and digits in path element"
    return ""


def _char_ok(c: str, kind: PathKind) -> bool:
    """Report whether ``c`` may appear in a path of ``kind`` (Go's modPathOK & co)."""
    if kind is PathKind.MODULE:
        return c in _MODULE_CHARS
    if kind is PathKind.IMPORT:
        return c in _IMPORT_CHARS
    return c in _FILE_CHARS or is_letter(c)


def _is_short_name(short: str) -> bool:
    """Report whether ``short`` ends in ``~`` and digits, like the 8.3 name ``PROGRA~1``."""
    _, tilde, digits = short.rpartition("~")
    return bool(tilde) and digits != "" and all("0" <= d <= "9" for d in digits)


def _module_problem(path: str) -> str:
    first = path.split("/", 1)[0]
    if not first:
        return "leading slash"
    if "." not in first:
        return "missing dot in first path element"
    if path[0] == "-":
        return "leading dash in first path element"
    for c in first:
        if c not in _FIRST_ELEM_CHARS:
            return f"invalid char {quote_rune(c)} in first path element"
    if not split_path_version(path)[2]:
        return "invalid version"
    return ""


def split_path_version(path: str) -> tuple[str, str, bool]:
    """Split ``path`` into ``(prefix, path_major, ok)`` with ``prefix + path_major == path``.

    ``path_major`` is "" or ``/vN`` (N >= 2); for ``gopkg.in/`` paths it is ``.vN`` (any N,
    optionally ``-unstable``). ``ok`` is False when the last element looks like a major
    suffix but breaks the rule (``/v1``, ``/v0``, ``/v02``, ``/v2.0``, a gopkg.in path
    without ``.vN``); then ``prefix`` is the whole path.
    """
    if path.startswith("gopkg.in/"):
        return _split_gopkg_in(path)
    i = len(path)
    while i > 0 and path[i - 1] in "0123456789.":
        i -= 1
    digits = path[i:]
    if i <= 1 or not digits or path[i - 1] != "v" or path[i - 2] != "/":
        return path, "", True
    path_major = path[i - 2:]
    if "." in digits or digits[0] == "0" or path_major == "/v1":
        return path, "", False
    return path[: i - 2], path_major, True


def _split_gopkg_in(path: str) -> tuple[str, str, bool]:
    i = len(path) - (len("-unstable") if path.endswith("-unstable") else 0)
    while i > 0 and "0" <= path[i - 1] <= "9":
        i -= 1
    if i <= 1 or path[i - 1] != "v" or path[i - 2] != ".":
        return path, "", False  # every gopkg.in path ends in .vN
    path_major = path[i - 2:]
    if len(path_major) <= 2 or (path_major[2] == "0" and path_major != ".v0"):
        return path, "", False
    return path[: i - 2], path_major, True


def match_path_major(v: str, path_major: str) -> bool:
    """Report whether version ``v`` fits the major suffix ``path_major`` of a module path."""
    return _path_major_problem(v, path_major) == ""


def check_path_major(v: str, path_major: str) -> None:
    """Check that version ``v`` fits ``path_major`` (``module.CheckPathMajor``).

    Raises:
        InvalidVersion: ``version "v3.0.0" invalid: should be v2, not v3``.
    """
    reason = _path_major_problem(v, path_major)
    if reason:
        raise InvalidVersion(f"version {quote(v)} invalid: {reason}",
                             data={"version": v, "reason": reason})


def _path_major_problem(v: str, path_major: str) -> str:
    if path_major.startswith(".v") and path_major.endswith("-unstable"):
        path_major = path_major.removesuffix("-unstable")
    if v.startswith("v0.0.0-") and path_major == ".v1":
        return ""  # early vgo wrote v0.0.0- pseudo-versions for gopkg.in/...v1 requirements
    m = semver.major(v)
    if not path_major:
        if m in ("v0", "v1") or semver.build(v) == "+incompatible":
            return ""
        wanted = "v0 or v1"
    elif path_major[0] in "/.":
        if m == path_major[1:]:
            return ""
        wanted = path_major[1:]
    else:
        wanted = path_major
    return f"should be {wanted}, not {m}"


def canonical_version(v: str) -> str:
    """Return ``semver.canonical(v)`` but keep a ``+incompatible`` suffix (Go's
    ``module.CanonicalVersion``); "" if ``v`` is invalid."""
    cv = semver.canonical(v)
    if cv and semver.build(v) == "+incompatible":
        cv += "+incompatible"
    return cv


def check(path: str, version: str) -> None:
    """Check that ``path@version`` is a valid pair (``module.Check``, plus the go command's
    ``+incompatible`` rule).

    The path must be a valid module path, the version a valid semantic version whose major
    version fits the path's major suffix. ``+incompatible`` is accepted only where it means
    something: a v2+ version of a path without a major suffix. (``module.Check`` alone lets
    ``v1.0.0+incompatible`` through, but the go command refuses to resolve it.)

    Raises:
        InvalidPath: the module path is malformed.
        InvalidVersion: ``example.com/m/v2@v3.0.0: invalid version: should be v2, not v3``.
    """
    check_module_path(path)
    if not semver.is_valid(version):
        raise _module_version_error(path, version, "not a semantic version")
    _, path_major, _ = split_path_version(path)
    reason = _path_major_problem(version, path_major)
    if (not reason and semver.build(version) == "+incompatible"
            and match_path_major(version.removesuffix("+incompatible"), path_major)):
        reason = (f"+incompatible suffix not allowed: major version "
                      f"{semver.major(version)} is compatible")
    if reason:
        raise _module_version_error(path, version, reason)


def _module_version_error(path: str, version: str, reason: str) -> InvalidVersion:
    return InvalidVersion(f"{path}@{version}: invalid version: {reason}",
                          data={"path": path, "version": version, "reason": reason})


def check_module_version(module: str, version: str) -> None:
    """Check module@version as ``Create`` does: canonical version, then ``module.Check``.

    Raises:
        InvalidVersion, InvalidPath: with the go command's wording.
    """
    canonical = canonical_version(version)
    if canonical != version:
        raise InvalidVersion(f"version \"{version}\" is not canonical (should be \"{canonical}\")",
                             hint="use the canonical form, e.g. v1.2.0 rather than v1.2")
    check(module, version)
