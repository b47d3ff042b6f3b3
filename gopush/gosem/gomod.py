"""Reading go.mod files as the go command does (x/mod modfile/rule.go, with no version fixer).

Directives, in our words (syntax in ``gosem.gomodsyntax``):

- ``module PATH`` (once). ``// Deprecated: ...`` in its comments marks the module deprecated.
- ``go 1.N[.P][rcN]`` (once); ``toolchain go1.N...|default`` (once); ``godebug key=value``.
- ``require PATH VERSION`` (``// indirect`` noted) and ``exclude PATH VERSION``: the version
  must be valid and fit the path's major suffix; it is canonicalized (``v1.2`` → ``v1.2.0``).
- ``replace PATH [VERSION] => PATH VERSION`` or ``=> ../local/dir`` (a directory path has no
  version; a module path must have one).
- ``retract VERSION`` or ``retract [LOW, HIGH]``; its comments are the rationale. Versions are
  taken as written: only the go command's later checks require them to be canonical.
- ``tool PATH`` and ``ignore PATH``.
- ``module godebug require exclude replace retract tool ignore`` may also be written as blocks.
- Paths and versions may be quoted as Go strings ("..."); other quote characters are refused.

``parse`` is ``modfile.Parse``: unknown directives and block types are errors. ``parse_lax`` is
``modfile.ParseLax``, used for dependencies' go.mod files: it reads only module, go, require,
retract and ignore, skips everything else, and also takes go lines such as ``1.21-foo`` (as
``1.21``); bad retractions are skipped. Versions are never resolved (no network): a version
that is not a semantic version is an error, as in ``go mod edit``. Errors are collected and
reported together, one ``go.mod:LINE[:COL]: ...`` line each, in the go command's words.
``parse_as_dependency`` is both: the strict parse, else the lax one with the strict error
kept as a warning (how gopush reads a module's own go.mod: never stricter than go).
``module_path`` is ``modfile.ModulePath``: a fast, tolerant scan for the module line.
``zip_go_version`` is the ``go`` line as x/mod's zip code reads a module's root go.mod to
choose its vendor rule: ``ParseLax`` with no version fixer, and "" whenever that fails.
``synthesized`` is the go.mod the go command assumes for a module that has none.

What ``parse_lax`` still refuses, as ``ParseLax`` does: syntax errors of the file as a whole
(unterminated blocks or strings, ``/* */`` comments, a stray ``)``...), and bad arguments to
the five directives it reads: a repeated ``module`` or ``go``, a ``go`` line that is not a
version even leniently, a bad quoted module path, a ``require`` whose version is not a
semantic version or does not fit the path's major suffix, a bad ``ignore``. Everything
else (unknown directives and blocks, ``toolchain``, ``godebug``, ``replace``, ``exclude``,
``tool``, any retraction it cannot read) is skipped without a word.
"""

from __future__ import annotations

from gopush.errors import GoModError, InvalidModule
from gopush.gosem.gomoddirectives import (
    Directives,
    Godebug,
    GoMod,
    LineError,
    ModuleVersion,
    PathLine,
    Replace,
    Require,
    Retract,
)
from gopush.gosem.gomodsyntax import Line, LineBlock, parse_syntax
from gopush.gosem.goquote import printable, trim_space, unquote

__all__ = ["GoMod", "Godebug", "ModuleVersion", "PathLine", "Replace", "Require", "Retract",
           "module_path", "parse", "parse_as_dependency", "parse_lax", "synthesized", "zip_go_version"]
BLOCK_VERBS = ("module", "godebug", "require", "exclude", "replace", "retract", "tool", "ignore")


def parse(data: bytes, filename: str = "go.mod") -> GoMod:
    """Parse ``data`` strictly, as the go command reads the main module's go.mod.

    Raises:
        GoModError: syntax errors, unknown directives, or bad directive arguments; the message
            has one ``filename:LINE[:COL]: ...`` line per problem.
    """
    return _parse(data, filename, strict=True)


def parse_lax(data: bytes, filename: str = "go.mod") -> GoMod:
    """Parse ``data`` as the go command reads a dependency's go.mod (unknown directives skipped).

    Raises:
        GoModError: syntax errors, or bad module, go, require or ignore lines.
    """
    return _parse(data, filename, strict=False)


def _parse(data: bytes, filename: str, *, strict: bool) -> GoMod:
    syntax = parse_syntax(filename, data.decode("utf-8", "surrogateescape"))
    found = Directives(strict)
    errors: list[LineError] = []
    for stmt in syntax.stmts:
        if isinstance(stmt, LineBlock):
            errors += _add_block(found, stmt, strict)
        elif isinstance(stmt, Line):
            errors += found.add(None, stmt, stmt.tokens[0], stmt.tokens[1:])
    if errors:
        text = "\n".join(e.render(filename) for e in errors)
        raise GoModError(printable(text), data={"file": filename, "line": errors[0].pos.line})
    return found.result()


def _add_block(found: Directives, block: LineBlock, strict: bool) -> list[LineError]:
    if len(block.tokens) > 1 or block.tokens[0] not in BLOCK_VERBS:
        if not strict:
            return []
        return [LineError(block.start, f"unknown block type: {' '.join(block.tokens)}")]
    errors: list[LineError] = []
    for line in block.lines:
        errors += found.add(block, line, block.tokens[0], line.tokens)
    return errors


def parse_as_dependency(go_mod: bytes | None) -> tuple[GoMod | None, str | None]:
    """Parse go.mod once: strictly (its error is only a warning: go never parses a
    downloaded module's go.mod strictly), else laxly, as go reads a dependency's go.mod.

    Returns the parse (None when even the lax one fails) and the strict parse's error.
    """
    if go_mod is None:
        return None, None
    try:
        return parse(go_mod, "go.mod"), None
    except GoModError as err:
        error = err.message
    try:
        return parse_lax(go_mod, "go.mod"), error
    except GoModError:
        return None, error


def module_path(data: bytes) -> str:
    """Return the module path declared in go.mod ``data``, or "" if there is none.

    Tolerant of every other problem in the file, like ``modfile.ModulePath``: it looks for the
    first line (comments cut) that starts with ``module`` and a space.
    """
    for raw in data.decode("utf-8", "surrogateescape").split("\n"):
        line = trim_space(raw.split("//", 1)[0])
        if not line.startswith("module"):
            continue
        rest = line[len("module"):]
        path = trim_space(rest)
        if len(path) == len(rest) or not path:
            continue  # "modulex" or a bare "module"
        if path[0] in "\"`":
            return unquote(path) or ""
        return path
    return ""


def zip_go_version(data: bytes) -> str:
    """Return the ``go`` line of a root go.mod as x/mod's zip code reads it, or "".

    That is ``modfile.ParseLax(..., nil)`` (``parseGoVers`` in zip.go): "" when the file
    does not parse leniently (a syntax error anywhere, a repeated module line...) or has no
    go line. A lenient go line such as ``1.21-foo`` reads as ``1.21``. Never raises.
    """
    try:
        return parse_lax(data).go
    except InvalidModule:  # GoModError, or a version error raised while reading a line
        return ""


def synthesized(path: str) -> bytes:
    """Return the one-line go.mod the go command serves for a module without one.

    go quotes the path only when it needs quoting; a valid module path never does.
    """
    return f"module {path}\n".encode()
