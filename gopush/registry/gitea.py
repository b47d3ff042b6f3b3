"""Publish to a Gitea or Forgejo package registry, as Gitea's own source implements it.

Every rule below is read in go-gitea/gitea (Forgejo, its fork, is taken to behave the same:
its source could not be read where this was written; README, "Verified only against
stand-ins"):

- Upload: ``PUT {base}/api/packages/{owner}/go/upload``, the module zip as the body
  (``routers/api/packages/api.go``, ``CommonRoutes``, the ``/go`` group;
  ``routers/api/packages/goproxy/goproxy.go``, ``UploadPackage``). Gitea reads the module path
  and version from the zip's own file names (``modules/packages/goproxy/metadata.go``,
  ``ParsePackage``), in their original case. Answers: 201 stored; 400 not a module zip;
  409 this owner already has that version (``ErrDuplicatePackageVersion``: Gitea never
  overwrites); 403 a package quota is used up (``ErrQuotaTotalCount``/``TypeSize``/
  ``TotalSize``); 401 the token lacks the ``write:package`` scope or its user may not write
  the owner's packages (``reqPackageAccess``, which answers 401 for both).
- Scopes: ``write:package`` includes ``read:package`` (``models/auth/access_token_scope.go``,
  ``accessTokenScopeWritePackageBits``), so a least-privilege token can also read the
  package API below. ``GET /api/v1/user`` needs ``read:user``: push never calls it.
- Existence: ``GET {base}/api/v1/packages/{owner}/go/{module}/{version}/files``
  (``routers/api/v1/api.go``, the ``/packages/{username}`` group; ``ListPackageFiles``),
  the module path as one ``%2F``-escaped segment (Gitea routes on the raw path and
  unescapes the parameter: ``services/context/base_path.go``, ``PathParam``); the reply
  lists each file with its ``sha256`` (``modules/structs/package.go``, ``PackageFile``);
  404 when absent. Names and
  versions are matched lower-cased (``models/packages/package_version.go``,
  ``getVersionByNameAndVersion`` through ``SearchVersions``' ``lower_name``/``lower_version``).
- Delete (``--republish``): ``DELETE`` on ``.../{module}/{version}`` (same group).
- Consumers: ``GOPROXY={base}/api/packages/{owner}/go``. Gitea looks the GOPROXY path up
  as sent, lower-cased, and never decodes go's ``!``-escapes (``goproxy.go``,
  ``resolvePackage``): go asks for ``example.com/!hello`` when the module is
  ``example.com/Hello``, which no stored name matches. So a module path or version with
  upper-case letters is refused before anything is sent: Gitea would store it and never
  serve it to go.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from gopush.errors import AuthError, RegistryError, VersionExists
from gopush.gosem import proxypath
from gopush.registry import streams
from gopush.registry.artifact import ModuleArtifact
from gopush.registry.base import Existing, Progress, Published, Status, status_meanings
from gopush.registry.goproxy import GoproxyReader, ReadsBackThroughGoproxy
from gopush.registry.http import Session

# What 401, 403 and 409 mean on Gitea's package routes (the module docstring cites each).
_MEANINGS: dict[int, tuple[type[RegistryError], str]] = {
    401: (AuthError, ("Gitea refused the token for this owner: it needs the write:package "
                     "scope, and its user write access to the owner's packages (an "
                     "organization: a team with package write access)")),
    403: (RegistryError, ("Gitea's package quota for this owner is used up (or the token is "
                         "limited to public owners); ask the Gitea administrators, or delete "
                         "old versions")),
    409: (VersionExists, ("Gitea holds this version with other content and never overwrites; "
                         "publish a new version, or pass --republish (deletes it first) only "
                         "if no one can have fetched it")),
}


class GiteaRegistry(ReadsBackThroughGoproxy):
    """The Go packages of one Gitea/Forgejo owner (user or organization)."""

    def __init__(self, api: Session, owner: str, goproxy: GoproxyReader) -> None:
        self.api, self.owner, self.goproxy = api, owner, goproxy

    def describe(self) -> str:
        """Return ``owner at base (Gitea)``."""
        return f"{self.owner} at {self.api.client.base_url} (Gitea)"

    def lookup(self, artifact: ModuleArtifact) -> Existing | None:
        """Return the stored zip's SHA-256 from Gitea's package API, or None when absent.

        Raises:
            RegistryError: the module cannot be served by Gitea (``servable``).
        """
        servable(artifact)
        stored = self._stored_sha256(artifact)
        return None if stored is None else Existing(sum=None, sha256=stored)

    def validate(self, artifact: ModuleArtifact, *, republish: bool) -> None:
        """Refuse what Gitea could not serve; nothing else: Gitea has no dry-run upload, and
        every other call would need more than the upload's ``write:package`` scope."""
        servable(artifact)

    def publish(self, artifact: ModuleArtifact, *, republish: bool,
                on_progress: Progress) -> Published:
        """Upload the zip (deleting the old version first with ``republish``).

        A try whose reply was lost is recognised by the package API before a retry: if the
        version is stored with this zip's SHA-256, the upload landed. A 409 is checked the
        same way (the lost reply's retry may race Gitea's commit).

        Raises:
            VersionExists: 409 for other content (without ``republish``).
            AuthError, RegistryError, RegistryUnavailable: as the registry answers.
        """
        if republish:
            self._delete(artifact)

        def body() -> tuple[Any, dict[str, str]]:
            chunks = streams.file_range(artifact.zip_path, 0, artifact.size, on_progress)
            return chunks, {"Content-Length": str(artifact.size),
                            "Content-Type": "application/zip"}

        url = f"api/packages/{self.owner}/go/upload"
        try:
            with status_meanings(_MEANINGS):
                self.api.request("PUT", url, what=f"upload {artifact.ref}", body=body,
                                 landed=lambda: self._landed(artifact, url))
        except VersionExists:
            if self._stored_sha256(artifact) != artifact.sha256:
                raise
            self.api.note(f"upload {artifact.ref}: 409, and Gitea holds this very zip: it landed")
        return Published()

    def _landed(self, artifact: ModuleArtifact, url: str) -> httpx.Response | None:
        """Return a stand-in 201 when Gitea already holds this zip, else None (send again)."""
        if self._stored_sha256(artifact) != artifact.sha256:
            return None
        return httpx.Response(201, request=httpx.Request("PUT", self.api.client.base_url.join(url)))

    def _package_path(self, artifact: ModuleArtifact) -> str:
        # the module path travels as one segment: its slashes escaped (%2F)
        return (f"api/v1/packages/{self.owner}/go/{quote(artifact.module, safe='')}/"
                f"{quote(artifact.version, safe='')}")

    def _stored_sha256(self, artifact: ModuleArtifact) -> str | None:
        """Return the SHA-256 Gitea records for the version's zip, or None when absent."""
        what = f"ask Gitea whether {artifact.ref} exists"
        try:
            with status_meanings(_MEANINGS):
                reply = self.api.request("GET", self._package_path(artifact) + "/files",
                                         what=what)
        except RegistryError as err:
            if err.status == 404:
                return None
            raise
        files = self.api.decode(reply, what)
        if not isinstance(files, list):
            raise RegistryError(f"{what}: the file list is not a JSON list",
                                hint="the API host may not be Gitea; check the URL")
        zips = [f for f in files if isinstance(f, dict)
                and str(f.get("name", "")).lower() == f"{artifact.version}.zip".lower()]
        return str(zips[0].get("sha256") or "") if zips else ""

    def _delete(self, artifact: ModuleArtifact) -> None:
        try:
            with status_meanings(_MEANINGS):
                self.api.request("DELETE", self._package_path(artifact),
                                 what=f"delete the old {artifact.ref}")
        except RegistryError as err:
            if err.status != 404:
                raise

    def wait(self, published: Published, *, timeout: float, on_status: Status) -> Published:
        """Return at once: Gitea serves a version as soon as the upload succeeded."""
        return published

    def whoami(self) -> dict[str, Any]:
        """Return ``GET /api/v1/user`` as ``authenticated`` and ``slug`` (the login).

        That call needs the ``read:user`` scope, which pushing does not: a token without it
        is refused here and still pushes.
        """
        what = "ask who the token belongs to"
        try:
            reply = self.api.request("GET", "api/v1/user", what=what)
        except AuthError as err:
            err.hint = ("Gitea answers who a token belongs to only with the read:user scope; "
                        "pushing needs only write:package, so this token may still push")
            raise
        user = self.api.parse_json(reply, what)
        return {"authenticated": True, "slug": user.get("login"), "name": user.get("full_name"),
                "email": user.get("email")}

    def close(self) -> None:
        """Close the HTTP sessions."""
        self.api.close()
        self.goproxy.session.close()


def servable(artifact: ModuleArtifact) -> None:
    """Refuse a module path or version with upper-case letters: Gitea stores it and never
    serves it to go (the module docstring says why).

    Raises:
        RegistryError: exit 5, naming the path go would ask for.
    """
    if artifact.module == artifact.module.lower() and artifact.version == artifact.version.lower():
        return
    asked = proxypath.zip_path(artifact.module, artifact.version)
    raise RegistryError(
        f"Gitea cannot serve {artifact.ref} to go: go asks its GOPROXY for {asked}, and Gitea "
        "looks that path up as sent, lower-cased, without decoding go's !-escapes of "
        "upper-case letters, so consumers would get 404 (nothing was sent)",
        data={"module": artifact.module, "version": artifact.version, "status": "refused"},
        hint="publish it under a lower-case module path and version, or to a target that "
             "serves mixed case (gopush serve, Artifactory, dir:)")
