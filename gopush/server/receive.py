"""Receive request bodies straight to disk: raw bodies (part PUTs) and form POSTs.

Bodies are never held whole in memory: each chunk the ASGI server hands over is written to an
``Incoming`` temporary file (which hashes it) and dropped. A body that stalls for longer than
the timeout is given up with ``400 Request body incomplete`` and the connection is closed;
this matters for the official CLI, which re-sends a form POST with its original
Content-Length and no bytes after a retryable status, and would otherwise wait forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from gopush.server.blobs import Incoming
from gopush.server.responses import ApiError

MAX_FIELD_BYTES = 64 * 1024  # text fields of a form POST (the presigned-upload fields)


def incomplete() -> ApiError:
    """Return the error for a body that stopped arriving or was cut off."""
    return ApiError(400, "Request body incomplete", close=True)


async def chunks(request: Request, timeout: float, limit: int) -> AsyncIterator[bytes]:
    """Yield the request body chunk by chunk; give up after ``timeout`` idle seconds.

    Raises:
        ApiError: 400 when the body stalls, is cut off, or exceeds ``limit`` bytes.
    """
    stream = request.stream().__aiter__()
    total = 0
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout)
        except StopAsyncIteration:
            return
        except (TimeoutError, ClientDisconnect):
            raise incomplete() from None
        total += len(chunk)
        if total > limit:
            raise ApiError(400, f"Request body too large (limit {limit} bytes)", close=True)
        if chunk:
            yield chunk


async def receive_raw(request: Request, incoming: Incoming, timeout: float, limit: int) -> None:
    """Write the whole raw body into ``incoming``, checking its declared length.

    Raises:
        ApiError: 400 as ``chunks``, or when fewer bytes came than Content-Length said.
    """
    async for chunk in chunks(request, timeout, limit):
        incoming.write(chunk)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) != incoming.size:
        raise incomplete()


class _FormSink:
    """python-multipart callbacks: text fields into a dict, the ``file`` part to disk."""

    def __init__(self, incoming: Incoming, before_file: Callable[[dict[str, str]], None]) -> None:
        self.incoming, self.before_file = incoming, before_file
        self.fields: dict[str, str] = {}
        self.got_file = False
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._is_file = False
        self._value = bytearray()

    def callbacks(self) -> dict[str, Callable[..., None]]:
        """Return the callback table for ``MultipartParser``."""
        return {"on_part_begin": self._part_begin, "on_header_field": self._field,
                "on_header_value": self._value_data, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done, "on_part_data": self._data,
                "on_part_end": self._part_end}

    def _part_begin(self) -> None:
        self._headers, self._value, self._is_file = {}, bytearray(), False

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        self._is_file = self._name == "file"
        if self._is_file:
            if self.got_file:
                raise ApiError(400, "More than one file part in the form.")
            self.before_file(self.fields)
            self.got_file = True

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.incoming.write(memoryview(data)[start:end])
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise ApiError(400, f"Form field {self._name!r} is too large.")

    def _part_end(self) -> None:
        if not self._is_file:
            self.fields[self._name] = self._value.decode("utf-8", "replace")


async def receive_form(request: Request, incoming: Incoming, timeout: float, limit: int,
                       before_file: Callable[[dict[str, str]], None]) -> dict[str, str]:
    """Parse a multipart/form-data body; stream its ``file`` part into ``incoming``.

    ``before_file`` sees the text fields that came before the file part (the presigned
    upload's signature) and raises to refuse the upload before any file byte is written.

    Raises:
        ApiError: 400 for a body that is not a form, has no file part, stalls or is cut off;
            whatever ``before_file`` raises.
    """
    content_type, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ApiError(400, "Expected a multipart/form-data body with a 'file' part.")
    sink = _FormSink(incoming, before_file)
    parser = MultipartParser(boundary, sink.callbacks())  # type: ignore[arg-type]
    async for chunk in chunks(request, timeout, limit):
        parser.write(chunk)
    parser.finalize()
    if not sink.got_file:
        raise ApiError(400, "The form has no 'file' part.")
    return sink.fields
