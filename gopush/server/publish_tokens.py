"""The push tokens trusted publishers get, and the ID tokens already exchanged (migration 5).

``PublishTokens.mint`` is the last step of an exchange (``server.api_openid``), in one
transaction: the ID token's ``(iss, jti)`` is recorded until its ``exp`` and the leeway
(``Verified.remembered_until``), and a second use
of it is refused (``Refused`` 401, "token already used"); then a push token is made, valid
the publisher's ``token_minutes``. Only its SHA-256 digest is stored, with the publisher
(org, service, issuer) and the ID token's ``sub`` for the log. Rows past their expiry are
deleted at every mint, so the tables hold only live tokens.

The token is a JWT in shape (``{"iss": "gopush serve", "sub": "org/service", "exp", "iat",
"jti"}``, HS256 with a random key thrown away at once) so that clients can read when it
expires (cloudsmith-cli caches an exchanged token until its ``exp``); the server never
decodes it: ``holder`` looks the digest of the whole string up.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from gopush.server.db import Conflict, Database, digest
from gopush.server.oidc import Refused, Verified


@dataclass(frozen=True)
class Holder:
    """What a push token was minted for: the publisher (org, service, issuer) and until when."""

    org: str
    service: str
    issuer: str
    subject: str
    expires: int  # Unix seconds

    @property
    def publisher(self) -> str:
        """``org/service``, how the publisher is named."""
        return f"{self.org}/{self.service}"


class PublishTokens:
    """The ``oidc_jtis`` and ``publish_tokens`` tables."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock())

    def mint(self, verified: Verified) -> tuple[str, int]:
        """Record the ID token's jti and return a new push token and its expiry (Unix s).

        Raises:
            Refused: 401 when the jti was exchanged before (a replayed ID token).
        """
        now = self._now()
        publisher = verified.publisher
        expires = now + publisher.token_minutes * 60
        token = jwt.encode({"iss": "gopush serve", "sub": publisher.name, "iat": now,
                            "exp": expires, "jti": secrets.token_urlsafe(16)},
                           secrets.token_bytes(32), algorithm="HS256")
        with self.db.tx() as conn:
            conn.execute("DELETE FROM oidc_jtis WHERE expires < ?", (now,))
            conn.execute("DELETE FROM publish_tokens WHERE expires < ?", (now,))
            try:
                conn.execute("INSERT INTO oidc_jtis (issuer, jti, expires) VALUES (?, ?, ?)",
                             (publisher.issuer, verified.claims["jti"],
                              verified.remembered_until))
            except Conflict:
                raise Refused(401, "token already used: its jti was exchanged before (an ID "
                                   "token is good for one exchange)") from None
            conn.execute("INSERT INTO publish_tokens (token_sha256, org, service, issuer, "
                         "subject, expires, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (digest(token), publisher.org, publisher.service, publisher.issuer,
                          verified.subject, expires,
                          time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))))
        return token, expires

    def holder(self, token: str) -> Holder | None:
        """Return what ``token`` was minted for (expired or not), or None if it never was."""
        row = self.db.one("SELECT org, service, issuer, subject, expires FROM publish_tokens "
                          "WHERE token_sha256 = ?", digest(token))
        return Holder(*row) if row is not None else None

    def expired(self, holder: Holder) -> bool:
        """Tell whether ``holder``'s token has expired."""
        return holder.expires <= self._now()
