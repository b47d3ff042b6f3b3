"""gosem.semver against Go's semver test table and, for generated inputs, against x/mod itself."""

from __future__ import annotations

import itertools

import pytest
from goref import GoRef
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import versions

from gopush.gosem import semver

# (input, canonical form or "" when invalid), in ascending precedence: Go's semver_test table.
TABLE = [
    ("bad", ""), ("v1-alpha.beta.gamma", ""), ("v1-pre", ""), ("v1+meta", ""),
    ("v1-pre+meta", ""), ("v1.2-pre", ""), ("v1.2+meta", ""), ("v1.2-pre+meta", ""),
    ("v1.0.0-alpha", "v1.0.0-alpha"), ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
    ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"), ("v1.0.0-beta", "v1.0.0-beta"),
    ("v1.0.0-beta.2", "v1.0.0-beta.2"), ("v1.0.0-beta.11", "v1.0.0-beta.11"),
    ("v1.0.0-rc.1", "v1.0.0-rc.1"), ("v1", "v1.0.0"), ("v1.0", "v1.0.0"),
    ("v1.0.0", "v1.0.0"), ("v1.2", "v1.2.0"), ("v1.2.0", "v1.2.0"),
    ("v1.2.3-456", "v1.2.3-456"), ("v1.2.3-456.789", "v1.2.3-456.789"),
    ("v1.2.3-456-789", "v1.2.3-456-789"), ("v1.2.3-456a", "v1.2.3-456a"),
    ("v1.2.3-pre", "v1.2.3-pre"), ("v1.2.3-pre+meta", "v1.2.3-pre"),
    ("v1.2.3-pre.1", "v1.2.3-pre.1"), ("v1.2.3-zzz", "v1.2.3-zzz"), ("v1.2.3", "v1.2.3"),
    ("v1.2.3+meta", "v1.2.3"), ("v1.2.3+meta-pre", "v1.2.3"),
    ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
]


@pytest.mark.parametrize(("v", "want"), TABLE)
def test_canonical_and_is_valid(v: str, want: str) -> None:
    """canonical() fills in shorthands and drops build metadata; "" exactly when invalid."""
    assert semver.canonical(v) == want
    assert semver.is_valid(v) == (want != "")


@pytest.mark.parametrize(("v", "want"), [
    ("", False), ("1.2.3", False), ("V1.2.3", False), ("v01.2.3", False), ("v1.02.3", False),
    ("v1.2.03", False), ("v1.2.3-01", False), ("v1.2.3-", False), ("v1.2.3-a..b", False),
    ("v1.2.3+", False), ("v1.2.3+a..b", False), ("v1.2.3+01", True), ("v1.2.3-0a", True),
    ("v1.2.3.4", False), ("v1.2.3\n", False), ("v１.2.3", False), ("v1.2.3-é", False),
    ("v0.0.0", True), ("v1.2.3+incompatible", True),
])
def test_is_valid_edges(v: str, want: bool) -> None:
    """Leading zeros, empty identifiers, non-ASCII digits and trailing junk are invalid."""
    assert semver.is_valid(v) is want


@pytest.mark.parametrize(("v", "major", "major_minor", "pre", "build"), [
    ("v2.1.0", "v2", "v2.1", "", ""), ("v2", "v2", "v2.0", "", ""),
    ("v1.2.3-rc.1+meta", "v1", "v1.2", "-rc.1", "+meta"),
    ("v4.0.0+incompatible", "v4", "v4.0", "", "+incompatible"), ("bad", "", "", "", ""),
])
def test_parts(v: str, major: str, major_minor: str, pre: str, build: str) -> None:
    """major, major_minor, prerelease and build return the pieces Go's functions return."""
    assert (semver.major(v), semver.major_minor(v), semver.prerelease(v), semver.build(v)) == (
        major, major_minor, pre, build)


def test_compare_follows_table_order() -> None:
    """Versions later in the table compare higher; equal canonical forms compare equal."""
    for (i, (v, cv)), (j, (w, cw)) in itertools.product(enumerate(TABLE), repeat=2):
        want = 0 if cv == cw else (-1 if i < j else 1)
        assert semver.compare(v, w) == want, (v, w)


@pytest.mark.parametrize(("v", "w", "want"), [
    ("v1", "v1", 0), ("v2", "v1", 1), ("v1", "v2", -1), ("v1.19", "v1.2", 1),
    ("v10.0.0", "v9.0.0", 1), ("v1.0.0-2", "v1.0.0-10", -1), ("v1.0.0-a", "v1.0.0-10", 1),
    ("v1.0.0+a", "v1.0.0+b", 0), ("", "v0.0.0", -1), ("junk", "", 0),
    ("v99999999999999999999.0.0", "v99999999999999999998.0.0", 1),
])
def test_compare_pairs(v: str, w: str, want: int) -> None:
    """Numbers compare numerically at any length, build metadata is ignored, invalid is lowest."""
    assert semver.compare(v, w) == want


def test_sort_and_max() -> None:
    """sort_versions orders by precedence then string; max_version returns the top one as given."""
    vs = ["v1.10.0", "bad", "v1.2.0", "v1.2.0+meta", "v1.2.0-rc.1", "v1.2"]
    assert semver.sort_versions(vs) == ["bad", "v1.2.0-rc.1", "v1.2", "v1.2.0", "v1.2.0+meta",
                                        "v1.10.0"]
    assert semver.max_version(vs) == "v1.10.0"
    assert semver.max_version(["bad", ""]) == ""


@given(versions)
def test_agrees_with_go(goref: GoRef, v: str) -> None:
    """Every query function gives Go's answer for generated near-valid strings."""
    for op, ours in (("IsValid", str(semver.is_valid(v)).lower()),
                     ("Canonical", semver.canonical(v)), ("Major", semver.major(v)),
                     ("MajorMinor", semver.major_minor(v)),
                     ("Prerelease", semver.prerelease(v)), ("Build", semver.build(v))):
        assert goref.call("semver." + op, v)[0] == [ours], (op, v)


@given(versions, versions)
def test_compare_agrees_with_go(goref: GoRef, v: str, w: str) -> None:
    """compare gives Go's semver.Compare result."""
    assert goref.call("semver.Compare", v, w)[0] == [str(semver.compare(v, w))]


@given(versions)
def test_canonical_is_idempotent(v: str) -> None:
    """canonical(canonical(v)) == canonical(v), and the canonical form compares equal to v."""
    cv = semver.canonical(v)
    assert semver.canonical(cv) == cv
    assert semver.compare(v, cv) == 0


@settings(max_examples=60)
@given(st.lists(versions, min_size=3, max_size=3))
def test_compare_is_a_total_order(vs: list[str]) -> None:
    """compare is antisymmetric and transitive, so sorting is well defined."""
    a, b, c = vs
    assert semver.compare(a, b) == -semver.compare(b, a)
    if semver.compare(a, b) <= 0 and semver.compare(b, c) <= 0:
        assert semver.compare(a, c) <= 0
