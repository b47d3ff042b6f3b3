"""Receive request bodies straight to disk: raw bodies (part PUTs) and form POSTs.

Bodies are never held whole in memory: the chunks the ASGI server hands over are gathered
into buffers of ``FLUSH_BYTES`` and each buffer is written to an ``Incoming`` temporary file
(which hashes it) from a worker thread while the event loop gathers the next one. Writing and
hashing (MD5 and SHA-256, about 2.5 ms per MiB) so overlap with receiving instead of following
it, and the event loop is never blocked by them. At most two buffers per body are in memory. A body that stalls for longer than
the timeout is given up with ``400 Request body incomplete`` and the connection is closed;
this matters for the official CLI, which re-sends a form POST with its original
Content-Length and no bytes after a retryable status, and would otherwise wait forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, NamedTuple, TypeGuard

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from gopush.server.blobs import Incoming
from gopush.server.responses import ApiError

if TYPE_CHECKING:  # python-multipart defines it for type checkers only
    from python_multipart.multipart import MultipartCallbacks

MAX_FIELD_BYTES = 8 * 1024  # one text field of a form POST (a presigned-upload field)
# Everything but the file's bytes in a form POST: every part's headers and every text field.
# A presigned upload's fields are under 200 bytes; without this bound a form of many small
# fields, sent to a bare upload URL, was kept whole in memory before it was refused.
MAX_FORM_META_BYTES = 64 * 1024
FLUSH_BYTES = 1 << 20  # a worker-thread hop costs ~50 µs: worth it per MiB, not per 64 KiB chunk


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


class Pipe:
    """Double-buffered writes into an ``Incoming``: one buffer in a worker thread, one filling.

    ``feed`` only waits when a full buffer is ready and the previous one is still being written,
    which is the back-pressure that keeps memory bounded. Call ``drain`` before reading the
    file or its digests, and ``abandon`` (also safe after ``drain``) on every other way out, so
    no worker thread writes into a file that is being discarded.
    """

    def __init__(self, incoming: Incoming) -> None:
        self.incoming = incoming
        self._buffer = bytearray()
        self._writing: asyncio.Future[None] | None = None

    async def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data``; hand the buffer to a worker once it holds ``FLUSH_BYTES``."""
        self._buffer += data
        if len(self._buffer) >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        if self._writing is not None:
            await self._writing
        full, self._buffer = self._buffer, bytearray()
        self._writing = asyncio.ensure_future(run_in_threadpool(self.incoming.write, full))

    async def drain(self) -> None:
        """Write everything fed so far; afterwards the file and digests are up to date."""
        if self._buffer:
            await self._flush()
        if self._writing is not None:
            writing, self._writing = self._writing, None
            await writing

    async def abandon(self) -> None:
        """Drop what is buffered and wait for a write in flight, ignoring its failure."""
        self._buffer = bytearray()
        if self._writing is not None:
            writing, self._writing = self._writing, None
            with contextlib.suppress(Exception):
                await asyncio.shield(writing)


MAX_DIGITS = 18  # every count or size the server reads fits (and int() takes at most 4,300)


def is_number(text: str | None) -> TypeGuard[str]:
    """Tell whether ``text`` is 1 to ``MAX_DIGITS`` ASCII digits: what a header or parameter
    holding a count or size may be, and what int() then reads quickly and without error
    (str.isdigit alone also takes "²", which int() refuses; 5,000 digits make it raise)."""
    return (text is not None and 0 < len(text) <= MAX_DIGITS and text.isascii()
            and text.isdecimal())


async def receive_raw(request: Request, incoming: Incoming, timeout: float, limit: int) -> int:
    """Append the whole raw body to ``incoming``; return its size, checked against its
    Content-Length.

    Raises:
        ApiError: 400 as ``chunks``, or when fewer bytes came than Content-Length said.
    """
    pipe, received = Pipe(incoming), 0
    try:
        async for chunk in chunks(request, timeout, limit):
            received += len(chunk)
            await pipe.feed(chunk)
        await pipe.drain()
    finally:
        await pipe.abandon()
    declared = request.headers.get("content-length")
    if is_number(declared) and int(declared) != received:
        raise incomplete()
    return received


class FilePart(NamedTuple):
    """Where a form's file part goes: its temporary file, and how many bytes it may hold."""

    incoming: Incoming
    limit: int
    name: str  # as a refusal names the part


# A file part of a form: its ``filename`` (as the browser sent it: perhaps "", perhaps a path)
# in, where its bytes go out; it raises ApiError to refuse the part before a byte is kept.
OpenPart = Callable[[str], FilePart]


class _FormSink:
    """python-multipart callbacks: text fields into a dict, file parts to disk.

    ``authorise(fields, at_file)`` runs after each text field and before each file part; it
    raises to refuse the upload as soon as the fields say so (a wrong signature ends the
    request at once). Each part named ``file_field`` goes where ``open_part`` says, within
    its limit; at most ``max_files`` of them. Their bytes wait in ``pending`` as (part number,
    bytes) for ``receive_parts`` to write. Part headers and text fields together stay within
    MAX_FORM_META_BYTES.
    """

    def __init__(self, authorise: Callable[[dict[str, str], bool], None], open_part: OpenPart,
                 file_field: str, max_files: int) -> None:
        self.authorise = authorise
        self.open_part, self.file_field, self.max_files = open_part, file_field, max_files
        self.parts: list[FilePart] = []
        self.pending: list[tuple[int, bytearray]] = []  # parsed from the last chunk
        self.fields: dict[str, str] = {}
        self._meta = 0  # bytes of part headers and text fields so far
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._is_file = False
        self._part_bytes = 0
        self._value = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        """Return the callback table for ``MultipartParser``."""
        return {"on_part_begin": self._part_begin, "on_header_field": self._field,
                "on_header_value": self._value_data, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done, "on_part_data": self._data,
                "on_part_end": self._part_end}

    def _count(self, size: int) -> None:
        self._meta += size
        if self._meta > MAX_FORM_META_BYTES:
            raise ApiError(400, f"The form's fields and part headers exceed "
                                f"{MAX_FORM_META_BYTES} bytes.", close=True)

    def _part_begin(self) -> None:
        self._headers, self._value, self._is_file = {}, bytearray(), False

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self._header_field += data[start:end]

    def _value_data(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        self._is_file = self._name == self.file_field
        if self._is_file:
            if len(self.parts) >= self.max_files:
                raise ApiError(400, "More than one file part in the form." if self.max_files == 1
                               else f"More than {self.max_files} files in the form.",
                               close=True)
            self.authorise(self.fields, True)
            filename = options.get(b"filename", b"").decode("utf-8", "replace")
            self.parts.append(self.open_part(filename))
            self._part_bytes = 0

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self._part_bytes += end - start
            part = self.parts[-1]
            if self._part_bytes > part.limit:
                raise ApiError(413, f"{part.name}: larger than {part.limit} bytes.", close=True)
            index = len(self.parts) - 1
            if not self.pending or self.pending[-1][0] != index:
                self.pending.append((index, bytearray()))
            self.pending[-1][1].extend(memoryview(data)[start:end])
            return
        self._count(end - start)
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise ApiError(400, f"Form field {self._name!r} is too large (limit "
                                f"{MAX_FIELD_BYTES} bytes).", close=True)

    def _part_end(self) -> None:
        if not self._is_file:
            self.fields[self._name] = self._value.decode("utf-8", "replace")
            self.authorise(self.fields, False)


def _parse(parser: MultipartParser, chunk: bytes | None) -> None:
    """Feed ``chunk`` to ``parser`` (None: the body ended).

    Raises:
        ApiError: 400 naming what is wrong with the form (python-multipart's limits on part
            headers included), the connection closed.
    """
    try:
        if chunk is None:
            parser.finalize()
        else:
            parser.write(chunk)
    except MultipartParseError as err:
        raise ApiError(400, f"The body is not a valid multipart/form-data form: "
                            f"{_parse_problem(parser, err)}.", close=True) from None


def _parse_problem(parser: MultipartParser, err: MultipartParseError) -> str:
    """Say what python-multipart refused, with the limit it applied where it has one."""
    size, count = getattr(parser, "max_header_size", None), getattr(parser, "max_header_count",
                                                                   None)
    if "header size" in str(err):
        return (f"a part header line exceeds {size} bytes" if size
                else "a part header line is too long")
    if "header count" in str(err):
        return (f"a part has more than {count} header lines" if count
                else "a part has too many header lines")
    return str(err) or type(err).__name__


async def receive_form(request: Request, incoming: Incoming, timeout: float, limit: int,
                       authorise: Callable[[dict[str, str], bool], None]) -> dict[str, str]:
    """Parse a multipart/form-data body; stream its one ``file`` part into ``incoming``.

    ``authorise(fields, at_file)`` sees the text fields after each one ends (``at_file``
    False) and before the file part (True): it raises to refuse the upload as soon as the
    presigned upload's signature is wrong, and before any file byte is written when it is
    missing. At most MAX_FORM_META_BYTES of fields and part headers are ever held.

    Raises:
        ApiError: 400 for a body that is not a form, has no file part or two, stalls or is
            cut off; whatever ``authorise`` raises.
    """
    fields, parts = await receive_parts(request, timeout, limit, authorise,
                                        lambda _: FilePart(incoming, limit, "file"), "file", 1)
    if not parts:
        raise ApiError(400, "The form has no 'file' part.")
    return fields


async def receive_parts(request: Request, timeout: float, limit: int,
                        authorise: Callable[[dict[str, str], bool], None], open_part: OpenPart,
                        file_field: str, max_files: int) -> tuple[dict[str, str], list[FilePart]]:
    """Parse a multipart/form-data body of at most ``limit`` bytes; stream each part named
    ``file_field`` (at most ``max_files``) where ``open_part`` says; return the text fields
    and the file parts, in order. See ``receive_form`` for ``authorise``.

    A part's bytes are written by its own ``Pipe``, drained before the next part is
    written, so at most one part's two buffers are in memory. On any failure, the caller
    discards the parts ``open_part`` made.

    Raises:
        ApiError: 400 for a body that is not a form, too many file parts, a body that stalls
            or is cut off; 413 for a part past its limit; whatever the callbacks raise.
    """
    content_type, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ApiError(400, f"Expected a multipart/form-data body with a '{file_field}' part.")
    sink = _FormSink(authorise, open_part, file_field, max_files)
    parser = MultipartParser(boundary, sink.callbacks())
    pipes: dict[int, Pipe] = {}
    try:
        async for chunk in chunks(request, timeout, limit):
            _parse(parser, chunk)
            await _write_pending(sink, pipes)
        _parse(parser, None)
        await _write_pending(sink, pipes)
        for pipe in pipes.values():
            await pipe.drain()
    finally:
        for pipe in pipes.values():
            await pipe.abandon()
    return sink.fields, sink.parts


async def _write_pending(sink: _FormSink, pipes: dict[int, Pipe]) -> None:
    """Feed the file bytes parsed from the last chunk to their parts' pipes; a part that
    another follows is drained first (its file complete), and its pipe let go."""
    for index, data in sink.pending:
        for earlier in [i for i in pipes if i < index]:
            await pipes.pop(earlier).drain()
        if index not in pipes:
            pipes[index] = Pipe(sink.parts[index].incoming)
        await pipes[index].feed(data)
    sink.pending.clear()
