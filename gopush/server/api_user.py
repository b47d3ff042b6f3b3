"""Account and service calls: ``user/self``, ``user/tokens``, ``repos``, ``status/check/basic``,
rates."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gopush import __version__
from gopush.server.auth import API_KEY, Action, identify
from gopush.server.records import Repo
from gopush.server.responses import not_found
from gopush.server.slugs import is_slug
from gopush.server.state import base_url, caller, state


async def user_self(request: Request) -> Response:
    """``GET /user/self/``: who the credential belongs to (the server's user for an API key,
    the trusted publisher for a push token); ``authenticated: false`` without one."""
    st = state(request)
    who = identify(request, st.settings, st.storage)
    if who is None:
        return JSONResponse({"authenticated": False, "slug": None, "slug_perm": None,
                             "name": None, "email": None})
    base, user = base_url(request), st.settings.user
    name = user if who is API_KEY else who.who
    return JSONResponse({"authenticated": True, "slug": user, "slug_perm": user,
                         "name": name, "email": f"{user}@localhost",
                         "profile_url": f"{base}/~{user}/",
                         "self_url": f"{base}/user/self/"})


async def user_tokens(request: Request) -> Response:
    """``GET /user/tokens/``: the key in use, described but never echoed."""
    who = caller(request, Action.READ)
    if who is API_KEY:
        slug, description = "api-key", "API key given to gopush serve"
    else:
        slug, description = "push-token", f"push-only token of {who.who}"
    return JSONResponse([{"slug_perm": slug, "created": None, "key": None,
                          "description": description}])


async def list_repos(request: Request) -> Response:
    """``GET /repos/{owner}/``: the repositories of a namespace (200; 404 for one with none),
    or ``GET /repos/``: all of them. Every API key sees every repository; a push token, its
    publisher's."""
    who = caller(request, Action.READ)
    owner = request.path_params.get("owner")
    repos = [r for r in state(request).storage.repos() if owner in (None, r.owner)
             and who.refusal(Action.READ, r.owner, r.name) is None]
    if owner is not None and (not is_slug(owner) or not repos):
        raise not_found()
    base = base_url(request)
    return JSONResponse([_repo_json(r, base) for r in repos],
                        headers={"X-Pagination-Count": str(len(repos)),
                                 "X-Pagination-Page": "1",
                                 "X-Pagination-PageSize": str(max(1, len(repos))),
                                 "X-Pagination-PageTotal": "1"})


def _repo_json(repo: Repo, base: str) -> dict[str, object]:
    """Return the repository object of Cloudsmith's repos API (the fields a client reads)."""
    kind = "Private" if repo.private else "Public"
    return {"name": repo.name, "slug": repo.name, "slug_perm": repo.full_name,
            "namespace": repo.owner, "repository_type_str": kind,
            "self_url": f"{base}/repos/{repo.owner}/{repo.name}/"}


async def status_check(request: Request) -> Response:
    """``GET /status/check/basic/``: the service is up."""
    return JSONResponse({"detail": "gopush serve is operational.", "version": __version__})


async def rate_limits(request: Request) -> Response:
    """``GET /rates/limits/``: no limits are enforced."""
    return JSONResponse({"resources": {}})
