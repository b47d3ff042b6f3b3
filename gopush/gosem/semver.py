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

Precedence is hand-written rather than delegated to the ``semver`` package: Go's grammar (the
``v`` prefix, the shorthands) differs from SemVer's, so we would have to parse twice and
rebuild a ``semver.Version`` only to run a ten-line comparison.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cmp_to_key

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


@dataclass(frozen=True)
class _Parsed:
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
    for x, y in ((pv.major, pw.major), (pv.minor, pw.minor), (pv.patch, pw.patch)):
        if x != y:
            return _sign(int(x) - int(y))
    return _compare_prerelease(pv.prerelease, pw.prerelease)


def _compare_prerelease(x: str, y: str) -> int:
    if x == y:
        return 0
    if not x or not y:
        return 1 if not x else -1  # a release sorts above its prereleases
    xs, ys = x[1:].split("."), y[1:].split(".")
    for dx, dy in zip(xs, ys):
        if dx != dy:
            return _compare_ident(dx, dy)
    return _sign(len(xs) - len(ys))


def _compare_ident(x: str, y: str) -> int:
    x_num, y_num = x.isdigit(), y.isdigit()  # identifiers are ASCII here: _parse checked
    if x_num and y_num:
        return _sign(int(x) - int(y))
    if x_num != y_num:
        return -1 if x_num else 1
    return -1 if x < y else 1


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


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
