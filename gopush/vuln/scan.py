"""A module's requirements and imports, checked against OSV entries (pure).

``requirements`` reads them from the module's go.mod; ``scan`` matches them. The standard
library (``stdlib``) is matched against the go.mod ``go`` line; ``toolchain`` (the go
command) too, both through ``match.go_line_version``; without a go line neither is checked
(``Requirements.go`` is "" and the caller says so). Withdrawn entries are ignored.

The rules, in our words (govulncheck's ``affectingVulnerabilities`` and ``FixedVersion``):

- Only the ``affected[]`` items naming the required module count (an entry may name other
  modules too). The module is affected when one of them affects its version; the finding's
  packages are those of the items that do, and ``fixed`` is the lowest fix above the version
  that none of the module's items affects (none when an item affects every version).
- ``imported``: an affected package is one of the audited module's own imports (equal
  paths: importing a sibling package of the same module is not importing the affected one).
  An item that lists no packages affects the whole module: any import the module provides
  counts, that is, any import inside its path and not inside a longer required module's
  (``golang.org/x/tools/gopls/...`` is gopls's when both are required); for ``stdlib``, any
  standard-library path (no dot in its first element; ``C``, cgo's, is none).
- Requirements are read twice: as written (what every module requiring this one builds
  with: go ignores a dependency's ``replace`` directives) and with ``replace`` applied
  (this module's own build); both are checked, so a replacement never hides a version.
- go.mod lists the whole build list from go 1.17 on (module graph pruning); before that, or
  without a go line, the list may miss indirect requirements: ``partial``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gopush.gosem import gover, semver
from gopush.gosem.gomod import GoMod, Replace
from gopush.vuln import match
from gopush.vuln.imports import UNREAD
from gopush.vuln.osv import Affected, Entry

STDLIB = "stdlib"  # the database's module for the standard library
TOOLCHAIN = "toolchain"  # the database's module for the go command
PRUNED_SINCE = "1.17"  # the go line from which go.mod lists the whole build list


@dataclass(frozen=True)
class Requirement:
    """A module the audited module requires, at the version its build uses."""

    module: str
    version: str


@dataclass(frozen=True)
class Requirements:
    """What go.mod says the build needs. ``partial``: go < 1.17, whose go.mod need not list
    the whole build list (say so to the user)."""

    modules: tuple[Requirement, ...]
    go: str  # the go line ("" when absent)
    partial: bool


@dataclass(frozen=True)
class Finding:
    """One entry that affects one required module (or the standard library) at its version.

    ``packages``: the affected packages of that module ("" entries never; the module path
    itself when the entry names none). ``imported``: one of them is imported by the audited
    module's own non-test .go files. ``fixed``: the first version that fixes it ("" when none).
    """

    id: str
    aliases: tuple[str, ...]
    module: str
    version: str
    fixed: str
    summary: str
    imported: bool
    packages: tuple[str, ...]


def requirements(gomod: GoMod) -> Requirements:
    """Return the requirements of ``gomod`` as two readings, together: the ``require``
    lines as written, and with ``replace`` applied (a module replacement takes the new path
    and version; a directory replacement keeps the required version, there being nothing
    else to know); ``exclude`` not needed.

    Both, because go applies a go.mod's ``replace`` directives only when the module is the
    main module: the module's own build uses the replacements, every module that requires
    it gets the versions as written. A replacement must not hide from the audit (or a
    registry's quarantine) the version its users will build with, so a module replaced by
    a fixed version is still found at the vulnerable version it requires.

    A requirement of the module itself is not one: go builds the module at the version
    audited (as the main module it ignores the line; for its users minimal version selection
    never picks an older one). A replacement of one version wins over one of every
    version, as in the go command. A module required twice (or reached twice through replacements) is kept at its highest
    version in each reading, as minimal version selection would. Sorted by module path,
    then version; a module appears twice when the readings differ.
    """
    replacements = _replacements(gomod.replace)
    written: dict[str, str] = {}
    built: dict[str, str] = {}
    for req in gomod.require:
        if req.path == gomod.module:
            continue  # itself: go builds the module at its own version, whatever it requires
        _keep_highest(written, req.path, req.version)
        _keep_highest(built, *_replaced(replacements, req.path, req.version))
    pairs = {*written.items(), *built.items()}
    modules = tuple(Requirement(m, v) for m, v in sorted(pairs))
    partial = not gomod.go or gover.compare(gomod.go, PRUNED_SINCE) < 0
    return Requirements(modules, gomod.go, partial)


def _keep_highest(chosen: dict[str, str], module: str, version: str) -> None:
    if module not in chosen or semver.compare(chosen[module], version) < 0:
        chosen[module] = version


def _replacements(replaces: tuple[Replace, ...]) -> dict[tuple[str, str], Replace]:
    """Return the replace directives by old path and old version ("" for every version),
    read once: a go.mod of thousands of requirements and replacements (untrusted, in a
    pushed zip) must cost their number, not its square. go.mod allows one of each; the last
    would win."""
    return {(r.old_path, r.old_version): r for r in replaces}


def _replaced(replacements: dict[tuple[str, str], Replace], path: str,
              version: str) -> tuple[str, str]:
    """Return the module and version that replace ``path@version`` (itself when none does,
    or when a directory does)."""
    r = replacements.get((path, version)) or replacements.get((path, ""))
    if r is not None and r.new_version:
        return r.new_path, r.new_version
    return path, version


def scan(reqs: Requirements, imports: Iterable[str], entries: Iterable[Entry]) -> list[Finding]:
    """Return the findings, sorted by module, id and version: every non-withdrawn entry whose
    affected ranges contain a required module's version (or the go line's, for stdlib).

    ``imports``: the import paths of the audited module's own non-test .go files.
    """
    versions: dict[str, list[str]] = {}
    for r in reqs.modules:
        if r.module not in (STDLIB, TOOLCHAIN):  # never a required module: only the go line
            versions.setdefault(r.module, []).append(r.version)
    go_version = match.go_line_version(reqs.go)
    if go_version:
        versions[STDLIB] = versions[TOOLCHAIN] = [go_version]
    imported = frozenset(imports)
    provided = _by_module(imported, versions)
    findings: dict[tuple[str, str, str], Finding] = {}
    for entry in entries:
        if entry.withdrawn:
            continue
        for module in dict.fromkeys(a.module for a in entry.affected):
            for version in versions.get(module, ()):
                if (entry.id, module, version) not in findings:
                    found = _finding(entry, module, version, imported, provided)
                    if found is not None:
                        findings[entry.id, module, version] = found
    return sorted(findings.values(), key=lambda f: (f.module, f.id, f.version))


def _by_module(imports: Iterable[str], modules: Iterable[str]) -> dict[str, frozenset[str]]:
    """Return the import paths grouped by the module that provides them: the longest
    required module path they are in (``stdlib`` for standard-library paths), "" when none."""
    known = set(modules)
    groups: dict[str, set[str]] = {}
    for path in imports:
        groups.setdefault(_owner(path, known), set()).add(path)
    return {module: frozenset(paths) for module, paths in groups.items()}


def _owner(path: str, modules: set[str]) -> str:
    elements = path.split("/")
    if "." not in elements[0] and path != "C":  # "C" is cgo, not a package
        return STDLIB
    for end in range(len(elements), 0, -1):
        if (prefix := "/".join(elements[:end])) in modules:
            return prefix
    return ""


def _finding(entry: Entry, module: str, version: str, imports: frozenset[str],
             provided: dict[str, frozenset[str]]) -> Finding | None:
    """Return the finding of ``entry`` for ``module@version``, or None when not affected."""
    items = [a for a in entry.affected if a.module == module]
    hits = [a for a in items if match.affects(a.ranges, version)]
    if not hits:
        return None
    packages = tuple(dict.fromkeys(p for a in hits for p in (a.packages or (module,))))
    return Finding(
        id=entry.id, aliases=entry.aliases, module=module, version=version,
        fixed=_fixed(items, version), summary=entry.summary,
        imported=any(_imported(a, imports, provided) for a in hits), packages=packages)


def _fixed(items: list[Affected], version: str) -> str:
    """Return the first fix of ``version`` over all the module's items ("" when one of them
    affects every version)."""
    if any(not a.ranges for a in items):
        return ""
    return match.first_fixed(tuple(r for a in items for r in a.ranges), version)


def _imported(item: Affected, imports: frozenset[str],
              provided: dict[str, frozenset[str]]) -> bool:
    """Tell whether ``imports`` hold one of the item's packages (when it lists none: any
    import its module provides, ``provided`` being the imports grouped by module). Imports
    a file holds past what was read (``UNREAD``) are unknown, and count as any package."""
    if UNREAD in imports:
        return True
    if item.packages:
        return any(p in imports for p in item.packages)
    return bool(provided.get(item.module))
