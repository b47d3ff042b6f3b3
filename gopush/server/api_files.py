"""The ``files`` half of the upload API: validate, upload slots, form POSTs, parts, complete.

A slot (``POST /files/{owner}/{repo}/``) names the file and its MD5. The bytes then arrive
either as one presigned form POST to ``/_upload/{identifier}/`` (no API key: the slot's
signature travels in the form fields, as S3's policy does) or as part PUTs to
``/_upload/parts/{owner}/{repo}/?upload_id=…&part_number=…`` (API key required) followed by
``complete``. Either way the bytes go to disk as they arrive and must match the declared MD5.
The form POST never answers a status the official CLI retries (5xx but 507, 429): it would
re-send it without a body. A full disk is a 507 everywhere (``server.space``).
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gopush.modzip.rules import MAX_ZIP_BYTES
from gopush.server.assembly import Assembly
from gopush.server.auth import Action
from gopush.server.blobs import Blobs, BlobStoreUnavailable, Incoming
from gopush.server.db import digest
from gopush.server.receive import is_number, receive_form, receive_raw
from gopush.server.records import FileSlot, Repo
from gopush.server.responses import (
    ApiError,
    no_content,
    not_found,
    out_of_space,
    store_unavailable,
)
from gopush.server.space import DiskFull
from gopush.server.state import api_repo, api_repo_or_new, base_url, json_body, new_repo, state
from gopush.server.storage import SlotGone

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
FORM_LIMIT = MAX_ZIP_BYTES + (1 << 20)  # the largest module zip plus room for form fields
MAX_PARTS = 10000


def _file_request(body: dict[str, Any], *, create: bool) -> tuple[str, str, str]:
    """Check a files validate/create body; return (filename, md5, method).

    Raises:
        ApiError: 422 naming each bad field.
    """
    fields: dict[str, list[str]] = {}
    filename, md5 = body.get("filename"), body.get("md5_checksum")
    method = body.get("method") or "post"
    if not isinstance(filename, str) or not 1 <= len(filename) <= 255 or "/" in filename:
        fields["filename"] = ["A file name of 1 to 255 characters, without '/', is required."]
    if not isinstance(md5, str) or not _MD5.match(md5):
        fields["md5_checksum"] = ["An MD5 checksum of 32 hex characters is required."]
    if create and method not in ("post", "put_parts"):
        fields["method"] = [f"Unsupported upload method {method!r}: use post or put_parts."]
    if fields:
        raise ApiError(422, "Invalid input.", fields)
    return str(filename), str(md5).lower(), str(method)


async def validate_file(request: Request) -> Response:
    """``POST /files/{owner}/{repo}/validate/``: check file name and MD5 (204)."""
    api_repo_or_new(request, Action.PUSH)
    _file_request(await json_body(request), create=False)
    return no_content()


async def create_file(request: Request) -> Response:
    """``POST /files/{owner}/{repo}/``: open an upload slot (202 with the upload URL)."""
    repo = api_repo_or_new(request, Action.PUSH)
    filename, md5, method = _file_request(await json_body(request), create=True)
    repo = repo or new_repo(request)  # the first valid push creates the repository
    state(request).expiry.sweep()  # abandoned uploads go before a new one starts
    slot, signature = state(request).storage.new_file(repo, filename, md5, method)
    return JSONResponse(_slot_json(request, repo, slot, signature), status_code=202)


def _slot_json(request: Request, repo: Repo, slot: FileSlot,
               signature: str | None) -> dict[str, Any]:
    base = base_url(request)
    if slot.method == "put_parts":
        url, fields = f"{base}/_upload/parts/{repo.owner}/{repo.name}/", {}
    else:
        url = f"{base}/_upload/{slot.identifier}/"
        fields = {"key": f"incoming/{slot.identifier}/{slot.filename}"}
        if signature is not None:
            fields["signature"] = signature
    return {"identifier": slot.identifier, "upload_url": url, "upload_fields": fields,
            "upload_headers": {}, "upload_querystring": None}


async def upload_form(request: Request) -> Response:
    """``POST /_upload/{identifier}/``: receive the presigned form upload (204).

    Every failure is a 4xx (never 429 or a retried 5xx), a full disk a 507 (not retried),
    and a stalled body ends in 400.
    """
    incoming: Incoming | None = None
    try:
        slot = state(request).storage.file(request.path_params["identifier"])
        if slot is None:
            raise _expired()
        incoming = state(request).storage.blobs.incoming("form")
        await receive_form(request, incoming, state(request).settings.body_timeout,
                           FORM_LIMIT, lambda fields, at_file: _authorise(slot, fields, at_file))
        await _store(request, slot, incoming)
        return no_content()
    except ApiError as err:
        return err.response()
    except DiskFull:  # the partial file is deleted below
        return out_of_space().response()
    except BlobStoreUnavailable as err:
        return store_unavailable(err, 400, close=True).response()
    except Exception as err:  # noqa: BLE001 - a 5xx here would make the CLI hang (api doc §6.3)
        return ApiError(400, f"Upload failed: {type(err).__name__}", close=True).response()
    finally:
        if incoming is not None:
            incoming.discard()


def _authorise(slot: FileSlot, fields: dict[str, str], at_file: bool) -> None:
    """Refuse a form upload as soon as its ``signature`` field is known to be wrong, or when
    the file part comes without one (the form's other fields are capped in size meanwhile,
    ``receive.MAX_FORM_META_BYTES``)."""
    if "signature" not in fields and not at_file:
        return
    given = digest(fields.get("signature", "")).encode()
    if not hmac.compare_digest(given, slot.signature_sha256.encode()):
        raise ApiError(403, "The upload signature does not match this upload slot.",
                       close=True)


async def _store(request: Request, slot: FileSlot, incoming: Incoming) -> None:
    """Check the received bytes against the slot's MD5 and keep them as the slot's blob."""
    if incoming.md5 != slot.md5:
        raise ApiError(400, f"The uploaded file's MD5 ({incoming.md5}) does not match the "
                            f"md5_checksum declared for it ({slot.md5}); the file changed "
                            "or was damaged in transit.", {"md5_checksum": ["Mismatch."]})
    if slot.state == "complete":
        return  # a repeated upload of the same bytes
    try:
        await run_in_threadpool(state(request).storage.complete_file, slot, incoming)
    except SlotGone:
        raise _expired() from None


def _expired() -> ApiError:
    return ApiError(403, "Unknown or expired upload slot.", close=True)  # body left unread


def _part_slot(request: Request, repo: Repo, identifier: str | None) -> FileSlot:
    slot = state(request).storage.file(identifier or "")
    if slot is None or (slot.owner, slot.name) != (repo.owner, repo.name):
        raise not_found()
    return slot


def _part_number(request: Request, default: str) -> int:
    """Return the ``part_number`` parameter (``default`` when absent).

    Raises:
        ApiError: 422 unless it is a whole number from 1 to MAX_PARTS.
    """
    number = request.query_params.get("part_number", default)
    if not is_number(number) or not 1 <= int(number) <= MAX_PARTS:
        raise ApiError(422, "Invalid input.",
                       {"part_number": [f"A whole number from 1 to {MAX_PARTS}."]})
    return int(number)


async def upload_part(request: Request) -> Response:
    """``PUT /_upload/parts/{owner}/{repo}/?upload_id=ID&part_number=N``: keep one part.

    Every part is kept in the blob store (``Blobs.put_part``), so the parts of one upload may
    reach different instances. A part that continues this process's join in order is also
    appended to it (``server.assembly``), so ``complete`` has little left to do. A part for
    an upload that is already complete is refused (409): nothing would ever read or delete
    it, whether it is before the part is received or once it is kept (the part is deleted).
    """
    repo = api_repo(request, Action.PUSH)
    slot = _part_slot(request, repo, request.query_params.get("upload_id"))
    number = _part_number(request, "")
    if slot.state == "complete":
        raise _already_complete()
    st = state(request)
    blobs = st.storage.blobs
    assembly = st.assemblies.start(slot.identifier, lambda: blobs.incoming("joined"))
    held = await run_in_threadpool(blobs.parts, slot.identifier)
    room = _room_left(held, assembly, number)
    declared = request.headers.get("content-length")
    if is_number(declared) and int(declared) > room:
        raise _too_large(room)  # refused before a byte is read
    incoming = blobs.incoming("part")
    try:
        if assembly.takes(number):
            async with assembly.appending(number) as joined:
                await receive_raw(request, joined, st.settings.body_timeout, room)
            await run_in_threadpool(assembly.copy_range, number, incoming)
        else:
            await receive_raw(request, incoming, st.settings.body_timeout, room)
            if number in assembly.ranges:
                assembly.torn = True  # re-sent: the join's copy of it may be stale
        await run_in_threadpool(blobs.put_part, slot.identifier, number, incoming)
    finally:
        incoming.discard()
    if not _open(await run_in_threadpool(st.storage.file, slot.identifier)):
        # completed (or forgotten) while this part arrived, perhaps on another instance: the
        # complete's deletion of the parts ran before this one was kept, and nothing else
        # would ever delete it (a slot that became a package is never forgotten)
        await run_in_threadpool(blobs.delete_parts, slot.identifier)
        raise _already_complete()
    return JSONResponse({"part_number": number, "size": incoming.size})


def _open(slot: FileSlot | None) -> bool:
    return slot is not None and slot.state != "complete"


def _already_complete() -> ApiError:
    return ApiError(409, "This upload is already complete; its parts cannot change. "
                         "Open a new upload to send other bytes.", close=True)


def _room_left(held: dict[int, int], assembly: Assembly, number: int) -> int:
    """Return how many bytes part ``number`` may have: a module zip is at most MAX_ZIP_BYTES,
    so the parts held so far (in the store, or joined here; a re-sent part replaces its
    earlier bytes) leave only the rest. Without this, one slot could fill the store with
    parts that can never make a valid zip."""
    sizes = {n: size for n, (_, size) in assembly.ranges.items()} | held
    return max(0, MAX_ZIP_BYTES - sum(size for n, size in sizes.items() if n != number))


def _too_large(room: int) -> ApiError:
    return ApiError(413, f"The parts would exceed the {MAX_ZIP_BYTES} bytes a module zip may "
                         f"have ({room} bytes left for this part).", close=True)


async def complete_file(request: Request) -> Response:
    """``POST /files/{owner}/{repo}/{identifier}/complete/``: join the parts (201)."""
    repo = api_repo(request, Action.PUSH)
    slot = _part_slot(request, repo, request.path_params["identifier"])
    await json_body(request)  # {"upload_id", "complete"} or anything else: nothing to read
    if slot.state != "complete":
        await _join_parts(request, slot)
    return JSONResponse(_slot_json(request, repo, slot, None), status_code=201)


async def _join_parts(request: Request, slot: FileSlot) -> None:
    """Store the joined parts as the slot's blob (MD5 checked); forget the parts either way.

    The parts are those the blob store keeps. When this process appended the first of them
    in order (``Assembly.in_order_with``), its join is used, with any later parts appended
    from the store; else (parts sent to other instances, re-sent, out of order) every part
    is joined from the store, in part order.

    Raises:
        ApiError: 400 without parts, beyond the size limit, or for an MD5 mismatch.
    """
    st = state(request)
    blobs = st.storage.blobs
    assembly = st.assemblies.start(slot.identifier, lambda: blobs.incoming("joined"))
    async with assembly.lock:
        try:
            if _completed(st.storage.file(slot.identifier)):
                return  # a concurrent complete finished while this one waited
            held = await run_in_threadpool(blobs.parts, slot.identifier)
            if not held:
                raise ApiError(400, "No parts were uploaded for this file.")
            if sum(held.values()) > MAX_ZIP_BYTES:
                raise ApiError(400, f"The parts exceed {MAX_ZIP_BYTES} bytes.")
            if assembly.in_order_with(held):
                joined = assembly.joined
                later = [n for n in sorted(held) if n not in assembly.ranges]
            else:
                joined = blobs.incoming("rejoined")
                later = sorted(held)
            try:
                await run_in_threadpool(_append_parts, blobs, slot.identifier, later, joined)
                await _store(request, slot, joined)
            finally:
                joined.discard()
        finally:
            st.assemblies.drop(slot.identifier)
            await run_in_threadpool(blobs.delete_parts, slot.identifier)


def _completed(slot: FileSlot | None) -> bool:
    return slot is not None and slot.state == "complete"


def _append_parts(blobs: Blobs, upload: str, numbers: list[int], into: Incoming) -> None:
    """Append these parts of ``upload``, from the blob store, to ``into``, in this order."""
    for number in numbers:
        for chunk in blobs.part_chunks(upload, number):
            into.write(chunk)


async def abort_file(request: Request) -> Response:
    """``POST /files/{owner}/{repo}/{identifier}/abort/``: drop received parts (204)."""
    repo = api_repo(request, Action.PUSH)
    slot = _part_slot(request, repo, request.path_params["identifier"])
    st = state(request)
    assembly = st.assemblies.get(slot.identifier)
    if assembly is not None:
        async with assembly.lock:
            st.assemblies.drop(slot.identifier)
    await run_in_threadpool(st.storage.blobs.delete_parts, slot.identifier)
    return no_content()


async def file_info(request: Request) -> Response:
    """``GET /files/{owner}/{repo}/{identifier}/info/``: where parts go (200)."""
    repo = api_repo(request, Action.PUSH)
    slot = _part_slot(request, repo, request.path_params["identifier"])
    body = _slot_json(request, repo, slot, None)
    query = f"upload_id={slot.identifier}&part_number={_part_number(request, '1')}"
    return JSONResponse({"identifier": slot.identifier, "upload_url": body["upload_url"],
                         "upload_querystring": query})

