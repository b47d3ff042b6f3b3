"""Fetch what a repository does not hold from its upstream GOPROXY, verify it, cache it.

Like a Cloudsmith repository with a proxy.golang.org upstream: a version asked for and not
held locally is fetched whole (``.zip``, ``.mod``, ``.info``), checked with the same gate as
uploads (``server.validate``; the upstream's ``.mod`` must equal the zip's go.mod), and only
then stored, so a bad or truncated upstream answer is never served. Lists and ``@latest`` are
passed through (merged with local versions by the caller) and not cached. Upstream URLs may
carry credentials, so they never appear in messages.

Every answer is read with a cap, so an upstream that sends without end costs neither memory
nor disk: a zip streams to disk and stops past the 500 MiB a module zip may hold (the
checker then reads it in bounded pieces), and other answers (.info, .mod, lists) are cut at
``MAX_ANSWER_BYTES``, the largest go.mod a module may have.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.concurrency import run_in_threadpool

from gopush.errors import GopushError
from gopush.gosem import proxypath
from gopush.modzip.rules import MAX_GO_MOD_BYTES, MAX_ZIP_BYTES
from gopush.server.records import Repo, Version
from gopush.server.redaction import redacted
from gopush.server.storage import Storage
from gopush.server.validate import check_upload

ABSENT = (404, 410)
MAX_ANSWER_BYTES = MAX_GO_MOD_BYTES  # .info, .mod, list and @latest answers


class UpstreamError(Exception):
    """The upstream GOPROXY failed or served something go would refuse."""


def _failed(url: str, err: httpx.HTTPError) -> UpstreamError:
    """Name a failed request and why (a certificate that does not verify says so), with the
    upstream's credentials, if its URL holds any, left out."""
    reason = str(err).replace(url, redacted(url))
    password = urlsplit(url).password
    if password:
        reason = reason.replace(password, "***")
    return UpstreamError(f"upstream {redacted(url)} failed: {type(err).__name__}"
                         + (f": {reason}" if reason else ""))


class Upstream:
    """An HTTP client for upstream GOPROXY servers, shared by all repositories."""

    def __init__(self, storage: Storage, timeout: float) -> None:
        self.storage = storage
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=True)
        self._locks: dict[tuple[str, ...], asyncio.Lock] = {}

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()

    def _url(self, repo: Repo, relative: str) -> str:
        assert repo.upstream
        return repo.upstream.rstrip("/") + "/" + relative

    async def _get(self, repo: Repo, relative: str) -> httpx.Response | None:
        """GET a proxy path: the response, None for 404/410; raise on anything else."""
        try:
            async with self.client.stream("GET", self._url(repo, relative)) as response:
                if response.status_code in ABSENT:
                    return None
                if response.status_code != 200:
                    raise UpstreamError(f"upstream {redacted(repo.upstream or '')} answered "
                                        f"{response.status_code} for {relative}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise UpstreamError(f"upstream answer for {relative} is larger than "
                                            f"{MAX_ANSWER_BYTES} bytes")
        except httpx.HTTPError as err:
            raise _failed(repo.upstream or "", err) from None
        # the body is decoded already: keep only the header that tells its charset
        kept = {k: v for k, v in response.headers.items() if k.lower() == "content-type"}
        return httpx.Response(200, content=bytes(body), headers=kept)

    async def versions(self, repo: Repo, module: str) -> list[str]:
        """Return the upstream's version list (empty if it has none or cannot be reached)."""
        try:
            response = await self._get(repo, proxypath.list_path(module))
        except UpstreamError:
            return []  # the local versions still make a useful answer
        return response.text.split() if response is not None else []

    async def latest(self, repo: Repo, module: str) -> dict[str, Any] | None:
        """Return the upstream's ``@latest`` info, or None."""
        response = await self._get(repo, proxypath.latest_path(module))
        if response is None:
            return None
        try:
            info = response.json()
        except ValueError:
            raise UpstreamError("upstream @latest is not JSON") from None
        return info if isinstance(info, dict) and isinstance(info.get("Version"), str) else None

    async def fetch(self, repo: Repo, module: str, version: str) -> Version | None:
        """Fetch, verify and cache module@version; None if the upstream does not have it.

        Raises:
            UpstreamError: the upstream failed, or its zip or go.mod would be refused.
        """
        key = (repo.owner, repo.name, module, version)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self.storage.version(repo, module, version)
            if cached is not None:
                return cached
            return await self._fetch(repo, module, version)

    async def _fetch(self, repo: Repo, module: str, version: str) -> Version | None:
        info = await self._get(repo, proxypath.info_path(module, version))
        mod = await self._get(repo, proxypath.mod_path(module, version)) if info else None
        if info is None or mod is None:
            return None
        incoming = self.storage.blobs.incoming("upstream")
        try:
            if not await self._download_zip(repo, module, version, incoming):
                return None
            await run_in_threadpool(incoming.finish)
            try:
                checked = await run_in_threadpool(check_upload, incoming.path, module, version)
            except GopushError as err:
                raise UpstreamError(f"upstream zip refused: {err.message}") from None
            if mod.content != checked.gomod:
                raise UpstreamError(f"upstream {module}@{version}.mod differs from the go.mod "
                                    "in its zip")
            return await run_in_threadpool(self.storage.cache_version, repo, incoming, checked,
                                           _upstream_time(info))
        finally:
            incoming.discard()

    async def _download_zip(self, repo: Repo, module: str, version: str, incoming: Any) -> bool:
        url = self._url(repo, proxypath.zip_path(module, version))
        try:
            async with self.client.stream("GET", url) as response:
                if response.status_code in ABSENT:
                    return False
                if response.status_code != 200:
                    raise UpstreamError(f"upstream {redacted(url)} answered "
                                        f"{response.status_code}")
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > MAX_ZIP_BYTES:
                        raise UpstreamError(f"upstream {module}@{version}.zip is larger than "
                                            f"{MAX_ZIP_BYTES} bytes, the most a module zip "
                                            "may be")
                    incoming.write(chunk)
        except httpx.HTTPError as err:
            raise _failed(url, err) from None
        return True


def _upstream_time(info: httpx.Response) -> str | None:
    """Return the upstream's .info Time when it is a plausible RFC 3339 time, else None."""
    try:
        when = json.loads(info.content).get("Time")
    except (ValueError, AttributeError):
        return None
    return when if isinstance(when, str) and "T" in when else None
