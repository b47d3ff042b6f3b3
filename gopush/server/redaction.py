"""The server's one redaction: URLs fit for its log and its messages.

Upstream URLs may carry credentials, and request targets may carry keys in their query
(``?api_key=``), so both pass ``redacted`` before they are written anywhere: user
information is dropped and the value of each query parameter whose name holds a secret-like
word becomes ``***``. The client's equivalent is ``config.credentials.redact``; the server
keeps its own, since ``server`` may not import ``config``.

``AccessLog`` applies it to uvicorn's access log (``gopush serve -v``) and cuts each
request target to ``MAX_LOGGED_TARGET`` characters, so a 5,000-character query string is
one short line.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit, urlunsplit

SECRET_PARAM_WORDS = ("key", "token", "secret", "signature", "sig", "password", "passwd",
                      "auth", "credential", "session")
MAX_LOGGED_TARGET = 300  # characters of a request target in the access log


def redacted(url: str, limit: int | None = None) -> str:
    """Return ``url`` (absolute, or a request target such as ``/a?b=c``) without user
    information or fragment, each secret-like query parameter's value as ``***``, and at
    most ``limit`` characters (then ending with how many were left out)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = "".join(_masked(piece) for piece in re.split(r"([&;])", parts.query))
    text = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}…(+{len(text) - limit} characters)"
    return text


def _masked(piece: str) -> str:
    """Return one ``name=value`` of a query with the value masked when the name is secret."""
    name, sep, value = piece.partition("=")
    secret = any(word in unquote(name).lower() for word in SECRET_PARAM_WORDS)
    return f"{name}{sep}***" if secret and sep and value else piece


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
