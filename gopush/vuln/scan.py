"""A module's requirements and imports, checked against OSV entries (pure).

``requirements`` reads them from the module's go.mod; ``scan`` matches them. The standard
library (``stdlib``) is matched against the go.mod ``go`` line; ``toolchain`` (the go
command) too. Withdrawn entries are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gopush.gosem.gomod import GoMod
from gopush.vuln.osv import Entry


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
    """Return the requirements of ``gomod``: ``require`` lines with ``replace`` applied
    (a module replacement takes the new path and version; a directory replacement keeps the
    required version, there being nothing else to know), ``exclude`` not needed."""
    raise NotImplementedError


def scan(reqs: Requirements, imports: Iterable[str], entries: Iterable[Entry]) -> list[Finding]:
    """Return the findings, sorted by module then id: every non-withdrawn entry whose
    affected ranges contain a required module's version (or the go line's, for stdlib)."""
    raise NotImplementedError
