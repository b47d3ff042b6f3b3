"""The go.mod lexer (x/mod modfile/read.go): characters in, tokens out.

Spaces, tabs and carriage returns separate tokens. Tokens are the newline, the punctuation
``( ) [ ] { } ,``, strings in double quotes (backslash escapes) or back quotes (one line
either way), ``//`` comments (whole-line ``COMMENT`` or end-of-line ``EOL_COMMENT``, both
swallowing their newline) and identifiers: runs of any other characters printable by Go's
Unicode tables (``gounicode.is_print``; Python's are older). ``/*`` is refused. Errors read
``go.mod:LINE:COL: message`` (column left out when it is 1). Positions count characters;
bytes that are not UTF-8 arrive as surrogateescape characters, count as one column each and
act as identifier characters, as Go's U+FFFD replacement does.
"""

from __future__ import annotations

from typing import NamedTuple

from gopush.errors import GoModError
from gopush.gosem.goquote import printable, quote_rune, trim_space
from gopush.gosem.gounicode import is_print

EOF, EOL_COMMENT, IDENT, STRING, COMMENT = "EOF", "EOL_COMMENT", "IDENT", "STRING", "COMMENT"
_PUNCTUATION = "\n()[]{},"
_NOT_IDENT = " ()[]{},"


class Pos(NamedTuple):
    """A position: 1-based line, 1-based column in characters, 0-based character offset.

    (The offset is not called ``index``: that would hide the tuple's ``index`` method.)
    """

    line: int
    col: int
    offset: int

    def after(self, text: str) -> Pos:
        """Return the position just after ``text`` (no newlines) placed here."""
        return Pos(self.line, self.col + len(text), self.offset + len(text))


class Token(NamedTuple):
    """A lexed token: kind (a constant above, or the punctuation character), text, span."""

    kind: str
    text: str
    pos: Pos
    end: Pos


def syntax_error(filename: str, pos: Pos, message: str) -> GoModError:
    """Return the error for ``message`` at ``pos``, formatted as Go's ``modfile.Error``."""
    where = f"{filename}:{pos.line}:{pos.col}" if pos.col > 1 else f"{filename}:{pos.line}"
    return GoModError(printable(f"{where}: {message}"), data={"file": filename, "line": pos.line})


def is_ident(c: str) -> bool:
    """Report whether ``c`` may be part of an identifier token."""
    if c in _NOT_IDENT or not c:
        return False
    return is_print(c) or "\udc80" <= c <= "\udcff"  # undecodable bytes act as U+FFFD


class Lexer:
    """Go's modfile lexer: one token of lookahead, position just after it."""

    def __init__(self, filename: str, text: str) -> None:
        self.filename, self.text = filename, text
        self.i, self.line, self.col = 0, 1, 1
        self.suffix_comments: list[Token] = []
        self.tok = self._read()

    @property
    def pos(self) -> Pos:
        return Pos(self.line, self.col, self.i)

    def error(self, message: str, pos: Pos | None = None) -> GoModError:
        return syntax_error(self.filename, pos or self.pos, message)

    def peek(self) -> str:
        return self.tok.kind

    def lex(self) -> Token:
        tok, self.tok = self.tok, self._read()
        return tok

    def _char(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def _advance(self) -> str:
        c = self.text[self.i]
        self.i += 1
        self.line, self.col = (self.line + 1, 1) if c == "\n" else (self.line, self.col + 1)
        return c

    def _token(self, kind: str, start: Pos) -> Token:
        text = self.text[start.offset: self.i]
        if kind in (COMMENT, EOL_COMMENT):  # a comment token loses its line ending
            text = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
        return Token(kind, text, start, self.pos)

    def _read(self) -> Token:
        while self._char() in (" ", "\t", "\r"):
            self._advance()
        start, c = self.pos, self._char()
        if self.text.startswith("//", self.i):
            return self._comment(start)
        if self.text.startswith("/*", self.i):
            raise self.error("mod files must use // comments (not /* */ comments)")
        if not c:
            return Token(EOF, "", start, start)
        if c in _PUNCTUATION:
            self._advance()
            return self._token(c, start)
        if c in "\"`":
            return self._string(start, c)
        if not is_ident(c):
            raise self.error(f"unexpected input character {quote_rune(c)}")
        return self._ident(start)

    def _comment(self, start: Pos) -> Token:
        line_start = self.text.rfind("\n", 0, self.i) + 1
        suffix = trim_space(self.text[line_start: self.i]) != ""
        while self._char() and self._advance() != "\n":
            pass
        tok = self._token(EOL_COMMENT if suffix else COMMENT, start)
        if suffix:
            self.suffix_comments.append(tok)
        return tok

    def _string(self, start: Pos, quote: str) -> Token:
        self._advance()
        while True:
            c = self._char()
            if not c:
                raise self.error("unexpected EOF in string", start)
            if c == "\n":
                raise self.error("unexpected newline in string")
            self._advance()
            if c == quote:
                return self._token(STRING, start)
            if c == "\\" and quote != "`":
                if not self._char():
                    raise self.error("unexpected EOF in string", start)
                self._advance()

    def _ident(self, start: Pos) -> Token:
        while is_ident(self._char()):
            if self.text.startswith("//", self.i):
                break
            if self.text.startswith("/*", self.i):
                raise self.error("mod files must use // comments (not /* */ comments)")
            self._advance()
        return self._token(IDENT, start)


def is_eol(kind: str) -> bool:
    """Report whether a token of ``kind`` ends a statement line."""
    return kind in (EOF, EOL_COMMENT, "\n")
