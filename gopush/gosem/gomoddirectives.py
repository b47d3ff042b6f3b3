"""What each go.mod directive means and which arguments it takes (x/mod modfile/rule.go ``add``).

``Directives`` receives the statements of a parsed file one line at a time (``add``), checks
the arguments as ``modfile.Parse``/``ParseLax`` do with no version fixer, keeps what they say,
and returns the problems as ``LineError``\\ s, worded like the go command. ``result`` builds
the ``GoMod`` record. The records below are re-exported by ``gosem.gomod``, the public face.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gopush.errors import InvalidVersion
from gopush.gosem import modpath
from gopush.gosem.gomodlex import Pos
from gopush.gosem.gomodsyntax import Line, LineBlock
from gopush.gosem.goquote import fields, quote, trim_space, unquote

LAX_VERBS = ("go", "module", "retract", "require", "ignore")
GO_VERSION_RE = re.compile(r"([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?")
LAX_GO_VERSION_RE = re.compile(r"v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)")
DEPRECATED_RE = re.compile(r"(?:^|\n\n)Deprecated: *(.*?)(?:\Z|\n\n)", re.DOTALL)


@dataclass(frozen=True)
class Require:
    """``require path version``; ``indirect`` when the line says ``// indirect``."""

    path: str
    version: str
    indirect: bool
    line: int


@dataclass(frozen=True)
class ModuleVersion:
    """A module path and version on a go.mod line (``exclude``)."""

    path: str
    version: str
    line: int


@dataclass(frozen=True)
class Replace:
    """``replace old [old_version] => new [new_version]``; "" where a version is absent."""

    old_path: str
    old_version: str
    new_path: str
    new_version: str
    line: int


@dataclass(frozen=True)
class Retract:
    """``retract [low, high]`` (``low == high`` for a single version), with its rationale."""

    low: str
    high: str
    rationale: str
    line: int


@dataclass(frozen=True)
class Godebug:
    """``godebug key=value``."""

    key: str
    value: str
    line: int


@dataclass(frozen=True)
class PathLine:
    """A path directive (``tool``, ``ignore``)."""

    path: str
    line: int


@dataclass(frozen=True)
class GoMod:
    """A parsed go.mod file. Strings are "" and line numbers 0 where a directive is absent."""

    module: str = ""
    module_line: int = 0
    deprecated: str = ""
    go: str = ""
    go_line: int = 0
    toolchain: str = ""
    godebug: tuple[Godebug, ...] = ()
    require: tuple[Require, ...] = ()
    exclude: tuple[ModuleVersion, ...] = ()
    replace: tuple[Replace, ...] = ()
    retract: tuple[Retract, ...] = ()
    tool: tuple[PathLine, ...] = ()
    ignore: tuple[PathLine, ...] = ()


@dataclass(frozen=True)
class LineError:
    """A problem with one statement: where, what, and for which directive and module."""

    pos: Pos
    message: str
    verb: str = ""
    mod_path: str = ""

    def render(self, filename: str) -> str:
        """Return the error as Go's ``modfile.Error`` prints it."""
        where = f"{filename}:{self.pos.line}" + (f":{self.pos.col}" if self.pos.col > 1 else "")
        directive = (f"{self.verb} {self.mod_path}: " if self.mod_path
                     else f"{self.verb}: " if self.verb else "")
        return f"{where}: {directive}{self.message}"


class _Refused(Exception):
    """Raised inside a directive handler to refuse the line with ``error``."""

    def __init__(self, message: str, verb: str = "", mod_path: str = "") -> None:
        super().__init__(message)
        self.message, self.verb, self.mod_path = message, verb, mod_path


class Directives:
    """Collects the directives of one go.mod file, strictly or laxly."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.module: tuple[str, str, int] | None = None  # path, deprecation, line
        self.go: tuple[str, int] | None = None
        self.toolchain: str | None = None
        self.lists: dict[str, list[Any]] = {name: [] for name in (
            "godebug", "require", "exclude", "replace", "retract", "tool", "ignore")}

    def add(self, block: LineBlock | None, line: Line, verb: str,
            args: list[str]) -> list[LineError]:
        """Take one statement ``verb args...``; return its problems (empty when accepted)."""
        if not self.strict and verb not in LAX_VERBS:
            return []  # dependencies may use directives this reader does not know
        handler = _HANDLERS.get(verb)
        try:
            if handler is None:
                raise _Refused(f"unknown directive: {verb}")
            handler(self, block, line, args)
        except _Refused as refused:
            return [LineError(line.start, refused.message, refused.verb, refused.mod_path)]
        return []

    def result(self) -> GoMod:
        """Return everything collected as a ``GoMod``."""
        path, deprecated, module_line = self.module or ("", "", 0)
        go, go_line = self.go or ("", 0)
        lists = {name: tuple(items) for name, items in self.lists.items()}
        return GoMod(module=path, module_line=module_line, deprecated=deprecated, go=go,
                     go_line=go_line, toolchain=self.toolchain or "", **lists)

    def _go(self, block: LineBlock | None, line: Line, args: list[str]) -> None:
        if self.go is not None:
            raise _Refused("repeated go statement")
        if len(args) != 1:
            raise _Refused("go directive expects exactly one argument")
        version = args[0]
        if not GO_VERSION_RE.fullmatch(version):
            lax = None if self.strict else LAX_GO_VERSION_RE.fullmatch(version)
            if lax is None:
                raise _Refused(f"invalid go version '{version}': must match format 1.23.0")
            version = lax[1]  # a dependency's "1.21-foo" reads as "1.21"
        self.go = (version, line.start.line)

    def _toolchain(self, block: LineBlock | None, line: Line, args: list[str]) -> None:
        if self.toolchain is not None:
            raise _Refused("repeated toolchain statement")
        if len(args) != 1:
            raise _Refused("toolchain directive expects exactly one argument")
        name = args[0]
        if name != "default" and name != "go1" and not name.startswith("go1."):
            raise _Refused(f"invalid toolchain version '{name}': must match format go1.23.0 "
                           "or default")
        self.toolchain = name

    def _module(self, block: LineBlock | None, line: Line, args: list[str]) -> None:
        if self.module is not None:
            raise _Refused("repeated module statement")
        # Go records the module before checking its argument, so a bad one still counts.
        self.module = ("", parse_deprecation(block, line), line.start.line)
        if len(args) != 1:
            raise _Refused("usage: module module/path")
        self.module = (_string(args[0]), self.module[1], self.module[2])

    def _godebug(self, block: LineBlock | None, line: Line, args: list[str]) -> None:
        if len(args) != 1 or any(q in args[0] for q in "\"`',"):
            raise _Refused("usage: godebug key=value")
        key, eq, value = args[0].partition("=")
        if not eq:
            raise _Refused("usage: godebug key=value")
        self.lists["godebug"].append(Godebug(key, value, line.start.line))

    def _require(self, block: LineBlock | None, line: Line, args: list[str]) -> None:
        path, version = self._path_version("require", args)
        self.lists["require"].append(Require(path, version, is_indirect(line), line.start.line))

    def _exclude(self, block: LineBlock | None, line: Line, args: list[str]) -> None:
        path, version = self._path_version("exclude", args)
        self.lists["exclude"].append(ModuleVersion(path, version, line.start.line))

    def _path_version(self, verb: str, args: list[str]) -> tuple[str, str]:
        if len(args) != 2:
            raise _Refused(f"usage: {verb} module/path v1.2.3")
        path = _string(args[0])
        version = _version(verb, path, args[1])
        _, path_major, ok = modpath.split_path_version(path)
        if not ok:
            raise _Refused("invalid module path")
        _check_path_major(verb, path, version, path_major)
        return path, version

    def _replace(self, block: LineBlock | None, line: Line, args: list[str]) -> None:
        self.lists["replace"].append(parse_replace(args, line.start.line))

    def _retract(self, block: LineBlock | None, line: Line, args: list[str]) -> None:
        rationale = parse_directive_comment(block, line)
        try:
            low, high, rest = _version_interval(args)
        except _Refused:
            if self.strict:
                raise
            return  # only the main module's retractions must parse
        if rest and self.strict:
            raise _Refused(f"unexpected token after version: {quote(rest[0])}")
        self.lists["retract"].append(Retract(low, high, rationale, line.start.line))

    def _tool(self, block: LineBlock | None, line: Line, args: list[str]) -> None:
        self.lists["tool"].append(PathLine(_one_path("tool", args), line.start.line))

    def _ignore(self, block: LineBlock | None, line: Line, args: list[str]) -> None:
        self.lists["ignore"].append(PathLine(_one_path("ignore", args), line.start.line))


_HANDLERS = {
    "go": Directives._go, "toolchain": Directives._toolchain, "module": Directives._module,
    "godebug": Directives._godebug, "require": Directives._require,
    "exclude": Directives._exclude, "replace": Directives._replace,
    "retract": Directives._retract, "tool": Directives._tool, "ignore": Directives._ignore,
}


def _one_path(verb: str, args: list[str]) -> str:
    if len(args) != 1:
        raise _Refused(f"{verb} directive expects exactly one argument")
    return _string(args[0])


def parse_replace(args: list[str], line: int) -> Replace:
    """Read ``old [version] => new [version]``; a new path without version is a directory."""
    arrow = 1 if len(args) >= 2 and args[1] == "=>" else 2
    if len(args) < arrow + 2 or len(args) > arrow + 3 or args[arrow] != "=>":
        raise _Refused("usage: replace module/path [v1.2.3] => other/module v1.4\n\t"
                       " or replace module/path [v1.2.3] => ../local/directory")
    old = _string(args[0])
    _, path_major, ok = modpath.split_path_version(old)
    if not ok:
        raise _Refused("invalid module path", "replace", old)
    old_version = ""
    if arrow == 2:
        old_version = _version("replace", old, args[1])
        _check_path_major("replace", old, old_version, path_major)
    new = _string(args[arrow + 1])
    new_version = ""
    if len(args) == arrow + 2:
        _check_replacement_dir(new)
    else:
        new_version = _version("replace", new, args[arrow + 2])
        if is_directory_path(new):
            raise _Refused(f"replacement module directory path {quote(new)} cannot have version")
    return Replace(old, old_version, new, new_version, line)


def _check_replacement_dir(new: str) -> None:
    if not is_directory_path(new):
        if "@" in new:
            raise _Refused("replacement module must match format 'path version', not "
                           "'path@version'")
        raise _Refused("replacement module without version must be directory path (rooted or "
                       "starting with . or ..)")
    if "\\" in new:  # as the go command on Linux and macOS, where gopush runs
        raise _Refused("replacement directory appears to be Windows path (on a non-windows "
                       "system)")


def is_directory_path(ns: str) -> bool:
    """Report whether a replacement target is a directory (``./x``, ``../x``, rooted, ``C:``)."""
    return (ns in (".", "..") or ns.startswith(("./", ".\\", "../", "..\\", "/", "\\"))
            or (len(ns) >= 2 and ns[0].isascii() and ns[0].isalpha() and ns[1] == ":"))


def _version_interval(args: list[str]) -> tuple[str, str, list[str]]:
    """Read ``v`` or ``[lo, hi]`` from ``args``; return low, high and the tokens left over."""
    if not args or args[0] == "(":
        raise _Refused("expected '[' or version")
    if args[0] != "[":
        version = _retract_version(args[0])
        return version, version, args[1:]
    rest = args[1:]
    low = _retract_version(_expect(rest, 0, "expected version after '['"))
    if _expect(rest, 1, "expected ',' after version") != ",":
        raise _Refused("expected ',' after version")
    high = _retract_version(_expect(rest, 2, "expected version after ','"))
    if _expect(rest, 3, "expected ']' after version") != "]":
        raise _Refused("expected ']' after version")
    return low, high, rest[4:]


def _expect(tokens: list[str], i: int, message: str) -> str:
    if i >= len(tokens):
        raise _Refused(message)
    return tokens[i]


def _retract_version(token: str) -> str:
    """Return a retracted version as written (Go's parser leaves it unchecked here)."""
    try:
        return _string(token)
    except _Refused as refused:
        reason = refused.message.removeprefix("invalid quoted string: ")
        raise _Refused(f"version {quote(token)} invalid: {reason}", "retract") from None


def _version(verb: str, path: str, token: str) -> str:
    try:
        text = _string(token)
    except _Refused as refused:
        reason = refused.message.removeprefix("invalid quoted string: ")
        raise _Refused(f"version {quote(token)} invalid: {reason}", verb, path) from None
    canonical = modpath.canonical_version(text)
    if not canonical:
        raise _Refused(f"version {quote(text)} invalid: must be of the form v1.2.3", verb, path)
    return canonical


def _check_path_major(verb: str, path: str, version: str, path_major: str) -> None:
    try:
        modpath.check_path_major(version, path_major)
    except InvalidVersion as err:
        raise _Refused(err.message, verb, path) from None


def _string(token: str) -> str:
    """Return the value of a path or version token: a Go "string", or plain text."""
    if token.startswith('"'):
        value = unquote(token)
        if value is None:
            raise _Refused("invalid quoted string: invalid syntax")
        return value
    if any(q in token for q in "\"'`"):
        # Other quotes are kept for future use, and 'x' should not quietly mean x.
        raise _Refused("invalid quoted string: unquoted string cannot contain quote")
    return token


def is_indirect(line: Line) -> bool:
    """Report whether ``line`` ends in ``// indirect`` (or ``// indirect; ...``)."""
    if not line.suffix:
        return False
    words = fields(line.suffix[0].token.removeprefix("//"))
    return (len(words) == 1 and words[0] == "indirect") or (
        len(words) > 1 and words[0] == "indirect;")


def parse_directive_comment(block: LineBlock | None, line: Line) -> str:
    """Return the comment text of a directive: its own comments, else its block's."""
    node: Line | LineBlock = line
    if block is not None and not line.before and not line.suffix:
        node = block
    return "\n".join(trim_space(c.token.removeprefix("//"))
                     for c in node.before + node.suffix if c.token.startswith("//"))


def parse_deprecation(block: LineBlock | None, line: Line) -> str:
    """Return the ``Deprecated:`` paragraph of the module directive's comments, else ""."""
    m = DEPRECATED_RE.search(parse_directive_comment(block, line))
    return m[1] if m else ""
