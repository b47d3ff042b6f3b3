"""vuln.match: OSV SEMVER ranges over Go's versions, against a brute-force reading.

The property tests build every version from its parts (release numbers, prerelease
identifiers, pseudo-version forms, build metadata) and compute its precedence from those
parts here, by SemVer 2.0.0's rule written out as tuples: the expected answers never go
through ``gosem.semver``. The reading of the events is the OSV schema's "Evaluation"
pseudo-code: walk every event in sorted order (ties in the entry's order, ``introduced: "0"``
first) and set vulnerable when the version is at or above an ``introduced``, clear it when at
or above a ``fixed``; plus Go's rules for a range with no events and an entry with no ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from gopush.vuln.match import affects, first_fixed, go_line_version
from gopush.vuln.osv import Event

# ---- versions built from parts, with their precedence computed from the parts ----------

Key = tuple  # (0,) introduced "0"; (1,) not a semantic version; (2, major, minor, patch, pre)


@dataclass(frozen=True)
class Version:
    text: str  # Go's form, "v1.2.3-rc.1+incompatible"
    key: Key

    @property
    def osv(self) -> str:
        return self.text[1:]


def _pre_key(idents: tuple[str, ...]) -> tuple:
    """SemVer 11.4: no prerelease above any; numeric identifiers below alphanumeric ones,
    numbers numerically, text in ASCII order; a longer list above its prefix."""
    if not idents:
        return (1,)
    return (0, tuple((0, int(i)) if i.isdigit() else (1, i) for i in idents))


def _version(major: int, minor: int, patch: int, pre: tuple[str, ...], build: str,
             short: int = 3) -> Version:
    nums = [major, minor, patch][:short]
    text = "v" + ".".join(map(str, nums))
    if pre:
        text += "-" + ".".join(pre)
    text += build
    return Version(text, (2, major, minor, patch, _pre_key(pre)))


_IDENTS = st.sampled_from(["0", "1", "2", "10", "alpha", "beta", "rc", "rc1", "x-y", "-"])
_TIMES = st.sampled_from(["20190101000000", "20220906165146", "20230101000000"])
_REVS = st.sampled_from(["abcdefabcdef", "f3363e06e74c"])
_NUMS = st.integers(0, 3)


@st.composite
def versions(draw: st.DrawFn) -> Version:
    """A release, a prerelease, or one of the three pseudo-version forms; sometimes with
    +incompatible or other build metadata, sometimes a vX / vX.Y shorthand."""
    major, minor, patch = draw(_NUMS), draw(_NUMS), draw(_NUMS)
    build = draw(st.sampled_from(["", "", "", "+incompatible", "+meta.1"]))
    form = draw(st.sampled_from(["release", "pre", "pseudo0", "pseudo-release", "pseudo-pre",
                                 "short"]))
    stamp = f"{draw(_TIMES)}-{draw(_REVS)}"
    if form == "short":
        short = draw(st.sampled_from([1, 2]))
        return _version(major, minor if short == 2 else 0, 0, (), "", short)
    if form == "pre":
        return _version(major, minor, patch, tuple(draw(st.lists(_IDENTS, min_size=1,
                                                                  max_size=3))), build)
    if form == "pseudo0":  # vX.0.0-yyyymmddhhmmss-abcdefabcdef: no tag before it
        return _version(major, 0, 0, (stamp,), build)
    if form == "pseudo-release":  # vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef: after the tag vX.Y.Z
        return _version(major, minor, patch, ("0", stamp), build)
    if form == "pseudo-pre":  # vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef: after vX.Y.Z-pre
        pre = tuple(draw(st.lists(_IDENTS, min_size=1, max_size=2)))
        return _version(major, minor, patch, (*pre, "0", stamp), build)
    return _version(major, minor, patch, (), build)


INVALID = [Version("v", (1,)), Version("vx.y", (1,)), Version("v1.02.3", (1,))]


@st.composite
def events(draw: st.DrawFn) -> tuple[Event, Key]:
    """One event with the sort key of its version: mostly introduced/fixed at a generated
    version, sometimes introduced "0", fixed "0" (which is v0, not "the beginning"), a
    version that is not semantic, or a kind the Go database does not write."""
    kind = draw(st.sampled_from(["introduced", "fixed", "introduced", "fixed", "last_affected"]))
    choice = draw(st.integers(0, 9))
    if choice == 0:
        v = Version("v0", (2, 0, 0, 0, (1,)))
    else:
        v = draw(st.sampled_from(INVALID)) if choice == 1 else draw(versions())
    if kind == "introduced" and v.osv == "0":  # also a generated shorthand v0
        return Event(kind, "0"), (0,)
    return Event(kind, v.osv), v.key


ranges = st.lists(st.lists(events(), max_size=6), max_size=3)
queried = st.one_of(versions(), versions(), versions(), st.sampled_from(INVALID))


def brute_affects(rs: list[list[tuple[Event, Key]]], v: Version) -> bool:
    """The OSV schema's pseudo-code, with Go's rules for missing ranges and events."""
    if v.key[0] != 2:
        return False  # not a semantic version: nothing is known
    if not rs:
        return True
    for r in rs:
        if not r:
            return True
        vulnerable = False
        for _pos, (e, key) in sorted(enumerate(r), key=lambda p: (p[1][1], p[0])):
            if e.kind == "introduced" and v.key >= key:
                vulnerable = True
            elif e.kind == "fixed" and v.key >= key:
                vulnerable = False
        if vulnerable:
            return True
    return False


def brute_first_fixed(rs: list[list[tuple[Event, Key]]], v: Version) -> str:
    """Every valid fixed version above v, lowest first (ties: string order); the first that
    the brute force finds unaffected."""
    fixes = {("v" + e.version, key) for r in rs for e, key in r
             if e.kind == "fixed" and key[0] == 2 and (v.key[0] != 2 or key > v.key)}
    for text, key in sorted(fixes, key=lambda f: (f[1], f[0])):
        if not brute_affects(rs, Version(text, key)):
            return text
    return ""


def _plain(rs: list[list[tuple[Event, Key]]]) -> tuple[tuple[Event, ...], ...]:
    return tuple(tuple(e for e, _ in r) for r in rs)


@settings(max_examples=3000)
@given(ranges, queried)
def test_affects_equals_brute_force(rs: list[list[tuple[Event, Key]]], v: Version) -> None:
    expected = brute_affects(rs, v)
    event(f"affected: {expected}")
    assert affects(_plain(rs), v.text) == expected


@settings(max_examples=2000)
@given(ranges, queried)
def test_first_fixed_equals_brute_force(rs: list[list[tuple[Event, Key]]], v: Version) -> None:
    expected = brute_first_fixed(rs, v)
    event(f"a fix: {bool(expected)}")
    assert first_fixed(_plain(rs), v.text) == expected


@settings(max_examples=1000)
@given(st.lists(versions(), min_size=2, max_size=2))
def test_generated_precedence_is_gosems(vs: list[Version]) -> None:
    """The parts-computed keys and gosem.semver agree (so a failure above is about ranges)."""
    from gopush.gosem import semver

    a, b = vs
    assert semver.compare(a.text, b.text) == (a.key > b.key) - (a.key < b.key)


# ---- facts from real advisories (golang/vulndb data/osv) --------------------------------

def ev(*pairs: str) -> tuple[Event, ...]:
    """ev("i", "0", "f", "1.2.3") → introduced 0, fixed 1.2.3."""
    kinds = {"i": "introduced", "f": "fixed"}
    return tuple(Event(kinds[k], v) for k, v in zip(pairs[::2], pairs[1::2], strict=True))


# GO-2022-0969 (CVE-2022-27664), stdlib: [0, 1.18.6) and [1.19.0-0, 1.19.1)
STDLIB_0969 = (ev("i", "0", "f", "1.18.6", "i", "1.19.0-0", "f", "1.19.1"),)
# GO-2022-0969, golang.org/x/net: [0, v0.0.0-20220906165146-f3363e06e74c)
XNET_0969 = (ev("i", "0", "f", "0.0.0-20220906165146-f3363e06e74c"),)


@pytest.mark.parametrize(("ranges_", "version", "affected", "fixed"), [
    (STDLIB_0969, "v1.18.5", True, "v1.18.6"),
    (STDLIB_0969, "v1.18.6", False, "v1.19.1"),  # the fix itself is not affected
    (STDLIB_0969, "v1.19.0-rc.1", True, "v1.19.1"),  # 1.19.0-0 is below every 1.19 prerelease
    (STDLIB_0969, "v1.19.0", True, "v1.19.1"),
    (STDLIB_0969, "v1.19.1", False, ""),
    (STDLIB_0969, "v1.20.0", False, ""),
    (XNET_0969, "v0.0.0-20220805012838-04ec6d6a5ef8", True, "v0.0.0-20220906165146-f3363e06e74c"),
    (XNET_0969, "v0.0.0-20220906165146-f3363e06e74c", False, ""),
    (XNET_0969, "v0.1.0", False, ""),  # a tagged release is above every v0.0.0 pseudo-version
    # introduced "0" is below v0.0.0's pseudo-versions, which sort below v0.0.0 itself
    (XNET_0969, "v0.0.0-00010101000000-000000000000", True,
     "v0.0.0-20220906165146-f3363e06e74c"),
    # GO-2020-0017 github.com/dgrijalva/jwt-go: introduced 0.21.0, no fix ever:
    # +incompatible is build metadata, so v3.2.0+incompatible is v3.2.0
    ((ev("i", "0.21.0"),), "v3.2.0+incompatible", True, ""),
    ((ev("i", "0.21.0"),), "v0.20.0", False, ""),
    ((), "v1.0.0", True, ""),  # no ranges: every version
    (((),), "v1.0.0", True, ""),  # a range with no events: every version (Go's reading)
    (STDLIB_0969, "1.18.5", False, "v1.18.6"),  # no v: not a Go version, affected by nothing
    (STDLIB_0969, "", False, "v1.18.6"),
])
def test_real_ranges(ranges_: tuple[tuple[Event, ...], ...], version: str, affected: bool,
                     fixed: str) -> None:
    assert affects(ranges_, version) is affected
    assert first_fixed(ranges_, version) == fixed


def test_first_fixed_skips_a_fix_another_range_reaffects() -> None:
    # govulncheck's own example: {[1.0.0, 1.5.0), [2.0.0, 2.1.0)}, {[1.4.0, 1.6.0)} -> 2.1.0
    rs = (ev("i", "1.0.0", "f", "1.5.0", "i", "2.0.0", "f", "2.1.0"), ev("i", "1.4.0", "f", "1.6.0"))
    assert first_fixed(rs, "v1.0.0") == "v1.6.0"
    rs = (ev("i", "1.0.0", "f", "1.5.0"), ev("i", "1.4.0", "f", "1.6.0"))
    assert first_fixed(rs, "v1.4.5") == "v1.6.0"


def test_events_of_equal_precedence_keep_their_order() -> None:
    # Go sorts stably: the later of two equal events decides (never written by the database)
    assert affects((ev("i", "1.0.0", "f", "1.0.0+x"),), "v1.0.0") is False
    assert affects((ev("f", "1.0.0+x", "i", "1.0.0"),), "v1.0.0") is True


@pytest.mark.parametrize(("go", "version"), [
    ("1.21", "v1.21.0"),  # the language version, read as its first release
    ("1.21.0", "v1.21.0"),
    ("1.21.3", "v1.21.3"),
    ("1.21rc2", "v1.21.0-rc.2"),  # as vuln.go.dev writes the release candidates
    ("1.22beta1", "v1.22.0-beta.1"),
    ("1.20", "v1.20.0"),  # before 1.21, 1.N meant the release 1.N.0
    ("1.19", "v1.19.0"),
    ("1.16", "v1.16.0"),
    ("1", "v1.0.0"),
    ("", ""),
    ("go1.21", ""),
    ("1.21-foo", ""),
    ("v1.21.0", ""),
    ("1.021", ""),
])
def test_go_line_version(go: str, version: str) -> None:
    assert go_line_version(go) == version


@example("1.21rc2")
@given(st.from_regex(r"1\.(0|[1-9][0-9]?)(\.(0|[1-9][0-9]?)|(alpha|beta|rc)[1-9])?", fullmatch=True))
def test_go_line_version_orders_as_the_database(go: str) -> None:
    """Every go line maps to a valid semantic version; 1.19.0-0 (the database's "every 1.19
    prerelease") is at or below every 1.19 line, and 1.19.1 above 1.19 and its rcs."""
    from gopush.gosem import semver

    v = go_line_version(go)
    assert semver.is_valid(v)
    if go.startswith("1.19") and "." not in go[4:]:
        assert semver.compare("v1.19.0-0", v) <= 0 < semver.compare("v1.19.1", v)


def test_first_fixed_sorts_each_range_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry of many events (untrusted: 1 MiB holds some 40,000) whose every fix is
    re-affected by a second range: each event is read once, not once per candidate fix
    (20,000 pairs took hours, 2,000 took 43 s); the answer is the brute force's."""
    from gopush.vuln import match

    n = 300
    stepped = tuple(Event(k, f"0.{i}.{j}") for i in range(n)
                    for k, j in (("introduced", 0), ("fixed", 1)))
    forever = (Event("introduced", "0"),)
    read = []
    key = match._event_key
    monkeypatch.setattr(match, "_event_key", lambda e: read.append(e) or key(e))
    assert first_fixed((stepped, forever), "v0.0.0") == ""
    assert len(read) <= len(stepped) + len(forever)
    read.clear()
    assert first_fixed((stepped,), "v0.5.0") == "v0.5.1"
    assert affects((stepped,), "v0.299.0") and not affects((stepped,), "v0.299.1")
