"""Publish to a JFrog Artifactory Go repository, as JFrog's own Go publisher does.

The rules, each read in JFrog's source or documentation:

- Deploy (``jf go-publish``: jfrog/jfrog-client-go ``artifactory/services/go/publish.go``,
  ``GoPublishCommand.PublishPackage``/``uploadFile``/``upload``): one ``PUT`` per file, the
  ``.zip``, then the ``.mod``, then the ``.info``, to
  ``{root}/api/go/{repo}/{module}/@v/{version}.{ext};go.version={version}`` where ``root`` is
  ``https://HOST/artifactory``, ``module`` the module path in its original case (no ``!``
  escapes: jfrog/jfrog-cli-artifactory ``artifactory/commands/golang/publish.go``,
  ``publishPackage``, joins go.mod's module path, ``@v`` and the version) and ``go.version``
  a matrix property (``addGoVersion``, the version query-escaped). Each PUT carries
  ``X-Checksum-Sha1``, ``X-Checksum-Md5`` and ``X-Checksum`` (the SHA-256)
  (``artifactory/services/utils/artifactoryutils.go``, ``AddChecksumHeaders``); 201 means
  stored (``upload`` checks for ``http.StatusCreated``).
- Answers (JFrog REST APIs, "Deploy Artifact",
  https://jfrog.com/help/r/jfrog-rest-apis/deploy-artifact): 409 when the bytes received do
  not match the checksum headers ("Artifactory rejects the deployment if the checksums do
  not match"): nothing is stored, the version is *not* known to exist; 403 when the user
  may not deploy there, or when the file exists and replacing it needs the Delete/Overwrite
  permission (a plain PUT overwrites where the user may: Artifactory has no "exists" answer).
- Existence (JFrog REST APIs, "Get File Info",
  https://jfrog.com/help/r/jfrog-rest-apis/get-file-info): ``GET
  {root}/api/storage/{repo}/{path}`` answers the stored file's ``checksums`` (md5, sha1,
  sha256), 404 when absent; needs only read permission. gopush asks it for each file before
  writing: identical files are kept (a re-push succeeds without overwrite permission),
  different ones refused before any byte is sent, and a try whose reply was lost is
  recognised before a retry ("it landed").
- Consumers: ``GOPROXY={root}/api/go/{repo}``, or a virtual Go repository aggregating it,
  named with ``--goproxy https://HOST/artifactory/api/go/VIRTUAL`` (JFrog, "Go Registry":
  https://jfrog.com/help/r/jfrog-artifactory-documentation/go-registry, resolution is
  meant to go through virtual repositories). Artifactory's Go API decodes go's ``!``
  escapes, so mixed-case module paths are served.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from gopush.errors import AuthError, RegistryError, RegistryUnavailable, VersionExists
from gopush.registry import streams
from gopush.registry.artifact import ModuleArtifact
from gopush.registry.base import Existing, Progress, Published, Status, status_meanings
from gopush.registry.goproxy import GoproxyReader, ReadsBackThroughGoproxy
from gopush.registry.http import Body, Session

EXTENSIONS = (".zip", ".mod", ".info")  # the deploy order of jf go-publish

# What 401, 403 and 409 mean when deploying to Artifactory (the module docstring cites each).
_MEANINGS: dict[int, tuple[type[RegistryError], str]] = {
    401: (AuthError, ("Artifactory refused the credentials: an access token as the API key "
                     "(sent as Bearer), or --username with a password or API key (Basic)")),
    403: (AuthError, ("the user may not deploy to this repository, or the file exists and "
                     "replacing it needs the Delete/Overwrite permission on the repository")),
    409: (RegistryUnavailable, ("Artifactory received bytes whose checksums differ from the "
                               "X-Checksum headers gopush sent (changed in transit, e.g. by "
                               "a proxy); it stored nothing; run the same command again")),
}


Checksums = dict[str, str]  # a file's md5, sha1 and sha256 (hex), as the storage API names them


class ArtifactoryRegistry(ReadsBackThroughGoproxy):
    """One Artifactory Go repository (a local repository, to deploy into)."""

    def __init__(self, api: Session, repo: str, goproxy: GoproxyReader) -> None:
        self.api, self.repo, self.goproxy = api, repo, goproxy

    def describe(self) -> str:
        """Return ``REPO at ROOT (Artifactory)``."""
        return f"{self.repo} at {self.api.client.base_url} (Artifactory)"

    def lookup(self, artifact: ModuleArtifact) -> Existing | None:
        """Return the stored zip's SHA-256 (storage API), or None while the version is absent
        or incomplete (its zip stored identical, its .mod or .info missing: ``publish``
        completes it)."""
        stored = self._stored(artifact)
        zipped = stored[".zip"]
        if zipped is None:
            return None
        if zipped.get("sha256") != artifact.sha256 or all(stored.values()):
            return Existing(sum=None, sha256=zipped.get("sha256", ""))
        return None

    def validate(self, artifact: ModuleArtifact, *, republish: bool) -> None:
        """Check the repository exists (the storage API); skipped when the user may not read
        it (403): deploying does not need Read, and the deploy's own answer will tell."""
        try:
            self.validate_access()
        except AuthError as err:
            if err.status != 403:
                raise
            self._unread(f"check the Artifactory repository {self.repo}")

    def publish(self, artifact: ModuleArtifact, *, republish: bool,
                on_progress: Progress) -> Published:
        """Deploy the .zip (streamed), the .mod, then the .info, as ``jf go-publish`` does.

        Files already stored identical are kept; a stored ``.info`` is kept too (only its
        time can differ). Without ``republish`` a file stored with other content stops the
        push before any byte is sent.

        Raises:
            VersionExists: a file is stored with other content (without ``republish``).
            AuthError, RegistryError, RegistryUnavailable: as the registry answers.
        """
        sums = self._checksums(artifact)
        stored = self._stored(artifact)
        if not republish:
            for ext in (".zip", ".mod"):
                held = stored[ext]
                if held is not None and held.get("sha256") != sums[ext]["sha256"]:
                    raise VersionExists(
                        f"{artifact.ref}: Artifactory holds {self._file(artifact, ext)} with "
                        f"SHA-256 {held.get('sha256')}, this one is {sums[ext]['sha256']}",
                        hint="nothing was sent; publish a new version, or pass --republish "
                             "(needs the Delete/Overwrite permission) only if no one can "
                             "have fetched it",
                        data={"module": artifact.module, "version": artifact.version,
                              "status": "refused"})
        for ext in EXTENSIONS:
            held = stored[ext]
            if not republish and held is not None:
                self.api.note(f"{self._file(artifact, ext)} is already stored; kept")
                continue
            self._deploy(artifact, ext, sums[ext], on_progress)
        return Published()

    def _deploy(self, artifact: ModuleArtifact, ext: str, sums: dict[str, str],
                on_progress: Progress) -> None:
        """PUT one file with its property and checksum headers; a lost reply is recognised."""
        headers = {"X-Checksum-Sha1": sums["sha1"], "X-Checksum-Md5": sums["md5"],
                   "X-Checksum": sums["sha256"]}
        body: Body
        if ext == ".zip":
            def body() -> tuple[Any, dict[str, str]]:
                chunks = streams.file_range(artifact.zip_path, 0, artifact.size, on_progress)
                return chunks, {**headers, "Content-Length": str(artifact.size)}
        else:
            data = artifact.gomod if ext == ".mod" else artifact.info
            def body() -> tuple[Any, dict[str, str]]:
                return data, headers
        url = (f"api/go/{self.repo}/{self._file(artifact, ext)}"
               f";go.version={quote(artifact.version, safe='')}")
        with status_meanings(_MEANINGS):
            self.api.request("PUT", url, what=f"deploy {self._file(artifact, ext)}", body=body,
                             landed=self._landed(artifact, ext, sums["sha256"], url))

    def _landed(self, artifact: ModuleArtifact, ext: str, sha256: str,
                url: str) -> Callable[[], httpx.Response | None]:
        def landed() -> httpx.Response | None:
            held = self._file_info(artifact, ext)
            if held is None or held.get("sha256") != sha256:
                return None
            request = httpx.Request("PUT", self.api.client.base_url.join(url))
            return httpx.Response(201, request=request)
        return landed

    def _file(self, artifact: ModuleArtifact, ext: str) -> str:
        """Return ``{module}/@v/{version}{ext}``: the module path as written, unescaped."""
        return f"{quote(artifact.module, safe='/~')}/@v/{quote(artifact.version, safe='')}{ext}"

    def _stored(self, artifact: ModuleArtifact) -> dict[str, Checksums | None]:
        """Return the stored checksums of the version's three files (None: absent)."""
        return {ext: self._file_info(artifact, ext) for ext in EXTENSIONS}

    def _file_info(self, artifact: ModuleArtifact, ext: str) -> Checksums | None:
        """Return one file's checksums from the storage API, or None when it is absent."""
        what = f"ask Artifactory whether {self._file(artifact, ext)} exists"
        try:
            with status_meanings({401: _MEANINGS[401]}):
                reply = self.api.request(
                    "GET", f"api/storage/{self.repo}/{self._file(artifact, ext)}", what=what)
        except RegistryError as err:
            if err.status == 404:
                return None
            if err.status == 403:  # Deploy without Read: the check needs more than the upload
                self._unread(what)
                return None
            raise
        sums = self.api.parse_json(reply, what).get("checksums")
        if not isinstance(sums, dict):
            raise RegistryUnavailable(f"{what}: the file information has no checksums",
                                      hint="the URL may not be an Artifactory repository")
        return {k: str(v).lower() for k, v in sums.items() if isinstance(v, str)}

    def _unread(self, what: str) -> None:
        """Say (with -v) that a storage read was refused and the check skipped: the user may
        deploy without Read; Artifactory itself still refuses an overwrite without the
        Delete/Overwrite permission."""
        self.api.note(f"{what}: refused (403: no Read permission); not checked, deploying "
                      "(Artifactory refuses to overwrite without Delete/Overwrite)")

    def _checksums(self, artifact: ModuleArtifact) -> dict[str, dict[str, str]]:
        """Return md5/sha1/sha256 of the three files (the zip read once more, for SHA-1)."""
        with artifact.zip_path.open("rb") as handle:
            sha1 = hashlib.file_digest(handle, "sha1").hexdigest()
        return {".zip": {"md5": artifact.md5, "sha1": sha1, "sha256": artifact.sha256},
                ".mod": _sums(artifact.gomod), ".info": _sums(artifact.info)}

    def wait(self, published: Published, *, timeout: float, on_status: Status) -> Published:
        """Return at once: the files are served once stored."""
        return published

    def whoami(self) -> dict[str, Any]:
        """Return the repository check as ``authenticated`` (Artifactory has no user call
        every edition answers)."""
        self.validate_access()
        return {"authenticated": True, "slug": self.api.username}

    def validate_access(self) -> None:
        """Check the repository exists and can be read (``GET api/storage/{repo}``).

        Raises:
            RegistryError: 404, no such repository at this Artifactory.
        """
        try:
            with status_meanings({401: _MEANINGS[401]}):
                self.api.request("GET", f"api/storage/{self.repo}",
                                 what=f"check the Artifactory repository {self.repo}")
        except RegistryError as err:
            if err.status == 404:
                err.hint = (f"{self.api.client.base_url} has no repository {self.repo!r} (or "
                            "these credentials may not read it); the target is "
                            "artifactory:https://HOST/artifactory/REPO, REPO a local Go "
                            "repository")
            raise

    def close(self) -> None:
        """Close the HTTP sessions."""
        self.api.close()
        self.goproxy.session.close()


def _sums(data: bytes) -> dict[str, str]:
    return {"md5": hashlib.md5(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest()}


def split_location(location: str) -> tuple[str, str]:
    """Return ``(https://HOST/artifactory/, REPO)`` for ``https://HOST/artifactory/REPO``."""
    root, _, repo = location.rstrip("/").rpartition("/")
    return root + "/", repo


def default_goproxy(location: str) -> str:
    """Return ``https://HOST/artifactory/api/go/REPO/`` for ``https://HOST/artifactory/REPO``."""
    root, repo = split_location(location)
    return f"{root}api/go/{repo}/"
