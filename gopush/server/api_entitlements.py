"""The entitlements API, as the official CLI calls it (``cloudsmith entitlements ...``).

Routes below ``/entitlements/{owner}/{repo}/``: list (GET, paged), create (POST), read (GET
``{id}/``), update and restrict (PATCH ``{id}/``), delete (DELETE ``{id}/``), ``refresh``,
``enable``, ``disable`` and ``reset`` (POST ``{id}/<action>/``). ``{id}`` is the
entitlement's ``slug_perm``. Every call needs an API key (a read token is not one: 401), and
names a repository that exists (404 otherwise). Refused keys spend the client address's
guessing budget (``server.guessing``, shared with GOPROXY reads): 429 once it is spent.

The token is in the reply only where it was made: create and refresh. Elsewhere ``token`` is
``HIDDEN``, whatever ``show_tokens`` asks: the server keeps only its digest. Restrictions
gopush does not enforce (clients, bandwidth, path query, scheduled resets) are refused when
set (422), so that no one relies on a limit that does not hold.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gopush.server.api_packages import paging
from gopush.server.entitlements import (
    Entitlement,
    EntitlementConflict,
    EntitlementError,
    check_name,
    check_token,
    checked_changes,
    new_token,
    utc_now,
)
from gopush.server.records import Repo
from gopush.server.responses import ApiError, no_content, not_found
from gopush.server.state import base_url, json_body, managed_repo, state

HIDDEN = "********"  # what ``token`` holds in every reply but create's and refresh's


def entitlement_json(ent: Entitlement, base: str, token: str | None = None) -> dict[str, Any]:
    """Return the RepositoryToken object of Cloudsmith's API for ``ent`` (``token``: the
    clear token, only when it was just made)."""
    url = f"{base}/entitlements/{ent.owner}/{ent.name}/{ent.slug_perm}/"
    refusal = ent.refusal(utc_now())
    limits = (ent.limit_date_range_from, ent.limit_date_range_to, ent.limit_num_downloads,
              ent.limit_package_query)
    return {
        "identifier": ent.identifier, "slug_perm": ent.slug_perm, "name": ent.ent_name,
        "token": token or HIDDEN, "user": None, "user_url": None, "default": False,
        "is_active": bool(ent.is_active),
        "is_limited": refusal is not None and bool(ent.is_active),
        "has_limits": any(v is not None for v in limits),
        "created_at": ent.created_at, "updated_at": ent.updated_at,
        "downloads": ent.downloads, "clients": None,
        "limit_date_range_from": ent.limit_date_range_from,
        "limit_date_range_to": ent.limit_date_range_to,
        "limit_num_downloads": ent.limit_num_downloads,
        "limit_package_query": ent.limit_package_query,
        "limit_num_clients": None, "limit_bandwidth": None, "limit_bandwidth_unit": "Byte",
        "limit_path_query": None, "scheduled_reset_period": "Never Reset",
        "scheduled_reset_at": None, "eula_required": False, "access_private_broadcasts": False,
        "self_url": url, "refresh_url": url + "refresh/", "reset_url": url + "reset/",
        "enable_url": url + "enable/", "disable_url": url + "disable/",
    }


def _invalid(err: EntitlementError) -> ApiError:
    return ApiError(422, "Invalid input.", {err.field: [str(err)]})


def _conflict() -> ApiError:
    return ApiError(422, "Invalid input.", {"name": [
        "Another entitlement of this repository has this name or token."]})


def _entitlement(request: Request, repo: Repo) -> Entitlement:
    found = state(request).storage.entitlements.get(repo, request.path_params["identifier"])
    if found is None:
        raise not_found()
    return found


async def list_entitlements(request: Request) -> Response:
    """``GET /entitlements/{owner}/{repo}/``: a page of entitlements by name (200);
    ``active=true|false`` keeps only the enabled or disabled ones."""
    repo = managed_repo(request)
    page, size = paging(request)
    found = await run_in_threadpool(state(request).storage.entitlements.list, repo)
    active = request.query_params.get("active", "").lower()
    if active in ("true", "false"):
        found = [e for e in found if bool(e.is_active) == (active == "true")]
    pages = max(1, -(-len(found) // size))
    if page > pages:
        raise ApiError(404, "Invalid page.")
    base = base_url(request)
    shown = [entitlement_json(e, base) for e in found[(page - 1) * size: page * size]]
    return JSONResponse(shown, headers={
        "X-Pagination-Count": str(len(found)), "X-Pagination-Page": str(page),
        "X-Pagination-PageSize": str(size), "X-Pagination-PageTotal": str(pages)})


async def create_entitlement(request: Request) -> Response:
    """``POST /entitlements/{owner}/{repo}/``: ``name`` and, optionally, ``token`` (201,
    with the token: the one time it is shown)."""
    repo = managed_repo(request)
    body = await json_body(request)
    try:
        name = check_name(body.get("name"))
        given = body.get("token")
        token = new_token() if given is None or given == "" else check_token(given)
        ent = await run_in_threadpool(state(request).storage.entitlements.create, repo,
                                      name, token)
    except EntitlementError as err:
        raise _invalid(err) from None
    except EntitlementConflict:
        raise _conflict() from None
    return JSONResponse(entitlement_json(ent, base_url(request), token), status_code=201)


async def read_entitlement(request: Request) -> Response:
    """``GET /entitlements/{owner}/{repo}/{id}/`` (200)."""
    repo = managed_repo(request)
    return JSONResponse(entitlement_json(_entitlement(request, repo), base_url(request)))


async def update_entitlement(request: Request) -> Response:
    """``PATCH /entitlements/{owner}/{repo}/{id}/``: name, token, ``is_active`` and the
    restrictions (``limit_date_range_from``/``_to``, ``limit_num_downloads``,
    ``limit_package_query``; null or "" lifts one) (200)."""
    repo = managed_repo(request)
    body = await json_body(request)
    ent = _entitlement(request, repo)
    try:
        changes = checked_changes(body)
        updated = await run_in_threadpool(state(request).storage.entitlements.update, ent,
                                          changes)
    except EntitlementError as err:
        raise _invalid(err) from None
    except EntitlementConflict:
        raise _conflict() from None
    if updated is None:
        raise not_found()
    return JSONResponse(entitlement_json(updated, base_url(request)))


async def delete_entitlement(request: Request) -> Response:
    """``DELETE /entitlements/{owner}/{repo}/{id}/`` (204): its token reads nothing now."""
    repo = managed_repo(request)
    await run_in_threadpool(state(request).storage.entitlements.delete,
                            _entitlement(request, repo))
    return no_content()


async def refresh_entitlement(request: Request) -> Response:
    """``POST /entitlements/{owner}/{repo}/{id}/refresh/``: a new random token, the old one
    refused from now on (200, with the new token: the one time it is shown)."""
    repo = managed_repo(request)
    ent = _entitlement(request, repo)
    updated, token = await run_in_threadpool(state(request).storage.entitlements.refresh, ent)
    if updated is None:
        raise not_found()
    return JSONResponse(entitlement_json(updated, base_url(request), token))


async def enable_entitlement(request: Request) -> Response:
    """``POST .../{id}/enable/`` (204)."""
    return await _set(request, {"is_active": 1})


async def disable_entitlement(request: Request) -> Response:
    """``POST .../{id}/disable/`` (204): its token reads nothing until enabled again."""
    return await _set(request, {"is_active": 0})


async def reset_entitlement(request: Request) -> Response:
    """``POST .../{id}/reset/`` (204): its download count goes back to 0."""
    return await _set(request, {"downloads": 0})


async def _set(request: Request, changes: dict[str, Any]) -> Response:
    repo = managed_repo(request)
    await json_body(request)  # bounded, and ignored
    ent = _entitlement(request, repo)
    await run_in_threadpool(state(request).storage.entitlements.update, ent, changes)
    return no_content()
