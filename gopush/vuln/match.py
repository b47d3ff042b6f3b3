"""Which versions an OSV SEMVER range affects, as the Go team reads the events (pure).

A range's events, sorted by version, are read as half-open intervals: a version is affected
when the last event at or below it is an ``introduced`` (``fixed`` ends the interval, and a
version equal to a ``fixed`` is not affected). "0" is below every version. Versions are
Go's semantic versions (``v`` prefixed here): prereleases, ``+incompatible`` and
pseudo-versions compare as ``gosem.semver`` compares them. A version with no ``fixed``
after its ``introduced`` stays affected.
"""

from __future__ import annotations

from gopush.vuln.osv import Event


def affects(ranges: tuple[tuple[Event, ...], ...], version: str) -> bool:
    """Tell whether ``version`` (a Go version, ``v1.2.3``) is in any of ``ranges``.

    An empty ``ranges`` affects every version (the OSV rule for a missing range).
    """
    raise NotImplementedError


def first_fixed(ranges: tuple[tuple[Event, ...], ...], version: str) -> str:
    """Return the lowest ``fixed`` above ``version`` that leaves it unaffected (``v``
    prefixed), or "" when no release fixes it."""
    raise NotImplementedError


def go_line_version(go: str) -> str:
    """Return the semantic version of a go.mod ``go`` line as the database writes the
    standard library's versions: "1.21" → "v1.21.0", "1.21.3" → "v1.21.3",
    "1.21rc2" → "v1.21.0-rc.2"; "" for "" or a line that is not a Go version."""
    raise NotImplementedError
