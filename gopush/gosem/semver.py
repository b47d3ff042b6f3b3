"""Semantic versions as the go command reads them (golang.org/x/mod/semver).

The rule, in our words:

- A version is ``vMAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]]``. The leading ``v`` is required.
  MAJOR, MINOR and PATCH are decimal numbers without extra leading zeros.
- PRERELEASE and BUILD are non-empty, dot-separated identifiers of ASCII letters, digits and
  hyphens; an all-digit PRERELEASE identifier must not have a leading zero.
- ``v1`` and ``v1.2`` are valid shorthands for ``v1.0.0`` and ``v1.2.0`` (with no prerelease or
  build suffix allowed), but they are not canonical.
- The canonical form fills in the missing ``.MINOR``/``.PATCH`` and drops build metadata,
  ``+incompatible`` included (``gosem.modpath.canonical_version`` keeps that one).
- Precedence follows SemVer 2.0.0: numbers compare numerically, a prerelease sorts below its
  release, prerelease identifiers compare left to right (numeric below alphanumeric, numbers
  numerically, text in ASCII order, a longer list above its prefix). Build metadata is ignored.
  Every invalid string sorts below every valid version, and invalid strings are equal.

Parsing is ours, because Go's grammar (the ``v`` prefix, the shorthands) is not SemVer's;
precedence, where Go and SemVer 2.0.0 agree exactly, is delegated to the ``semver`` package
through a ``semver.Version`` built from the already-parsed fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cmp_to_key
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import semver as semver_lib


_NUM = r"0|[1-9][0-9]*"
_PRE_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_IDENT = r"[0-9A-Za-z-]+"
_VERSION_RE = re.compile(
    rf"v(?P<major>{_NUM})"
    rf"(?:\.(?P<minor>{_NUM})"
    rf"(?:\.(?P<patch>{_NUM})"
    rf"(?P<pre>-{_PRE_IDENT}(?:\.{_PRE_IDENT})*)?"
    rf"(?P<build>\+{_BUILD_IDENT}(?:\.{_BUILD_IDENT})*)?"
    r")?)?"
)


class _Parsed(NamedTuple):
    major: str
    minor: str
    patch: str
    short: str  # what canonical() appends to a shorthand: ".0.0", ".0" or ""
    prerelease: str
    build: str


def _parse(v: str) -> _Parsed | None:
    m = _VERSION_RE.fullmatch(v)
    if m is None:
        return None
    major, minor, patch = m["major"], m["minor"], m["patch"]
    short = ".0.0" if minor is None else ".0" if patch is None else ""
    return _Parsed(major, minor or "0", patch or "0", short, m["pre"] or "", m["build"] or "")


def is_valid(v: str) -> bool:
    """Report whether ``v`` is a valid semantic version (``v`` prefix required)."""
    return _parse(v) is not None


def canonical(v: str) -> str:
    """Return the canonical form of ``v`` (``v1.2`` → ``v1.2.0``, build dropped); "" if invalid."""
    p = _parse(v)
    if p is None:
        return ""
    if p.build:
        return v[: len(v) - len(p.build)]
    return v + p.short


def major(v: str) -> str:
    """Return the major version prefix of ``v`` (``v2.1.0`` → ``v2``); "" if invalid."""
    p = _parse(v)
    return "" if p is None else "v" + p.major


def major_minor(v: str) -> str:
    """Return the ``vMAJOR.MINOR`` prefix of ``v`` (``v2`` → ``v2.0``); "" if invalid."""
    p = _parse(v)
    return "" if p is None else f"v{p.major}.{p.minor}"


def prerelease(v: str) -> str:
    """Return the prerelease suffix of ``v`` including its hyphen (``-rc.1``), else ""."""
    p = _parse(v)
    return "" if p is None else p.prerelease


def build(v: str) -> str:
    """Return the build suffix of ``v`` including its plus (``+incompatible``), else ""."""
    p = _parse(v)
    return "" if p is None else p.build


def compare(v: str, w: str) -> int:
    """Return -1, 0 or 1 as ``v`` has lower, equal or higher precedence than ``w``.

    Invalid versions compare equal to each other and below every valid version.
    """
    pv, pw = _parse(v), _parse(w)
    if pv is None or pw is None:
        return (pv is not None) - (pw is not None)
    return int(_semver(pv).compare(_semver(pw)))


def precedence(v: str) -> semver_lib.Version | None:
    """Return an object ordering (``<``, ``==``, ``>``) as ``v``'s precedence, or None if ``v``
    is invalid: a version parsed once and compared many times (``compare`` parses both)."""
    p = _parse(v)
    return None if p is None else _semver(p)


def _semver(p: _Parsed) -> semver_lib.Version:
    """Return the SemVer 2.0.0 version with ``p``'s precedence (build metadata dropped)."""
    import semver as semver_lib  # only comparisons need it; importing it costs 3 ms

    return semver_lib.Version(int(p.major), int(p.minor), int(p.patch),
                              p.prerelease[1:] or None)


def _sort_key(v: str) -> tuple[object, str]:
    return (_VERSION_KEY(v), v)


_VERSION_KEY = cmp_to_key(compare)


def sort_versions(vs: Iterable[str]) -> list[str]:
    """Return ``vs`` sorted by precedence, ties (``v1.0.0`` vs ``v1.0.0+meta``) by string order.

    This is Go's ``semver.Sort``: invalid strings come first.
    """
    return sorted(vs, key=_sort_key)


def max_version(vs: Iterable[str]) -> str:
    """Return the version of ``vs`` with the highest precedence, as given; "" if none is valid.

    Unlike Go's deprecated ``semver.Max`` the result is not canonicalized. Among versions of
    equal precedence the one last in string order wins, as with ``sort_versions(vs)[-1]``.
    """
    valid = [v for v in vs if is_valid(v)]
    return sort_versions(valid)[-1] if valid else ""
