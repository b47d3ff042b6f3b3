"""The package list's query language selects packages as Cloudsmith documents it."""

from __future__ import annotations

import pytest

from gopush.server.query import MAX_QUERY_CHARS, QueryError, compile_query

PACKAGES = [
    {"name": "example.com/hello", "version": "v1.0.0", "format": "go", "filename": "v1.0.0.zip",
     "tags": {"info": ["ci"]}},
    {"name": "example.com/hello2", "version": "v1.0.0", "format": "go",
     "filename": "v1.0.0.zip", "tags": {}},
    {"name": "example.com/hello", "version": "v1.10.0", "format": "go",
     "filename": "v1.10.0.zip", "tags": {}},
    {"name": "example.com/old", "version": "v2.0.0+incompatible", "format": "go",
     "filename": "v2.0.0+incompatible.zip", "tags": {"info": ["two words"]}},
]


@pytest.mark.parametrize(("query", "expected"), [
    ("", [0, 1, 2, 3]),
    ("name:^example.com/hello$ version:^v1.0.0$", [0]),
    ("format:go name:example.com/hello version:v1.0.0", [0, 1]),
    ("name:^example.com/hello$ AND NOT version:^v1.0.0$", [2]),
    ("name:^example.com/hello$ ~version:v1.10", [0]),
    ("tag:ci", [0]),
    ("tag:^two words$", []),  # unquoted: "tag:^two" and a bare "words$"
    ('tag:"^two words$"', [3]),
    ("tag:^ci$", [0]),
    ("hello2", [1]),
    ("name:HELLO2", [1]),
    ("name:[unclosed", []),
    ("nosuchfield:x", []),
    ("version:v2.0.0+incompatible", [3]),  # '+' is a character, not a quantifier
    ("version:^v2.0.0+incompatible$", [3]),
    ("version:0+i", [3]),
    ("name:(a+)+!", []),  # no regular expressions: plain text that nothing holds
    ("name:example.com/h*o$ version:^v1.*0$", [0, 2]),
    ("name:^*hello2", [1]),
    ("name:hello2 OR version:v1.10", [1, 2]),
    ("name:hello2 OR NOT name:hello", [1, 3]),
    ('tag:"two words"', [3]),
    ("tag:\u201ctwo words\u201d", [3]),
    ("version:>v1.0.0", [2, 3]),
    ("version:<v1.10", [0, 1]),
    ("version:~=v1.0.0", [0, 1]),
    ("version:>not-a-version", []),
    ("name:^$", []),
])
def test_query_selects(query: str, expected: list[int]) -> None:
    """Each query selects exactly the expected packages."""
    matches = compile_query(query)
    assert [i for i, p in enumerate(PACKAGES) if matches(p)] == expected


@pytest.mark.parametrize("query", ['tag:"open', "a" * (MAX_QUERY_CHARS + 1)])
def test_unreadable_queries_are_refused(query: str) -> None:
    """A quote left open, or a query past the length limit, is an error naming it."""
    with pytest.raises(QueryError):
        compile_query(query)


DATED = [
    {"name": "example.com/a", "version": "v1.0.0", "uploaded_at": "2026-01-10T08:00:00Z",
     "size": 900, "status_str": "Completed"},
    {"name": "example.com/a", "version": "v1.1.0-rc.1", "uploaded_at": "2026-02-01T00:00:00Z",
     "size": 5000, "status_str": "Sync In Progress"},
    {"name": "example.com/a", "version": "v0.0.0-20260101000000-abcdefabcdef",
     "uploaded_at": "2999-01-01T00:00:00Z", "size": None, "status_str": "Sync Failed"},
    {"name": "example.com/b", "version": None, "uploaded_at": "2026-02-01T00:00:01Z",
     "size": 10, "status_str": "Sync Failed"},
]


@pytest.mark.parametrize(("query", "expected"), [
    ("uploaded:>2026-01-31", [1, 2, 3]),
    ("uploaded:<2026-02-01", [0]),
    ("uploaded:<=2026-02-01T00:00:00Z", [0, 1]),
    ("uploaded:>=2026-02-01T01:00:00+01:00", [1, 2, 3]),
    ('uploaded:>"1 day ago"', [2]),
    ("uploaded:<'2 weeks ago'", [0, 1, 3]),
    ("uploaded:2026-02", [1, 3]),  # no operator: the text test
    ("size:>1000", [1]),
    ("size:<=900", [0, 3]),
    ("size:10", [3]),
    ("prerelease:true", [1, 2]),
    ("prerelease:FALSE", [0]),
    ("status:in_progress", [1]),
    ("status:failed", [2, 3]),
    ("status:^completed$", [0]),
    ("name:example.com/a prerelease:false OR size:<100", [0, 3]),
])
def test_dates_sizes_prereleases_and_status(query: str, expected: list[int]) -> None:
    """uploaded, size, prerelease and status terms select as Cloudsmith documents them."""
    matches = compile_query(query)
    assert [i for i, p in enumerate(DATED) if matches(p)] == expected


@pytest.mark.parametrize(("query", "named"), [
    ("uploaded:>yesterday-ish", "cannot read the time"),
    ('uploaded:>"999999 years ago"', "out of range"),
    ("uploaded:>10000-01-01", "cannot read the time"),
    ("uploaded:~=2026-01-01", "compare with"),
    ("size:>big", "whole number"),
    ("size:>" + "9" * 21, "whole number"),
    ("prerelease:maybe", "true or false"),
])
def test_unreadable_comparisons_are_refused(query: str, named: str) -> None:
    """A date, size or flag that cannot be read is an error naming it, never an empty list."""
    with pytest.raises(QueryError, match=named):
        compile_query(query)
