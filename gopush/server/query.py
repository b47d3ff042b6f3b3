"""The package list's query language: ``format:go name:^example.com/m$ version:v1``.

As Cloudsmith documents it (help.cloudsmith.io, "Searching / Filtering"):

- a query is terms separated by spaces, combined with ``AND`` unless ``OR`` stands between
  them (``AND`` binds tighter, as usual); ``NOT term`` or ``~term`` negates one term;
- a term is ``field:value``, or a bare value, which searches the name; a value holding spaces
  is quoted (``tag:"two words"``, single or double quotes);
- a value matches when the field *contains* it (for ``tag:``, any one of the package's tags),
  case-insensitively; ``^`` at its start and
  ``$`` at its end anchor it (``version:^v1.0.0$`` is exactly v1.0.0) and ``*`` stands for
  any run of characters (``version:v1.*rc``). Every other character is itself: ``+``, ``.``,
  ``(`` and ``[`` included, so ``version:v2.0.0+incompatible`` finds that version;
- ``version:>v1.2.0``, ``version:<v2``, ``version:~=v1.1.0`` compare semantic versions
  (``~=v1.1.0``: at least v1.1.0, below v1.2.0);
- ``uploaded:>"3 days ago"``, ``uploaded:<2026-01-31``, ``uploaded:>=2026-01-31T12:00:00Z``
  compare the upload time (a date is its midnight UTC; relative times count back from when
  the query is compiled; a date that cannot be read is an error, never an empty list);
  ``uploaded:2026-01`` without an operator is the text test above;
- ``size:>1000``, ``size:<=5000`` compare the zip's size in bytes;
- ``prerelease:true`` selects versions with a prerelease part (pseudo-versions included, as
  go orders them), ``prerelease:false`` the others;
- ``status:`` tests the status text (``Completed``, ``Sync Failed``...) and its keyword form
  (``status:in_progress`` finds "Sync In Progress");
- an unknown field matches nothing, so a typo never lists everything.

No value is ever read as a regular expression: matching is a left-to-right scan for the
literal pieces between ``*``s (at most len(query) x len(field) character steps).

The cost of one query is bounded: it is at most ``MAX_QUERY_CHARS`` long and holds at most
``MAX_QUERY_TERMS`` terms (Cloudsmith queries are a few terms: gopush sends three), each read
once when the query is compiled; a version comparison parses each package's version once per
query (``semver.precedence``), however many terms compare it. So a query costs at most
``MAX_QUERY_TERMS`` cheap tests per package, on the package's stored fields
(``package_json.search_fields``), before any JSON is built. How many queries run at once is
bounded where they run: ``Searches``, ``SEARCH_THREADS`` thread of their own (never the
thread pool uploads and downloads use), with at most ``SEARCH_WAITING`` more queued; beyond
that a search is refused (429 with Retry-After) at once, before any work. A running search
offers the GIL to the event loop every ``api_packages.YIELD_EVERY`` packages, so requests
meanwhile wait well under a millisecond for it, not a 5 ms switch interval.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from gopush.gosem import semver

Matcher = Callable[[dict[str, Any]], bool]
MAX_QUERY_CHARS = 1024  # far above the longest query a client needs (name + version terms)
MAX_QUERY_TERMS = 16  # field:value terms (AND, OR, NOT not counted); gopush sends three
SEARCH_THREADS = 1  # one CPU-bound thread: the event loop and uploads keep the GIL's other turns
SEARCH_WAITING = 32  # queued searches; a few ms each at 300 packages, so a wait stays short
_T = TypeVar("_T")
_FIELDS = {"name": "name", "version": "version", "filename": "filename", "format": "format",
           "tag": "tags", "status": "status_str", "checksum": "checksum_sha256",
           "uploaded": "uploaded_at", "size": "size", "prerelease": "version"}
_OPERATORS = ("~=", ">=", "<=", ">", "<")
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400,
          "month": 30 * 86400, "year": 365 * 86400}
_AGO = re.compile(r"(\d{1,6})\s*(second|minute|hour|day|week|month|year)s?\s+ago", re.ASCII)
_STORED_TIME = "%Y-%m-%dT%H:%M:%SZ"  # storage.now(): fixed width, so text order is time order
_QUOTES = "\"'\u2018\u2019\u201c\u201d"  # the docs quote with straight and typographic quotes


class QueryError(ValueError):
    """A query the language cannot read (too long, too many terms, or a quote left open)."""


class SearchesBusy(Exception):
    """``SEARCH_THREADS`` searches run and ``SEARCH_WAITING`` wait: try again shortly."""


class Searches:
    """Where package searches run: their own bounded executor, so however many clients
    search, at most ``threads`` threads compete for the CPU and the GIL, at most ``waiting``
    searches are queued, and the shared thread pool stays free for uploads."""

    def __init__(self, threads: int = SEARCH_THREADS, waiting: int = SEARCH_WAITING) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="gopush-search")
        self._room = threads + waiting
        self._held = 0
        self._lock = threading.Lock()  # taken on the event loop and in the pool's callbacks

    async def run(self, search: Callable[..., _T], *args: Any) -> _T:
        """Run ``search(*args)`` on the search thread and return its result.

        Raises:
            SearchesBusy: the queue is full (nothing was started).
        """
        with self._lock:
            if self._held >= self._room:
                raise SearchesBusy
            self._held += 1
        try:
            future = self._pool.submit(search, *args)
        except BaseException:
            self._release()
            raise
        # released when it ends, or is cancelled unstarted (its caller went away)
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _release(self, _: Future[Any] | None = None) -> None:
        with self._lock:
            self._held -= 1

    def close(self) -> None:
        """Cancel the queued searches; the running one finishes on its own."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def compile_query(text: str) -> Matcher:
    """Return a predicate over package objects for the query ``text`` ("" matches all).

    Raises:
        QueryError: the query is longer than MAX_QUERY_CHARS, holds more than
            MAX_QUERY_TERMS terms, or leaves a quote open.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"The query is {len(text)} characters long; at most "
                         f"{MAX_QUERY_CHARS} are allowed.")
    alternatives: list[list[Matcher]] = [[]]
    negate = False
    terms = 0
    versions = _Versions()  # each package's version parsed once for the whole query
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
        terms += 1
        if terms > MAX_QUERY_TERMS:
            raise QueryError(f"The query holds more than {MAX_QUERY_TERMS} terms; at most "
                             f"{MAX_QUERY_TERMS} are allowed.")
        term = _term(word, versions)
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


def _term(word: str, versions: _Versions) -> Matcher:
    field, sep, value = word.partition(":")
    if not sep:
        field, value = "name", word
    field = field.lower()
    key = _FIELDS.get(field)
    if key is None:
        return lambda package: False
    if field == "prerelease":
        return _prerelease(value, versions)
    compared = value[:1] in ("<", ">") or value.startswith("~=")
    if field == "version" and compared:
        compare = _version_compare(value, versions)
        return lambda package: compare(_text(package.get(key)))
    if field == "uploaded" and compared:
        op, bound = _operator(value, field)
        after = _when(bound)
        return lambda package: _ordered(op, _text(package.get(key)), after)
    if field == "size":
        op, bound = _operator(value if compared else "=" + value, field)
        if not bound.isdigit() or len(bound) > 20:
            raise QueryError(f"size: {bound!r} is not a whole number of bytes.")
        limit = int(bound)
        return lambda package: (isinstance(package.get(key), int)
                                and _ordered(op, package[key], limit))
    pattern = Pattern(value)
    if key == "tags":  # each tag on its own: tag:^rc$ is a tag that is exactly "rc"
        return lambda package: any(pattern.matches(tag) for tag in _tag_names(package.get(key)))
    if field == "status":  # "in_progress" is how Cloudsmith's docs write "In Progress"
        return lambda package: (pattern.matches(text := _text(package.get(key)))
                                or pattern.matches(text.replace(" ", "_")))
    return lambda package: pattern.matches(_text(package.get(key)))


def _operator(value: str, field: str) -> tuple[str, str]:
    """Split ``>=bound`` into (">=", "bound"); ``=`` is equality; ``~=`` only for versions."""
    op = next((op for op in (*_OPERATORS, "=") if value.startswith(op)), "")
    if op in ("", "~="):
        raise QueryError(f"{field}: compare with >, <, >= or <= (got {value!r}).")
    return op, value[len(op):].strip()


def _ordered(op: str, have: Any, bound: Any) -> bool:
    """Tell whether ``have op bound`` holds (``op`` one of > < >= <= =)."""
    if op == ">":
        return bool(have > bound)
    if op == "<":
        return bool(have < bound)
    if op == ">=":
        return bool(have >= bound)
    if op == "<=":
        return bool(have <= bound)
    return bool(have == bound)


def _when(text: str) -> str:
    """Return the time ``text`` names as stored upload times are written (UTC, to the second).

    Reads ``N unit(s) ago`` (second, minute, hour, day, week, month of 30 days, year of 365),
    ``today``, a date ``YYYY-MM-DD`` (its midnight UTC) and an ISO 8601 / RFC 3339 time
    (UTC when it names no offset).

    Raises:
        QueryError: none of these.
    """
    text = text.strip().lower()
    now = datetime.now(UTC).replace(microsecond=0)
    ago = _AGO.fullmatch(text)
    if ago:
        try:
            when = now - timedelta(seconds=int(ago.group(1)) * _UNITS[ago.group(2)])
        except OverflowError:
            raise QueryError(f"uploaded: the time {text!r} is out of range.") from None
    elif text == "today":
        when = now.replace(hour=0, minute=0, second=0)
    else:
        try:
            when = datetime.fromisoformat(text.upper())
        except ValueError:
            raise QueryError(f"uploaded: cannot read the time {text!r}; write a date "
                             "(2026-01-31), an RFC 3339 time (2026-01-31T12:00:00Z) or "
                             "'N days ago'.") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC).strftime(_STORED_TIME)
    except (OverflowError, ValueError):
        raise QueryError(f"uploaded: the time {text!r} is out of range.") from None


def _prerelease(value: str, versions: _Versions) -> Matcher:
    """``prerelease:true``/``false``: whether the version has a prerelease part (a
    pseudo-version has one); a package without a semantic version is neither."""
    wanted = value.strip().lower()
    if wanted not in ("true", "false"):
        raise QueryError(f"prerelease: write true or false (got {value!r}).")

    def test(package: dict[str, Any]) -> bool:
        version = _text(package.get("version"))
        if versions.get(version) is None:
            return False
        return bool(semver.prerelease(version)) == (wanted == "true")
    return test


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


class _Versions:
    """The precedence of each version a query compares, parsed once (None: not a version)."""

    def __init__(self) -> None:
        self._seen: dict[str, Any] = {}

    def get(self, version: str) -> Any:
        if version not in self._seen:
            self._seen[version] = semver.precedence(version)
        return self._seen[version]


def _version_compare(value: str, versions: _Versions) -> Callable[[str], bool]:
    """Return a semantic-version test for ``>v``, ``<v``, ``>=v``, ``<=v`` or ``~=v``; a
    package whose version is not a semantic version never passes."""
    op = next(op for op in _OPERATORS if value.startswith(op))
    wanted = _canonical(value[len(op):])
    if not wanted:
        return lambda version: False
    low = semver.precedence(wanted)
    if op == "~=":
        high = semver.precedence(_next_minor(wanted))
        return _remembered(lambda v: (p := versions.get(v)) is not None and low <= p < high)
    tests: dict[str, Callable[[Any], bool]] = {
        ">": lambda p: p > low, "<": lambda p: p < low, ">=": lambda p: p >= low,
        "<=": lambda p: p <= low}
    test = tests[op]
    return _remembered(lambda v: (p := versions.get(v)) is not None and test(p))


def _remembered(test: Callable[[str], bool]) -> Callable[[str], bool]:
    """Return ``test``, computed once per distinct version (many packages share one)."""
    seen: dict[str, bool] = {}

    def remembered(version: str) -> bool:
        found = seen.get(version)
        if found is None:
            found = seen[version] = test(version)
        return found
    return remembered


def _canonical(text: str) -> str:
    """Return ``text`` as a canonical Go version ("1.2" → "v1.2.0"), or "" if it is none."""
    return semver.canonical(text if text.startswith("v") else "v" + text)


def _next_minor(version: str) -> str:
    major, minor = semver.major_minor(version).removeprefix("v").split(".")
    return f"v{major}.{int(minor) + 1}.0"


def _tag_names(value: Any) -> list[str]:
    """Return every tag of a package object's ``tags`` ({"info": [...], ...})."""
    if not isinstance(value, dict):
        return []
    return [str(tag) for tags in value.values() for tag in tags]


def _text(value: Any) -> str:
    return "" if value is None else str(value)
