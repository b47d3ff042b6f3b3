"""A Gitea package registry stand-in (Go packages only), rebuilt from Gitea's own source.

Not gopush's assumptions: each rule below is read in go-gitea/gitea (Forgejo's source could
not be read here) and cited where it is implemented:

- Routes (``routers/api/packages/api.go``, ``CommonRoutes``, group ``/{username}/go``):
  ``PUT /api/packages/{owner}/go/upload`` behind ``reqPackageAccess(write)``; the GOPROXY
  reads ``<name:*>/@v/list``, ``/@v/<version>.info|.mod|.zip``, ``/@latest`` behind
  ``reqPackageAccess(read)``.
- ``reqPackageAccess``: a scoped token without ``write:package`` (for writes) or
  ``read:package`` (for reads) gets **401** with ``WWW-Authenticate: Basic``, and so does a
  user whose access to the owner's packages is below the mode. A public owner gives everyone
  read access (``services/context/package.go``, ``determineAccessMode``).
- Scopes (``models/auth/access_token_scope.go``): ``write:package`` includes ``read:package``
  (``accessTokenScopeWritePackageBits``); ``read:user`` is a separate scope.
- Upload (``routers/api/packages/goproxy/goproxy.go``, ``UploadPackage``): the module path and
  version are read from the zip's first entry holding ``@``; the version must be valid
  semver, else 400; the root ``go.mod`` is kept, or ``module NAME`` made up
  (``modules/packages/goproxy/metadata.go``, ``ParsePackage``). A version whose lower-cased
  name and version exist gives **409** (``ErrDuplicatePackageVersion``); then a count quota
  (``services/packages/packages.go``, ``CheckCountQuotaExceeded``: more versions than
  ``LIMIT_TOTAL_OWNER_COUNT`` once this one is added) gives **403**; success **201**, no body.
- Lookups (``models/packages/package_version.go``, ``getVersionByNameAndVersion``): by
  ``lower_name`` and ``lower_version``. The GOPROXY name and version are the path *as sent*
  (``goproxy.go``, ``resolvePackage``): go's ``!``-escapes of upper-case letters are never
  decoded, so ``example.com/!hello`` finds nothing stored as ``example.com/Hello``.
- Package API (``routers/api/v1/api.go``, group ``/packages/{username}``):
  ``GET .../{type}/{name}/{version}/files`` and ``DELETE .../{type}/{name}/{version}``, the name
  one segment, ``%2F`` for its slashes, unescaped after routing
  (``services/context/base_path.go``, ``PathParam``: "/a%2fb" gives "a/b"); ``reqToken`` (401 without a token),
  ``tokenRequiresScopes`` (**403** without ``read:package``/``write:package``). Files carry
  ``id``, ``Size``, ``name``, ``md5``, ``sha1``, ``sha256``, ``sha512``
  (``modules/structs/package.go``, ``PackageFile``).
- ``GET /api/v1/user`` requires the ``read:user`` scope (403 without it).

Config (JSON): ``{"owners": {"acme": {"public": true, "writers": ["ci"], "max_versions":
null}}, "tokens": {"SECRET": {"user": "ci", "scopes": ["write:package"]}}}``.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import zipfile
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from common import StandinHandler, segments, serve

SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
PACKAGES: dict[tuple[str, str, str], dict[str, Any]] = {}  # (owner, lower name, lower version)


class Denied(Exception):
    """A refusal: status and message, as Gitea words them."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class GiteaHandler(StandinHandler):
    """Gitea's Go package routes and the package API subset push uses."""

    def route(self, method: str, path: str) -> None:
        parts = path.strip("/").split("/")
        try:
            if parts[:2] == ["api", "packages"] and len(parts) >= 4 and parts[3] == "go":
                self._packages(method, unquote(parts[2]), "/".join(parts[4:]))
            elif parts[:3] == ["api", "v1", "packages"]:
                self._package_api(method, segments(path)[3:])
            elif parts == ["api", "v1", "user"] and method == "GET":
                doer, scopes = self._doer()
                if doer is None:
                    raise Denied(401, "token is required")
                self._require_scope(scopes, "read:user")
                self.reply(200, {"login": doer, "full_name": "", "email": f"{doer}@test"})
            else:
                self.reply(404, {"message": "not found"})
        except Denied as denied:
            headers = {"WWW-Authenticate": 'Basic realm="Gitea Package API"'} \
                if denied.status == 401 else {}
            self.reply(denied.status, {"message": denied.message}, headers=headers)

    # -- auth (services/auth: Basic with the token as password, or a token header) --
    def _doer(self) -> tuple[str | None, set[str]]:
        creds = self.credentials()
        if creds.secret is None:
            return None, set()
        token = self.server.config["tokens"].get(creds.secret)
        if token is None:
            raise Denied(401, "Failed to authenticate user")
        scopes = set(token["scopes"])
        scopes |= {s.replace("write:", "read:") for s in scopes if s.startswith("write:")}
        return token["user"], scopes

    def _require_scope(self, scopes: set[str], scope: str) -> None:
        if "all" not in scopes and scope not in scopes:
            raise Denied(403, f"token does not have at least one of required scope(s): [{scope}]")

    def _package_access(self, owner: str, mode: str) -> tuple[str | None, dict[str, Any]]:
        """reqPackageAccess(mode) of routers/api/packages/api.go: 401 on a missing scope or
        access below ``mode``."""
        conf = self.server.config["owners"].get(owner)
        if conf is None:
            raise Denied(404, "owner not found")
        doer, scopes = self._doer()
        if doer is not None and "all" not in scopes and f"{mode}:package" not in scopes:
            raise Denied(401, "user should have specific permission or be a site admin")
        access = "write" if doer in conf.get("writers", []) else (
            "read" if conf.get("public") or doer in conf.get("readers", []) else "none")
        if (mode == "write" and access != "write") or access == "none":
            raise Denied(401, "user should have specific permission or be a site admin")
        return doer, conf

    # -- /api/packages/{owner}/go --
    def _packages(self, method: str, owner: str, rest: str) -> None:
        if method == "PUT" and rest == "upload":
            _, conf = self._package_access(owner, "write")
            self._upload(owner, conf)
            return
        if method != "GET":
            raise Denied(405, "method not allowed")
        self._package_access(owner, "read")
        # resolvePackage: the name and version exactly as the path says, never !-decoded
        rest = unquote(rest)
        if rest.endswith("/@v/list"):
            found = self._versions(owner, rest[: -len("/@v/list")])
            if not found:
                raise Denied(404, "package does not exist")
            self.reply(200, "".join(p["version"] + "\n" for p in found))
            return
        if rest.endswith("/@latest"):
            found = self._versions(owner, rest[: -len("/@latest")])
            if not found:
                raise Denied(404, "package does not exist")
            self._info(found[-1])
            return
        match = re.fullmatch(r"(.+)/@v/([^/]+)\.(info|mod|zip)", rest)
        if match is None:
            raise Denied(404, "not found")
        name, version, kind = match.groups()
        package = PACKAGES.get((owner, name.lower(), version.lower()))
        if package is None:
            raise Denied(404, "package does not exist")
        if kind == "info":
            self._info(package)
        elif kind == "mod":
            self.reply(200, package["gomod"])
        else:
            self.reply(200, package["zip"], content_type="application/zip")

    def _versions(self, owner: str, name: str) -> list[dict[str, Any]]:
        found = [p for (o, n, _), p in PACKAGES.items() if o == owner and n == name.lower()]
        return sorted(found, key=lambda p: p["created"])

    def _info(self, package: dict[str, Any]) -> None:
        when = datetime.fromtimestamp(package["created"], UTC).isoformat()
        self.reply(200, {"Version": package["version"], "Time": when})

    def _upload(self, owner: str, conf: dict[str, Any]) -> None:
        data = self.body()
        try:
            name, version, gomod = parse_package(data)
        except ValueError as err:
            raise Denied(400, str(err)) from None
        key = (owner, name.lower(), version.lower())
        with self.server.lock:
            if key in PACKAGES:
                raise Denied(409, "package version already exists")
            limit = conf.get("max_versions")
            if limit is not None and sum(1 for k in PACKAGES if k[0] == owner) >= limit:
                raise Denied(403, "quota exceeded: total count")
            PACKAGES[key] = {"name": name, "version": version, "gomod": gomod, "zip": data,
                             "created": time.time(), "sha256": hashlib.sha256(data).hexdigest(),
                             "md5": hashlib.md5(data).hexdigest(),
                             "sha1": hashlib.sha1(data).hexdigest(),
                             "sha512": hashlib.sha512(data).hexdigest()}
        if self.lose_reply():
            return
        self.reply(201, b"")

    # -- /api/v1/packages/{owner}/{type}/{name}/{version}[/files] --
    def _package_api(self, method: str, parts: list[str]) -> None:
        doer, scopes = self._doer()
        if doer is None:
            raise Denied(401, "token is required")  # reqToken
        self._require_scope(scopes, "write:package" if method == "DELETE" else "read:package")
        if len(parts) < 4 or parts[1] != "go":
            raise Denied(404, "not found")
        owner, _, name, version = parts[:4]
        conf = self.server.config["owners"].get(owner)
        if conf is None:
            raise Denied(404, "owner not found")
        if not conf.get("public") and doer not in conf.get("writers", []):
            raise Denied(404, "package does not exist")
        key = (owner, name.lower(), version.lower())
        package = PACKAGES.get(key)
        if package is None:
            raise Denied(404, "package does not exist")
        if method == "DELETE" and parts[4:] == []:
            if doer not in conf.get("writers", []):
                raise Denied(403, "user should have specific permission or be a site admin")
            with self.server.lock:
                PACKAGES.pop(key, None)
            self.reply(204, b"")
        elif method == "GET" and parts[4:] == ["files"]:
            self.reply(200, [{"id": 1, "Size": len(package["zip"]),
                              "name": f"{package['version']}.zip", "md5": package["md5"],
                              "sha1": package["sha1"], "sha256": package["sha256"],
                              "sha512": package["sha512"]}])
        elif method == "GET" and parts[4:] == []:
            self.reply(200, {"id": 1, "type": "go", "name": package["name"],
                             "version": package["version"]})
        else:
            raise Denied(404, "not found")


def parse_package(data: bytes) -> tuple[str, str, str]:
    """ParsePackage of modules/packages/goproxy/metadata.go: (name, version, go.mod)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ValueError("zip: not a valid zip file") from None
    name = version = None
    for entry in archive.infolist():
        directory = entry.filename.rpartition("/")[0]
        if "@" not in directory:
            continue
        head, _, tail = directory.partition("@")
        if name is None:
            name, version = head, tail.split("/", 1)[0]
            if not SEMVER.match(version):
                raise ValueError("package version is invalid")
        if "/" in tail:
            continue  # files are expected in the root folder
        if entry.filename.rpartition("/")[2] == "go.mod":
            return name, version, archive.read(entry).decode()
    if name is None or version is None:
        raise ValueError("package has invalid structure")
    return name, version, f"module {name}"


if __name__ == "__main__":
    serve(GiteaHandler)
