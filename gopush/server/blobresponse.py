"""Stream a blob to an HTTP client without ever completing a download of wrong bytes.

``Blobs.chunks`` verifies a blob only after its last chunk, when most of it has been sent.
``BlobResponse`` therefore holds each chunk back until the next one (or the verification)
has come: a blob found corrupt (or a store that fails half-way) leaves the response
incomplete, the last chunk unsent, and uvicorn closes the connection ("ASGI callable returned
without completing response."), so the client (go) sees a failed download, never a wrong
file. The failure is logged with the blob's name. A failure before the first byte is sent
(a missing blob, a small corrupt one, an unreachable store) is an ordinary error answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from gopush.server.blobs import BlobCorrupt, BlobMissing, Blobs, BlobStoreUnavailable

log = logging.getLogger("gopush.server")

BLOB_ERRORS = (BlobCorrupt, BlobMissing, BlobStoreUnavailable)
_END = object()


class BlobResponse(Response):
    """A 200 answer whose body is the verified blob ``sha256`` of ``blobs`` (``what``
    names it in the log: the module@version and file)."""

    def __init__(self, blobs: Blobs, sha256: str, media_type: str, what: str) -> None:
        super().__init__(media_type=media_type)
        self.blobs, self.sha256, self.what = blobs, sha256, what

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "HEAD":  # no body: no need to read (or verify) the blob
            del self.headers["content-length"]
            await send({"type": "http.response.start", "status": 200,
                        "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b""})
            return
        chunks = self.blobs.chunks(self.sha256)
        try:
            held = await run_in_threadpool(_next, chunks)
            after = await run_in_threadpool(_next, chunks) if held is not _END else _END
        except BLOB_ERRORS as err:
            await self._refuse(err, scope, receive, send)
            return
        if after is _END:  # a small blob, whole and verified already
            self.headers["content-length"] = str(len(held) if isinstance(held, bytes) else 0)
        else:
            del self.headers["content-length"]  # streamed: chunked
        await send({"type": "http.response.start", "status": 200,
                    "headers": self.raw_headers})
        while after is not _END:
            assert isinstance(held, bytes)
            await send({"type": "http.response.body", "body": held, "more_body": True})
            held = after
            try:
                after = await run_in_threadpool(_next, chunks)
            except BLOB_ERRORS as err:
                log.error("download of %s aborted (connection closed, last chunk unsent): %s",
                          self.what, err.message)
                return  # incomplete: uvicorn closes the connection
        await send({"type": "http.response.body", "body": held if held is not _END else b""})

    async def _refuse(self, err: Any, scope: Scope, receive: Receive, send: Send) -> None:
        log.error("download of %s refused: %s", self.what, err.message)
        status = 503 if isinstance(err, BlobStoreUnavailable) else 500
        answer = PlainTextResponse(f"the registry cannot serve {self.what} now: its stored "
                                   "bytes are missing, damaged or unreachable (see the "
                                   "server log)\n", status_code=status)
        await answer(scope, receive, send)


def _next(chunks: Iterator[bytes]) -> object:
    """Return the next chunk, or ``_END`` (a StopIteration cannot leave a thread pool)."""
    return next(chunks, _END)
