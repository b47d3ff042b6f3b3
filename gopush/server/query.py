"""The package list's query language: ``format:go name:^example.com/m$ version:v1``.

As Cloudsmith documents it (help.cloudsmith.io, "Searching / Filtering"):

- a query is terms separated by spaces, combined with ``AND`` unless ``OR`` stands between
  them (``AND`` binds tighter, as usual); ``NOT term`` or ``~term`` negates one term;
- a term is ``field:value``, or a bare value, which searches the name; a value holding spaces
  is quoted (``tag:"two words"``, single or double quotes);
- a value matches when the field *contains* it, case-insensitively; ``^`` at its start and
  ``$`` at its end anchor it (``version:^v1.0.0$`` is exactly v1.0.0) and ``*`` stands for
  any run of characters (``version:v1.*rc``). Every other character is itself: ``+``, ``.``,
  ``(`` and ``[`` included, so ``version:v2.0.0+incompatible`` finds that version;
- ``version:>v1.2.0``, ``version:<v2``, ``version:~=v1.1.0`` compare semantic versions
  (``~=v1.1.0``: at least v1.1.0, below v1.2.0);
- an unknown field matches nothing, so a typo never lists everything.

No value is ever read as a regular expression: matching is a left-to-right scan for the
literal pieces between ``*``s (at most len(query) x len(field) character steps), and a query
is at most ``MAX_QUERY_CHARS`` long, so no query can make the server work for long.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gopush.gosem import semver

Matcher = Callable[[dict[str, Any]], bool]
MAX_QUERY_CHARS = 1024  # far above the longest query a client needs (name + version terms)
_FIELDS = {"name": "name", "version": "version", "filename": "filename", "format": "format",
           "tag": "tags", "status": "status_str", "checksum": "checksum_sha256"}
_QUOTES = "\"'\u2018\u2019\u201c\u201d"  # the docs quote with straight and typographic quotes


class QueryError(ValueError):
    """A query the language cannot read (too long, or a quote left open)."""


def compile_query(text: str) -> Matcher:
    """Return a predicate over package objects for the query ``text`` ("" matches all).

    Raises:
        QueryError: the query is longer than MAX_QUERY_CHARS or leaves a quote open.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"The query is {len(text)} characters long; at most "
                         f"{MAX_QUERY_CHARS} are allowed.")
    alternatives: list[list[Matcher]] = [[]]
    negate = False
    for word in _words(text):
        if word.upper() == "AND":
            continue
        if word.upper() == "OR":
            alternatives.append([])
            continue
        if word.upper() == "NOT":
            negate = not negate
            continue
        if word.startswith("~") and not word.startswith("~="):
            negate, word = not negate, word[1:]
        term = _term(word)
        alternatives[-1].append(_negated(term) if negate else term)
        negate = False
    groups = [group for group in alternatives if group] or [[]]
    return lambda package: any(all(m(package) for m in group) for group in groups)


def _words(text: str) -> list[str]:
    """Split ``text`` at spaces outside quotes; quotes are dropped (``a:"b c"`` → ``a:b c``)."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    started = False
    for char in text:
        if quote:
            if char == quote or (quote in "\u2018\u201c" and char in "\u2019\u201d"):
                quote = ""
            else:
                current.append(char)
        elif char in _QUOTES:
            quote, started = char, True
        elif char.isspace():
            if started:
                words.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
    if quote:
        raise QueryError("The query leaves a quote open.")
    if started:
        words.append("".join(current))
    return words


def _negated(matcher: Matcher) -> Matcher:
    return lambda package: not matcher(package)


def _term(word: str) -> Matcher:
    field, sep, value = word.partition(":")
    if not sep:
        field, value = "name", word
    key = _FIELDS.get(field.lower())
    if key is None:
        return lambda package: False
    if key == "version" and (value[:1] in ("<", ">") or value.startswith("~=")):
        compare = _version_compare(value)
        return lambda package: compare(_text(package.get(key)))
    pattern = Pattern(value)
    return lambda package: pattern.matches(_text(package.get(key)))


class Pattern:
    """A value of the query language: literal text, ``*`` wildcards, ``^``/``$`` anchors."""

    def __init__(self, value: str) -> None:
        self.start = value.startswith("^")
        self.end = value.endswith("$") and len(value) > int(self.start)
        body = value[int(self.start): len(value) - int(self.end)]
        self.pieces = body.lower().split("*")

    def matches(self, text: str) -> bool:
        """Tell whether ``text`` holds the pieces in order (each ``*`` spans any run).

        Taking each piece at its leftmost place is never wrong: a later piece then has the
        most room left, so no other choice is ever tried again (no backtracking).
        """
        text = text.lower()
        first, last = self.pieces[0], self.pieces[-1]
        if self.start and not text.startswith(first):
            return False
        pos = len(first) if self.start else 0
        middle = self.pieces[int(self.start): len(self.pieces) - int(self.end)]
        for piece in middle:
            found = text.find(piece, pos)
            if found < 0:
                return False
            pos = found + len(piece)
        if self.end:
            tail = len(self.pieces) == 1 and self.start
            return text == first if tail else (text.endswith(last) and
                                               len(text) - len(last) >= pos)
        return True


def _version_compare(value: str) -> Callable[[str], bool]:
    """Return a semantic-version test for ``>v``, ``<v``, ``>=v``, ``<=v`` or ``~=v``."""
    op = next(op for op in ("~=", ">=", "<=", ">", "<") if value.startswith(op))
    wanted = _canonical(value[len(op):])
    if not wanted:
        return lambda version: False
    if op == "~=":
        upper = _next_minor(wanted)
        return lambda v: semver.compare(v, wanted) >= 0 and semver.compare(v, upper) < 0
    tests = {">": lambda c: c > 0, "<": lambda c: c < 0, ">=": lambda c: c >= 0,
             "<=": lambda c: c <= 0}
    test = tests[op]
    return lambda v: semver.is_valid(v) and test(semver.compare(v, wanted))


def _canonical(text: str) -> str:
    """Return ``text`` as a canonical Go version ("1.2" → "v1.2.0"), or "" if it is none."""
    return semver.canonical(text if text.startswith("v") else "v" + text)


def _next_minor(version: str) -> str:
    major, minor = semver.major_minor(version).removeprefix("v").split(".")
    return f"v{major}.{int(minor) + 1}.0"


def _text(value: Any) -> str:
    if isinstance(value, dict):  # tags: {"info": [...]}
        return " ".join(" ".join(v) for v in value.values())
    return "" if value is None else str(value)
