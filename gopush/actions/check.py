"""``gopush check``: give every file of a module a verdict, and the h1: go would compute.

Three kinds of target: an existing module zip (read, never extracted), a revision of the
current checkout (what ``gopush build`` would zip), or a directory on disk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from gopush.actions.build import BuildRequest, make_plan
from gopush.gosem import dirhash
from gopush.modzip.check import check_zip
from gopush.modzip.files import SourceFile
from gopush.modzip.report import FileReport
from gopush.modzip.rules import check_files
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
    """Check an existing module zip the way go checks a download."""
    with path.open("rb") as handle:
        checked = check_zip(handle)
    return CheckResult(str(path), checked.module, checked.version, checked.report,
                       checked.sum if checked.report.error() is None else "")


def check_source(request: BuildRequest, reporter: Reporter) -> CheckResult:
    """Check what ``gopush build`` would zip for ``request``, writing nothing.

    Raises:
        SourceError, InvalidModule: as ``actions.build.build`` (before any file verdict).
    """
    plan = make_plan(request)
    for warning in plan.warnings:
        reporter.warn(warning)
    report = check_files(plan.files, go_version=plan.go_version)
    h1 = "" if report.error() else _hash(plan.module, plan.version, plan.files, report)
    target = f"{request.repo}" + ("" if request.worktree else f"@{request.rev}")
    return CheckResult(target, plan.module, plan.version, report, h1)


def _hash(module: str, version: str, files: list[SourceFile] | tuple[SourceFile, ...],
          report: FileReport) -> str:
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
