"""Pseudo-versions: versions that name an untagged commit (x/mod module/pseudo.go).

A pseudo-version is a prerelease of a version built from the nearest older tag, the commit time
(UTC, ``yyyymmddhhmmss``) and a revision prefix (12 hex digits of the commit hash for git):

1. ``vX.0.0-yyyymmddhhmmss-abcdefabcdef`` when no older tag is known (X is the major version of
   the module path: v0 without a suffix, v2 for ``/v2``).
2. ``vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdefabcdef`` when the older tag is the release vX.Y.Z.
3. ``vX.Y.Z-pre.0.yyyymmddhhmmss-abcdefabcdef`` when the older tag is the prerelease vX.Y.Z-pre.

Each sorts above its base tag and below the next release. A ``+incompatible`` (or other build
suffix) on the older tag is carried to the end. The zero pseudo-version
``vX.0.0-00010101000000-000000000000`` is a placeholder. Recognizing a pseudo-version is
syntactic: it is a valid semantic version matching one of the shapes above.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from gopush.errors import InvalidVersion
from gopush.gosem import semver
from gopush.gosem.goquote import quote

ZERO_REVISION = "000000000000"
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
_PSEUDO_RE = re.compile(
    r"v[0-9]+\.(0\.0-|[0-9]+\.[0-9]+-([^+]*\.)?0\.)[0-9]{14}-[A-Za-z0-9]+"
    r"(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
)


def format_time(t: datetime) -> str:
    """Return ``t`` in UTC as ``yyyymmddhhmmss`` (a naive ``t`` is taken to be UTC)."""
    if t.tzinfo is not None:
        t = t.astimezone(UTC)
    return (f"{t.year:04d}{t.month:02d}{t.day:02d}"
            f"{t.hour:02d}{t.minute:02d}{t.second:02d}")


# 9999-12-31T23:59:59Z: the last time a pseudo-version's 14 digits, a datetime and Go's JSON
# time (hence a .info file) can all hold.
MAX_TIME_SECONDS = 253402300799
# The Gregorian calendar repeats every 400 years: 146097 days.
_FOUR_CENTURIES = 146097 * 86400


def format_seconds(seconds: int) -> str:
    """Return Unix time ``seconds`` (>= 0) as Go's ``Format("20060102150405")`` does, in UTC.

    Past year 9999 Go writes the year in as many digits as it has ("100000101000000" for
    10000-01-01), which ``datetime`` cannot represent: shift by whole 400-year cycles.
    """
    cycles = max(0, (seconds - MAX_TIME_SECONDS) // _FOUR_CENTURIES + 1)
    t = datetime.fromtimestamp(seconds - cycles * _FOUR_CENTURIES, UTC)
    return (f"{t.year + 400 * cycles:04d}{t.month:02d}{t.day:02d}"
            f"{t.hour:02d}{t.minute:02d}{t.second:02d}")



def pseudo_version(major: str, older: str, t: datetime | int, rev: str) -> str:
    """Return the pseudo-version for revision ``rev`` made at ``t`` after tag ``older``.

    ``major`` ("v2", or "" for v0) is used only when ``older`` is "" (or not a valid version).
    ``t`` may be Unix seconds. This is Go's ``module.PseudoVersion``; the caller passes the
    revision prefix it wants (go uses the first 12 hex digits of a git commit hash). Like
    go's, the result for a time past 9999 has a longer timestamp and is no pseudo-version.
    """
    stamp = format_seconds(t) if isinstance(t, int) else format_time(t)
    segment = f"{stamp}-{rev}"
    build = semver.build(older)
    base = semver.canonical(older)
    if not base:
        return f"{major or 'v0'}.0.0-{segment}"
    if semver.prerelease(base):
        return f"{base}.0.{segment}{build}"
    release, _, patch = base.rpartition(".")
    return f"{release}.{int(patch) + 1}-0.{segment}{build}"


def zero_pseudo_version(major: str) -> str:
    """Return the placeholder pseudo-version with zero time and revision for ``major``."""
    return pseudo_version(major, "", ZERO_TIME, ZERO_REVISION)


def is_pseudo_version(v: str) -> bool:
    """Report whether ``v`` has the shape of a pseudo-version."""
    return v.count("-") >= 2 and semver.is_valid(v) and _PSEUDO_RE.fullmatch(v) is not None


def is_zero_pseudo_version(v: str) -> bool:
    """Report whether ``v`` is ``zero_pseudo_version`` of its own major version."""
    return v == zero_pseudo_version(semver.major(v))


def pseudo_version_time(v: str) -> datetime:
    """Return the commit time (UTC, whole seconds) recorded in pseudo-version ``v``.

    Raises:
        InvalidVersion: ``v`` is not a pseudo-version, or its time stamp is not a real time.
    """
    stamp = _split(v)[1]
    year, month, day, hour, minute, second = (
        int(stamp[i:j]) for i, j in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14)))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:  # also year 0, which Go's time.Time could hold but datetime cannot
        raise _invalid(v, f"malformed time {quote(stamp)}") from None


def pseudo_version_rev(v: str) -> str:
    """Return the revision identifier (the last dash-separated field) of pseudo-version ``v``.

    Raises:
        InvalidVersion: ``v`` is not a pseudo-version.
    """
    return _split(v)[2]


def pseudo_version_base(v: str) -> str:
    """Return the tag ``v`` was derived from ("" for form 1), keeping build metadata.

    Raises:
        InvalidVersion: ``v`` is not a pseudo-version, is ``vX.0.0-...`` with build metadata,
            or is ``vX.Y.0-0...`` (its base would need a negative patch number).
    """
    base, _, _, build = _split(v)
    pre = semver.prerelease(base)
    if not pre:
        if build:
            raise _invalid(v, f"lacks base version, but has build metadata {quote(build)}")
        return ""
    if pre == "-0":
        release, _, patch = base.removesuffix(pre).rpartition(".")
        if int(patch) == 0:
            raise _invalid(v, f"version before {release}.{patch} would have negative patch "
                              "number")
        return f"{release}.{int(patch) - 1}{build}"
    return base.removesuffix(".0") + build


def _split(v: str) -> tuple[str, str, str, str]:
    """Split pseudo-version ``v`` into (base, time stamp, revision, build)."""
    if not is_pseudo_version(v):
        raise _invalid(v, "syntax error")
    build = semver.build(v)
    rest, _, rev = v[: len(v) - len(build)].rpartition("-")
    dash, dot = rest.rfind("-"), rest.rfind(".")
    cut = max(dash, dot)  # "vX.Y.Z-pre.0" / "vX.Y.(Z+1)-0" / "vX.0.0"
    return rest[:cut], rest[cut + 1:], rev, build


def _invalid(v: str, reason: str) -> InvalidVersion:
    return InvalidVersion(f"pseudo-version {quote(v)} invalid: {reason}",
                          data={"version": v, "reason": reason})
