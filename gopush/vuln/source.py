"""What a scan reads from a module: who it is, its go.mod, the imports of its own code.

``gopush audit`` (``actions/audit.py``) and the registry's scans (``server/vulnscan.py``)
both read a module zip through ``zip_source``, so the two can never disagree on a zip.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from gopush.gosem import gomod
from gopush.gosem.gomod import GoMod
from gopush.modzip.accept import AcceptedZip
from gopush.vuln.ownfiles import imports_of_zip


class ModuleSource(NamedTuple):
    """What the audit reads from a module: who it is, its go.mod, its own code's imports."""

    module: str
    version: str
    gomod: GoMod | None  # None: no go.mod (or one even a lax parse refuses)
    imports: frozenset[str]
    note: str = ""  # why gomod is None, when it is


def zip_source(path: Path, accepted: AcceptedZip) -> ModuleSource:
    """Return what the audit reads from a zip the gate accepted.

    Raises:
        InvalidModuleZip: a Go file cannot be read back as declared.
    """
    with path.open("rb") as handle:
        imports = imports_of_zip(handle, f"{accepted.module}@{accepted.version}/")
    if accepted.gomod_synthesized:
        return ModuleSource(accepted.module, accepted.version, None, imports, "no go.mod")
    parsed, error = gomod.parse_as_dependency(accepted.gomod)
    return ModuleSource(accepted.module, accepted.version, parsed, imports,
                        f"go.mod cannot be read ({error})" if parsed is None else "")
