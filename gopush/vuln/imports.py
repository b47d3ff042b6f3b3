"""The import paths a Go source file declares, without parsing the rest of it (pure).

Reads the package clause and the import declarations that follow it (single and grouped,
named, dot and blank imports, interpreted and raw string literals, comments anywhere between
tokens), and stops at the first other declaration. Build constraints are ignored: every file
counts. A file that is not valid up to its imports yields the imports read before the error.

The rules, in our words (the Go spec's lexical elements, go/scanner, go/parser in its
``ImportsOnly`` mode, and go/build's ``isValidImport``):

- Source is UTF-8; a byte order mark may open the file. ``//`` comments run to the end of
  the line, ``/* */`` comments to their close; both act as white space.
- Semicolons end the package clause, each import declaration and each import spec of a
  group. They may be written, and are inserted at a newline (or the end of the file) after
  an identifier, a string literal or a ``)``: newlines inside comments count. In a group the
  semicolon before the closing ``)`` may be left out.
- ``SourceFile = "package" name ";" { "import" ( spec | "(" { spec ";" } ")" ) ";" } ...``
  with ``spec = [ name | "." ] path``. Names are identifiers (a letter or ``_``, then letters,
  digits and ``_``; letters as Go's ``unicode.IsLetter``, digits as Unicode's Nd by the
  interpreter's tables); keywords
  are not names. ``_`` is a name (the blank import).
- A path is an interpreted string (``"..."``: no newline; escapes ``\\a \\b \\f \\n \\r \\t \\v
  \\\\ \\"``, three octal digits, ``\\x`` two hex digits, ``\\u`` four, ``\\U`` eight, a valid
  code point) or a raw string (between back quotes, carriage returns dropped). go/build
  refuses a path that is empty, not valid UTF-8, or holds a rune that is not graphic, is a
  space, or is one of ``!"#$%&'()*,:;<=>?[\\]^{|}`` and the back quote.

Only the first ``MAX_SOURCE_BYTES`` are read; the work is linear in them (regular expressions
over the text, identifiers included). A longer file whose header does not end within them
(no declaration after its imports: megabytes of comment first, or of imports) yields
``UNREAD`` as well, so the caller can count its imports as unknown rather than as none:
such a file compiles, and must not hide an import from the audit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from gopush.gosem.gounicode import is_print

MAX_SOURCE_BYTES = 8 << 20  # more than any real file's import block; the rest is not read
UNREAD = "(unread)"  # not an import path (go/build refuses parentheses): imports past the cap
# Import specs read per file: real files hold tens (the most in client-go, golang/tools and
# opentelemetry-go: 170, gopls' staticcheck.go); each
# costs some microseconds here, so 8 MiB of specs (1.4 million) took 7 s a file. Past the
# cap the rest is unknown (UNREAD), as past MAX_SOURCE_BYTES.
MAX_IMPORTS = 10_000

KEYWORDS = frozenset([
    "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough",
    "for", "func", "go", "goto", "if", "import", "interface", "map", "package", "range",
    "return", "select", "struct", "switch", "type", "var"])
BOM = "\ufeff"
ILLEGAL_IN_PATH = frozenset("!\"#$%&'()*,:;<=>?[\\]^{|}`\ufffd")

_SPACE = re.compile(r"(?:[ \t\r\n]+|//[^\n]*|/\*.*?\*/)*", re.DOTALL)
_INTERPRETED = re.compile(r'"((?:[^"\\\n]++|\\[^\n])*+)"')  # possessive: no backtracking
_RAW = re.compile(r"`([^`]*)`")
_ESCAPE = re.compile(r"\\(?:([0-7]{3})|x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})"
                     r"|([abfnrtv\\\"]))|\\")
_SIMPLE_ESCAPES = {"a": b"\a", "b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t",
                   "v": b"\v", "\\": b"\\", '"': b'"'}

# token kinds
IDENT, KEYWORD, STRING, SEMI, DOT, LPAREN, RPAREN, EOF, OTHER = (
    "ident", "keyword", "string", ";", ".", "(", ")", "eof", "other")


class _Stop(Exception):
    """The source is not valid here: keep what was read before."""


def go_imports(source: bytes) -> tuple[str, ...]:
    """Return the import paths of one .go file, in order, without duplicates; plus
    ``UNREAD`` when some were not read: ``source`` is longer than ``MAX_SOURCE_BYTES`` and
    its header does not end within them (pass at least one byte more than the cap to let
    it tell), or it declares more than ``MAX_IMPORTS``."""
    text = source[:MAX_SOURCE_BYTES].decode("utf-8", "surrogateescape")
    paths: list[str] = []
    ended = False
    try:
        ended = _read_header(_tokens(text.removeprefix(BOM)), paths)
    except _Stop:
        pass
    if len(paths) > MAX_IMPORTS or (len(source) > MAX_SOURCE_BYTES and not ended):
        paths[MAX_IMPORTS:] = [UNREAD]
    return tuple(dict.fromkeys(paths))


def _read_header(tokens: Iterator[tuple[str, str]], paths: list[str]) -> bool:
    """Read ``package name;`` then every import declaration, appending their paths; return
    whether a declaration (a keyword: ``func``, ``var``...) ended them, rather than the end
    of the text."""
    _expect(tokens, KEYWORD, "package")
    _expect(tokens, IDENT)
    _expect(tokens, SEMI)
    while (token := next(tokens)) == (KEYWORD, "import"):
        if len(paths) > MAX_IMPORTS:
            raise _Stop  # the rest is not read (go_imports says so)
        kind, value = next(tokens)
        if kind != LPAREN:
            paths.append(_spec(tokens, kind, value))
            _expect(tokens, SEMI)
            continue
        kind, value = next(tokens)
        while kind != RPAREN and len(paths) <= MAX_IMPORTS:
            paths.append(_spec(tokens, kind, value))
            kind, value = next(tokens)
            if kind == SEMI:
                kind, value = next(tokens)
            elif kind != RPAREN:
                raise _Stop
        _expect(tokens, SEMI)
    return token[0] == KEYWORD


def _spec(tokens: Iterator[tuple[str, str]], kind: str, value: str) -> str:
    """Read ``[name | "."] path`` whose first token is ``kind, value``; return the path."""
    if kind in (IDENT, DOT):
        kind, value = next(tokens)
    if kind != STRING or not _valid_path(value):
        raise _Stop
    return value


def _expect(tokens: Iterator[tuple[str, str]], kind: str, value: str | None = None) -> None:
    got_kind, got_value = next(tokens)
    if got_kind != kind or (value is not None and got_value != value):
        raise _Stop


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """Yield ``(kind, value)``, semicolons inserted as Go's scanner does, then EOF for ever.

    An unterminated ``/*`` comment is not white space: it reads as an OTHER token (Go: "comment
    not terminated"). ``_Stop`` (from the string readers) on a malformed literal.
    """
    pos, insert_semi = 0, False
    while True:
        space = _SPACE.match(text, pos)
        assert space is not None  # every alternative is optional: it matches at any position
        newline, pos = "\n" in space.group(), space.end()
        if insert_semi and (newline or pos == len(text)):
            insert_semi = False
            yield SEMI, "\n"
            continue
        if pos == len(text):
            yield EOF, ""
            continue
        kind, value, pos = _token(text, pos)
        insert_semi = kind in (IDENT, STRING, RPAREN)
        yield kind, value


def _token(text: str, pos: int) -> tuple[str, str, int]:
    """Read the token at ``pos`` (not white space): its kind, value and end."""
    c = text[pos]
    if c == '"':
        return _interpreted(text, pos)
    if c == "`":
        m = _RAW.match(text, pos)
        if m is None:
            raise _Stop
        return STRING, m.group(1).replace("\r", ""), m.end()
    if c in "();.":  # a "." starting ".5" or "..." is not an import's dot, but what
        return c, c, pos + 1  # follows it is no path, so the header ends there all the same
    end = _ident_end(text, pos)
    if end == pos:
        return OTHER, c, pos + 1
    word = text[pos:end]
    return (KEYWORD if word in KEYWORDS else IDENT), word, end


def _ident_end(text: str, pos: int) -> int:
    """Return where the identifier at ``pos`` ends (``pos`` when none starts there)."""
    m = _identifier().match(text, pos)
    return pos if m is None else m.end()


@functools.cache
def _identifier() -> re.Pattern[str]:
    """The identifier pattern: its letters from gosem's copy of Go's ``unicode.IsLetter``
    table (one character class, so that the scan runs in the regular expression engine)."""
    from gopush.gosem.unicodetables import LETTER_BOUNDS

    runs = zip(LETTER_BOUNDS[::2], LETTER_BOUNDS[1::2], strict=True)
    letter = "_" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b - 1))}" for a, b in runs)
    return re.compile(f"[{letter}][{letter}\\d]*")  # \d: Unicode's Nd, as unicode.IsDigit


def _interpreted(text: str, pos: int) -> tuple[str, str, int]:
    """Read the interpreted string literal at ``pos``: its value decoded as UTF-8 (a path
    that is not valid UTF-8 holds U+FFFD, which no import path may)."""
    m = _INTERPRETED.match(text, pos)
    if m is None:
        raise _Stop  # a newline or the end of the file before the closing quote
    out = bytearray()
    body, at = m.group(1), 0
    for esc in _ESCAPE.finditer(body):
        out += body[at:esc.start()].encode("utf-8", "surrogateescape")
        out += _unescape(esc)
        at = esc.end()
    out += body[at:].encode("utf-8", "surrogateescape")
    return STRING, out.decode("utf-8", "replace"), m.end()


def _unescape(esc: re.Match[str]) -> bytes:
    octal, hex2, hex4, hex8, simple = esc.groups()
    if simple:
        return _SIMPLE_ESCAPES[simple]
    if octal or hex2:
        value = int(octal, 8) if octal else int(hex2, 16)
        if value > 255:
            raise _Stop
        return bytes([value])
    if hex4 or hex8:
        code = int(hex4 or hex8, 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise _Stop
        return chr(code).encode()
    raise _Stop  # an unknown escape, such as \' or \q


def _valid_path(path: str) -> bool:
    """go/build's isValidImport: graphic runes only, no space, none of the illegal ones."""
    return bool(path) and all(is_print(c) and c != " " and c not in ILLEGAL_IN_PATH
                              and not "\ud800" <= c <= "\udfff" for c in path)
