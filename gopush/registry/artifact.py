"""ModuleArtifact: what every registry receives for one module version.

It is made once per zip by ``gopush.actions.artifact`` after the zip passed the same checks as
``gopush check``: the module path and version come from the zip itself, and the hashes
(``h1:`` for consumers, MD5 for the Cloudsmith upload, SHA-256 for comparing with what a
registry holds) are computed in one read of the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class ModuleArtifact(NamedTuple):
    """A checked module zip and the facts registries need about it."""

    zip_path: Path
    module: str
    version: str
    sum: str  # the h1: hash go records in go.sum
    gomod: bytes  # the zip's go.mod (what <version>.mod serves)
    info: bytes  # the <version>.info JSON document
    size: int
    md5: str
    sha256: str

    @property
    def filename(self) -> str:
        """Return the upload's file name: the zip's base name."""
        return self.zip_path.name

    @property
    def ref(self) -> str:
        """Return ``module@version``."""
        return f"{self.module}@{self.version}"
