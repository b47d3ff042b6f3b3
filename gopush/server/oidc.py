"""Checking a CI's OpenID Connect ID token for a trusted publisher (``server.publishers``).

``verify_id_token`` is the one decision of the exchange (``server.api_openid``), in order:

1. the token is a JWT of at most ``MAX_TOKEN_BYTES``, signed with RS256 or ES256 (never
   ``none`` or an HMAC: the issuer's key is public);
2. its ``iss`` is the issuer of a publisher of the org and service slug asked for (the
   service unknown, or no publisher of it trusting that issuer: refused);
3. its ``kid`` names a key of that issuer's JWKS (``IssuerKeys``) whose algorithm is the
   token's, and the signature verifies with it (PyJWT; no hand-written crypto);
4. ``iss``, ``aud`` (the publisher's audience), ``exp``, ``nbf``, ``iat`` (each a JSON
   number, within ``LEEWAY_SECONDS``), with ``exp``, ``iat`` and ``jti`` required, and ``exp``
   at most ``MAX_TOKEN_LIFETIME`` ahead (a used ``jti`` is remembered until ``exp`` and the
   leeway: the store stays bounded);
5. the publisher's required claims (``TrustedPublisher.mismatch``).

Whether the ``jti`` was used before is the store's (``server.publish_tokens``), decided
atomically as it mints. A refusal is ``Refused``: the HTTP status (401 for a token that is
not valid, 403 for a valid one the publisher does not accept, 503 when the issuer cannot be
asked) and which check failed, never the token.

``IssuerKeys`` fetches an issuer's ``/.well-known/openid-configuration`` and its
``jwks_uri`` over verified HTTPS (``SSL_CERT_FILE`` honoured, as httpx does), each reply at
most ``MAX_DOCUMENT_BYTES`` within ``FETCH_SECONDS`` in all, no redirects. Keys are cached
``CACHE_SECONDS``; a ``kid`` the cache lacks triggers one refetch, and then none for
``REFETCH_SECONDS``, so a stream of tokens with bogus kids costs the issuer one request a
minute at most; a failed fetch is remembered ``FAILURE_SECONDS`` (the same error, no request).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from gopush import boundedjson
from gopush.server.publishers import Publishers, TrustedPublisher
from gopush.server.redaction import redacted

log = logging.getLogger("gopush.server")

ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 60
MAX_TOKEN_BYTES = 16 * 1024
MAX_TOKEN_LIFETIME = 24 * 3600  # seconds from now to a token's exp
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_KEYS = 64
FETCH_SECONDS = 10.0
CACHE_SECONDS = 3600.0
REFETCH_SECONDS = 60.0
FAILURE_SECONDS = 10.0
DISCOVERY = "/.well-known/openid-configuration"


class Refused(Exception):
    """An exchange refused: ``status`` (401, 403 or 503) and ``reason`` (the failed check)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Verified:
    """A token that passed every check but the ``jti`` one: its publisher and claims."""

    publisher: TrustedPublisher
    claims: dict[str, Any]

    @property
    def remembered_until(self) -> int:
        """Until when (Unix seconds) the token's ``jti`` must be remembered: its ``exp`` plus
        ``LEEWAY_SECONDS``, since ``exp`` is checked with that leeway (forgotten at ``exp``,
        the token could be exchanged once more in the leeway)."""
        return int(self.claims["exp"]) + LEEWAY_SECONDS

    @property
    def subject(self) -> str:
        """Who the token speaks for, for logs: its ``sub`` (one line, at most 200 chars)."""
        sub = str(self.claims.get("sub", "?"))
        return sub.encode("unicode_escape").decode("ascii")[:200]


async def verify_id_token(token: str, org: str, service: str, publishers: Publishers,
                          keys: IssuerKeys) -> Verified:
    """Check ``token`` for the publisher ``org``/``service`` (see the module docstring).

    Raises:
        Refused: a check failed.
    """
    candidates = publishers.for_service(org, service)
    if not candidates:
        raise Refused(401, f"service slug unknown: {org} has no trusted publisher {service!r}")
    header, unverified = _unverified(token)
    publisher = next((p for p in candidates if p.issuer == unverified.get("iss")), None)
    if publisher is None:
        raise Refused(401, f"issuer unknown: the token's iss {_text(unverified.get('iss'))} is "
                           f"not trusted by {org}/{service}")
    key = await keys.key(publisher.issuer, header["kid"])
    if key is None:
        raise Refused(401, f"signature: the issuer {publisher.issuer} has no key with kid "
                           f"{_text(header['kid'])}")
    if key.algorithm_name != header["alg"]:
        raise Refused(401, f"signature: key {_text(header['kid'])} is for "
                           f"{key.algorithm_name}, the token says {header['alg']}")
    claims = _decoded(token, key, publisher)
    why = publisher.mismatch(claims)
    if why is not None:
        raise Refused(403, why)
    return Verified(publisher, claims)


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the header (with ``alg`` and ``kid``) and the unverified claims."""
    if len(token.encode()) > MAX_TOKEN_BYTES:
        raise Refused(401, f"token: longer than {MAX_TOKEN_BYTES} bytes")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Refused(401, "token: not a JWT (header.claims.signature)") from None
    if header.get("alg") not in ALGORITHMS:
        raise Refused(401, f"signature: algorithm {_text(header.get('alg'))} is not accepted "
                           f"({' or '.join(ALGORITHMS)})")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise Refused(401, "signature: the token's header names no key (kid)")
    return header, claims


def _decoded(token: str, key: jwt.PyJWK, publisher: TrustedPublisher) -> dict[str, Any]:
    """Verify the signature and the registered claims; return the claims."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[key.algorithm_name], audience=publisher.audience,
            issuer=publisher.issuer, leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "jti"]})
    except jwt.InvalidSignatureError:
        raise Refused(401, "signature: does not verify with the issuer's key") from None
    except jwt.ExpiredSignatureError:
        raise Refused(401, "expired: the token's exp has passed") from None
    except jwt.ImmatureSignatureError as err:
        which = "iat" if "iat" in str(err) else "nbf"
        raise Refused(401, f"not yet valid: the token's {which} is in the future") from None
    except jwt.InvalidAudienceError:
        raise Refused(401, f"audience: the token is not for {publisher.audience!r} "
                           "(its aud)") from None
    except jwt.MissingRequiredClaimError as err:
        raise Refused(401, f"claim {err.claim} is missing from the token") from None
    except jwt.PyJWTError as err:
        raise Refused(401, f"token: {err}") from None
    if not isinstance(claims["jti"], str) or not claims["jti"]:
        raise Refused(401, "claim jti is not a string")
    for name in ("exp", "iat", "nbf"):
        if name in claims and not _is_number(claims[name]):
            # PyJWT takes int(value): "1700000000" and true would pass, and a string exp
            # then breaks the comparison below
            raise Refused(401, f"claim {name} is not a number (RFC 7519 NumericDate)")
    if claims["exp"] > time.time() + MAX_TOKEN_LIFETIME:
        raise Refused(401, f"expired: the token's exp is more than {MAX_TOKEN_LIFETIME // 3600} "
                           "hours ahead (refused: its jti would have to be kept that long)")
    return claims


def _is_number(value: object) -> bool:
    """Tell whether a JSON value is a number (``bool`` is an ``int`` to Python, not to JSON)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: object) -> str:
    """Show an untrusted value from a token in a message: quoted, one line, short."""
    text = str(value).encode("unicode_escape").decode("ascii")
    return repr(text if len(text) <= 120 else text[:120] + "...")


# -- the issuers' keys ------------------------------------------------------------------------


@dataclass
class _KeySet:
    """What is known of one issuer's keys, and when it was learnt."""

    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched: float = float("-inf")  # monotonic time of the last successful fetch
    forced: float = float("-inf")  # of the last refetch for an unknown kid
    failed: float = float("-inf")  # of the last failed fetch
    error: str = ""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class IssuerKeys:
    """The signing keys of the trusted issuers, fetched and cached (module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 client: httpx.AsyncClient | None = None) -> None:
        self._sets: dict[str, _KeySet] = {}
        self._client = client  # made at the first fetch unless given (tests)
        self.clock = clock

    async def key(self, issuer: str, kid: str) -> jwt.PyJWK | None:
        """Return ``issuer``'s key ``kid``, or None when the issuer does not publish it.

        Raises:
            Refused: 503 when the issuer's keys cannot be fetched.
        """
        found = self._sets.setdefault(issuer, _KeySet())
        async with found.lock:
            now = self.clock()
            if now - found.fetched > CACHE_SECONDS:
                await self._refresh(issuer, found)
            elif kid not in found.keys and now - found.forced >= REFETCH_SECONDS:
                found.forced = now
                await self._refresh(issuer, found)
            return found.keys.get(kid)

    async def _refresh(self, issuer: str, found: _KeySet) -> None:
        if self.clock() - found.failed < FAILURE_SECONDS:
            raise Refused(503, found.error)
        try:
            async with asyncio.timeout(FETCH_SECONDS):
                found.keys = await self._fetch(issuer)
        except (TimeoutError, IssuerError, httpx.HTTPError) as err:
            why = err.args[0] if isinstance(err, IssuerError) else (
                f"no answer within {FETCH_SECONDS:g} s" if isinstance(err, TimeoutError)
                else f"{type(err).__name__}: {err}")
            found.failed = self.clock()
            found.error = f"issuer unavailable: cannot read the keys of {issuer}: {why}"
            log.warning("trusted publishing: %s", found.error)
            raise Refused(503, found.error) from None
        found.fetched = self.clock()
        log.info("trusted publishing: %d key(s) of %s", len(found.keys), issuer)

    async def _fetch(self, issuer: str) -> dict[str, jwt.PyJWK]:
        """Return the keys the issuer's discovery document points at, by kid."""
        discovery = await self._document(issuer.rstrip("/") + DISCOVERY)
        if discovery.get("issuer") != issuer:
            raise IssuerError(f"its discovery document names the issuer "
                              f"{_text(discovery.get('issuer'))}")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
            raise IssuerError("its discovery document has no https:// jwks_uri")
        listed = (await self._document(jwks_uri)).get("keys")
        if not isinstance(listed, list):
            raise IssuerError("its JWKS has no keys list")
        return _usable_keys(listed[:MAX_KEYS])

    async def _document(self, url: str) -> dict[str, Any]:
        """GET a JSON object, at most ``MAX_DOCUMENT_BYTES``."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(FETCH_SECONDS),
                                             follow_redirects=False)
        async with self._client.stream("GET", url, headers={"Accept": "application/json",
                                                         "Accept-Encoding": "identity"}) \
                as reply:
            if reply.status_code != 200:
                raise IssuerError(f"{redacted(url)} answered {reply.status_code}")
            body = bytearray()
            async for chunk in reply.aiter_raw():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise IssuerError(f"{redacted(url)} is larger than {MAX_DOCUMENT_BYTES} "
                                      "bytes")
        try:
            doc = boundedjson.loads(bytes(body))
        except boundedjson.UnreadableJson as err:
            raise IssuerError(f"{redacted(url)}: {err.why}") from None
        if not isinstance(doc, dict):
            raise IssuerError(f"{redacted(url)} is not a JSON object")
        return doc

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()


class IssuerError(Exception):
    """An issuer's discovery document or JWKS could not be used (the text says why)."""


def _usable_keys(listed: list[Any]) -> dict[str, jwt.PyJWK]:
    """Return the RS256/ES256 signing keys of a JWKS ``keys`` list by kid (others skipped)."""
    keys = {}
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("kid"), str):
            continue
        if item.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(item)
        except jwt.PyJWTError:
            continue  # another key type or algorithm: not one a publisher's token may use
        if key.algorithm_name in ALGORITHMS:
            keys[item["kid"]] = key
    return keys
