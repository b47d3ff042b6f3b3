"""The package list's query language selects packages as Cloudsmith documents it."""

from __future__ import annotations

import pytest

from gopush.server.query import compile_query

PACKAGES = [
    {"name": "example.com/hello", "version": "v1.0.0", "format": "go", "filename": "v1.0.0.zip",
     "tags": {"info": ["ci"]}},
    {"name": "example.com/hello2", "version": "v1.0.0", "format": "go",
     "filename": "v1.0.0.zip", "tags": {}},
    {"name": "example.com/hello", "version": "v1.10.0", "format": "go",
     "filename": "v1.10.0.zip", "tags": {}},
]


@pytest.mark.parametrize(("query", "expected"), [
    ("", [0, 1, 2]),
    ("name:^example.com/hello$ version:^v1.0.0$", [0]),
    ("format:go name:example.com/hello version:v1.0.0", [0, 1]),
    ("name:^example.com/hello$ AND NOT version:^v1.0.0$", [2]),
    ("name:^example.com/hello$ ~version:v1.10", [0]),
    ("tag:ci", [0]),
    ("hello2", [1]),
    ("name:HELLO2", [1]),
    ("name:[unclosed", []),
    ("nosuchfield:x", []),
])
def test_query_selects(query: str, expected: list[int]) -> None:
    """Each query selects exactly the expected packages."""
    matches = compile_query(query)
    assert [i for i, p in enumerate(PACKAGES) if matches(p)] == expected
