"""URLs fit for the server's log and messages, through the one redaction (``gopush.redaction``).

Upstream URLs may carry credentials, and request targets may carry keys in their query
(``?api_key=``), so both pass ``redacted`` before they are written anywhere. ``AccessLog``
applies it to uvicorn's access log (``gopush serve -v``) and cuts each request target to
``MAX_LOGGED_TARGET`` characters, so a 5,000-character query string is one short line.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from gopush.redaction import redact

MAX_LOGGED_TARGET = 300  # characters of a request target in the access log


def redacted(url: str, limit: int | None = None) -> str:
    """Return ``url`` (absolute, or a request target such as ``/a?b=c``) without user
    information or fragment, each secret-like query parameter's value as ``***``, and at
    most ``limit`` characters (then ending with how many were left out)."""
    parts = urlsplit(url)  # the server names hosts without their user information at all
    text = redact(urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path,
                              parts.query, "")))
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}…(+{len(text) - limit} characters)"
    return text


class AccessLog(logging.Filter):
    """Redact and shorten the request target of each uvicorn access-log record."""

    TARGET = 2  # uvicorn's args: client address, method, target, HTTP version, status

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > self.TARGET:
            target = str(args[self.TARGET])
            record.args = (*args[:self.TARGET], redacted(target, MAX_LOGGED_TARGET),
                           *args[self.TARGET + 1:])
        return True
