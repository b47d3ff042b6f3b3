"""Go toolchain versions, as written on a go.mod ``go`` line (Go's internal/gover, go/version).

These are not semantic versions: no ``v`` prefix, and ``1.21`` names the language version,
which is older than its first release candidate ``1.21rc1``, which is older than the first
release ``1.21.0``. The rule, in our words:

- ``MAJOR[.MINOR[.PATCH]]`` or ``MAJOR.MINOR<kind><n>`` where kind is lower-case letters
  (``alpha``, ``beta``, ``rc``); numbers have no leading zeros.
- Before Go 1.21, ``1.N`` meant the release ``1.N.0`` (so ``1.20`` == ``1.20.0``); from 1.21 on,
  ``1.N`` is the language version and sorts below ``1.Nrc1`` and ``1.N.0``. ``1`` means 1.0.0.
- Kinds compare as strings with "" (a release or language version) lowest:
  ``"" < alpha < beta < rc``. Invalid versions (and "") compare equal to each other and
  below every valid one.

The module zip vendor rule asks ``compare(go_line, "1.24") >= 0``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_NUM = r"0|[1-9][0-9]*"
_VERSION_RE = re.compile(
    rf"(?P<major>{_NUM})(?:\.(?P<minor>{_NUM})"
    rf"(?:\.(?P<patch>{_NUM})|(?P<kind>[a-z]+)(?P<pre>{_NUM})?)?)?"
)


class GoVersion(NamedTuple):
    """A parsed Go version; numbers are decimal strings, "" where absent."""

    major: str
    minor: str
    patch: str
    kind: str  # "", "alpha", "beta", "rc" (or any lower-case word)
    pre: str


_INVALID = GoVersion("", "", "", "", "")


def parse(x: str) -> GoVersion:
    """Return the parts of Go version ``x`` (all "" when ``x`` is invalid)."""
    m = _VERSION_RE.fullmatch(x)
    if m is None:
        return _INVALID
    major, minor, patch = m["major"], m["minor"], m["patch"]
    if minor is None:
        return GoVersion(major, "0", "0", "", "")
    if patch is None and m["kind"] is None and int(minor) < 21:
        patch = "0"  # before Go 1.21, 1.N meant the release 1.N.0
    return GoVersion(major, minor, patch or "", m["kind"] or "", m["pre"] or "")


def is_valid(x: str) -> bool:
    """Report whether ``x`` is a valid Go version such as ``1.21``, ``1.21rc1``, ``1.21.0``."""
    return parse(x) != _INVALID


def compare(x: str, y: str) -> int:
    """Return -1, 0 or 1 as Go version ``x`` is older than, equal to or newer than ``y``."""
    vx, vy = parse(x), parse(y)
    for a, b in ((vx.major, vy.major), (vx.minor, vy.minor), (vx.patch, vy.patch)):
        if a != b:
            return _compare_int(a, b)
    if vx.kind != vy.kind:
        return -1 if vx.kind < vy.kind else 1
    return _compare_int(vx.pre, vy.pre) if vx.pre != vy.pre else 0


def _compare_int(a: str, b: str) -> int:
    """Compare decimal strings without leading zeros; "" sorts below every number."""
    if len(a) != len(b):
        return -1 if len(a) < len(b) else 1
    return 0 if a == b else (-1 if a < b else 1)


def max_version(x: str, y: str) -> str:
    """Return the newer of ``x`` and ``y`` (``x`` when they are equal)."""
    return y if compare(x, y) < 0 else x


def lang(x: str) -> str:
    """Return the language version of ``x`` (``1.21.3`` → ``1.21``, ``1`` → ``1``); "" if invalid."""
    v = parse(x)
    if v == _INVALID:
        return ""
    if v.minor == "" or (v.major == "1" and v.minor == "0"):
        return v.major
    return f"{v.major}.{v.minor}"


def is_lang(x: str) -> bool:
    """Report whether ``x`` is a language version (``1.21``, not ``1.21.0``/``1.21rc1``/``1.20``)."""
    v = parse(x)
    return v != _INVALID and not v.patch and not v.kind and not v.pre


def from_toolchain(name: str) -> str:
    """Return the Go version of a toolchain name (``go1.21.3-custom`` → ``1.21.3``); "" if the
    name has a path separator, does not start with ``go``, or names no valid version."""
    if "/" in name or "\\" in name or not name.startswith("go"):
        return ""
    version = re.split(r"[ \t-]", name[2:], maxsplit=1)[0]  # drop a custom suffix
    return version if is_valid(version) else ""
