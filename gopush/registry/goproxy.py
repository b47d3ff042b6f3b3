"""Read a module version back through the GOPROXY protocol, as consumers' go command does.

Used to tell whether a registry already serves a version (``.info``), and to download its
zip and hash it (``h1:``), which is exactly what go compares against go.sum.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from gopush.errors import RegistryError, RegistryUnavailable
from gopush.gosem import proxypath
from gopush.modzip.rules import MAX_ZIP_BYTES
from gopush.modzip.zipread import hash_zip
from gopush.registry.artifact import ModuleArtifact
from gopush.registry.base import ConsumerSetup, Existing, netrc_machine
from gopush.registry.http import Session

ABSENT = (404, 410)  # what GOPROXY servers answer for an unknown version


class GoproxyReader:
    """GOPROXY reads below ``base`` (a URL ending in ``/``)."""

    def __init__(self, session: Session, base: str) -> None:
        self.session = session
        self.base = base if base.endswith("/") else base + "/"

    def url(self, relative: str) -> str:
        """Return the absolute URL of a GOPROXY path."""
        return self.base + relative

    def info(self, module: str, version: str) -> dict[str, Any] | None:
        """Return the ``.info`` document of module@version, or None when absent.

        Raises:
            RegistryError, RegistryUnavailable: the proxy failed otherwise.
        """
        what = f"read {module}@{version}.info from the GOPROXY"
        try:
            response = self.session.request(
                "GET", self.url(proxypath.info_path(module, version)), what=what)
        except RegistryError as err:
            if err.status in ABSENT:
                return None
            raise
        return self.session.parse_json(response, what)

    def download_zip(self, module: str, version: str, dest: IO[bytes],
                     on_progress: Callable[[int], None] = lambda n: None) -> None:
        """Write the zip of module@version into ``dest`` (truncated first on every try).

        Raises:
            RegistryError: the proxy does not have it (status 404/410) or refused.
            RegistryUnavailable: the proxy kept failing, or sent more than a module zip may
                hold (``MAX_ZIP_BYTES``; reading stops there).
        """
        what = f"download {module}@{version}.zip"

        def sink(chunks: Iterator[bytes]) -> None:
            dest.seek(0)
            dest.truncate()
            size = 0
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_ZIP_BYTES:
                    raise RegistryUnavailable(
                        f"{what}: {self.base} sent more than the {MAX_ZIP_BYTES:,} bytes a "
                        "module zip may hold; gopush stopped reading",
                        hint="the GOPROXY is broken or hostile; check the GOPROXY URL")
                dest.write(chunk)
                on_progress(len(chunk))

        self.session.request("GET", self.url(proxypath.zip_path(module, version)),
                             what=what, sink=sink)
        dest.flush()

    def zip_sum(self, module: str, version: str, keep: Path | None = None) -> str:
        """Download the zip of module@version and return its ``h1:`` hash.

        With ``keep``, the zip is saved there (for file-by-file comparisons).

        Raises:
            RegistryError, RegistryUnavailable: as ``download_zip``.
        """
        if keep is not None:
            with keep.open("w+b") as handle:
                self.download_zip(module, version, handle)
                handle.seek(0)
                return hash_zip(handle)
        with tempfile.TemporaryFile() as handle:
            self.download_zip(module, version, handle)
            handle.seek(0)
            return hash_zip(handle)


def download_via(reader: GoproxyReader, module: str, version: str, dest: Path) -> str | None:
    """Save module@version's zip from ``reader`` to ``dest``; return its h1:, None if absent.

    Raises:
        RegistryError, RegistryUnavailable: the proxy refused or failed otherwise.
    """
    if reader.info(module, version) is None:
        return None
    return reader.zip_sum(module, version, keep=dest)


class ReadsBackThroughGoproxy:
    """Mixin for registries whose published versions are read back through ``self.goproxy``
    (Gitea, Artifactory): lookups, downloads and the consumer setup."""

    goproxy: GoproxyReader

    def consumer_setup(self) -> ConsumerSetup:
        """Return the GOPROXY URL and its host for .netrc (login: the user's name)."""
        return ConsumerSetup(goproxy=self.goproxy.base,
                             netrc_machine=netrc_machine(self.goproxy.base),
                             netrc_login="USERNAME")

    def lookup(self, artifact: ModuleArtifact) -> Existing | None:
        """Return the h1: served for artifact's module@version, or None."""
        if self.goproxy.info(artifact.module, artifact.version) is None:
            return None
        return Existing(sum=self.goproxy.zip_sum(artifact.module, artifact.version))

    def download(self, module: str, version: str, dest: Path) -> str | None:
        """Save the zip consumers get for module@version to ``dest``; return its h1:."""
        return download_via(self.goproxy, module, version, dest)
