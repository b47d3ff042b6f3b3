"""Publish to a Gitea or Forgejo package registry.

Protocol (Gitea docs, "Go Package Registry"): ``PUT {base}/api/packages/{owner}/go/upload``
with the module zip as the body, authenticated with Basic (user + token) or a token header;
``409`` means the version exists (Gitea never overwrites: ``--republish`` first deletes the
version through ``DELETE {base}/api/v1/packages/{owner}/go/{module}/{version}``). Consumers
use ``GOPROXY={base}/api/packages/{owner}/go``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gopush.errors import RegistryError
from gopush.registry import streams
from gopush.registry.artifact import ModuleArtifact
from gopush.registry.base import Progress, Published, Status
from gopush.registry.goproxy import GoproxyReader, ReadsBackThroughGoproxy
from gopush.registry.http import Session


class GiteaRegistry(ReadsBackThroughGoproxy):
    """The Go packages of one Gitea/Forgejo owner (user or organization)."""

    def __init__(self, api: Session, owner: str, goproxy: GoproxyReader) -> None:
        self.api, self.owner, self.goproxy = api, owner, goproxy

    def describe(self) -> str:
        """Return ``owner at base (Gitea)``."""
        return f"{self.owner} at {self.api.client.base_url} (Gitea)"

    def validate(self, artifact: ModuleArtifact, *, republish: bool) -> None:
        """Check the credentials (``GET /api/v1/user``); Gitea has no upload validation."""
        self.api.request("GET", "api/v1/user", what="check the Gitea credentials")

    def publish(self, artifact: ModuleArtifact, *, republish: bool,
                on_progress: Progress) -> Published:
        """Upload the zip (deleting the old version first with ``republish``).

        Raises:
            VersionExists: 409 without ``republish``.
            AuthError, RegistryError, RegistryUnavailable: as the registry answers.
        """
        if republish:
            self._delete(artifact)

        def body() -> tuple[Any, dict[str, str]]:
            chunks = streams.file_range(artifact.zip_path, 0, artifact.size, on_progress)
            return chunks, {"Content-Length": str(artifact.size),
                            "Content-Type": "application/zip"}

        self.api.request("PUT", f"api/packages/{self.owner}/go/upload",
                         what=f"upload {artifact.ref}", body=body)
        return Published()

    def _delete(self, artifact: ModuleArtifact) -> None:
        path = (f"api/v1/packages/{self.owner}/go/{quote(artifact.module, safe='')}/"
                f"{quote(artifact.version, safe='')}")
        try:
            self.api.request("DELETE", path, what=f"delete the old {artifact.ref}")
        except RegistryError as err:
            if err.status != 404:
                raise

    def wait(self, published: Published, *, timeout: float, on_status: Status) -> Published:
        """Return at once: Gitea serves a version as soon as the upload succeeded."""
        return published

    def whoami(self) -> dict[str, Any]:
        """Return ``GET /api/v1/user`` as ``authenticated`` and ``slug`` (the login)."""
        what = "ask who the token belongs to"
        user = self.api.parse_json(self.api.request("GET", "api/v1/user", what=what), what)
        return {"authenticated": True, "slug": user.get("login"), "name": user.get("full_name"),
                "email": user.get("email")}

    def close(self) -> None:
        """Close the HTTP sessions."""
        self.api.close()
        self.goproxy.session.close()
