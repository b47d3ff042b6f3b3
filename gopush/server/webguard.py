"""What every web form POST must pass before it does anything: same origin, a live session,
its CSRF token, and a bounded body.

- **Same origin**: the ``Origin`` header (browsers send it on every form POST) must be this
  server's own origin as the request addressed it; without ``Origin``, the ``Referer`` must
  start with it; with neither, or ``Origin: null``, the POST is refused.
- **CSRF token**: every form carries the session's token (``server.sessions``) in the field
  ``csrf``; it is compared in constant time. The sign-in form has one too (login CSRF).
- **Bounded bodies**: a URL-encoded form is at most ``MAX_FORM_BYTES`` and ``MAX_FIELDS``
  fields, read within the server's ``--body-timeout`` (``receive.chunks``); a declared
  Content-Length past the limit is refused before a byte is read. The upload form is
  multipart and goes through ``receive.receive_form`` with its own bounds, and its CSRF
  token is checked before the first byte of the file is written.

Refusals are ``ApiError`` (403, 413, 400), which the web pages render as HTML.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from gopush.server.receive import chunks
from gopush.server.responses import ApiError
from gopush.server.sessions import COOKIE, Session
from gopush.server.state import state

MAX_FORM_BYTES = 8 * 1024  # sign-in and sign-out forms: a key and a token
MAX_FIELDS = 8
CSRF_FIELD = "csrf"


def own_origin(request: Request) -> str:
    """Return this server's origin as the request addressed it (``http://host:port``)."""
    return f"{request.url.scheme}://{request.headers.get('host', '')}".lower()


def same_origin(request: Request) -> bool:
    """Tell whether a POST comes from one of this server's own pages (see the docstring)."""
    own = own_origin(request)
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.lower() == own
    referer = request.headers.get("referer", "").lower()
    return referer.startswith(own + "/")


def session_of(request: Request) -> tuple[str | None, Session | None]:
    """Return the session cookie's identifier and its live session (None when none)."""
    identifier = request.cookies.get(COOKIE)
    return identifier, state(request).sessions.get(identifier)


def guarded_session(request: Request) -> tuple[str, Session]:
    """Refuse a POST from another origin or without a live session; return the session.

    Raises:
        ApiError: 403 naming what is missing.
    """
    if not same_origin(request):
        raise ApiError(403, "Cross-origin form submission refused: this form must be sent "
                            "from this server's own pages.")
    identifier, session = session_of(request)
    if identifier is None or session is None:
        raise ApiError(403, "Your session has ended or was never started: reload the page "
                            "and send the form again.")
    return identifier, session


def check_csrf(session: Session, fields: dict[str, str]) -> None:
    """Refuse a form whose CSRF token is missing or is not the session's.

    Raises:
        ApiError: 403.
    """
    if not session.csrf_ok(fields.get(CSRF_FIELD)):
        raise ApiError(403, "The form's CSRF token is missing or wrong: reload the page and "
                            "send the form again.")


async def small_form(request: Request) -> dict[str, str]:
    """Return the fields of a URL-encoded form body, bounded (see the module docstring).

    Raises:
        ApiError: 413 for a body past ``MAX_FORM_BYTES`` (before reading when declared);
            400 for another content type, too many fields, bytes that are not UTF-8, or a
            body that stalls.
    """
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ApiError(400, "Expected an application/x-www-form-urlencoded form.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared[:20]) > MAX_FORM_BYTES:
        raise ApiError(413, f"Form too large (limit {MAX_FORM_BYTES} bytes).", close=True)
    raw = bytearray()
    async for chunk in chunks(request, state(request).settings.body_timeout, 1 << 62):
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:  # chunked, or more than declared: stop reading here
            raise ApiError(413, f"Form too large (limit {MAX_FORM_BYTES} bytes).", close=True)
    try:
        pairs = parse_qsl(bytes(raw).decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, f"The form is not valid: UTF-8 text of at most {MAX_FIELDS} "
                            "fields is expected.") from None
    return dict(pairs)


def set_session_cookie(response: Response, request: Request, identifier: str,
                       session: Session) -> None:
    """Set the session cookie: HttpOnly, SameSite=Strict, Secure over TLS, ending with it."""
    max_age = state(request).sessions.max_age(session, state(request).sessions.clock())
    response.set_cookie(COOKIE, identifier, max_age=max_age, path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")


def clear_session_cookie(response: Response, request: Request) -> None:
    """Expire the session cookie in the browser."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
