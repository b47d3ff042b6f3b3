"""The GOPROXY protocol per repository, at ``/go/{owner}/{repo}/`` (``go help goproxy``).

- ``<module>/@v/list``: release and prerelease versions, never pseudo-versions;
- ``<module>/@v/<v>.info`` / ``.mod`` / ``.zip``: one version (canonical versions only);
- ``<module>/@latest``: the highest release, else prerelease, else pseudo-version;
- ``sumdb/<name>/supported``: 404, so go checks sums with the checksum database directly.

Quarantine (``--quarantine imported|any`` with ``--vuln-db``): a version whose stored scan
has a finding the policy counts (``server.vulnstore``) is left out of ``list`` and
``@latest`` (the upstream's too, when it has the same version), and its ``.info``, ``.mod`` and ``.zip`` answer 403 with the reason as plain
text, which go prints ("server response: ..."); 403, not 404, so go does not fall through
to the next GOPROXY entry for it. Pushing the version is still allowed.

Paths arrive escaped (``!`` before lower-cased capitals) and are decoded by
``gosem.proxypath``. "Not here" is 404 (410 once deleted), which lets a comma-separated GOPROXY
list fall through to the next proxy. A private repository, or one that does not exist, answers
401 to callers without valid credentials, identically, so neither existence nor contents leak.

A reader with an entitlement token (``server.entitlements``) sees only the versions its
package query selects (the others are 404 and missing from ``list`` and ``@latest``), and
each ``.zip`` it downloads is counted against its download limit. Refused credentials are
rate-limited per client address (``server.guessing``): 429 with Retry-After.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from gopush.errors import GopushError
from gopush.gosem import pseudo, semver
from gopush.gosem.proxypath import ProxyKind, ProxyPath, parse_proxy_path
from gopush.server.auth import Reader, basic_credentials, may_read, presented_key
from gopush.server.blobresponse import BlobResponse
from gopush.server.guessing import client_address
from gopush.server.package_json import search_fields, version_search_fields
from gopush.server.records import Repo, Version
from gopush.server.slugs import is_slug
from gopush.server.state import state
from gopush.server.upstream import UpstreamError
from gopush.vuln.scan import Finding


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)


def unauthorized() -> Response:
    """Return the one 401 every refused read gets."""
    return _text(401, "unauthorized: this repository needs credentials "
                      "(HTTP Basic: token:<TOKEN>, or USERNAME:API-KEY)",
                 {"WWW-Authenticate": 'Basic realm="gopush"'})


async def serve(request: Request) -> Response:
    """Answer one GOPROXY request below a repository's base URL."""
    owner, name = request.path_params["owner"], request.path_params["repo"]
    rest: str = request.path_params["rest"]
    if rest.startswith("sumdb/"):
        return _text(404, "not found: this proxy does not serve checksum databases")
    st = state(request)
    address = client_address(request)
    wait = st.guesses.wait(address)
    if wait:
        return _text(429, f"too many requests: too many refused credentials from this "
                          f"address; try again in {wait} s", {"Retry-After": str(wait)})
    reader = may_read(request, owner, name, st.storage, st.settings)
    if reader is None:
        if basic_credentials(request) is not None or presented_key(request) is not None:
            st.guesses.refused(address)
        return unauthorized()
    repo = st.storage.repo(owner, name) if is_slug(owner) and is_slug(name) else None
    if repo is None:
        return _text(404, f"not found: no repository {owner}/{name}")
    try:
        wanted = parse_proxy_path(rest)
    except GopushError as err:
        return _text(404, f"not found: {err.message}")
    try:
        return await _answer(request, repo, wanted, reader)
    except UpstreamError as err:
        return _text(502, f"bad gateway: {err}")


async def _answer(request: Request, repo: Repo, wanted: ProxyPath, reader: Reader) -> Response:
    if wanted.kind is ProxyKind.LIST:
        listed = await _list(request, repo, wanted.module, reader)
        if listed is None:  # 404, not an empty 200: go then asks the next GOPROXY entry
            return _text(404, f"not found: {wanted.module} has no versions here")
        return PlainTextResponse("".join(f"{v}\n" for v in listed))
    if wanted.kind is ProxyKind.LATEST:
        return await _latest(request, repo, wanted.module, reader)
    scope = reader.scope()
    if scope is not None and repo.upstream and not scope(
            version_search_fields(wanted.module, wanted.version)) and \
            state(request).storage.version(repo, wanted.module, wanted.version) is None:
        return _text(404, f"not found: {wanted.module}@{wanted.version} is not in "
                          f"{repo.full_name}")  # not fetched from upstream for this reader
    found = await _find(request, repo, wanted.module, wanted.version)
    if isinstance(found, Response):
        return found
    if not _in_scope(request, reader, found):
        return _text(404, f"not found: {found.module}@{found.version} is not in "
                          f"{repo.full_name}")
    refused = _quarantined(request, repo, found)
    if refused is not None:
        return refused
    blobs = state(request).storage.blobs
    if wanted.kind is ProxyKind.INFO:
        return JSONResponse(_info(found))
    what = f"{found.module}@{found.version} ({repo.full_name})"
    if wanted.kind is ProxyKind.MOD:
        return BlobResponse(blobs, found.mod_sha256, "text/plain", f"the .mod of {what}")
    if reader.entitlement is not None and request.method == "GET" and not state(
            request).storage.entitlements.count_download(reader.entitlement):
        return unauthorized()  # its last download went to another request meanwhile
    return BlobResponse(blobs, found.zip_sha256, "application/zip", f"the .zip of {what}")


def _in_scope(request: Request, reader: Reader, version: Version) -> bool:
    """Tell whether ``reader`` may see ``version`` (an entitlement's package query)."""
    scope = reader.scope()
    if scope is None:
        return True
    package = (state(request).storage.package_by_perm(version.package)
               if version.package else None)
    fields = search_fields(package) if package is not None else version_search_fields(
        version.module, version.version)
    return scope(fields)


async def _list(request: Request, repo: Repo, module: str, reader: Reader) -> list[str] | None:
    """Return the versions ``list`` shows (no pseudo-versions), or None when the module has
    no version here at all (a module with only pseudo-versions lists none, but exists)."""
    held = _held(request, repo, module)
    local = [v.version for v in _visible(request, repo, module, reader)
             if v.version not in held]
    remote = [v for v in await _remote(request, repo, module, reader)
              if v not in held]  # the upstream may have it too
    if not local and not remote:
        return None
    versions = {v for v in [*local, *remote]
                if semver.is_valid(v) and not pseudo.is_pseudo_version(v)}
    return semver.sort_versions(versions)


async def _remote(request: Request, repo: Repo, module: str, reader: Reader) -> list[str]:
    """Return the upstream's versions of ``module`` the reader may see."""
    if not repo.upstream:
        return []
    versions = await state(request).upstream.versions(repo, module)
    scope = reader.scope()
    return [v for v in versions if scope is None or scope(version_search_fields(module, v))]


def _visible(request: Request, repo: Repo, module: str, reader: Reader) -> list[Version]:
    """Return the stored versions of ``module`` the reader may see."""
    return [v for v in state(request).storage.versions(repo, module)
            if _in_scope(request, reader, v)]


async def _latest(request: Request, repo: Repo, module: str, reader: Reader) -> Response:
    held = _held(request, repo, module)
    local = [v for v in _visible(request, repo, module, reader) if v.version not in held]
    if local:
        return JSONResponse(_info(max(local, key=_latest_rank)))
    if repo.upstream:
        info = await state(request).upstream.latest(repo, module)
        scope = reader.scope()
        version = str(info.get("Version", "")) if info is not None else ""
        if info is not None and version not in held and (  # the upstream's may be held
                scope is None or scope(version_search_fields(module, version))):
            return JSONResponse(info)
    return _text(404, f"not found: {module} has no versions here")


def _held(request: Request, repo: Repo, module: str) -> set[str]:
    """Return the versions of ``module`` the quarantine keeps out of ``list``/``@latest``."""
    st = state(request)
    return st.vulns.quarantined(repo, module, st.settings.vuln.quarantine)


def _quarantined(request: Request, repo: Repo, version: Version) -> Response | None:
    """Return the 403 for a quarantined version's files, or None when it is available."""
    st = state(request)
    scan = st.vulns.quarantining(repo, version.module, version.version,
                                 st.settings.vuln.quarantine)
    if scan is None:
        return None
    return _text(403, quarantine_reason(scan.finding_list(), version.module, version.version,
                                        st.settings.vuln.quarantine))


def quarantine_reason(findings: list[Finding], module: str, version: str, policy: str,
                      shown: int = 3) -> str:
    """Return why ``module@version`` is quarantined, in at most ``shown`` findings' words
    (go prints the first lines of a refusal): each GO id, where it is, what fixes it."""
    counted = [f for f in findings if f.imported or policy == "any"]
    noun = "vulnerability" if len(counted) == 1 else "vulnerabilities"
    head = (f"forbidden: {module}@{version} is quarantined by this registry (--quarantine "
            f"{policy}): {len(counted)} known {noun}")
    lines = [head]
    for f in counted[:shown]:
        aliases = f" ({', '.join(f.aliases[:2])})" if f.aliases else ""
        how = f"imported: {', '.join(f.packages[:2])}" if f.imported else "required only"
        fix = f"Upgrade {f.module} to {f.fixed}" if f.fixed else "No fixed version yet"
        lines.append(f"{f.id}{aliases} in {f.module}@{f.version} ({how}): "
                     f"{f.summary.rstrip('.')}. {fix}.")
    if len(counted) > shown:
        lines.append(f"... and {len(counted) - shown} more")
    lines.append("Publish a version that upgrades them; this one is served again if the "
                 "vulnerability database withdraws the entries.")
    return "\n".join(lines)


def _latest_rank(v: Version) -> tuple[int, Any]:
    """Rank releases over prereleases over pseudo-versions, then by semver precedence."""
    kind = 0 if pseudo.is_pseudo_version(v.version) else (1 if semver.prerelease(v.version)
                                                          else 2)
    return kind, _SemverKey(v.version)


class _SemverKey:
    """Orders version strings by ``semver.compare``."""

    def __init__(self, v: str) -> None:
        self.v = v

    def __lt__(self, other: _SemverKey) -> bool:
        return semver.compare(self.v, other.v) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SemverKey) and semver.compare(self.v, other.v) == 0


async def _find(request: Request, repo: Repo, module: str, version: str) -> Version | Response:
    if semver.canonical(version) != version and not version.endswith("+incompatible"):
        return _text(404, f"not found: {module}@{version}: not a canonical version")
    storage = state(request).storage
    found = storage.version(repo, module, version)
    if found is None and storage.was_deleted(repo, module, version):
        return _text(410, f"gone: {module}@{version} was deleted from {repo.full_name}")
    if found is None and repo.upstream:
        found = await state(request).upstream.fetch(repo, module, version)
    if found is None:
        return _text(404, f"not found: {module}@{version} is not in {repo.full_name}")
    return found


def _info(version: Version) -> dict[str, str]:
    return {"Version": version.version, "Time": version.time}
