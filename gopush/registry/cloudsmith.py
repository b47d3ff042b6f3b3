"""Cloudsmith API client: the push sequence of ``cloudsmith push go``, done robustly.

The calls, all relative to the API host (with or without ``/v1``), as documented in
``cloudsmith-api.md``:

1. ``POST /packages/{owner}/{repo}/validate-upload/go/`` (package parameters);
2. ``POST /files/{owner}/{repo}/validate/`` (file name and MD5);
3. ``POST /files/{owner}/{repo}/`` asks for an upload slot, ``method`` ``post`` below
   the part size (``PART_SIZE`` unless the settings say otherwise) and ``put_parts`` at or
   above;
4. a streamed form POST to the presigned ``upload_url`` (no key sent: it authorises itself),
   or one streamed ``PUT upload_url?upload_id=ID&part_number=N`` per part and
   ``POST /files/{owner}/{repo}/{id}/complete/``. A slot that disappears meanwhile (the
   registry restarted, or the slot expired) is answered 403, 404 or 410 by the upload URL
   (``gopush serve``: 403 "Unknown or expired upload slot." for a form POST, 404 for a part
   or ``complete``; S3-style stores: 403 for an expired POST policy, 404 for an unknown
   multipart upload): a new slot is then asked for and the upload starts over, at most
   ``SLOT_RENEWALS`` times;
5. ``POST /packages/{owner}/{repo}/upload/go/`` creates the package (before re-sending it,
   the package list is asked whether the first try landed);
6. ``GET /packages/{owner}/{repo}/{slug}/status/`` until synchronised, failed, or the deadline.

Consumers read modules through the GOPROXY endpoint: ``https://dl.cloudsmith.io/basic/
{owner}/{repo}/go/`` for Cloudsmith itself, ``<host>/go/{owner}/{repo}/`` for any other host
(such as ``gopush serve``), or what the settings name.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from gopush.errors import RegistryError, RegistryUnavailable
from gopush.registry import streams
from gopush.registry.artifact import ModuleArtifact
from gopush.registry.base import (
    ConsumerSetup,
    Existing,
    Progress,
    Published,
    Registry,
    Status,
    netrc_machine,
)
from gopush.registry.goproxy import GoproxyReader, download_via
from gopush.registry.http import Session
from gopush.text import one_line

PART_SIZE = 100 * 1024 * 1024  # 104,857,600 bytes: the official CLI's CHUNK_SIZE
SLOT_RENEWALS = 2  # new uploads started after the upload slot disappeared
SLOT_GONE = frozenset({403, 404, 410})  # what an upload URL answers for a slot it lost
# Seconds to wait before each status poll, the last one repeating. A package is never
# processed the instant it is created, so the first poll waits too. Small packages take a
# few milliseconds (gopush serve: 2-5 ms for a 2 kB zip) and big ones seconds, so polls
# start close together and spread out: 16 polls in the first 10 s, then one every 5 s, as
# the official CLI's default.
SYNC_ATTEMPTS = 3  # a failed sync is resynced twice at most, as the official CLI's default
POLL_INTERVALS = (0.003, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3, 0.5, 0.8, 1.2,
                  2.0, 3.0, 5.0)


class CloudsmithRegistry:
    """A Cloudsmith repository (or anything speaking its API, such as ``gopush serve``)."""

    def __init__(self, api: Session, owner: str, repo: str, goproxy: GoproxyReader,
                 *, clock: Callable[[], float] = time.monotonic,
                 part_size: int | None = None) -> None:
        self.api, self.owner, self.repo, self.goproxy = api, owner, repo, goproxy
        self.clock = clock
        self.part_size = part_size or PART_SIZE
        self.tags: tuple[str, ...] = ()  # sent as upload/go's ``tags`` (push --tag)

    # -- describing ------------------------------------------------------------------------

    def describe(self) -> str:
        """Return ``owner/repo at host`` (just the host when no repository is named)."""
        host = str(self.api.client.base_url).rstrip("/")
        return f"{self.owner}/{self.repo} at {host}" if self.owner else host

    def consumer_setup(self) -> ConsumerSetup:
        """Return the GOPROXY URL and the .netrc machine consumers need."""
        return ConsumerSetup(goproxy=self.goproxy.base,
                             netrc_machine=netrc_machine(self.goproxy.base))

    # -- probing ---------------------------------------------------------------------------

    def lookup(self, artifact: ModuleArtifact) -> Existing | None:
        """Return what the repository holds for artifact's module@version, or None.

        A package whose processing failed is reported as such (state "failed"): it was never
        served, whatever it holds. A package whose stored zip has the same SHA-256 is
        identical without a download; otherwise the zip is read back through the GOPROXY
        endpoint and hashed as go would.

        Raises:
            AuthError, RegistryError, RegistryUnavailable: the registry refused or failed.
        """
        package = self.find_package(artifact.module, artifact.version)
        slug = package.get("slug") if package else None
        sha = package.get("checksum_sha256") if package else None
        if package is not None and _state(package) == "failed":  # never served, whatever it holds
            return Existing(sum=None, package=slug, sha256=sha, state="failed")
        if package is not None and sha and sha == artifact.sha256:
            return Existing(sum=artifact.sum, package=slug, sha256=sha, state=_state(package))
        if self.goproxy.info(artifact.module, artifact.version) is None:
            if package is None:
                return None
            return Existing(sum=None, package=slug, sha256=sha, state=_state(package))
        return Existing(sum=self.goproxy.zip_sum(artifact.module, artifact.version),
                        package=slug, sha256=sha)

    def find_package(self, module: str, version: str) -> dict[str, Any] | None:
        """Return the package object for module@version from the package list, or None.

        The query names the module exactly and the version up to a ``+incompatible`` suffix
        (how a registry reads ``+`` in a query is its own business); the exact match is
        picked from the results.

        Raises:
            RegistryError: 404 when the repository does not exist, with a hint naming the
                owner's repositories this key can see.
        """
        release, plus, _ = version.partition("+")
        wanted = f"version:^{release}" if plus else f"version:^{version}$"
        response = self._in_repo("GET", self._path("packages"), what="look up existing packages",
                                 params={"query": f"format:go name:^{module}$ {wanted}",
                                         "page_size": "100"})
        items = self.api.decode(response, "look up existing packages")
        if isinstance(items, dict):  # some servers wrap lists as {"results": [...]}
            items = items.get("results", [])
        for item in items if isinstance(items, list) else []:
            if (isinstance(item, dict) and item.get("name") == module
                    and item.get("version") == version):
                return item
        return None

    def list_packages(self, query: str, *, page: int, page_size: int) -> PackagePage:
        """Return one page of the repository's packages that ``query`` selects (Cloudsmith's
        query language; "" lists all), newest first, with the counts the registry gives.

        Raises:
            RegistryError: 400 for a query the registry cannot read, 404 for an unknown
                repository (hint: the ones this key sees) or a page past the last.
        """
        what = "list packages"
        params = {"page": str(page), "page_size": str(page_size)}
        if query:
            params["query"] = query
        response = self._in_repo("GET", self._path("packages"), what=what, params=params)
        items = self.api.decode(response, what)
        if isinstance(items, dict):  # some servers wrap lists as {"results": [...]}
            items = items.get("results", [])
        packages = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
        headers = response.headers
        return PackagePage(packages=packages, page=page,
                           count=_header_int(headers, "X-Pagination-Count", len(packages)),
                           pages=_header_int(headers, "X-Pagination-PageTotal", page))

    def read_package(self, slug: str) -> dict[str, Any]:
        """Return the package object ``slug`` names.

        Raises:
            RegistryError: 404 when there is no such package (or repository).
        """
        what = f"read package {slug}"
        return self.api.parse_json(
            self._in_repo("GET", self._path("packages", slug), what=what), what)

    def delete_package(self, slug: str) -> None:
        """Delete the package ``slug``: its version is no longer served. A retried DELETE
        whose first try landed (the package is gone: 404) counts as done.

        Raises:
            RegistryError: 404 when no such package exists; AuthError when refused.
        """
        what = f"delete package {slug}"
        path = self._path("packages", slug)

        def landed() -> httpx.Response | None:
            try:
                self.api.request("GET", path, what=f"check whether {slug} is gone")
            except RegistryError as err:
                if err.status == 404 and not isinstance(err, RegistryUnavailable):
                    return httpx.Response(204)
            return None

        self._in_repo("DELETE", path, what=what, landed=landed)

    def _in_repo(self, method: str, path: str, *, what: str, **options: Any) -> httpx.Response:
        """Send an API call about the repository.

        Raises:
            RegistryError: a 404 that the repository listing confirms (``_unknown_repo``):
                the message leads with the missing repository, the hint names the ones this
                key can see; any other refusal as ``Session.request`` raises it.
        """
        try:
            return self.api.request(method, path, what=what, **options)
        except RegistryError as err:
            if err.status != 404 or isinstance(err, RegistryUnavailable):
                raise
            raise self._unknown_repo(err) from None

    def _unknown_repo(self, err: RegistryError) -> RegistryError:
        """Return the error for a 404 about the repository: "OWNER/REPO does not exist"
        first (the step that met it in parentheses) when the listing of the owner's
        repositories lacks it, with a hint naming those repositories, or, when the owner
        has none, the close matches among every repository the key sees (``GET /repos/``:
        ``ACME/pub`` and ``acmee/pub`` find ``acme/pub``). ``err``, with the generic hint,
        when the registry does not list repositories or lists this one."""
        full = f"{self.owner}/{self.repo}"
        owned = self._list_repos(self.owner)
        if owned is None or full in owned:
            return err
        if owned:
            known = f"the repositories of {self.owner} it can see: {_some(owned)}"
        else:
            everything = self._list_repos(None)
            close = _close_matches(full, everything or [])
            known = (f"it can see no repository of {self.owner}"
                     + (f"; close matches: {_some(close)}" if close else ""))
        return RegistryError(
            f"{self.describe()} does not exist or is not visible to this key ({err.message})", status=err.status, data=err.data,
            hint=f"{known}; if this is gopush serve, declare the repository with --repo, or "
                 "start it with --new-repos")

    def _list_repos(self, owner: str | None) -> list[str] | None:
        """Return the ``OWNER/SLUG`` of the repositories of ``owner`` (``GET /repos/OWNER/``;
        a 404 lists none), or of every one the key sees (``owner`` None: ``GET /repos/``,
        owners from ``namespace``); None when the registry does not say (any other failure:
        this only feeds a hint). Slugs are the registry's words: one line each, key masked.
        """
        path, what = ((f"repos/{owner}/", f"list the repositories of {owner}") if owner else
                      ("repos/", "list the repositories this key can see"))
        try:
            listed = self.api.decode(self.api.request("GET", path, what=what), what)
        except RegistryError as err:
            if err.status != 404 or isinstance(err, RegistryUnavailable):
                return None
            return []
        if not isinstance(listed, list):
            return None
        names = set()
        for repo in (item for item in listed if isinstance(item, dict)):
            namespace = owner or repo.get("namespace")
            if isinstance(namespace, str) and isinstance(repo.get("slug"), str):
                names.add(self.api.scrub(one_line(f"{namespace}/{repo['slug']}")))
        return sorted(names)

    # -- publishing ------------------------------------------------------------------------

    def validate(self, artifact: ModuleArtifact, *, republish: bool) -> None:
        """Run the two server-side validations (package parameters, then file).

        Raises:
            AuthError, RegistryError, RegistryUnavailable: the registry refused or failed.
        """
        self._in_repo("POST", self._path("packages", "validate-upload/go"),
                      what="validate the package parameters",
                      json_body={"package_file": str(artifact.zip_path.resolve()),
                                 "republish": republish})
        self.api.request("POST", self._path("files", "validate"),
                         what="validate the file parameters",
                         json_body={"filename": artifact.filename,
                                    "md5_checksum": artifact.md5})

    def publish(self, artifact: ModuleArtifact, *, republish: bool,
                on_progress: Progress) -> Published:
        """Upload the zip and create the Go package; return its slug (sync not awaited).

        Raises:
            AuthError, VersionExists, RegistryError, RegistryUnavailable: as the steps fail
                (RegistryUnavailable when the upload slot disappeared ``SLOT_RENEWALS`` + 1
                times).
        """
        method = "put_parts" if artifact.size >= self.part_size else "post"
        sent = [0]

        def counting(n: int) -> None:
            sent[0] += n
            on_progress(n)

        for renewal in range(SLOT_RENEWALS + 1):
            slot = self._request_slot(artifact, method)
            try:
                self._upload(artifact, slot, method, counting)
                break
            except RegistryError as err:
                if err.status not in SLOT_GONE or isinstance(err, RegistryUnavailable):
                    raise
                if renewal == SLOT_RENEWALS:
                    raise _slot_lost(err) from None
                self.api.note(f"the upload slot is gone ({err.status}): the registry "
                              f"restarted or expired it; starting a new upload "
                              f"({renewal + 1}/{SLOT_RENEWALS})")
                _rewinder(sent, on_progress)()
        return self._create_package(artifact, str(slot["identifier"]), republish)

    def _upload(self, artifact: ModuleArtifact, slot: dict[str, Any], method: str,
                on_progress: Progress) -> None:
        """Send the zip's bytes into ``slot``: one form POST, or parts and ``complete``."""
        if method == "post":
            self._upload_form(artifact, slot, on_progress)
            return
        identifier = str(slot["identifier"])
        self._upload_parts(artifact, slot, on_progress)
        self.api.request("POST", self._path("files", f"{identifier}/complete"),
                         what="complete the multipart upload",
                         json_body={"upload_id": identifier, "complete": True})

    def _request_slot(self, artifact: ModuleArtifact, method: str) -> dict[str, Any]:
        what = "request an upload slot"
        response = self.api.request("POST", self._path("files"), what=what,
                                    json_body={"filename": artifact.filename,
                                               "md5_checksum": artifact.md5, "method": method})
        slot = self.api.parse_json(response, what)
        if not slot.get("identifier") or not isinstance(slot.get("upload_url"), str):
            raise RegistryUnavailable(f"{what}: the reply has no identifier or upload_url",
                                      hint="the registry does not speak the Cloudsmith API")
        return slot

    def _upload_form(self, artifact: ModuleArtifact, slot: dict[str, Any],
                     on_progress: Progress) -> None:
        fields = slot.get("upload_fields") or {}
        sent = [0]

        def counting(n: int) -> None:
            sent[0] += n
            on_progress(n)

        def body() -> tuple[Any, dict[str, str]]:
            return streams.form_body({str(k): str(v) for k, v in fields.items()},
                                     artifact.filename, artifact.zip_path, artifact.size,
                                     counting)

        self.api.request("POST", slot["upload_url"], what=f"upload {artifact.filename}",
                         body=body, send_key=False, rewind=_rewinder(sent, on_progress))

    def _upload_parts(self, artifact: ModuleArtifact, slot: dict[str, Any],
                      on_progress: Progress) -> None:
        url, identifier = slot["upload_url"], str(slot["identifier"])
        send_key = self._same_site(url)
        for number, offset in enumerate(range(0, artifact.size, self.part_size), start=1):
            length = min(self.part_size, artifact.size - offset)
            sent = [0]

            def counting(n: int, sent: list[int] = sent) -> None:
                sent[0] += n
                on_progress(n)

            def body(offset: int = offset, length: int = length,
                     counting: Progress = counting) -> tuple[Any, dict[str, str]]:
                chunks = streams.file_range(artifact.zip_path, offset, length, counting)
                return chunks, {"Content-Length": str(length)}

            self.api.request("PUT", url, what=f"upload part {number} of {artifact.filename}",
                             body=body, send_key=send_key,
                             params={"upload_id": identifier, "part_number": str(number)},
                             rewind=_rewinder(sent, on_progress))

    def _create_package(self, artifact: ModuleArtifact, identifier: str,
                        republish: bool) -> Published:
        what = "create the Go package"

        def landed() -> httpx.Response | None:
            package = self.find_package(artifact.module, artifact.version)
            if package and package.get("checksum_sha256") in (None, artifact.sha256):
                return httpx.Response(201, json=package)
            return None

        response = self.api.request("POST", self._path("packages", "upload/go"), what=what,
                                    json_body={"package_file": identifier,
                                               "republish": republish,
                                               **({"tags": ",".join(self.tags)}
                                                  if self.tags else {})}, landed=landed)
        package = self.api.parse_json(response, what)
        slug = package.get("slug")
        if not isinstance(slug, str) or not slug:
            raise RegistryUnavailable(f"{what}: the reply has no package slug",
                                      hint="the registry does not speak the Cloudsmith API")
        # a registry that processed the package already says so: no status poll needed
        return Published(package=slug, package_id=package.get("slug_perm"),
                         synced=package.get("is_sync_completed") is True)

    # -- waiting ---------------------------------------------------------------------------

    def wait(self, published: Published, *, timeout: float, on_status: Status) -> Published:
        """Poll the package status until it is synchronised, failed, or ``timeout`` passed.

        A failure the registry may recover from (its reason does not say the package should
        be deleted) is answered with a resync, up to ``SYNC_ATTEMPTS`` attempts in all, as
        the official CLI does.

        Raises:
            RegistryError: synchronisation failed for good, or on every attempt (with the
                registry's reason).
            RegistryUnavailable: still not synchronised at the deadline.
        """
        deadline = self.clock() + timeout
        what, path = "check the package status", self._path("packages",
                                                                f"{published.package}/status")
        attempts, poll = 1, 0
        while True:
            pause = POLL_INTERVALS[min(poll, len(POLL_INTERVALS) - 1)]
            if self.clock() + pause > deadline:
                break
            self.api.sleep(pause)
            poll += 1
            status = self.api.parse_json(self.api.request("GET", path, what=what), what)
            progress = status.get("sync_progress")
            on_status(_describe_status(status), progress if isinstance(progress, int) else None)
            if status.get("is_sync_completed"):
                return Published(published.package, published.package_id, synced=True)
            if status.get("is_sync_failed"):
                if attempts >= SYNC_ATTEMPTS or _for_good(status):
                    raise _sync_failed(published, status)
                attempts, poll = attempts + 1, 0
                self._resync(published, status, on_status)
        raise RegistryUnavailable(
            f"package {published.package} was not synchronised within {timeout:g}s",
            data={"package": published.package},
            hint="the upload is complete and the registry is still processing it; run the "
                 "same command again later to check (it will not upload twice), or raise "
                 "--timeout")

    def _resync(self, published: Published, status: dict[str, Any], on_status: Status) -> None:
        reason = status.get("status_reason") or "no reason given"
        on_status(f"failed ({reason}); asking the registry to resync", None)
        self.api.request("POST", self._path("packages", f"{published.package}/resync"),
                         what="ask the registry to resync the package")

    # -- helpers ---------------------------------------------------------------------------

    def _path(self, kind: str, rest: str = "") -> str:
        tail = f"{rest}/" if rest else ""
        return f"{kind}/{self.owner}/{self.repo}/{tail}"

    def _same_site(self, url: str) -> bool:
        """Tell whether ``url`` may receive the key: the API host, or a cloudsmith.io host."""
        host = urlsplit(url).hostname or ""
        return host == self.api.client.base_url.host or host.endswith(".cloudsmith.io")

    def download(self, module: str, version: str, dest: Path) -> str | None:
        """Save the zip consumers get for module@version to ``dest``; return its h1:."""
        return download_via(self.goproxy, module, version, dest)

    def whoami(self) -> dict[str, Any]:
        """Return ``GET /user/self/`` (``authenticated``, ``slug``, ``name``, ``email``)."""
        what = "ask who the API key belongs to"
        try:
            response = self.api.request("GET", "user/self/", what=what)
        except RegistryError as err:
            if err.status == 404:  # no repository was named: the host is what is wrong
                err.hint = (f"{self.api.client.base_url} has no /user/self/: it does not "
                            "speak the Cloudsmith API there; check --api-host "
                            "(GOPUSH_API_HOST), e.g. https://api.cloudsmith.io or gopush "
                            "serve's http://HOST:PORT")
            raise
        return self.api.parse_json(response, what)

    def close(self) -> None:
        """Close both HTTP sessions."""
        self.api.close()
        if self.goproxy.session is not self.api:
            self.goproxy.session.close()


@dataclass(frozen=True)
class PackagePage:
    """A page of a package list: the package objects and where the page stands.

    (A dataclass, not a NamedTuple: a ``count`` field would hide the tuple's method.)
    """

    packages: list[dict[str, Any]]
    page: int
    count: int  # packages the query selects, all pages
    pages: int


def _header_int(headers: httpx.Headers, name: str, default: int) -> int:
    value = headers.get(name, "")
    return int(value) if value.isdigit() and len(value) < 12 else default


def _close_matches(full: str, names: list[str]) -> list[str]:
    """Return the names of ``names`` that ``full`` (``OWNER/REPO``) may be a mistyping of:
    equal but for case, or similar (``difflib``: a letter or two added, dropped or swapped)."""
    folded = full.lower()
    same = [name for name in names if name.lower() == folded]
    by_fold = {name.lower(): name for name in names}
    near = [by_fold[n] for n in difflib.get_close_matches(folded, list(by_fold), n=5,
                                                          cutoff=0.8)]
    return list(dict.fromkeys(same + near))


def _some(names: list[str], most: int = 20) -> str:
    """Return up to ``most`` names, comma-separated, and how many more there are."""
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _rewinder(sent: list[int], on_progress: Progress) -> Callable[[], None]:
    def rewind() -> None:
        if sent[0]:
            on_progress(-sent[0])
            sent[0] = 0

    return rewind


def _slot_lost(err: RegistryError) -> RegistryUnavailable:
    return RegistryUnavailable(
        f"{err.message}\n(the upload slot disappeared {SLOT_RENEWALS + 1} times: gopush "
        f"started a new upload {SLOT_RENEWALS} times)", status=err.status, data=err.data,
        hint="the registry keeps losing uploads (restarting, or expiring upload slots "
             "early); run the same command again later (it resumes safely)")


def _state(package: dict[str, Any]) -> str:
    if package.get("is_sync_failed"):
        return "failed"
    return "available" if package.get("is_sync_completed") else "syncing"


def _describe_status(status: dict[str, Any]) -> str:
    parts = [str(status.get(k)) for k in ("status_str", "stage_str")
             if status.get(k) and "Unknown" not in str(status.get(k))]
    return " - ".join(parts) or "waiting"


def _for_good(status: dict[str, Any]) -> bool:
    """Tell whether a failed sync says resyncing cannot help (cloudsmith-api.md §5.6)."""
    return "package should be deleted" in str(status.get("status_reason") or "").lower()


def _sync_failed(published: Published, status: dict[str, Any]) -> RegistryError:
    reason = status.get("status_reason") or "no reason given"
    hint = ("the registry will not retry this package; a later push of this version "
            "replaces it (it was never served)" if _for_good(status) else
            f"the registry failed it {SYNC_ATTEMPTS} times; push again to replace it (it was "
            "never served), or ask the registry's operators")
    return RegistryError(f"the registry failed to process package {published.package}: {reason}",
                         data={"package": published.package, "status_reason": str(reason)},
                         hint=hint)


def default_goproxy(api_host: str, owner: str, repo: str) -> str:
    """Return the GOPROXY URL for a repository on ``api_host`` (see the module docstring)."""
    parts = urlsplit(api_host)
    if parts.hostname == "api.cloudsmith.io":
        return f"https://dl.cloudsmith.io/basic/{owner}/{repo}/go/"
    root = api_host.rstrip("/").removesuffix("/v1")
    return f"{root}/go/{owner}/{repo}/"


def cloudsmith_repository(registry: Registry, what: str) -> CloudsmithRegistry:
    """Return ``registry`` when it is one Cloudsmith-style repository (Cloudsmith or
    ``gopush serve``, named OWNER/REPO), the only kind that has ``what``.

    Raises:
        RegistryError: the target is another kind (a directory, Gitea, Artifactory).
    """
    if not isinstance(registry, CloudsmithRegistry) or not registry.owner:
        raise RegistryError(f"{registry.describe()} has no {what}: only a Cloudsmith-style "
                            "repository (Cloudsmith, gopush serve) has them",
                            hint="name the repository as OWNER/REPO with --api-host")
    return registry
