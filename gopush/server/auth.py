"""Who is calling and what they may do: the upload API's callers, GOPROXY readers.

An API call presents a credential as ``X-Api-Key`` (what the official CLI sends for a key) or
``Authorization: Bearer`` (what it sends for an OIDC-exchanged token), and so may GOPROXY
reads (for tools other than go). ``identify`` turns it into a ``Caller``, ``require`` is the
one check every API endpoint makes (``server.state`` for those naming a repository):

- an API key (``--api-key``) may do everything (``Action``) in every repository;
- a trusted publisher's push token (``server.publish_tokens``, from ``POST /openid/{org}/``)
  may ``PUSH`` (upload files, create packages, resync them) and ``READ`` (list and read
  packages, their status and scans, GOPROXY reads), in its publisher's repositories only
  (the ``--config`` as the server runs now, so a publisher removed from it is no longer
  trusted); never ``MANAGE`` (delete, tag, republish, entitlements, retention rules).

No credential is 401 "not provided", a wrong one 401 "Invalid API key.", an expired token 401
saying so; a valid one used beyond its scope 403 naming the scope. GOPROXY reads of a private repository also take HTTP Basic credentials, as the go
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
from enum import Enum

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


class Action(Enum):
    """What an API call does, as far as who may do it is concerned (the value: in words)."""

    PUSH = "push"
    READ = "read"
    MANAGE = "manage packages (delete, tag, republish), entitlements or retention rules"


@dataclass(frozen=True)
class Caller:
    """Who calls the API: ``who`` (for messages and logs), the repositories (``OWNER/REPO``)
    they may act on (None: all) and whether they may ``MANAGE``."""

    who: str
    repositories: frozenset[str] | None = None
    manage: bool = True

    def refusal(self, action: Action, owner: str | None = None,
                name: str | None = None) -> str | None:
        """Return why this caller may not do ``action`` (in ``owner/name``), or None."""
        if action is Action.MANAGE and not self.manage:
            return f"{self.who} may not {action.value}: its token is push-only"
        if owner is None or self.repositories is None:
            return None
        if f"{owner}/{name}" not in self.repositories:
            return (f"{self.who} may not {action.value} in {owner}/{name}: its token is "
                    f"limited to {', '.join(sorted(self.repositories))}")
        return None


API_KEY = Caller("API key")


def identify(request: Request, settings: ServeSettings, storage: Storage) -> Caller | None:
    """Return who presents the request's credential, or None when it presents none.

    Raises:
        ApiError: 401 for a credential that is neither an API key nor a live push token.
    """
    key = presented_key(request)
    if key is None:
        return None
    if settings.key_ok(key):
        return API_KEY
    holder = storage.publish_tokens.holder(key) if settings.publishers.entries else None
    if holder is None:
        raise ApiError(401, "Invalid API key.")
    if storage.publish_tokens.expired(holder):
        raise ApiError(401, f"The token of trusted publisher {holder.publisher} has expired; "
                            "exchange a new ID token (POST /openid/ORG/).")
    publisher = settings.publishers.find(holder.org, holder.service, holder.issuer)
    if publisher is None:
        raise ApiError(401, f"Trusted publisher {holder.publisher} ({holder.issuer}) is no "
                            "longer in this server's --config; its tokens are void.")
    return Caller(f"trusted publisher {publisher.name}", publisher.repositories, manage=False)


def require(request: Request, settings: ServeSettings, storage: Storage, action: Action,
            owner: str | None = None, name: str | None = None) -> Caller:
    """Return the caller if they may do ``action`` (in ``owner/name``, when given).

    Raises:
        ApiError: 401 without a valid credential (the texts Cloudsmith uses); 403 when the
            caller's scope does not allow it (naming the scope).
    """
    caller = identify(request, settings, storage)
    if caller is None:
        raise ApiError(401, "Authentication credentials were not provided.")
    why = caller.refusal(action, owner, name)
    if why is not None:
        raise ApiError(403, why)
    return caller


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
    if _reads_with_key(request, owner, name, storage, settings):
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


def _reads_with_key(request: Request, owner: str, name: str, storage: Storage,
                    settings: ServeSettings) -> bool:
    """Tell whether the request's key (an API key, or a push token scoped to ``owner/name``)
    may read; a wrong or expired one may not (GOPROXY answers its one 401)."""
    try:
        caller = identify(request, settings, storage)
    except ApiError:
        return False
    return caller is not None and caller.refusal(Action.READ, owner, name) is None


def _same(given: str, expected: str) -> bool:
    """Compare a user name in constant time (the time never tells how much was right)."""
    return hmac.compare_digest(given.encode(), expected.encode())
