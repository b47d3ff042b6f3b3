"""Hypothesis strategies for gosem inputs: near-valid strings, so both branches get exercised."""

from __future__ import annotations

from hypothesis import strategies as st

# Characters unassigned in Python's Unicode tables are left out: Go's tables are newer, so
# quoting and letter tests for them differ by design (see gopush.gosem.goquote).
assigned_text = st.text(st.characters(exclude_categories=["Cn", "Cs"]), max_size=10)


def _numbers() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["0", "1", "2", "9", "10", "00", "01", "123"]),
                     st.integers(0, 10**20).map(str))


def _idents() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["alpha", "beta", "rc", "0", "1", "01", "x-y", "", "-"]),
                     st.text("0123456789abzAZ-", max_size=4))


def _dotted(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(parts, min_size=1, max_size=4).map(".".join)


@st.composite
def _structured_versions(draw: st.DrawFn) -> str:
    nums = draw(st.lists(_numbers(), min_size=1, max_size=3))
    v = "v" + ".".join(nums)
    if draw(st.booleans()):
        v += "-" + draw(_dotted(_idents()))
    if draw(st.booleans()):
        v += "+" + draw(st.one_of(st.just("incompatible"), _dotted(_idents())))
    return v


versions = st.one_of(_structured_versions(), st.text("v0123456789.-+aZ", max_size=16),
                     assigned_text)


_PATH_ALPHABET = "abcxyzXY019.-_~+/!@ :é\\v"
_ELEMENTS = st.sampled_from(["example.com", "gopkg.in", "v2", "v1", "v0", "v2.0", "v02", "con",
                             "COM1.txt", "PROGRA~1", "a~b", ".git", "..", "x.v3",
                             "yaml.v1-unstable", "-x", "Foo", "ö"])

paths = st.one_of(
    st.text(_PATH_ALPHABET, max_size=20),
    st.lists(st.one_of(_ELEMENTS, st.text(_PATH_ALPHABET.replace("/", ""), max_size=6)),
             min_size=1, max_size=4).map("/".join),
    assigned_text,
)

_WORD = st.text("abcxyzXYZ0189-_~", min_size=1, max_size=6)
_DOMAIN = st.lists(st.text("abcxyz019-", min_size=1, max_size=5), min_size=2, max_size=3).map(
    ".".join)

module_paths = st.builds(
    lambda domain, rest, suffix: "/".join([domain, *rest]) + suffix,
    _DOMAIN,
    st.lists(st.lists(_WORD, min_size=1, max_size=2).map(".".join), max_size=3),
    st.sampled_from(["", "", "/v2", "/v10"]),
)
