"""Account and service calls: ``user/self``, ``user/tokens``, ``status/check/basic``, rates."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gopush import __version__
from gopush.server.auth import presented_key, require_key
from gopush.server.responses import ApiError
from gopush.server.state import base_url, state


async def user_self(request: Request) -> Response:
    """``GET /user/self/``: who the key belongs to; ``authenticated: false`` without one."""
    settings = state(request).settings
    key = presented_key(request)
    if key is None:
        return JSONResponse({"authenticated": False, "slug": None, "slug_perm": None,
                             "name": None, "email": None})
    if not settings.key_ok(key):
        raise ApiError(401, "Invalid API key.")
    base = base_url(request)
    return JSONResponse({"authenticated": True, "slug": settings.user,
                         "slug_perm": settings.user, "name": settings.user,
                         "email": f"{settings.user}@localhost",
                         "profile_url": f"{base}/~{settings.user}/",
                         "self_url": f"{base}/user/self/"})


async def user_tokens(request: Request) -> Response:
    """``GET /user/tokens/``: the key in use, described but never echoed."""
    require_key(request, state(request).settings)
    return JSONResponse([{"slug_perm": "api-key", "created": None, "key": None,
                          "description": "API key given to gopush serve"}])


async def status_check(request: Request) -> Response:
    """``GET /status/check/basic/``: the service is up."""
    return JSONResponse({"detail": "gopush serve is operational.", "version": __version__})


async def rate_limits(request: Request) -> Response:
    """``GET /rates/limits/``: no limits are enforced."""
    return JSONResponse({"resources": {}})
