"""Go's answers to "is this rune a letter" and "is this rune printable", by Go's Unicode tables.

golang.org/x/mod/module allows a non-ASCII rune in a file path when ``unicode.IsLetter`` says
it is a letter (``fileNameOK``); Go's ``%q`` leaves a rune unescaped, and x/mod's go.mod lexer
takes it into an identifier, when ``strconv.IsPrint`` (the same set as ``unicode.IsPrint``)
says it is printable. Both follow the Unicode version of the go release
(go1.27: Unicode 17), which is newer than the interpreter's (Python 3.11: Unicode 14), so
``str.isalpha`` and ``str.isprintable``, though defined over the same general categories,
refuse runes Go accepts (13,916 letters and 15,097 printable runes between those versions).
The tables live in ``unicodetables.py``, generated from the go it names by
``scripts/gen_unicode_tables.py``; they are loaded at the first non-ASCII rune asked about.
"""

from __future__ import annotations


def is_letter(c: str) -> bool:
    """Report whether the one-character ``c`` is a letter by Go's ``unicode.IsLetter``."""
    if c < "\x80":
        return "a" <= c <= "z" or "A" <= c <= "Z"
    return _in_table("LETTER_BOUNDS", c)


def is_print(c: str) -> bool:
    """Report whether the one-character ``c`` is printable by Go's ``strconv.IsPrint``."""
    if c < "\x80":
        return " " <= c <= "~"
    return _in_table("PRINT_BOUNDS", c)


def _in_table(name: str, c: str) -> bool:
    """Report whether ``c`` is in the table ``unicodetables.<name>`` (imported here, at the
    first non-ASCII rune: most module paths and file names have none)."""
    from bisect import bisect_right

    from gopush.gosem import unicodetables

    return bisect_right(getattr(unicodetables, name), ord(c)) % 2 == 1
