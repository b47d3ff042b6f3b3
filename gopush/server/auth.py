"""Who is calling: API keys for the upload API, Basic credentials for GOPROXY reads.

The upload API takes the key as ``X-Api-Key`` (what the official CLI sends) or
``Authorization: Bearer`` (SAML/OIDC style), and so do GOPROXY reads (for tools other than
go). GOPROXY reads of a private repository also take HTTP Basic credentials, as the go
command sends them from ``.netrc`` or ``GOAUTH``, in exactly the two forms Cloudsmith
documents:

- ``token:<TOKEN>``: the user name is the word ``token`` and the password the token of one
  of that repository's entitlements (``server.entitlements``: seeded by ``--read-token``,
  managed through the entitlements API), which must also be usable now (active, within
  its dates, below its download limit);
- ``USERNAME:API-KEY``: the server's one user (``ServeSettings.user``, what ``/user/self/``
  names) with one of its API keys. The server has no passwords of its own, so the API key is
  the user's password.

Anything else (another user name with a valid token or key, a key as a read token) is
refused with the same 401 as no credentials at all: a refusal never says which part was wrong,
or whether the repository exists. Both forms are checked for every request, comparing in
constant time.

``may_read`` answers who reads: a ``Reader`` whose ``entitlement`` (when a token was used)
further limits the versions seen (``server.goproxy``) and counts zip downloads.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from dataclasses import dataclass

from starlette.requests import Request

from gopush.server.entitlements import Entitlement, utc_now
from gopush.server.query import Matcher
from gopush.server.responses import ApiError
from gopush.server.settings import ServeSettings
from gopush.server.storage import Storage

log = logging.getLogger("gopush.server")

READ_TOKEN_USER = "token"  # the user name that goes with a read token (Cloudsmith's form)


@dataclass(frozen=True)
class Reader:
    """Who may read a repository: anyone or an API key's user (``entitlement`` None, every
    version), or the holder of an entitlement's token (its package query and download
    limit apply)."""

    entitlement: Entitlement | None = None

    def scope(self) -> Matcher | None:
        """Return the test a version's search fields must pass, or None (every version)."""
        return self.entitlement.scope() if self.entitlement is not None else None


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
             settings: ServeSettings) -> Reader | None:
    """Return who reads the repository ``owner/name`` through GOPROXY, or None when the
    caller may not (one that does not exist: only with an API key, so that the caller then
    hears 404).

    A refusal must not tell whether the repository exists, by its answer or by its time: so
    every caller's credentials are checked along the same path, with one database query
    (``Storage.read_access``) that does the same work for any ``owner/name``; the caller
    looks the repository up only once allowed. A token whose entitlement cannot read now
    (disabled, expired, exhausted) is refused like a wrong one; the log says why.
    """
    creds = basic_credentials(request)
    user, password = creds or ("", "")
    private, entitlement = storage.read_access(owner, name, password)
    if private is False:
        return Reader()
    if settings.key_ok(presented_key(request)):
        return Reader()
    if creds is None:
        return None
    if _same(user, settings.user) & settings.key_ok(password):
        return Reader()
    as_token = _same(user, READ_TOKEN_USER) & bool(password) & (private is True)
    if not as_token or entitlement is None:
        return None
    why = entitlement.refusal(utc_now())
    if why is not None:
        log.info("entitlement %s (%s) of %s/%s refused: %s", entitlement.slug_perm,
                 entitlement.ent_name, owner, name, why)
        return None
    return Reader(entitlement)


def _same(given: str, expected: str) -> bool:
    """Compare a user name in constant time (the time never tells how much was right)."""
    return hmac.compare_digest(given.encode(), expected.encode())
