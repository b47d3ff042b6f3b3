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
