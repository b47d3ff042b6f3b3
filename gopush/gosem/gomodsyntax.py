"""The go.mod syntax: tokens, lines, ``( ... )`` blocks and comments (x/mod modfile/read.go).

The rule, in our words:

- A go.mod file is a sequence of lines. Spaces, tabs and carriage returns separate tokens; a
  newline ends a statement. ``//`` starts a comment that runs to the end of the line; ``/*`` is
  refused. Tokens are the punctuation ``( ) [ ] { } ,``, strings in ``"double quotes"`` (with
  backslash escapes) or ```back quotes``` (on one line), and identifiers: runs of any other
  printable characters (so ``v1.2.3``, ``example.com/m``, ``=>`` and ``1.21`` are identifiers).
- A statement is the tokens of one line. If a line ends in ``(``, the statement opens a block:
  each following line is a statement of its own under the block's verb, until a line holding
  only ``)``. ``verb ()`` on one line is an empty block.
- A comment on a line of its own is attached to the statement that directly follows it (a
  blank line in between makes it a free-standing comment block instead); a comment after
  tokens is a suffix comment of the statement on that line. ``// indirect``, ``// Deprecated:``
  and retraction rationales are read from these.

Syntax errors stop the parse at once (``gosem.gomodlex.syntax_error``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gopush.gosem.gomodlex import COMMENT, EOF, EOL_COMMENT, Lexer, Pos, Token, is_eol

NO_POS = Pos(0, 0, 0)

@dataclass
class Comment:
    """One ``//`` comment; ``token`` is its text including ``//``, without the newline."""

    start: Pos
    token: str
    suffix: bool = False


@dataclass(eq=False)
class Node:
    """Anything comments attach to: ``before`` (whole lines above) and ``suffix`` comments."""

    start: Pos
    before: list[Comment] = field(default_factory=list)
    suffix: list[Comment] = field(default_factory=list)

    def span(self) -> tuple[Pos, Pos]:
        """Return where the node starts and ends, comments excluded."""
        return self.start, self.start


@dataclass(eq=False)
class Line(Node):
    """One statement line: its tokens (without the block verb when in a block)."""

    tokens: list[str] = field(default_factory=list)
    end: Pos = NO_POS
    in_block: bool = False

    def span(self) -> tuple[Pos, Pos]:
        """Return the start of the first token and the end of the last."""
        return self.start, self.end


@dataclass(eq=False)
class Paren(Node):
    """The ``(`` or ``)`` of a block, as a place for comments."""

    def span(self) -> tuple[Pos, Pos]:
        """Return the one-character span of the parenthesis."""
        return self.start, self.start.after(")")


@dataclass(eq=False)
class LineBlock(Node):
    """``verb ( ... )``: the verb tokens, the parentheses and the lines inside."""

    tokens: list[str] = field(default_factory=list)
    lparen: Paren = field(default_factory=lambda: Paren(NO_POS))
    lines: list[Line] = field(default_factory=list)
    rparen: Paren = field(default_factory=lambda: Paren(NO_POS))

    def span(self) -> tuple[Pos, Pos]:
        """Return the start of the verb and the end of the closing parenthesis."""
        return self.start, self.rparen.span()[1]


@dataclass(eq=False)
class CommentBlock(Node):
    """Whole-line comments standing apart from any statement."""


Stmt = Line | LineBlock | CommentBlock




@dataclass(eq=False)
class FileSyntax(Node):
    """A whole go.mod file: its statements, plus comments attached to nothing else."""

    stmts: list[Stmt] = field(default_factory=list)


def parse_syntax(filename: str, text: str) -> FileSyntax:
    """Parse ``text`` into statements with comments attached, as Go's ``modfile.parse``.

    Raises:
        GoModError: a syntax error, ``go.mod:LINE[:COL]: message``.
    """
    lexer = Lexer(filename, text)
    file = FileSyntax(Pos(1, 1, 0))
    _Parser(lexer, file).parse_file()
    _assign_suffix_comments(file, [Comment(t.pos, t.text, True) for t in lexer.suffix_comments])
    return file


class _Parser:
    def __init__(self, lexer: Lexer, file: FileSyntax) -> None:
        self.lx, self.file = lexer, file

    def parse_file(self) -> None:
        pending: CommentBlock | None = None
        while (kind := self.lx.peek()) != EOF:
            if kind == "\n":
                self.lx.lex()
                if pending is not None:  # a blank line: the comments stand on their own
                    self.file.stmts.append(pending)
                    pending = None
            elif kind == COMMENT:
                tok = self.lx.lex()
                pending = pending or CommentBlock(tok.pos)
                pending.before.append(Comment(tok.pos, tok.text))
            else:
                self.file.stmts.append(self.parse_stmt())
                if pending is not None:
                    self.file.stmts[-1].before = pending.before
                    pending = None
        if pending is not None:
            self.file.stmts.append(pending)

    def parse_stmt(self) -> Line | LineBlock:
        first = self.lx.lex()
        tokens, end = [first.text], first.end
        while True:
            tok = self.lx.lex()
            if is_eol(tok.kind):
                return Line(first.pos, tokens=tokens, end=end)
            if tok.kind != "(":
                tokens.append(tok.text)
                end = tok.end
            elif is_eol(self.lx.peek()):
                return self.parse_block(first.pos, tokens, tok)
            elif self.lx.peek() == ")":
                rparen = self.lx.lex()
                if is_eol(self.lx.peek()):
                    self.lx.lex()
                    return LineBlock(first.pos, tokens=tokens, lparen=Paren(tok.pos),
                                     rparen=Paren(rparen.pos))
                tokens += [tok.text, rparen.text]  # "( )" inside a line is just two tokens
            else:
                tokens.append(tok.text)

    def parse_block(self, start: Pos, tokens: list[str], lparen: Token) -> LineBlock:
        block = LineBlock(start, tokens=tokens, lparen=Paren(lparen.pos))
        comments: list[Comment] = []
        while True:
            kind = self.lx.peek()
            if kind == EOL_COMMENT:
                self.lx.lex()  # attached later, by _assign_suffix_comments
            elif kind == "\n":
                self.lx.lex()
                if (block.lines and not comments) or (comments and comments[-1].token):
                    comments.append(Comment(NO_POS, ""))  # marks a blank line
            elif kind == COMMENT:
                tok = self.lx.lex()
                comments.append(Comment(tok.pos, tok.text))
            elif kind == EOF:
                raise self.lx.error(f"syntax error (unterminated block started at "
                                    f"{self.lx.filename}:{start.line}:{start.col})")
            elif kind == ")":
                return self.close_block(block, comments)
            else:
                line = self.parse_line()
                line.before, comments = comments, []
                block.lines.append(line)

    def close_block(self, block: LineBlock, comments: list[Comment]) -> LineBlock:
        rparen = self.lx.lex()
        if len(comments) == 1 and not comments[0].token:
            comments = []  # a lone blank line before ")" is not kept
        block.rparen = Paren(rparen.pos, before=comments)
        if not is_eol(self.lx.peek()):
            raise self.lx.error("syntax error (expected newline after closing paren)")
        self.lx.lex()
        return block

    def parse_line(self) -> Line:
        first = self.lx.lex()
        tokens, end = [first.text], first.end
        while not is_eol((tok := self.lx.lex()).kind):
            tokens.append(tok.text)
            end = tok.end
        return Line(first.pos, tokens=tokens, end=end, in_block=True)


def _postorder(file: FileSyntax) -> list[Node]:
    out: list[Node] = []
    for stmt in file.stmts:
        if isinstance(stmt, LineBlock):
            out += [stmt.lparen, *stmt.lines, stmt.rparen]
        out.append(stmt)
    return out


def _assign_suffix_comments(file: FileSyntax, suffix: list[Comment]) -> None:
    """Give each end-of-line comment to the last node ending before it on its line.

    Nodes spanning several lines (blocks) never take suffix comments; their last line does.
    """
    nodes = _postorder(file)
    for node in reversed(nodes):
        start, end = node.span()
        if start.line != end.line:
            continue
        while suffix and end.offset <= suffix[-1].start.offset:
            node.suffix.append(suffix.pop())
    for node in nodes:
        node.suffix.reverse()
    file.before += suffix
