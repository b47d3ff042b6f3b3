"""Keyless push: the CI's OIDC ID token exchanged for a short-lived API key, as the official
Cloudsmith CLI does it.

1. The ID token is a variable's (``IdTokenSource.token``: GitLab's ``id_tokens:``, any CI),
   or GitHub Actions': ``GET ACTIONS_ID_TOKEN_REQUEST_URL`` with ``&audience=AUDIENCE``
   added and ``Authorization: Bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN``, answered
   ``{"value": JWT}``.
2. ``POST {api}/openid/{org}/`` with ``{"oidc_token": JWT, "service_slug": SERVICE}`` is
   answered ``{"token": KEY}`` (200 or 201). ``{api}`` is the API host without ``/v1``
   (the official CLI's host has none; its exchange sits beside ``/v1``, not under it).

The key then serves every request of the run, as a configured key does (``X-Api-Key``;
``Settings.credential``). Both calls go through ``registry.http.Session``: the run's request
deadline, its retries, its capped replies and its redaction (each token is held by the
session that sends it, so any text a reply quotes has it masked). A refusal is an
``AuthError`` (exit 3) carrying the server's reason.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from gopush.config.credentials import Credential, IdTokenSource, Keyless, Secret, make_secret
from gopush.errors import AuthError, RegistryError, RegistryUnavailable
from gopush.registry.http import Session

# (base URL, credential the session holds, auth style) -> a Session for one exchange step
OpenSession = Callable[[str, Credential, str], Session]


def exchange_url(api_host: str, org: str) -> str:
    """Return the exchange endpoint of ``org`` on ``api_host`` (see the module docstring)."""
    return f"{api_host.rstrip('/').removesuffix('/v1')}/openid/{org}/"


def audience_url(request_url: str, audience: str) -> str:
    """Return GitHub Actions' ``request_url`` asking for ``audience``: ``&audience=`` appended
    (``?`` when it has no query), its own query kept (httpx's ``params`` would replace it,
    and GitHub's carries ``api-version``)."""
    separator = "&" if "?" in request_url else "?"
    return f"{request_url}{separator}audience={quote(audience, safe='')}"


def exchange(keyless: Keyless, api_host: str, open_session: OpenSession) -> Credential:
    """Return the short-lived key ``api_host`` mints for this CI's identity.

    ``keyless.id_token`` must be set (``missing_id_token_error`` otherwise).

    Raises:
        AuthError: the CI refused an ID token, or the registry refused the exchange (its
            reason in the message), or either answered without a token.
        RegistryUnavailable: a call failed after the retries, or overran its deadline.
    """
    source = keyless.id_token
    assert source is not None, "no ID token: the caller raises missing_id_token_error"
    id_token = source.token or _github_id_token(source, keyless.audience, open_session)
    what = f"exchange the {source.provider} ID token for a key of {keyless.org}/{keyless.service}"
    # the session holds the ID token, never sending it as a header (send_key=False), so
    # that its scrub() masks it in whatever the reply quotes
    session = open_session(api_host, Credential(id_token, source.provider), "none")
    try:
        response = session.request(
            "POST", exchange_url(api_host, keyless.org), what=what, send_key=False,
            json_body={"oidc_token": id_token.reveal(), "service_slug": keyless.service})
        data = session.parse_json(response, what)
    except RegistryUnavailable:
        raise
    except RegistryError as err:
        raise _refused(err, keyless) from None
    finally:
        session.close()
    token = data.get("token")
    if not isinstance(token, str) or not token.strip():
        raise AuthError(f"{what}: the registry answered {response.status_code} without a "
                        "token", hint="the API host may not support keyless push; check "
                                      "--api-host, or use an API key (GOPUSH_API_KEY)")
    return Credential(make_secret(token, "the OIDC exchange"), keyless.describe())


def _github_id_token(source: IdTokenSource, audience: str,
                     open_session: OpenSession) -> Secret:
    """Return the ID token GitHub Actions' request endpoint hands out for ``audience``.

    Raises:
        AuthError: the endpoint refused, or answered without a token.
        RegistryUnavailable: it could not be reached after the retries.
    """
    assert source.request_token is not None
    what = f"ask GitHub Actions for an ID token (audience {audience!r})"
    session = open_session(source.request_url, Credential(
        source.request_token, "ACTIONS_ID_TOKEN_REQUEST_TOKEN"), "bearer")
    try:
        response = session.request("GET", audience_url(source.request_url, audience),
                                   what=what)
        data = session.parse_json(response, what)
    except RegistryUnavailable:
        raise
    except RegistryError as err:
        raise AuthError(err.message, status=err.status, data=err.data,
                        hint="the job may lack `permissions: id-token: write`, or its "
                             "request token expired (it lasts as long as the job)") from None
    finally:
        session.close()
    value = data.get("value")
    if not isinstance(value, str) or not value.strip():
        raise AuthError(f"{what}: GitHub Actions answered {response.status_code} without a "
                        "token (no \"value\")")
    return make_secret(value, "GitHub Actions", "ID token")


def _refused(err: RegistryError, keyless: Keyless) -> AuthError:
    """Return the exchange's refusal as an AuthError: the server's reason, and what to check."""
    if err.status == 404:
        hint = (f"no keyless endpoint for org {keyless.org!r} at this API host: check the "
                "org (--oidc-org, GOPUSH_OIDC_ORG, CLOUDSMITH_ORG) and --api-host")
    else:
        hint = (f"the registry refused this CI's identity for service {keyless.service!r}: "
                "the reason above names the check that failed; compare the trusted "
                "publisher's issuer, audience (GOPUSH_OIDC_AUDIENCE) and claims with the job")
    return AuthError(err.message, status=err.status, data=err.data, hint=hint)
