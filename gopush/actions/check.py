"""``gopush check``: give every file of a module a verdict, and the h1: go would compute.

Three kinds of target: an existing module zip (read, never extracted), a revision of the
current checkout (what ``gopush build`` would zip), or a directory on disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gopush.actions.build import BuildRequest, make_plan
from gopush.errors import InvalidModuleZip
from gopush.gosem import dirhash, modpath
from gopush.modzip.accept import RefusedZip, accept_zip
from gopush.modzip.files import SourceFile
from gopush.modzip.report import FileReport
from gopush.modzip.rules import GO_MOD_IS_DIRECTORY, check_files, go_mod_is_directory
from gopush.ui.base import Reporter


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdicts for one module version and its h1: ("" when the zip is refused)."""

    target: str
    module: str
    version: str
    report: FileReport
    sum: str

    @property
    def ok(self) -> bool:
        """Tell whether go would accept this module zip."""
        return self.report.error() is None


def check_zip_file(path: Path) -> CheckResult:
    """Check an existing module zip through the gate ``gopush push`` and ``serve`` use.

    Raises:
        InvalidModuleZip: not a zip, no module@version, or a pseudo-version naming no time
            (a zip whose entries go would refuse gives a result with the verdicts instead).
    """
    with path.open("rb") as handle:
        try:
            accepted = accept_zip(handle)
        except RefusedZip as refused:
            checked = refused.checked
            return CheckResult(str(path), checked.module, checked.version, checked.report, "")
    report = FileReport(accepted.valid)
    return CheckResult(str(path), accepted.module, accepted.version, report, accepted.sum)


def check_source(request: BuildRequest, reporter: Reporter) -> CheckResult:
    """Check what ``gopush build`` would zip for ``request``, writing nothing.

    Raises:
        SourceError, InvalidModule: as ``actions.build.build`` (before any file verdict).
    """
    plan = make_plan(request)
    for warning in plan.warnings:
        reporter.warn(warning)
    modpath.check_module_version(plan.module, plan.version)  # canonical, as create_zip asks
    report = check_files(plan.files)
    if report.error() is None and go_mod_is_directory(report.valid):
        raise InvalidModuleZip(f"{plan.module}@{plan.version}: {GO_MOD_IS_DIRECTORY}")
    h1 = "" if report.error() else _hash(plan.module, plan.version, plan.files, report)
    target = f"{request.repo}" + ("" if request.worktree else f"@{request.rev}")
    return CheckResult(target, plan.module, plan.version, report, h1)


def _hash(module: str, version: str, files: Sequence[SourceFile], report: FileReport) -> str:
    valid = set(report.valid)
    prefix = f"{module}@{version}/"
    items = []
    for source in files:
        if source.path in valid:
            digest = hashlib.sha256()
            with source.open() as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
            items.append((prefix + source.path, digest.hexdigest()))
    return dirhash.hash1(items)
