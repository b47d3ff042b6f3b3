"""Publish to a JFrog Artifactory Go repository.

Protocol (JFrog docs, "Go Registry", deploying with the REST API): ``PUT`` the three files of
a version under the repository's GOPROXY-shaped path,
``{base}/{escaped module}/@v/{version}.{zip,mod,info}`` where ``base`` is
``https://HOST/artifactory/REPO``, with ``X-Checksum-Sha256`` / ``X-Checksum-Md5`` headers so
Artifactory verifies what it stored. The ``.info`` goes last: a version is visible to go once
its ``.info`` exists. Consumers use ``GOPROXY=https://HOST/artifactory/api/go/REPO``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from gopush.gosem import proxypath
from gopush.registry import streams
from gopush.registry.artifact import ModuleArtifact
from gopush.registry.base import Progress, Published, Status
from gopush.registry.goproxy import GoproxyReader, ReadsBackThroughGoproxy
from gopush.registry.http import Session


class ArtifactoryRegistry(ReadsBackThroughGoproxy):
    """One Artifactory Go repository (a local repository, to deploy into)."""

    def __init__(self, api: Session, goproxy: GoproxyReader) -> None:
        self.api, self.goproxy = api, goproxy

    def describe(self) -> str:
        """Return the repository URL."""
        return f"{self.api.client.base_url} (Artifactory)"

    def validate(self, artifact: ModuleArtifact, *, republish: bool) -> None:
        """Check the repository exists and the credentials can read it."""
        self.validate_access()

    def publish(self, artifact: ModuleArtifact, *, republish: bool,
                on_progress: Progress) -> Published:
        """PUT the .zip (streamed), the .mod, then the .info.

        Raises:
            AuthError, RegistryError, RegistryUnavailable: as the registry answers.
        """
        module, version = artifact.module, artifact.version

        def zip_body() -> tuple[Any, dict[str, str]]:
            chunks = streams.file_range(artifact.zip_path, 0, artifact.size, on_progress)
            return chunks, {"Content-Length": str(artifact.size),
                            "X-Checksum-Sha256": artifact.sha256, "X-Checksum-Md5": artifact.md5}

        self.api.request("PUT", proxypath.zip_path(module, version),
                         what=f"upload {artifact.ref}.zip", body=zip_body)
        for path, data in ((proxypath.mod_path(module, version), artifact.gomod),
                           (proxypath.info_path(module, version), artifact.info)):
            def body(data: bytes = data) -> tuple[bytes, dict[str, str]]:
                return data, _checksums(data)
            self.api.request("PUT", path, what=f"upload {path.rsplit('/', 1)[-1]}", body=body)
        return Published()

    def wait(self, published: Published, *, timeout: float, on_status: Status) -> Published:
        """Return at once: the files are served once stored."""
        return published

    def whoami(self) -> dict[str, Any]:
        """Return the repository check as ``authenticated`` (Artifactory has no user call
        every edition answers)."""
        self.validate_access()
        return {"authenticated": True, "slug": self.goproxy.session.username}

    def validate_access(self) -> None:
        """Check the repository can be read with these credentials."""
        self.api.request("GET", "", what="check the Artifactory repository")

    def close(self) -> None:
        """Close the HTTP sessions."""
        self.api.close()
        self.goproxy.session.close()


def _checksums(data: bytes) -> dict[str, str]:
    return {"X-Checksum-Sha256": hashlib.sha256(data).hexdigest(),
            "X-Checksum-Md5": hashlib.md5(data).hexdigest()}


def default_goproxy(base: str) -> str:
    """Return ``https://HOST/artifactory/api/go/REPO`` for ``https://HOST/artifactory/REPO``."""
    root, _, repo = base.rstrip("/").rpartition("/")
    return f"{root}/api/go/{repo}/"
