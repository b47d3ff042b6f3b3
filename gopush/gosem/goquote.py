"""Quoting strings and runes the way Go's ``%q`` does, so error texts match the go command's.

Go quotes with ``strconv.Quote``/``strconv.QuoteRune``: printable runes stay as they are (Go's
printable set is letters, marks, numbers, punctuation, symbols and the ASCII space, by the
Unicode tables of the go release: ``gounicode.is_print``), the quote character and backslash
get a backslash, the seven C escapes (``\\a \\b \\f \\n \\r \\t \\v``) are used where they
apply, other runes below U+0080 become ``\\xHH``, and the rest ``\\uHHHH`` or ``\\UHHHHHHHH``.
Bytes that are not valid UTF-8 (which reach us as ``surrogateescape`` code points
U+DC80..U+DCFF) become ``\\xHH`` of the original byte, as Go prints them.
"""

from __future__ import annotations

from gopush.gosem.gounicode import is_print

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
    if is_print(c):
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


# Go's unicode.IsSpace set, used by strings.TrimSpace and strings.Fields. (Python's str.isspace
# also counts U+001C..U+001F, which Go does not.)
GO_SPACE = ("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
            "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_SIMPLE_UNESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92,
                     '"': 34}
_HEX_WIDTH = {"x": 2, "u": 4, "U": 8}


def printable(s: str) -> str:
    """Return ``s`` with each undecodable byte (a surrogateescape character) shown as U+FFFD,
    so that a message quoting raw file content can always be printed."""
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in s)


def trim_space(s: str) -> str:
    """Return ``s`` without leading and trailing white space, as Go's ``strings.TrimSpace``."""
    return s.strip(GO_SPACE)


def fields(s: str) -> list[str]:
    """Split ``s`` around runs of white space, as Go's ``strings.Fields``."""
    out: list[str] = []
    word: list[str] = []
    for c in s + " ":
        if c in GO_SPACE:
            if word:
                out.append("".join(word))
                word = []
        else:
            word.append(c)
    return out


def unquote(s: str) -> str | None:
    """Return the value of the Go string literal ``s`` ("..." or `...`), None if malformed.

    Follows ``strconv.Unquote``: raw strings drop carriage returns; interpreted strings take
    Go's escapes (``\\n``, ``\\xHH``, ``\\ooo``, ``\\uHHHH``, ``\\UHHHHHHHH`` ...) and may not hold a
    newline or an unescaped quote. Bytes that are not UTF-8 become U+FFFD unless the literal
    is plain valid text; ``\\x`` and octal escapes may produce any byte (as surrogateescape).
    """
    if len(s) < 2 or s[0] != s[-1] or s[0] not in "\"`":
        return None
    body = s[1:-1]
    if s[0] == "`":
        return None if "`" in body else body.replace("\r", "")
    if "\n" in body:
        return None
    if "\\" not in body and '"' not in body and not _has_bad_utf8(body):
        return body
    out = _unescape(body)
    return None if out is None else out.decode("utf-8", "surrogateescape")


def _has_bad_utf8(s: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in s)


def _unescape(body: str) -> bytes | None:
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c == '"':
            return None
        if c != "\\":
            out += "\ufffd".encode() if _has_bad_utf8(c) else c.encode()
            i += 1
            continue
        consumed = _unescape_one(body, i + 1, out)
        if consumed is None:
            return None
        i += 1 + consumed
    return bytes(out)


def _unescape_one(body: str, i: int, out: bytearray) -> int | None:
    """Append the value of the escape starting after the backslash at ``body[i]``; return the
    number of characters it used, or None if it is not a valid escape."""
    if i >= len(body):
        return None
    c = body[i]
    if c in _SIMPLE_UNESCAPES:
        out.append(_SIMPLE_UNESCAPES[c])
        return 1
    if c in _HEX_WIDTH:
        digits = body[i + 1: i + 1 + _HEX_WIDTH[c]]
        if len(digits) < _HEX_WIDTH[c] or any(d not in "0123456789abcdefABCDEF" for d in digits):
            return None
        value = int(digits, 16)
        if c == "x":
            out.append(value)
        elif value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            return None
        else:
            out += chr(value).encode()
        return 1 + len(digits)
    digits = body[i: i + 3]
    if len(digits) < 3 or any(d not in "01234567" for d in digits) or int(digits, 8) > 255:
        return None
    out.append(int(digits, 8))
    return 3
