"""The retention API: a repository's rules as Cloudsmith's API has them, plus a dry run.

``GET /repos/{owner}/{repo}/retention/`` and ``PATCH`` there are Cloudsmith's
(``ReposApi.repo_retention_read`` / ``repo_retention_partial_update`` of its API client:
the fields of ``server.retention.Rules``). Two calls are gopush's own:

- ``POST .../retention/dry-run/``: the body is a PATCH that is not saved (``{}``: the
  stored rules); the reply lists every package an evaluation of every group under those
  rules would remove, and why, changing nothing;
- ``POST .../retention/apply/``: evaluate every group under the stored rules now and
  remove what they remove (as ``DELETE`` does); the reply lists it.

Both lists have the same shape, ``{"retention_rules": {...}, "count": N, "packages":
[package objects with "retention_reason"]}``, so a dry run followed by an apply with the
same rules and no push between them lists the same packages. Every call needs an API key (a
read token is not one: 401) and refused keys spend the guessing budget, as the
entitlements API does.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gopush.server.package_json import package_json
from gopush.server.responses import ApiError
from gopush.server.retention import Removal, Rules, RulesError, changed
from gopush.server.state import base_url, json_body, managed_repo, state
from gopush.server.storage import now


def _changed(rules: Rules, body: dict[str, Any]) -> Rules:
    try:
        return changed(rules, body)
    except RulesError as err:
        raise ApiError(422, "Invalid input.", {err.field: [str(err)]}) from None


async def read_rules(request: Request) -> Response:
    """``GET /repos/{owner}/{repo}/retention/`` (200)."""
    repo = managed_repo(request)
    rules = await run_in_threadpool(state(request).storage.retention.get, repo)
    return JSONResponse(rules.as_json())


async def update_rules(request: Request) -> Response:
    """``PATCH /repos/{owner}/{repo}/retention/``: change the fields given (200, the rules).
    Nothing is removed until the next version is published (or ``apply``)."""
    repo = managed_repo(request)
    body = await json_body(request)
    store = state(request).storage.retention
    rules = _changed(await run_in_threadpool(store.get, repo), body)
    await run_in_threadpool(store.put, repo, rules, now())
    return JSONResponse(rules.as_json())


async def dry_run(request: Request) -> Response:
    """``POST .../retention/dry-run/``: what the rules (stored, changed by the body, not
    saved) would remove from every group now (200)."""
    repo = managed_repo(request)
    body = await json_body(request)
    storage = state(request).storage
    rules = _changed(await run_in_threadpool(storage.retention.get, repo), body)
    removals = await run_in_threadpool(
        lambda: storage.retain(repo, rules, dry_run=True))
    return JSONResponse(_listed(request, rules, removals))


async def apply_rules(request: Request) -> Response:
    """``POST .../retention/apply/``: apply the stored rules to every group now (200)."""
    repo = managed_repo(request)
    await json_body(request)  # bounded, and ignored
    storage = state(request).storage
    rules = await run_in_threadpool(storage.retention.get, repo)
    removals = await run_in_threadpool(lambda: storage.retain(repo, rules))
    return JSONResponse(_listed(request, rules, removals))


def _listed(request: Request, rules: Rules, removals: list[Removal]) -> dict[str, Any]:
    base = base_url(request)
    return {"retention_rules": rules.as_json(), "count": len(removals),
            "packages": [{**package_json(r.package, base), "retention_reason": r.why}
                         for r in removals]}
