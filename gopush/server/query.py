"""The package list's query language: ``name:^example.com/m$ version:v1 format:go``.

As Cloudsmith documents it: space-separated terms, combined with AND (``AND`` may be
written; ``NOT term`` and a leading ``~`` negate a term). A term ``field:value`` matches when
the value, read as a case-insensitive regular expression (``^``/``$`` anchor it), is found in
the field; a value that is not a valid regular expression matches as plain text. A bare word
searches the name. Unknown fields match nothing, so a typo never lists everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Matcher = Callable[[dict[str, Any]], bool]
_FIELDS = {"name": "name", "version": "version", "filename": "filename", "format": "format",
           "tag": "tags", "status": "status_str", "checksum": "checksum_sha256"}


def compile_query(text: str) -> Matcher:
    """Return a predicate over package objects for the query ``text`` ("" matches all)."""
    matchers: list[Matcher] = []
    negate = False
    for word in text.split():
        if word.upper() == "AND":
            continue
        if word.upper() == "NOT":
            negate = True
            continue
        if word.startswith("~"):
            negate, word = True, word[1:]
        matchers.append(_negated(_term(word)) if negate else _term(word))
        negate = False
    return lambda package: all(m(package) for m in matchers)


def _negated(matcher: Matcher) -> Matcher:
    return lambda package: not matcher(package)


def _term(word: str) -> Matcher:
    field, sep, value = word.partition(":")
    if not sep:
        field, value = "name", word
    key = _FIELDS.get(field.lower())
    if key is None:
        return lambda package: False
    pattern = _pattern(value)
    return lambda package: pattern(_text(package.get(key)))


def _pattern(value: str) -> Callable[[str], bool]:
    try:
        regex = re.compile(value, re.IGNORECASE)
    except (re.error, RecursionError):  # not a regex (or nested too deep for Python's parser)
        lowered = value.lower()
        return lambda text: lowered in text.lower()
    return lambda text: regex.search(text) is not None


def _text(value: Any) -> str:
    if isinstance(value, dict):  # tags: {"info": [...]}
        return " ".join(" ".join(v) for v in value.values())
    return "" if value is None else str(value)
