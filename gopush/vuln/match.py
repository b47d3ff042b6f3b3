"""Which versions an OSV SEMVER range affects, as the Go team reads the events (pure).

The rule, in our words (golang.org/x/vuln internal/semver ``ContainsSemver``,
``Affects`` and govulncheck's ``FixedVersion``; the OSV schema's "Evaluation"):

- OSV writes versions without the ``v`` ("1.18.6", "0.0.0-20220906165146-f3363e06e74c");
  here every version is Go's, ``v`` prefixed: an event's version is read as ``"v" + version``.
- A range's events are sorted by version (a stable sort: events of equal precedence keep
  their order in the entry), with ``introduced: "0"`` first, below every version, pseudo-
  versions such as ``v0.0.0-2019...`` included. A version is affected by the range when the
  last event at or below it is an ``introduced``: the events are half-open intervals
  ``[introduced, fixed)``, so a version equal to a ``fixed`` is not affected, and a version
  with no ``fixed`` after its ``introduced`` stays affected.
- Precedence is ``gosem.semver``'s: prereleases below their release, pseudo-versions as the
  prereleases they are, build metadata (``+incompatible``) ignored. An event version that is
  not a semantic version sorts below every valid one, as in Go (the database has none).
- A range with no events affects every version, and so does an entry with no ranges
  (``affects(())``), as in Go. Events of other kinds (``last_affected``, ``limit``: the Go
  database writes none) are passed over.
- A version that is not a semantic version is affected by nothing: the version of what is
  audited is not known, and guessing would raise false alarms (govulncheck does the same for
  "" and "(devel)").

``first_fixed`` is the version to upgrade to: the lowest valid ``fixed`` above the version
that no range affects (a later range may re-introduce the vulnerability at a fix). ``go_line_version`` turns a go.mod ``go`` line into the version the database
uses for the standard library (``stdlib``, ``toolchain``).
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache

from gopush.gosem import gover, semver
from gopush.vuln.osv import Event

INTRODUCED = "introduced"
FIXED = "fixed"
BEGINNING = "0"  # introduced "0": since the first version

# Sort keys: (0,) for introduced "0", (1,) for an invalid version, (2, precedence) otherwise.
_Key = tuple[object, ...]


def affects(ranges: tuple[tuple[Event, ...], ...], version: str) -> bool:
    """Tell whether ``version`` (a Go version, ``v1.2.3``) is in any of ``ranges``.

    An empty ``ranges`` affects every version (the OSV rule for a missing range).
    """
    key = _version_key(version)
    if key is None:
        return False
    return not ranges or any(_in_range(_ordered(events), key) for events in ranges)


def first_fixed(ranges: tuple[tuple[Event, ...], ...], version: str) -> str:
    """Return the lowest ``fixed`` above ``version`` that leaves it unaffected (``v``
    prefixed), or "" when no release fixes it."""
    key = _version_key(version)
    fixes = {"v" + e.version for events in ranges for e in events if e.kind == FIXED}
    above = {f: k for f in fixes if (k := _version_key(f)) is not None and (key is None or k > key)}
    # Each range sorted once, then each candidate is a binary search per range: an entry
    # (untrusted, up to 1 MiB) with thousands of events must not cost their square.
    ordered = [_ordered(events) for events in ranges]
    for fix, fix_key in sorted(above.items(), key=lambda item: (item[1], item[0])):
        if not any(_in_range(o, fix_key) for o in ordered):
            return fix
    return ""


def go_line_version(go: str) -> str:
    """Return the semantic version of a go.mod ``go`` line as the database writes the
    standard library's versions: "1.21" → "v1.21.0", "1.21.3" → "v1.21.3",
    "1.21rc2" → "v1.21.0-rc.2"; "" for "" or a line that is not a Go version.

    A go line names the oldest Go that may build the module, not the one that will: from
    1.21 on, "1.21" is the language version (older than 1.21rc1 for the go command) and is
    read here as its first release, v1.21.0; before 1.21, "1.20" meant the release 1.20.0.
    So stdlib findings say what the oldest allowed Go has. "1" is v1.0.0 (the tag go1).
    """
    v = gover.parse(go)
    if not v.major:
        return ""
    release = f"v{v.major}.{v.minor}.{v.patch or '0'}"
    if not v.kind:
        return release
    return f"{release}-{v.kind}.{v.pre}" if v.pre else f"{release}-{v.kind}"


def _ordered(events: tuple[Event, ...]) -> list[tuple[_Key, int, str]] | None:
    """Return a range's introduced/fixed events as (sort key, position, kind), sorted (a
    stable sort by version: equal versions keep their order), or None when the range has no
    events at all (it affects every version)."""
    if not events:
        return None
    return sorted((_event_key(e), i, e.kind) for i, e in enumerate(events)
                  if e.kind in (INTRODUCED, FIXED))


def _in_range(ordered: list[tuple[_Key, int, str]] | None, key: _Key) -> bool:
    """Tell whether the version of sort key ``key`` is in the range whose events are
    ``ordered`` (``_ordered``'s)."""
    if ordered is None:
        return True
    last = bisect_right(ordered, key, key=lambda item: item[0]) - 1  # last event <= version
    return last >= 0 and ordered[last][2] == INTRODUCED


def _event_key(event: Event) -> _Key:
    if event.kind == INTRODUCED and event.version == BEGINNING:
        return (0,)
    return _version_key("v" + event.version) or (1,)


@lru_cache(maxsize=8192)  # a scan asks for the same few versions thousands of times
def _version_key(version: str) -> _Key | None:
    """Return the sort key of a Go version, or None when it is not a semantic version."""
    p = semver.precedence(version)
    return None if p is None else (2, p)
