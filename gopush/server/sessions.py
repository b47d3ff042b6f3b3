"""Web page sessions: who signed in with an API key, and the CSRF token of every form.

A session is a random identifier in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure``
when the server speaks TLS); the server keeps, by the identifier's SHA-256 digest, only
whether it is signed in, its CSRF token and when it ends. The API key never leaves the
sign-in form: not in the cookie, not in the store. Sessions live in the server process (a
restart signs everyone out) and end ``SIGNED_IN_SECONDS`` after sign-in, however busy.

Visitors get a session before they sign in, for the sign-in form's CSRF token (login CSRF:
another site must not sign a browser in under its own key). Such form sessions are cheap to
make, so they are kept apart and bounded (``MAX_FORM_SESSIONS``, the oldest dropped first): a
flood of them never pushes out a signed-in session. Signing in replaces the form session by
a new identifier (a planted identifier is worth nothing afterwards). Used on the event loop
only (no lock).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "gopush_session"
SIGNED_IN_SECONDS = 8 * 3600.0  # a signed-in session ends this long after sign-in
FORM_SECONDS = 3600.0  # a sign-in form stays usable this long
MAX_FORM_SESSIONS = 4096  # sessions of visitors who have not signed in
MAX_SIGNED_IN = 4096  # only a valid API key makes one; bounded all the same


@dataclass(frozen=True)
class Session:
    """One browser's session: its CSRF token, whether it signed in, when it ends."""

    csrf: str
    signed_in: bool
    ends: float  # on the store's clock

    def csrf_ok(self, given: str | None) -> bool:
        """Tell whether ``given`` is this session's CSRF token (constant time)."""
        return bool(given) and hmac.compare_digest(str(given).encode(), self.csrf.encode())


def _digest(identifier: str) -> str:
    return hashlib.sha256(identifier.encode()).hexdigest()


class Sessions:
    """The sessions of one server process (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._form: OrderedDict[str, Session] = OrderedDict()
        self._signed_in: OrderedDict[str, Session] = OrderedDict()

    def get(self, identifier: str | None) -> Session | None:
        """Return the live session a cookie names, or None (unknown, malformed or ended)."""
        if not identifier or len(identifier) > 128:
            return None
        key = _digest(identifier)
        for store in (self._signed_in, self._form):
            found = store.get(key)
            if found is not None:
                if found.ends > self.clock():
                    return found
                del store[key]
        return None

    def start(self, *, signed_in: bool) -> tuple[str, Session]:
        """Make a session; return its identifier (for the cookie only) and the session."""
        identifier = secrets.token_urlsafe(32)
        lifetime, store, bound = ((SIGNED_IN_SECONDS, self._signed_in, MAX_SIGNED_IN)
                                  if signed_in else (FORM_SECONDS, self._form, MAX_FORM_SESSIONS))
        session = Session(secrets.token_urlsafe(32), signed_in, self.clock() + lifetime)
        store[_digest(identifier)] = session
        while len(store) > bound:
            store.popitem(last=False)
        return identifier, session

    def end(self, identifier: str | None) -> None:
        """Forget a session (sign-out, or a form session replaced by a sign-in)."""
        if identifier:
            key = _digest(identifier)
            self._form.pop(key, None)
            self._signed_in.pop(key, None)

    @staticmethod
    def max_age(session: Session, now: float) -> int:
        """Return the cookie's Max-Age for ``session`` at ``now`` (whole seconds, >= 0)."""
        return max(0, int(session.ends - now))
