"""gosem.pseudo: building, recognizing and taking apart pseudo-versions, as x/mod does."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from goref import GoRef
from hypothesis import given
from hypothesis import strategies as st
from strategies import versions

from gopush.errors import InvalidVersion
from gopush.gosem import pseudo

T = datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)
REV = "abcdefabcdef"

# (major, older tag, pseudo-version, base): the three forms, with build metadata carried.
FORMS = [
    ("", "", "v0.0.0-20060102150405-abcdefabcdef", ""),
    ("v0", "", "v0.0.0-20060102150405-abcdefabcdef", ""),
    ("v1", "", "v1.0.0-20060102150405-abcdefabcdef", ""),
    ("v2", "", "v2.0.0-20060102150405-abcdefabcdef", ""),
    ("", "v1.2.3", "v1.2.4-0.20060102150405-abcdefabcdef", "v1.2.3"),
    ("", "v1.2.9", "v1.2.10-0.20060102150405-abcdefabcdef", "v1.2.9"),
    ("", "v1.2.99999999999999999999",
     "v1.2.100000000000000000000-0.20060102150405-abcdefabcdef", "v1.2.99999999999999999999"),
    ("", "v1.2.3-pre", "v1.2.3-pre.0.20060102150405-abcdefabcdef", "v1.2.3-pre"),
    ("", "v1.3.0", "v1.3.1-0.20060102150405-abcdefabcdef", "v1.3.0"),
    ("v2", "v2.0.0", "v2.0.1-0.20060102150405-abcdefabcdef", "v2.0.0"),
    ("v3", "v3.0.0-rc1", "v3.0.0-rc1.0.20060102150405-abcdefabcdef", "v3.0.0-rc1"),
    ("", "v4.1.2+incompatible", "v4.1.3-0.20060102150405-abcdefabcdef+incompatible",
     "v4.1.2+incompatible"),
    ("", "v4.0.0-pre+incompatible", "v4.0.0-pre.0.20060102150405-abcdefabcdef+incompatible",
     "v4.0.0-pre+incompatible"),
    ("", "v1.2", "v1.2.1-0.20060102150405-abcdefabcdef", "v1.2.0"),
]


@pytest.mark.parametrize(("major", "older", "version", "base"), FORMS)
def test_forms(major: str, older: str, version: str, base: str) -> None:
    """Each form is built as Go builds it, recognized, and taken apart again."""
    assert pseudo.pseudo_version(major, older, T, REV) == version
    assert pseudo.is_pseudo_version(version)
    assert pseudo.pseudo_version_base(version) == base
    assert pseudo.pseudo_version_time(version) == T
    assert pseudo.pseudo_version_rev(version) == REV


def test_time_is_converted_to_utc() -> None:
    """A time in another zone is written in UTC; a naive time is taken as UTC."""
    east = T.astimezone(timezone(timedelta(hours=5)))
    assert pseudo.pseudo_version("", "", east, REV) == pseudo.pseudo_version("", "", T, REV)
    naive = T.replace(tzinfo=None)
    assert pseudo.pseudo_version("", "", naive, REV) == pseudo.pseudo_version("", "", T, REV)


@pytest.mark.parametrize(("v", "want"), [
    ("v1.2.3", False), ("v1.2.3-pre", False), ("v0.0.0-20060102150405", False),
    ("v0.0.0-2006010215040-abcdef", False), ("v1.2.3-20060102150405-abcdef", False),
    ("v1.2.3-0.20060102150405-abcdef", True), ("v1.2.3-pre.1.20060102150405-abcdef", False),
    ("v1.2.3-x.0.20060102150405-abcdef+meta", True), ("v0.0.0-20060102150405-", False),
    ("v0.0.0-20060102150405-abc_def", False), ("v01.0.0-20060102150405-abcdef", False),
])
def test_is_pseudo_version(v: str, want: bool) -> None:
    """Only the three shapes count, and the whole string must be a valid version."""
    assert pseudo.is_pseudo_version(v) is want


def test_zero_pseudo_version() -> None:
    """The zero pseudo-version has the zero time and revision, per major version."""
    assert pseudo.zero_pseudo_version("") == "v0.0.0-00010101000000-000000000000"
    assert pseudo.zero_pseudo_version("v2") == "v2.0.0-00010101000000-000000000000"
    assert pseudo.is_zero_pseudo_version("v2.0.0-00010101000000-000000000000")
    assert not pseudo.is_zero_pseudo_version("v2.0.0-00010101000000-000000000001")


@pytest.mark.parametrize(("v", "message"), [
    ("v1.2.3", 'pseudo-version "v1.2.3" invalid: syntax error'),
    ("v1.0.0-20061302150405-abcdefabcdef",
     ('pseudo-version "v1.0.0-20061302150405-abcdefabcdef" invalid: malformed time '
     '"20061302150405"')),
])
def test_time_errors(v: str, message: str) -> None:
    """Non-pseudo-versions and impossible time stamps raise InvalidVersion with Go's text."""
    with pytest.raises(InvalidVersion) as err:
        pseudo.pseudo_version_time(v)
    assert err.value.message == message


@pytest.mark.parametrize(("v", "reason"), [
    ("v1.0.0-20060102150405-abcdefabcdef+incompatible",
     'lacks base version, but has build metadata "+incompatible"'),
    ("v1.2.0-0.20060102150405-abcdefabcdef",
     "version before v1.2.0 would have negative patch number"),
])
def test_base_errors(v: str, reason: str) -> None:
    """Nonsensical pseudo-versions have no base, as in Go."""
    with pytest.raises(InvalidVersion, match=re.escape(reason)):
        pseudo.pseudo_version_base(v)


times = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31),
                     timezones=st.just(UTC))
revs = st.sampled_from([REV, "0123456789ab", "abc", "a" * 40])
olders = st.one_of(versions, st.sampled_from(["", "v1.2.3", "v2.0.0-rc.1+incompatible"]))


@given(st.sampled_from(["", "v0", "v1", "v2", "v17"]), olders, times, revs)
def test_build_agrees_with_go(goref: GoRef, major: str, older: str, t: datetime,
                              rev: str) -> None:
    """pseudo_version equals module.PseudoVersion, and what it builds parses back."""
    built = pseudo.pseudo_version(major, older, t, rev)
    seconds = str(int(t.replace(microsecond=0).timestamp()))
    assert goref.call("module.PseudoVersion", major, older, seconds, rev)[0] == [built]
    if pseudo.is_pseudo_version(built):
        assert pseudo.pseudo_version_time(built) == t.replace(microsecond=0)
        assert pseudo.pseudo_version_rev(built) == rev


@given(st.sampled_from(["", "v2"]), olders,
       st.one_of(st.integers(min_value=0, max_value=1 << 40),
                 st.integers(min_value=253402300700, max_value=253402300900)), revs)
def test_build_from_seconds_agrees_with_go(goref: GoRef, major: str, older: str, seconds: int,
                                           rev: str) -> None:
    """From Unix seconds, past 9999-12-31 too (go writes the longer year, and the result is
    no pseudo-version), pseudo_version equals module.PseudoVersion."""
    built = pseudo.pseudo_version(major, older, seconds, rev)
    assert goref.call("module.PseudoVersion", major, older, str(seconds), rev)[0] == [built]
    if seconds > pseudo.MAX_TIME_SECONDS:
        assert not pseudo.is_pseudo_version(built)


pseudo_like = st.one_of(
    versions,
    st.builds(lambda b, d, r, s: f"{b}{d}-{r}{s}",
              st.sampled_from(["v0.0.0-", "v1.2.4-0.", "v1.2.0-0.", "v1.0.0-pre.0.", "v2.0.0-"]),
              st.sampled_from(["20060102150405", "20061302150405", "00000101000000",
                               "20240229235959", "20230229000000", "00010101000000"]),
              st.sampled_from([REV, "x", "000000000000"]),
              st.sampled_from(["", "+incompatible", "+meta.1"])),
)


@given(pseudo_like)
def test_parse_agrees_with_go(goref: GoRef, v: str) -> None:
    """Recognition, base, time and revision agree with x/mod, errors included."""
    assert goref.call("module.IsPseudoVersion", v)[0] == [str(pseudo.is_pseudo_version(v)).lower()]
    assert goref.call("module.IsZeroPseudoVersion", v)[0] == [
        str(pseudo.is_zero_pseudo_version(v)).lower()]
    for op, func in (("PseudoVersionBase", pseudo.pseudo_version_base),
                     ("PseudoVersionRev", pseudo.pseudo_version_rev),
                     ("PseudoVersionTime", _rfc3339_time)):
        (out,), go_error = goref.call("module." + op, v)
        try:
            assert func(v) == out and not go_error
        except InvalidVersion as err:
            assert err.message == go_error or "00000101" in v  # year 0: see pseudo_version_time


def _rfc3339_time(v: str) -> str:
    return pseudo.pseudo_version_time(v).isoformat().replace("+00:00", "Z")
