"""HTTP routing only: the Cloudsmith-style upload API (bare and under ``/v1``), the presigned
upload targets, and the GOPROXY endpoint per repository. Handlers live in their own modules.

Paths are matched with or without a trailing slash and never redirected (the official CLI
must not see a redirect on a POST). Errors raised as ``ApiError`` become ``{"detail",
"fields"}`` bodies; anything unexpected becomes a 500 with no internal detail, except on the
form upload target, which handles its own errors (it must never answer 5xx).
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
from starlette.types import ASGIApp, Receive, Scope, Send

from gopush.server import api_files, api_packages, api_user, goproxy
from gopush.server.expiry import SlotExpiry
from gopush.server.responses import ApiError
from gopush.server.settings import ServeSettings
from gopush.server.state import ServerState
from gopush.server.storage import Storage
from gopush.server.sync import Synchroniser
from gopush.server.upstream import Upstream

log = logging.getLogger("gopush.server")

_REPO = "/{owner}/{repo}"
API_ROUTES = [
    Route(f"/packages{_REPO}/validate-upload/go", api_packages.validate_go, methods=["POST"]),
    Route(f"/packages{_REPO}/upload/go", api_packages.upload_go, methods=["POST"]),
    Route(f"/packages{_REPO}/{{pkg}}/status", api_packages.package_status, methods=["GET"]),
    Route(f"/packages{_REPO}/{{pkg}}/resync", api_packages.resync, methods=["POST"]),
    Route(f"/packages{_REPO}/{{pkg}}", api_packages.read_package, methods=["GET"]),
    Route(f"/packages{_REPO}/{{pkg}}", api_packages.delete_package, methods=["DELETE"]),
    Route(f"/packages{_REPO}", api_packages.list_packages, methods=["GET"]),
    Route(f"/files{_REPO}/validate", api_files.validate_file, methods=["POST"]),
    Route(f"/files{_REPO}/{{identifier}}/complete", api_files.complete_file, methods=["POST"]),
    Route(f"/files{_REPO}/{{identifier}}/abort", api_files.abort_file, methods=["POST"]),
    Route(f"/files{_REPO}/{{identifier}}/info", api_files.file_info, methods=["GET"]),
    Route(f"/files{_REPO}", api_files.create_file, methods=["POST"]),
    Route("/user/self", api_user.user_self, methods=["GET"]),
    Route("/user/tokens", api_user.user_tokens, methods=["GET"]),
    Route("/repos/{owner}", api_user.list_repos, methods=["GET"]),
    Route("/repos", api_user.list_repos, methods=["GET"]),
    Route("/status/check/basic", api_user.status_check, methods=["GET"]),
    Route("/rates/limits", api_user.rate_limits, methods=["GET"]),
]
ROUTES = [
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


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "Internal error; see the server log."}, status_code=500)


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": "Not found."}, status_code=404)


def create_app(storage: Storage, settings: ServeSettings) -> ASGIApp:
    """Return the ASGI application serving ``storage`` with ``settings``."""
    upstream = Upstream(storage, settings.upstream_timeout)
    sync = Synchroniser(storage)
    server_state = ServerState(storage, settings, upstream, sync)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sync.start()
        sweeping = asyncio.create_task(_sweep_periodically(server_state.expiry))
        try:
            yield
        finally:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping
            await run_in_threadpool(sync.stop)
            await upstream.close()

    app = Starlette(routes=ROUTES, lifespan=lifespan,
                    exception_handlers={ApiError: _api_error, 404: _not_found,
                                        Exception: _unexpected})
    app.router.redirect_slashes = False
    app.state.gopush = server_state
    return StripTrailingSlash(app)


async def _sweep_periodically(expiry: SlotExpiry) -> None:
    """Forget expired upload slots every ``expiry.interval`` seconds, on the event loop (as
    ``SlotExpiry.sweep`` requires), so a server no one uploads to frees their disk too."""
    while True:
        await asyncio.sleep(expiry.interval)
        try:
            expiry.sweep()
        except Exception:  # a full disk or a locked database must not end the checks
            log.exception("forgetting expired uploads failed; trying again later")
