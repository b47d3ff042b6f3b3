"""gosem.gover: Go toolchain versions from go lines, checked against Go's tables and go/version."""

from __future__ import annotations

import pytest
from goref import GoRef
from hypothesis import given
from hypothesis import strategies as st

from gopush.gosem import gover

# Go's internal/gover compareTests.
COMPARE = [
    ("", "", 0), ("x", "x", 0), ("", "x", 0), ("1", "1.1", -1), ("1.5", "1.6", -1),
    ("1.5", "1.10", -1), ("1.6", "1.6.1", -1), ("1.19", "1.19.0", 0), ("1.19rc1", "1.19", -1),
    ("1.20", "1.20.0", 0), ("1.20rc1", "1.20", -1), ("1.21", "1.21.0", -1),
    ("1.21", "1.21rc1", -1), ("1.21rc1", "1.21.0", -1), ("1.6", "1.19", -1),
    ("1.19", "1.19.1", -1), ("1.19rc1", "1.19.1", -1), ("1.19rc1", "1.19rc2", -1),
    ("1.19.0", "1.19.1", -1), ("1.19rc1", "1.19.0", -1), ("1.19alpha3", "1.19beta2", -1),
    ("1.19beta2", "1.19rc1", -1), ("1.1", "1.99999999999999998", -1),
    ("1.99999999999999998", "1.99999999999999999", -1),
    ("", "1.24", -1), ("1.24", "1.24", 0), ("1.23.9", "1.24", -1), ("1.24rc1", "1.24", 1),
]


@pytest.mark.parametrize(("x", "y", "want"), COMPARE)
def test_compare(x: str, y: str, want: int) -> None:
    """compare orders language versions, prereleases and releases as Go does, both ways."""
    assert gover.compare(x, y) == want
    assert gover.compare(y, x) == -want


@pytest.mark.parametrize(("x", "lang", "is_lang", "valid"), [
    ("1.2rc3", "1.2", False, True), ("1.2.3", "1.2", False, True), ("1.2", "1.2", False, True),
    ("1", "1", False, True), ("1.999testmod", "1.999", False, True), ("1.22", "1.22", True, True),
    ("1.21", "1.21", True, True), ("1.20", "1.20", False, True), ("1.0", "1", False, True),
    ("1.21rc", "1.21", False, True), ("", "", False, False), ("1.021", "", False, False),
    ("v1.21", "", False, False), ("1.21.0.0", "", False, False), ("1.21.0rc1", "", False, False),
    ("1.2-pre", "", False, False),
])
def test_lang_is_lang_is_valid(x: str, lang: str, is_lang: bool, valid: bool) -> None:
    """lang drops patch and prerelease; is_lang only for 1.21+ language versions."""
    assert (gover.lang(x), gover.is_lang(x), gover.is_valid(x)) == (lang, is_lang, valid)


@pytest.mark.parametrize(("name", "want"), [
    ("go1.21.3", "1.21.3"), ("go1.21.3-custom", "1.21.3"), ("go1.22rc1 X", "1.22rc1"),
    ("default", ""), ("go1.x", ""), ("go1.21/../x", ""), ("1.21", ""),
])
def test_from_toolchain(name: str, want: str) -> None:
    """Toolchain names lose the go prefix and any custom suffix."""
    assert gover.from_toolchain(name) == want


def test_max_version() -> None:
    """max_version returns the newer version, the first on a tie."""
    assert gover.max_version("1.21", "1.21.0") == "1.21.0"
    assert gover.max_version("1.20", "1.20.0") == "1.20"


go_versions = st.one_of(
    st.builds(lambda a, b, c: a + b + c, st.sampled_from(["1", "2", "0", "01"]),
              st.sampled_from(["", ".0", ".20", ".21", ".24", ".9", ".021"]),
              st.sampled_from(["", ".0", ".1", "rc1", "rc", "beta2", "alpha", "rc01", ".1rc1"])),
    st.text("0123456789.rcabt", max_size=8),  # no "-": go/version would cut there
)


@given(go_versions, go_versions)
def test_agrees_with_go_version(goref: GoRef, x: str, y: str) -> None:
    """compare, is_valid and lang match go/version (which adds a go prefix)."""
    assert goref.call("version.Compare", "go" + x, "go" + y)[0] == [str(gover.compare(x, y))]
    assert goref.call("version.IsValid", "go" + x)[0] == [str(gover.is_valid(x)).lower()]
    go_lang = goref.call("version.Lang", "go" + x)[0][0]
    assert go_lang == ("go" + gover.lang(x) if gover.lang(x) else "")


@given(st.lists(go_versions, min_size=3, max_size=3))
def test_compare_is_a_total_order(vs: list[str]) -> None:
    """compare is antisymmetric and transitive."""
    a, b, c = vs
    assert gover.compare(a, b) == -gover.compare(b, a)
    if gover.compare(a, b) <= 0 and gover.compare(b, c) <= 0:
        assert gover.compare(a, c) <= 0
