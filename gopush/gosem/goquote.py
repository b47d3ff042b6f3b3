"""Quoting strings and runes the way Go's ``%q`` does, so error texts match the go command's.

Go quotes with ``strconv.Quote``/``strconv.QuoteRune``: printable runes stay as they are (Go's
printable set is letters, marks, numbers, punctuation, symbols and the ASCII space, which is
also what Python's ``str.isprintable`` accepts), the quote character and backslash get a
backslash, the seven C escapes (``\\a \\b \\f \\n \\r \\t \\v``) are used where they apply, other
runes below U+0080 become ``\\xHH``, and the rest ``\\uHHHH`` or ``\\UHHHHHHHH``. Bytes that are not
valid UTF-8 (which reach us as ``surrogateescape`` code points U+DC80..U+DCFF) become ``\\xHH``
of the original byte, as Go prints them.

Python 3.11 knows Unicode 14; the go command may know a newer Unicode. For characters assigned
only in the newer tables, Go prints them as they are where we escape them.
"""

from __future__ import annotations

_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
              "\v": "\\v"}


def quote(s: str) -> str:
    """Return ``s`` in double quotes, escaped as Go's ``strconv.Quote`` does."""
    return '"' + "".join(_escape(c, '"') for c in s) + '"'


def quote_rune(c: str) -> str:
    """Return the single character ``c`` in single quotes, as Go's ``strconv.QuoteRune``."""
    return "'" + _escape(c, "'") + "'"


def _escape(c: str, quote_char: str) -> str:
    if c == quote_char or c == "\\":
        return "\\" + c
    if "\udc80" <= c <= "\udcff":  # an undecodable byte carried by surrogateescape
        return f"\\x{ord(c) - 0xDC00:02x}"
    if c.isprintable():
        return c
    if c in _C_ESCAPES:
        return _C_ESCAPES[c]
    code = ord(c)
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate is not a valid rune: Go prints U+FFFD
        return "\\ufffd"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
