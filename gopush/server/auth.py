"""Who is calling: API keys for the upload API, Basic credentials for GOPROXY reads.

The upload API takes the key as ``X-Api-Key`` (what the official CLI sends) or
``Authorization: Bearer`` (SAML/OIDC style), and so do GOPROXY reads (for tools other than
go). GOPROXY reads of a private repository also take HTTP Basic credentials, as the go
command sends them from ``.netrc`` or ``GOAUTH``, in exactly the two forms Cloudsmith
documents:

- ``token:<TOKEN>``: the user name is the word ``token`` and the password a read token of
  that repository (``--read-token``);
- ``USERNAME:API-KEY``: the server's one user (``ServeSettings.user``, what ``/user/self/``
  names) with one of its API keys. The server has no passwords of its own, so the API key is
  the user's password.

Anything else (another user name with a valid token or key, a key as a read token) is
refused with the same 401 as no credentials at all: a refusal never says which part was wrong,
or whether the repository exists. Both forms are checked for every request, comparing in
constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.requests import Request

from gopush.server.responses import ApiError
from gopush.server.settings import ServeSettings
from gopush.server.storage import Storage

READ_TOKEN_USER = "token"  # the user name that goes with a read token (Cloudsmith's form)


def presented_key(request: Request) -> str | None:
    """Return the API key the request carries (``X-Api-Key`` or Bearer), or None."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def require_key(request: Request, settings: ServeSettings) -> None:
    """Refuse the request unless it carries a valid API key.

    Raises:
        ApiError: 401, with the texts Cloudsmith uses.
    """
    key = presented_key(request)
    if key is None:
        raise ApiError(401, "Authentication credentials were not provided.")
    if not settings.key_ok(key):
        raise ApiError(401, "Invalid API key.")


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """Return the (user, password) of an HTTP Basic Authorization header, or None."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def may_read(request: Request, owner: str, name: str, storage: Storage,
             settings: ServeSettings) -> bool:
    """Tell whether the caller may read the repository ``owner/name`` through GOPROXY (one
    that does not exist: only with an API key, so that the caller then hears 404).

    A refusal must not tell whether the repository exists, by its answer or by its time: so
    every caller's credentials are checked along the same path, with one database query
    (``Storage.read_access``) that does the same work for any ``owner/name``; the caller
    looks the repository up only once allowed.
    """
    creds = basic_credentials(request)
    user, password = creds or ("", "")
    private, token_ok = storage.read_access(owner, name, password)
    if private is False:
        return True
    if settings.key_ok(presented_key(request)):
        return True
    if creds is None:
        return False
    as_user = _same(user, settings.user) & settings.key_ok(password)
    as_token = _same(user, READ_TOKEN_USER) & token_ok & bool(password) & (private is True)
    return as_user or as_token


def _same(given: str, expected: str) -> bool:
    """Compare a user name in constant time (the time never tells how much was right)."""
    return hmac.compare_digest(given.encode(), expected.encode())
