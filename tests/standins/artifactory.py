"""A JFrog Artifactory stand-in (Go repositories only), rebuilt from JFrog's source and docs.

Not gopush's assumptions: each rule is read in JFrog's Go publisher or REST documentation:

- Deploy as ``jf go-publish`` does it (jfrog/jfrog-client-go
  ``artifactory/services/go/publish.go``, ``GoPublishCommand.upload``):
  ``PUT /artifactory/api/go/{repo}/{module}/@v/{version}.{zip|mod|info};go.version={version}``,
  the module path unescaped, stored at ``{repo}/{module}/@v/{version}.{ext}`` (the comment on
  ``upload``: "go-repo/github.com/jfrog/jfrog-client-go/@v/v1.1.1.zip"), ``;key=value`` matrix
  parameters becoming properties; 201 with the item's JSON. Plain ``PUT
  /artifactory/{repo}/{path}`` deploys too ("Deploy Artifact",
  https://jfrog.com/help/r/jfrog-rest-apis/deploy-artifact).
- Checksum headers (``artifactoryutils.go``, ``AddChecksumHeaders``: ``X-Checksum-Sha1``,
  ``X-Checksum-Md5``, ``X-Checksum``; "Deploy Artifact by Checksum",
  https://jfrog.com/help/r/jfrog-rest-apis/deploy-artifact-by-checksum: ``X-Checksum``'s type
  "is resolved by length"): a header that differs from the bytes received is refused with
  **409** and nothing is stored ("Artifactory rejects the deployment if the checksums do not
  match", Deploy Artifact; the body ``{"errors": [{"status": 409, "message": "Checksum error
  for ...: received ... but actual is ..."}]}``).
- Permissions: deploying needs Deploy (else **403**; no credentials and no anonymous deploy:
  **401**); replacing an existing file needs Delete/Overwrite as well (**403**) ("ARTIFACTORY:
  How to Prevent Overwrite When Using Deploy Artifact by Checksum", JFrog knowledge base
  000006716: only checksum deploys skip the overwrite/delete permission check). Reads need
  Read, or anonymous access when enabled.
- File info ("Get File Info", https://jfrog.com/help/r/jfrog-rest-apis/get-file-info):
  ``GET /artifactory/api/storage/{repo}/{path}`` answers ``checksums`` and
  ``originalChecksums`` (md5, sha1, sha256); a folder answers ``children``; 404 ``{"errors":
  [{"status": 404, "message": "Unable to find item"}]}`` when absent.
- GOPROXY (``GET /artifactory/api/go/{repo}/...``; "Go Registry",
  https://jfrog.com/help/r/jfrog-artifactory-documentation/go-registry): go's ``!``-escapes
  are decoded; a virtual repository resolves through the local ones it aggregates. The
  version list (``@v/list``, ``@latest``) is Artifactory's Go index, made from the
  ``go.version`` property the publisher attaches (inferred from ``publish.go``, which sets
  nothing else): a zip deployed without it is stored but not listed.

Config (JSON): ``{"repos": {"go-local": {"type": "local"}, "go-virtual": {"type": "virtual",
"repositories": ["go-local"]}}, "users": {"deployer": {"secret": "S", "perms": ["read",
"deploy"]}}, "anonymous_read": true}``.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from common import StandinHandler, serve

FILES: dict[tuple[str, str], dict[str, Any]] = {}  # (repo, path) -> data, checksums, props


class Denied(Exception):
    """A refusal in Artifactory's error shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class ArtifactoryHandler(StandinHandler):
    """Deploy, storage info and the Go API."""

    def route(self, method: str, path: str) -> None:
        raw, _, matrix = path.partition(";")
        parts = raw.strip("/").split("/")
        try:
            if parts[0] != "artifactory" or len(parts) < 2:
                raise Denied(404, "Not Found")
            if parts[1:3] == ["api", "go"] and len(parts) > 3:
                repo, rest = parts[3], unquote("/".join(parts[4:]))
                if method == "PUT":
                    self._deploy(repo, rest, matrix)
                else:
                    self._goproxy(repo, rest)
            elif parts[1:3] == ["api", "storage"] and len(parts) > 3 and method == "GET":
                self._storage(parts[3], unquote("/".join(parts[4:])))
            elif method == "PUT" and len(parts) > 2:
                self._deploy(parts[1], unquote("/".join(parts[2:])), matrix)
            else:
                raise Denied(404, "Not Found")
        except Denied as denied:
            headers = {"WWW-Authenticate": 'Basic realm="Artifactory Realm"'} \
                if denied.status == 401 else {}
            self.reply(denied.status, {"errors": [{"status": denied.status,
                                                   "message": denied.message}]},
                       headers=headers)

    def _user(self) -> tuple[str | None, set[str]]:
        """Return the user and permissions the credentials give (anonymous: read if enabled)."""
        creds = self.credentials()
        config = self.server.config
        if creds.secret is None:
            return None, {"read"} if config.get("anonymous_read") else set()
        for name, user in config["users"].items():
            if user["secret"] == creds.secret and creds.user in (None, name):
                return name, set(user["perms"])
        raise Denied(401, "Bad credentials")

    def _allow(self, perm: str) -> str | None:
        user, perms = self._user()
        if perm not in perms:
            if user is None:
                raise Denied(401, "Authentication is required")
            raise Denied(403, f"User {user} is not permitted to {perm} in this repository")
        return user

    def _repo(self, repo: str) -> dict[str, Any]:
        conf = self.server.config["repos"].get(repo)
        if conf is None:
            raise Denied(404, f"Repository '{repo}' not found")
        return dict(conf)

    # -- deploy --
    def _deploy(self, repo: str, path: str, matrix: str) -> None:
        if self._repo(repo)["type"] != "local":
            raise Denied(405, "Deploying to a virtual repository needs a default local one")
        user = self._allow("deploy")
        data = self.body()
        actual = {"md5": hashlib.md5(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest(),
                  "sha256": hashlib.sha256(data).hexdigest()}
        for kind, received in self._claimed().items():
            if received.lower() != actual[kind]:
                raise Denied(409, f"Checksum error for '{path}': received '{received}' but "
                                  f"actual is '{actual[kind]}'")
        key = (repo, path)
        with self.server.lock:
            if key in FILES and "delete" not in self.server.config["users"][user]["perms"]:
                raise Denied(403, f"Not enough permissions to delete/overwrite artifact "
                                  f"'{repo}:{path}' (user: '{user}' needs DELETE permission).")
            props = dict(pair.partition("=")[::2] for pair in matrix.split(";") if pair)
            FILES[key] = {"data": data, "checksums": actual, "created": time.time(),
                          "props": {unquote(k): unquote(v) for k, v in props.items()}}
        if self.lose_reply():
            return
        self.reply(201, {"repo": repo, "path": "/" + path, "created": _iso(time.time()),
                         "createdBy": user, "size": str(len(data)), "checksums": actual,
                         "originalChecksums": actual})

    def _claimed(self) -> dict[str, str]:
        """The checksums the request claims, by kind (X-Checksum: by its length)."""
        claimed = {kind: self.headers[f"x-checksum-{kind}"] for kind in ("md5", "sha1", "sha256")
                   if self.headers.get(f"x-checksum-{kind}")}
        generic = self.headers.get("x-checksum")
        if generic:
            kind = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(generic))
            if kind is None:
                raise Denied(400, f"Unknown checksum type of length {len(generic)}")
            claimed[kind] = generic
        return claimed

    # -- storage API --
    def _storage(self, repo: str, path: str) -> None:
        self._repo(repo)
        self._allow("read")
        path = path.strip("/")
        held = FILES.get((repo, path))
        if held is not None:
            self.reply(200, {"repo": repo, "path": "/" + path, "created": _iso(held["created"]),
                             "size": str(len(held["data"])), "checksums": held["checksums"],
                             "originalChecksums": held["checksums"]})
            return
        prefix = path + "/" if path else ""
        children = sorted({p[len(prefix):].split("/", 1)[0] for (r, p) in FILES
                           if r == repo and p.startswith(prefix)})
        if path and not children:
            raise Denied(404, "Unable to find item")
        self.reply(200, {"repo": repo, "path": "/" + path,
                         "children": [{"uri": "/" + c, "folder": True} for c in children]})

    # -- Go API (GOPROXY) --
    def _goproxy(self, repo: str, rest: str) -> None:
        conf = self._repo(repo)
        self._allow("read")
        locals_ = conf.get("repositories", []) if conf["type"] == "virtual" else [repo]
        if rest.endswith(("/@v/list", "/@latest")):
            module = unescape(rest.rpartition("/@")[0])
            versions = self._indexed(locals_, module)
            if rest.endswith("/@v/list"):
                self.reply(200, "".join(v + "\n" for v in versions))
            elif versions:
                self._send(locals_, f"{module}/@v/{versions[-1]}.info")
            else:
                raise Denied(404, "Not Found")
            return
        match = re.fullmatch(r"(.+)/@v/([^/]+)\.(info|mod|zip)", rest)
        if match is None:
            raise Denied(404, "Not Found")
        module, version, ext = match.groups()
        self._send(locals_, f"{unescape(module)}/@v/{unescape(version)}.{ext}")

    def _indexed(self, repos: list[str], module: str) -> list[str]:
        """The versions of ``module`` whose zip carries the go.version property."""
        prefix = f"{module}/@v/"
        found = [(held["created"], held["props"]["go.version"]) for (r, p), held in FILES.items()
                 if r in repos and p.startswith(prefix) and p.endswith(".zip")
                 and "go.version" in held["props"]]
        return [v for _, v in sorted(found)]

    def _send(self, repos: list[str], path: str) -> None:
        for repo in repos:
            held = FILES.get((repo, path))
            if held is not None:
                kind = "application/zip" if path.endswith(".zip") else "application/octet-stream"
                self.reply(200, held["data"], content_type=kind)
                return
        raise Denied(404, "Not Found")


def unescape(escaped: str) -> str:
    """Undo go's case escaping: ``!x`` is ``X`` (``go help goproxy``)."""
    return re.sub(r"!([a-z])", lambda m: m.group(1).upper(), escaped)


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat()


if __name__ == "__main__":
    serve(ArtifactoryHandler)
