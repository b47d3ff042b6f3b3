"""The one acceptance gate for a module zip: would go accept it, and what goes beside it.

x/mod's ``CheckZip`` is what the go command runs on every zip it downloads; ``accept_zip`` is
that for gopush: ``gopush check`` and ``gopush push`` (``actions.artifact.load_artifact``) and
``gopush serve`` (``server.validate.check_upload``) all call it, so they accept and refuse the
same zips with the same words. It runs ``check.check_zip`` (paths, collisions, sizes, entries
read back, the module line of the zip's go.mod), raises the combined error, and returns what
a GOPROXY serves beside the zip:

- ``gomod``: the zip's go.mod, or, for a module without one, the go.mod the go command
  synthesizes (``gosem.gomod.synthesized``: ``module PATH``);
- ``info(published)``: the ``.info`` document. Its Time is a pseudo-version's own time
  (which must be a real instant: a pseudo-version of month 13 is refused here), else the time
  the caller says the version was published.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import NamedTuple

from gopush.errors import GopushError, InvalidModuleZip
from gopush.gosem import gomod, pseudo
from gopush.modzip.check import ZipCheck, check_zip
from gopush.modzip.report import FileReport, InvalidZipFiles
from gopush.modzip.rules import GO_MOD_IS_DIRECTORY, go_mod_is_directory
from gopush.modzip.zipfmt import ReadSeeker

RFC3339 = "%Y-%m-%dT%H:%M:%SZ"  # the UTC form go proxies write in .info files


class AcceptedZip(NamedTuple):
    """A module zip go would accept: module@version, its h1:, go.mod, and its files.

    The one record of what the gate found: the client's ``registry.artifact.ModuleArtifact``
    (``accepted`` plus the upload's hashes) and the server's version rows are made from it.
    ``pseudo_time`` is the time a pseudo-version carries (None for other versions). A
    NamedTuple, not a dataclass: a push defines it at start-up (docs/architecture.md).
    """

    module: str
    version: str
    sum: str
    gomod: bytes
    gomod_synthesized: bool
    valid: tuple[str, ...]  # the zip's file entries, in zip order
    pseudo_time: datetime | None

    @property
    def files(self) -> int:
        """Return the number of files in the zip."""
        return len(self.valid)

    def time(self, published: datetime) -> datetime:
        """Return the version's time: a pseudo-version's own, else ``published``."""
        return self.pseudo_time or published

    def info(self, published: datetime) -> bytes:
        """Return the ``.info`` document for this version (see ``time``)."""
        return info_document(self.version, self.time(published))


class RefusedZip(InvalidZipFiles):
    """go would refuse this zip; ``checked`` holds module@version and every verdict."""

    def __init__(self, message: str, *, report: FileReport, hint: str | None,
                 checked: ZipCheck) -> None:
        super().__init__(message, report=report, hint=hint)
        self.checked = checked


def accept_zip(path_or_file: str | os.PathLike[str] | ReadSeeker, module: str | None = None,
               version: str | None = None) -> AcceptedZip:
    """Check a module zip as the go command checks a download; return what it holds.

    ``module`` and ``version`` default to the prefix of the zip's first entry.

    Raises:
        RefusedZip: go would refuse the zip's entries (the message, prefixed
            ``module@version:``, lists every offending entry; ``checked`` has every verdict).
        InvalidModuleZip: not a zip, no module@version, or a pseudo-version naming no time.
    """
    checked = check_zip(path_or_file, module, version)
    where = f"{checked.module}@{checked.version}"
    error = checked.report.error(where)
    if error is not None:
        raise RefusedZip(error.message, report=checked.report, hint=error.hint, checked=checked)
    prefix = len(where) + 1
    if go_mod_is_directory(name[prefix:] for name in checked.report.valid):
        raise InvalidModuleZip(f"{where}: {GO_MOD_IS_DIRECTORY}",
                               hint="rename the go.mod directory; go reads go.mod as a file")
    pseudo_time = None
    if pseudo.is_pseudo_version(checked.version):
        try:
            pseudo_time = pseudo.pseudo_version_time(checked.version)
        except GopushError as err:  # month 13, hour 25...
            raise InvalidModuleZip(f"{where}: {err.message}", hint=err.hint) from None
    gomod_data = checked.gomod
    return AcceptedZip(
        module=checked.module, version=checked.version, sum=checked.sum,
        gomod=gomod_data if gomod_data is not None else gomod.synthesized(checked.module),
        gomod_synthesized=gomod_data is None, valid=checked.report.valid,
        pseudo_time=pseudo_time)


def info_document(version: str, time: datetime) -> bytes:
    """Return the ``.info`` JSON go proxies serve: Version and Time (RFC 3339, UTC)."""
    stamp = time.astimezone(UTC).strftime(RFC3339) if time.tzinfo else time.strftime(RFC3339)
    return (json.dumps({"Version": version, "Time": stamp}) + "\n").encode()
