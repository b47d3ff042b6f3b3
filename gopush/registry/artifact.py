"""ModuleArtifact: what every registry receives for one module version.

It is made once per zip by ``gopush.actions.artifact`` after the zip passed the same gate as
``gopush check`` (``modzip.accept.accept_zip``, whose ``AcceptedZip`` it holds): the module
path, version, ``h1:`` and go.mod come from the zip itself, and the hashes
(``h1:`` for consumers, MD5 for the Cloudsmith upload, SHA-256 for comparing with what a
registry holds) are computed in one read of the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from gopush.modzip.accept import AcceptedZip


class ModuleArtifact(NamedTuple):
    """A checked module zip (the gate's ``AcceptedZip``) and what registries need beside it."""

    zip_path: Path
    accepted: AcceptedZip  # module@version, h1:, go.mod: as the gate found them
    info: bytes  # the <version>.info JSON document
    size: int
    md5: str
    sha256: str

    @property
    def module(self) -> str:
        """Return the module path."""
        return self.accepted.module

    @property
    def version(self) -> str:
        """Return the version."""
        return self.accepted.version

    @property
    def sum(self) -> str:
        """Return the h1: hash go records in go.sum."""
        return self.accepted.sum

    @property
    def gomod(self) -> bytes:
        """Return the zip's go.mod, or the synthesized one (what <version>.mod serves)."""
        return self.accepted.gomod

    @property
    def filename(self) -> str:
        """Return the upload's file name: the zip's base name."""
        return self.zip_path.name

    @property
    def ref(self) -> str:
        """Return ``module@version``."""
        return f"{self.module}@{self.version}"
