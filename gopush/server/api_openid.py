"""``POST /openid/{org}/``: a CI's ID token for a trusted publisher's push token.

The official CLI's exchange (cloudsmith-cli ``core/credentials/oidc/exchange.py``): a JSON
body ``{"oidc_token": JWT, "service_slug": SLUG}``, answered 200 ``{"token": TOKEN}``; any
other status is a refusal whose ``detail`` the CLI prints. Here the token is checked by
``server.oidc.verify_id_token`` and minted by ``server.publish_tokens`` (which refuses a
replayed ``jti``); a refusal is 401 or 403 with the check that failed (503 when the issuer's
keys cannot be fetched), never the token. Refused exchanges spend the client address's
guessing budget (``server.guessing``), as refused keys do: once it is spent the answer is
429 with Retry-After before the token is looked at. The log names the publisher, the
token's ``sub`` and the outcome (a refusal as a warning: always shown), never a token.

A request with an ``Origin`` header comes from a browser (CI clients send none): it is
refused 403 at once, without spending the budget, so that a web page a developer has open
cannot spend the budget of their machine's address (and lock their own ``go get`` out).
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gopush.server.guessing import client_address
from gopush.server.oidc import Refused, verify_id_token
from gopush.server.responses import ApiError
from gopush.server.slugs import is_slug
from gopush.server.state import ServerState, json_body, refuse_while_guessing, state

log = logging.getLogger("gopush.server")


async def exchange(request: Request) -> Response:
    """``POST /openid/{org}/``: answer 200 ``{"token": ...}`` or a refusal (module docstring)."""
    if "origin" in request.headers:
        # a web page can make its visitor's browser POST here (text/plain needs no CORS
        # preflight): refused before the budget, or any site could lock this address out
        raise ApiError(403, "The OIDC exchange is for CI clients, not browsers (the request "
                            "carries an Origin header).")
    st, address = state(request), client_address(request)
    refuse_while_guessing(request)
    org = request.path_params["org"]
    token, service = _fields(await json_body(request))
    try:
        minted, expires = await _exchange(st, org, service, token)
    except Refused as refused:
        if refused.status in (401, 403):
            st.guesses.refused(address)
        log.warning("trusted publishing: exchange for %s/%s refused (%d): %s", org[:100],
                 service[:100], refused.status, refused.reason)
        raise ApiError(refused.status, f"OIDC token refused: {refused.reason.rstrip('.')}.") from None
    return JSONResponse({"token": minted, "expires_at": expires})


async def _exchange(st: ServerState, org: str, service: str, token: str) -> tuple[str, int]:
    if not (is_slug(org) and is_slug(service)):
        raise Refused(401, "service slug unknown: the org and service slug are slugs "
                           "(letters, digits, '.', '-', '_')")
    verified = await verify_id_token(token, org, service, st.settings.publishers, st.issuers)
    minted, expires = await run_in_threadpool(st.storage.publish_tokens.mint, verified)
    log.info("trusted publishing: %s got a push token for %s (sub %s), valid until %d",
             verified.publisher.name, ", ".join(sorted(verified.publisher.repositories)),
             verified.subject, expires)
    return minted, expires


def _fields(body: dict[str, object]) -> tuple[str, str]:
    """Return the body's ``oidc_token`` and ``service_slug``.

    Raises:
        ApiError: 400 naming a missing or non-text field.
    """
    fields = {}
    for name in ("oidc_token", "service_slug"):
        if not isinstance(body.get(name), str) or not body[name]:
            fields[name] = ["This field is required (a string)."]
    if fields:
        raise ApiError(400, "Invalid input.", fields)
    return str(body["oidc_token"]), str(body["service_slug"])
