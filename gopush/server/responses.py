"""Cloudsmith-shaped replies: JSON bodies, and errors as ``{"detail", "fields"}``.

Handlers raise ``ApiError`` (or a ``GopushError``, mapped by ``error_for``); the application's
exception handler turns it into the body the official CLI reads: ``detail`` is its headline
and each ``fields`` entry becomes a line of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import JSONResponse, Response

from gopush.errors import AuthError, GopushError, InvalidModule, VersionExists
from gopush.server.blobs import BlobStoreUnavailable
from gopush.server.space import OUT_OF_SPACE

log = logging.getLogger("gopush.server")


class ApiError(Exception):
    """An API failure with its HTTP status, headline and per-field messages."""

    def __init__(self, status: int, detail: str, fields: dict[str, list[str]] | None = None,
                 *, close: bool = False, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.fields = status, detail, fields or {}
        self.close = close  # ask the client to drop the connection (unread body left)
        self.headers = headers or {}  # e.g. Retry-After

    def response(self) -> Response:
        """Return the JSON error response."""
        body: dict[str, Any] = {"detail": self.detail}
        if self.fields:
            body["fields"] = self.fields
        headers = {**self.headers, **({"Connection": "close"} if self.close else {})}
        return JSONResponse(body, status_code=self.status, headers=headers)


def not_found() -> ApiError:
    """Return the 404 Cloudsmith gives for unknown owners, repositories and packages."""
    return ApiError(404, "Not found.")


def store_unavailable(err: BlobStoreUnavailable, status: int = 503, *,
                      close: bool = False) -> ApiError:
    """Return the answer to a request the blob store failed, and log the full cause (the
    store's name and endpoint). The answer says why in the store's public words
    (``BlobStoreUnavailable.cause``), as ``/readyz`` does. 503, which clients retry, except
    where a retry would go wrong: the form upload passes 400 (the official CLI re-sends a
    retried form POST without its body, cloudsmith-api.md §6.3)."""
    log.warning("the blob store failed: %s", err)
    return ApiError(status, f"The registry's blob store cannot be used now: {err.cause}; "
                            "try again later.", close=close,
                    headers={"Retry-After": "5"} if status == 503 else None)


def out_of_space() -> ApiError:
    """Return the 507 for a write the disk has no room for (``server.space``).

    The connection is closed, since the body may be unread. 507 is not among the statuses
    the official CLI retries, so it never re-sends a form POST without its body
    (cloudsmith-api.md §6.3), and gopush reports it at once (exit 6).
    """
    return ApiError(507, OUT_OF_SPACE, close=True)


def error_for(err: GopushError, field: str = "package_file") -> ApiError:
    """Map a gopush error to an API error: 409 for an existing version, 422 for a bad zip."""
    hint = f" ({err.hint})" if err.hint else ""
    if isinstance(err, VersionExists):
        return ApiError(409, "A package with this version already exists.",
                        {"non_field_errors": [err.message]})
    if isinstance(err, AuthError):
        return ApiError(401, err.message)
    status = 422 if isinstance(err, InvalidModule) else 400
    return ApiError(status, "Invalid input.", {field: [err.message + hint]})


def no_content(status: int = 204) -> Response:
    """Return an empty reply (204 unless told)."""
    return Response(status_code=status)
