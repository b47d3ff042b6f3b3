"""HTTP routing only: the Cloudsmith-style upload API (bare and under ``/v1``), the presigned
upload targets, the GOPROXY endpoint per repository, and the web page (``/`` and ``/web/``,
``server.web``). Handlers live in their own modules.

Paths are matched with or without a trailing slash and never redirected (the official CLI
must not see a redirect on a POST). Errors raised as ``ApiError`` become ``{"detail",
"fields"}`` bodies; a full disk (``DiskFull``) becomes a 507 (``server.space``), a
PostgreSQL that cannot be reached (``DatabaseUnavailable``) a 503 with ``Retry-After``; anything
unexpected becomes a 500 with no internal detail, except on the form upload target, which
handles its own errors (it never answers a status the official CLI retries).

``/healthz`` answers 200 while the process serves; ``/readyz`` answers 200 when the
database can be read, the blob store answers (``Blobs.check``) and the data directory takes
writes, else 503, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gopush.server import (
    api_entitlements,
    api_files,
    api_openid,
    api_packages,
    api_retention,
    api_user,
    api_vulns,
    goproxy,
    web,
)
from gopush.server.blobs import BlobStoreUnavailable
from gopush.server.db import SCHEMA_VERSION, DatabaseUnavailable
from gopush.server.expiry import SlotExpiry
from gopush.server.responses import ApiError, out_of_space, store_unavailable
from gopush.server.settings import ServeSettings
from gopush.server.space import DiskFull, Space
from gopush.server.state import ServerState, state
from gopush.server.storage import Storage
from gopush.server.sync import Synchroniser
from gopush.server.upstream import Upstream
from gopush.server.vulnscan import Scanner, VulnWatch

log = logging.getLogger("gopush.server")

_REPO = "/{owner}/{repo}"
_ENT = f"/entitlements{_REPO}/{{identifier}}"
API_ROUTES = [
    Route(f"{_ENT}/refresh", api_entitlements.refresh_entitlement, methods=["POST"]),
    Route(f"{_ENT}/enable", api_entitlements.enable_entitlement, methods=["POST"]),
    Route(f"{_ENT}/disable", api_entitlements.disable_entitlement, methods=["POST"]),
    Route(f"{_ENT}/reset", api_entitlements.reset_entitlement, methods=["POST"]),
    Route(_ENT, api_entitlements.read_entitlement, methods=["GET"]),
    Route(_ENT, api_entitlements.update_entitlement, methods=["PATCH"]),
    Route(_ENT, api_entitlements.delete_entitlement, methods=["DELETE"]),
    Route(f"/entitlements{_REPO}", api_entitlements.list_entitlements, methods=["GET"]),
    Route(f"/entitlements{_REPO}", api_entitlements.create_entitlement, methods=["POST"]),
    Route(f"/packages{_REPO}/validate-upload/go", api_packages.validate_go, methods=["POST"]),
    Route(f"/packages{_REPO}/upload/go", api_packages.upload_go, methods=["POST"]),
    Route(f"/packages{_REPO}/{{pkg}}/status", api_packages.package_status, methods=["GET"]),
    Route(f"/packages{_REPO}/{{pkg}}/resync", api_packages.resync, methods=["POST"]),
    Route(f"/packages{_REPO}/{{pkg}}/tag", api_packages.tag_package, methods=["POST"]),
    Route(f"/packages{_REPO}/{{pkg}}", api_packages.read_package, methods=["GET"]),
    Route(f"/packages{_REPO}/{{pkg}}", api_packages.delete_package, methods=["DELETE"]),
    Route(f"/packages{_REPO}", api_packages.list_packages, methods=["GET"]),
    Route(f"/files{_REPO}/validate", api_files.validate_file, methods=["POST"]),
    Route(f"/files{_REPO}/{{identifier}}/complete", api_files.complete_file, methods=["POST"]),
    Route(f"/files{_REPO}/{{identifier}}/abort", api_files.abort_file, methods=["POST"]),
    Route(f"/files{_REPO}/{{identifier}}/info", api_files.file_info, methods=["GET"]),
    Route(f"/files{_REPO}", api_files.create_file, methods=["POST"]),
    Route(f"/vulnerabilities{_REPO}/{{pkg}}/{{identifier}}", api_vulns.read_scan,
          methods=["GET"]),
    Route(f"/vulnerabilities{_REPO}/{{pkg}}", api_vulns.list_scans, methods=["GET"]),
    Route("/openid/{org}", api_openid.exchange, methods=["POST"]),
    Route("/user/self", api_user.user_self, methods=["GET"]),
    Route("/user/tokens", api_user.user_tokens, methods=["GET"]),
    Route(f"/repos{_REPO}/retention/dry-run", api_retention.dry_run, methods=["POST"]),
    Route(f"/repos{_REPO}/retention/apply", api_retention.apply_rules, methods=["POST"]),
    Route(f"/repos{_REPO}/retention", api_retention.read_rules, methods=["GET"]),
    Route(f"/repos{_REPO}/retention", api_retention.update_rules, methods=["PATCH"]),
    Route("/repos/{owner}", api_user.list_repos, methods=["GET"]),
    Route("/repos", api_user.list_repos, methods=["GET"]),
    Route("/status/check/basic", api_user.status_check, methods=["GET"]),
    Route("/rates/limits", api_user.rate_limits, methods=["GET"]),
]


async def healthz(request: Request) -> Response:
    """``GET /healthz``: the process is up and its event loop answers (200)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """``GET /readyz``: 200 when the database can be read (and no newer gopush migrated it
    since the start), the blob store answers and the data directory takes writes; 503 with the reason otherwise (read-only on a full disk: reads still work)."""
    status, reason = await run_in_threadpool(_readiness, state(request).storage)
    return JSONResponse({"status": status, "reason": reason},
                        status_code=200 if status == "ready" else 503)


DATABASE_UNAVAILABLE = "The registry's database cannot be reached; try again shortly."


def _readiness(storage: Storage) -> tuple[str, str | None]:
    try:
        storage.db.one("SELECT 1")
        newer = storage.db.newer_schema()
    except Exception as err:  # noqa: BLE001 - whatever it is, the registry is not ready
        log.warning("readiness: the database cannot be read: %s", err)
        return "unavailable", "The registry's database cannot be read; see the server log."
    if newer is not None:  # a newer gopush migrated it: this one must leave the rotation
        log.warning("readiness: the database is at schema %d, newer than this gopush's %d",
                    newer, SCHEMA_VERSION)
        return "unavailable", (f"The database is at schema {newer}, newer than this gopush "
                               f"knows ({SCHEMA_VERSION}): upgrade this instance.")
    try:
        storage.blobs.check()
    except Exception as err:  # noqa: BLE001 - whatever it is, the registry is not ready
        log.warning("readiness: the blob store (%s) cannot be used: %s",
                    storage.blobs.describe(), err)
        # anyone may ask: the cause in words that name nothing of the deployment; the
        # endpoint, bucket or path are in the log line above
        cause = err.cause if isinstance(err, BlobStoreUnavailable) else "it cannot be reached"
        return "unavailable", (f"The registry's blob store cannot be used: {cause}; see the "
                               "server log.")
    if not storage.space.writable():
        return "read-only", (f"{storage.space.reason}: serving reads only; uploads get 507 "
                             "until space is freed.")
    return "ready", None


WEB_ROUTES = [
    Route("/", web.index, methods=["GET"]),
    Route("/web/login", web.login_form, methods=["GET"]),
    Route("/web/login", web.login, methods=["POST"]),
    Route("/web/logout", web.logout, methods=["POST"]),
    Route("/web/{owner}/{repo}/upload", web.upload, methods=["POST"]),
    Route("/web/{owner}/{repo}/upload-layout", web.upload_layout, methods=["POST"]),
    Route("/web/{owner}/{repo}/tokens", web.create_token, methods=["POST"]),
    Route("/web/{owner}/{repo}/mod/{module:path}", web.module_page, methods=["GET"]),
    Route("/web/{owner}/{repo}", web.repo_page, methods=["GET"]),
]

ROUTES = [
    *WEB_ROUTES,
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/readyz", readyz, methods=["GET", "HEAD"]),
    Route("/go/{owner}/{repo}/{rest:path}", goproxy.serve, methods=["GET", "HEAD"]),
    Route("/_upload/parts" + _REPO, api_files.upload_part, methods=["PUT"]),
    Route("/_upload/{identifier}", api_files.upload_form, methods=["POST"]),
    Mount("/v1", routes=API_ROUTES),
    *API_ROUTES,
]


class StripTrailingSlash:
    """ASGI middleware: route ``/a/b/`` as ``/a/b`` (GOPROXY paths never end in a slash)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/",
                     "raw_path": scope.get("raw_path", b"").rstrip(b"/") or b"/"}
        await self.app(scope, receive, send)


class NoSniff:
    """ASGI middleware: every answer says ``X-Content-Type-Options: nosniff``. GOPROXY's
    ``.mod`` and ``list`` are uploaders' bytes served as ``text/plain`` on the web page's
    origin: no browser may take them for HTML or script."""

    HEADER = (b"x-content-type-options", b"nosniff")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if all(name.lower() != self.HEADER[0] for name, _ in headers):
                    message = {**message, "headers": [*headers, self.HEADER]}
            await send(message)

        await self.app(scope, receive, send_nosniff)


class WriteGate:
    """ASGI middleware: in read-only mode (a full disk), answer each POST and PUT 507 before
    its body is read, unless a probe finds space again (``Space.writable``: the rule in
    ``server.space``). DELETE is let through: deleting a package frees space. Other
    requests, reads included, pass untouched, and so does everything while writable."""

    WRITES = frozenset({"POST", "PUT", "PATCH"})

    def __init__(self, app: ASGIApp, space: Space) -> None:
        self.app = app
        self.space = space

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] in self.WRITES
                and self.space.read_only and not await run_in_threadpool(self.space.writable)):
            await out_of_space().response()(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _disk_full(request: Request, exc: Exception) -> Response:
    return out_of_space().response()  # Space logged the path when read-only mode began


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BlobStoreUnavailable)
    return store_unavailable(exc).response()


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # a PostgreSQL restart under the instances: one line, no traceback; clients retry a 503
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": DATABASE_UNAVAILABLE}, status_code=503,
                        headers={"Retry-After": "5"})


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "Internal error; see the server log."}, status_code=500)


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": "Not found."}, status_code=404)


def create_app(storage: Storage, settings: ServeSettings) -> ASGIApp:
    """Return the ASGI application serving ``storage`` with ``settings``."""
    upstream = Upstream(storage, settings.upstream_timeout)
    scanner = Scanner(storage, settings.vuln) if settings.vuln.enabled else None
    watch = VulnWatch(scanner) if scanner is not None else None
    sync = Synchroniser(storage, scanner, lease=settings.queue_lease,
                        hold=settings.hold_processing)
    server_state = ServerState(storage, settings, upstream, sync)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sync.start()
        if watch is not None:
            watch.start()
        sweeping = asyncio.create_task(_sweep_periodically(server_state.expiry, storage))
        joins = (asyncio.create_task(_drop_finished_joins(server_state.expiry))
                 if storage.db.shared else None)  # alone, only this process completes slots
        try:
            yield
        finally:
            for task in (sweeping, joins):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await run_in_threadpool(sync.stop)
            if watch is not None:
                await run_in_threadpool(watch.stop)
            server_state.searches.close()
            await upstream.close()
            await server_state.issuers.close()

    app = Starlette(routes=ROUTES, lifespan=lifespan,
                    exception_handlers={ApiError: _api_error, DiskFull: _disk_full,
                                        DatabaseUnavailable: _database_unavailable,
                                        BlobStoreUnavailable: _store_unavailable,
                                        404: _not_found, Exception: _unexpected})
    app.router.redirect_slashes = False
    app.state.gopush = server_state
    return NoSniff(StripTrailingSlash(WriteGate(app, storage.space)))


JOIN_CHECK = 10.0  # seconds between two checks for joins of uploads finished elsewhere


async def _drop_finished_joins(expiry: SlotExpiry) -> None:
    """Every JOIN_CHECK seconds, drop the joins of multipart uploads another instance
    completed (``SlotExpiry.drop_finished_joins``): one read per join held, none when idle."""
    while True:
        await asyncio.sleep(JOIN_CHECK)
        try:
            await expiry.drop_finished_joins()
        except Exception as err:  # noqa: BLE001 - an unreachable database must not end the checks
            log.warning("checking for uploads completed by other instances failed (%s); "
                        "trying again in %.0f s", err, JOIN_CHECK)


async def _sweep_periodically(expiry: SlotExpiry, storage: Storage) -> None:
    """Every ``expiry.interval`` seconds: delete the blobs no row needs
    (``Storage.sweep_orphans``, in a worker thread), forget expired upload slots (on the
    event loop, as ``SlotExpiry.sweep`` requires), and probe for space (``Space.check``), so
    a server no one uploads to frees its disk, and notices a full disk or its end, too."""
    while True:
        await asyncio.sleep(expiry.interval)
        try:
            # orphans first: deleting them frees space, and it only reads the database
            # (instances sharing the directory: a killed one's scratch files go by age)
            await run_in_threadpool(storage.sweep_orphans, expiry.expiry)
            expiry.sweep()
        except DiskFull:
            pass  # read-only mode, logged when it began; the next check tries again
        except Exception:  # a locked database must not end the checks
            log.exception("sweeping unused blobs and expired uploads failed; trying again "
                          "later")
        await run_in_threadpool(storage.space.check)  # enters or leaves read-only mode
