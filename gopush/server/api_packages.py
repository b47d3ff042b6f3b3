"""The ``packages`` half of the upload API: validate, create a Go package, status, list, delete.

``upload/go`` turns a finished upload into a package. A new module version is queued and
answered at once; ``server.sync`` then checks its zip as go would and publishes it or fails it
(the status endpoint tells which), as Cloudsmith's synchronisation does. An upload for a
version that is already published is decided while answering, so the client hears at once:
identical content returns the existing package, other content is refused with 409 (or
replaces it with ``republish``), and a zip go would refuse becomes a failed package whose
``status_reason`` says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gopush.errors import GopushError, InvalidModuleZip
from gopush.server.auth import Action
from gopush.server.package_json import package_json, search_fields, status_json
from gopush.server.query import Matcher, QueryError, SearchesBusy, compile_query
from gopush.server.receive import MAX_DIGITS, is_number
from gopush.server.records import FileSlot, Package, Repo
from gopush.server.responses import ApiError, error_for, no_content, not_found
from gopush.server.state import api_repo, api_repo_or_new, base_url, json_body, state
from gopush.server.storage import SlotGone, Storage
from gopush.server.sync import DEAD_END, apply_retention
from gopush.server.tags import ACTIONS, TagError, apply, checked, join_tags, split_tags
from gopush.server.validate import check_upload, peek_module_version
from gopush.server.vulnscan import Scanner

MAX_PAGE_SIZE = 1000
BUSY_WAIT = 60.0  # seconds: processing one zip of the 500 MB maximum takes about 1 s
SEARCH_RETRY = 1  # seconds a refused search is asked to wait (Retry-After)
YIELD_EVERY = 16  # packages a search matches between offers of the GIL to other threads


def _package_file(body: dict[str, Any]) -> str:
    value = body.get("package_file")
    if not isinstance(value, str) or not value:
        raise ApiError(422, "Invalid input.", {"package_file": ["This field is required."]})
    return value


async def validate_go(request: Request) -> Response:
    """``POST /packages/{owner}/{repo}/validate-upload/go/`` (204).

    ``package_file`` is the client's local path at this step, so only its presence is checked.
    """
    api_repo_or_new(request, Action.PUSH)
    _package_file(await json_body(request))
    return no_content()


async def upload_go(request: Request) -> Response:
    """``POST /packages/{owner}/{repo}/upload/go/``: create the package of an upload (201)."""
    repo = api_repo_or_new(request, Action.PUSH)  # an upload slot made it: none, no upload
    body = await json_body(request)
    if body.get("republish") is True:  # replacing a version's content: not push-only
        api_repo_or_new(request, Action.MANAGE)
    slot = state(request).storage.file(_package_file(body))
    if repo is None or slot is None or (slot.owner, slot.name) != (repo.owner, repo.name):
        raise ApiError(422, "Invalid input.",
                       {"package_file": ["No upload with this identifier in this repository."]})
    if slot.state != "complete":
        raise ApiError(422, "Invalid input.",
                       {"package_file": ["The upload of this file has not finished."]})
    tags = _upload_tags(body.get("tags"))
    try:
        package = await run_in_threadpool(create_package, request, repo, slot,
                                          body.get("republish") is True, tags)
    except SlotGone as err:  # it expired while this request was deciding
        raise ApiError(422, "Invalid input.", {"package_file": [err.message]}) from None
    return JSONResponse(package_json(package, base_url(request)), status_code=201)


def _upload_tags(value: Any) -> str:
    """Return an upload's ``tags`` (text, comma-separated; a list is taken too) as stored.

    Raises:
        ApiError: 422 when they break ``server.tags``' rules.
    """
    if value is None or value == "":
        return ""
    try:
        if isinstance(value, str):
            return join_tags(checked(split_tags(value)))
        if isinstance(value, list):
            return join_tags(checked(value))
        raise TagError("Tags are text, names separated by commas.")
    except TagError as err:
        raise ApiError(422, "Invalid input.", {"tags": [str(err)]}) from None


def create_package(request: Request, repo: Repo, slot: FileSlot, republish: bool,
                   tags: str) -> Package:
    """Turn a finished upload into a package (in a worker thread): queue a new version for
    ``server.sync``, or decide at once for a version already published (``_decide_now``).
    The one path from an upload to a package: ``upload/go`` and the web page's upload form.

    Raises:
        ApiError: 409 or 422 for a version already published with other content.
        SlotGone: the upload expired meanwhile.
    """
    st = state(request)
    done = st.storage.package_for_file(slot)
    if done is not None:
        return done  # the same upload/go again (a retried POST)
    assert slot.blob_sha256 is not None
    with st.storage.blobs.local_copy(slot.blob_sha256) as zip_path:
        named = peek_module_version(zip_path)
    package, new = st.storage.queue_package(repo, slot, named, tags, republish=republish)
    if new:
        assert package is not None
        st.sync.submit(package)
    if package is not None:
        return package
    assert named is not None
    _wait_while_busy(st.storage, repo, *named)
    return _decide_now(st.storage, repo, slot, republish, tags, st.sync.scanner)


def _wait_while_busy(storage: Storage, repo: Repo, module: str, version: str) -> None:
    """Wait (at most BUSY_WAIT seconds) until no other package of module@version is processed;
    ``publish`` decides correctly either way, this only lets the answer be definite."""
    deadline = time.monotonic() + BUSY_WAIT
    while storage.version_busy(repo, module, version) and time.monotonic() < deadline:
        time.sleep(0.02)


def _decide_now(storage: Storage, repo: Repo, slot: FileSlot, republish: bool,
                tags: str, scanner: Scanner | None) -> Package:
    """Check and publish an upload for a version that exists (or fail it), while answering."""
    assert slot.blob_sha256 is not None
    with storage.blobs.local_copy(slot.blob_sha256) as zip_path:
        try:
            checked = check_upload(zip_path)
        except InvalidModuleZip as err:
            hint = f" ({err.hint})" if err.hint else ""
            return storage.fail_package(repo, slot, f"{err.message}{hint}. {DEAD_END}", tags)
        if scanner is not None:  # before publishing: see server.sync
            scanner.scan_accepted(repo.owner, repo.name, zip_path, checked)
    try:
        package, new = storage.publish(repo, slot, checked, republish=republish, tags=tags)
    except SlotGone:
        raise
    except GopushError as err:
        raise error_for(err) from None
    if new:  # a republish, or a deleted version published again
        apply_retention(storage, repo, package)
    return package


def _package(request: Request, repo: Repo) -> Package:
    package = state(request).storage.package(repo, request.path_params["pkg"])
    if package is None:
        raise not_found()
    return package


async def package_status(request: Request) -> Response:
    """``GET /packages/{owner}/{repo}/{pkg}/status/`` (200)."""
    repo = api_repo(request, Action.READ)
    return JSONResponse(status_json(_package(request, repo), base_url(request)))


async def resync(request: Request) -> Response:
    """``POST /packages/{owner}/{repo}/{pkg}/resync/``: process a failed package again (200).

    Only a failure of the server itself is queued again; a zip go refuses, or a duplicate
    version, fails the same way every time, so that package stays failed and says it should
    be deleted.
    """
    repo = api_repo(request, Action.PUSH)
    package = _package(request, repo)
    if state(request).sync.requeue(package):
        package = _package(request, repo)
    return JSONResponse(package_json(package, base_url(request)))


async def read_package(request: Request) -> Response:
    """``GET /packages/{owner}/{repo}/{pkg}/`` (200)."""
    repo = api_repo(request, Action.READ)
    return JSONResponse(package_json(_package(request, repo), base_url(request)))


async def delete_package(request: Request) -> Response:
    """``DELETE /packages/{owner}/{repo}/{pkg}/`` (204); the version is then gone (410)."""
    repo = api_repo(request, Action.MANAGE)
    await run_in_threadpool(state(request).storage.delete_package, _package(request, repo))
    return no_content()


async def tag_package(request: Request) -> Response:
    """``POST /packages/{owner}/{repo}/{pkg}/tag/``: add, remove, clear or replace a
    package's tags (200, the package), as ``cloudsmith tags`` sends it (``server.tags``).

    Raises:
        ApiError: 422 for an unknown action or tags that break the rules; 404 for a package
            that is not there (or was deleted).
    """
    repo = api_repo(request, Action.MANAGE)
    package = _package(request, repo)
    body = await json_body(request)
    action = body.get("action")
    if action not in ACTIONS:
        got = str(action)[:40]  # its start: never echo a megabyte back
        raise ApiError(422, "Invalid input.",
                       {"action": [f"One of {', '.join(ACTIONS)} (got {got!r})."]})
    given = body.get("tags") if action != "clear" else []
    if not isinstance(given, list):
        raise ApiError(422, "Invalid input.", {"tags": ["A list of tags is required."]})
    try:
        wanted = checked(given)
        if action != "clear" and not wanted:
            raise TagError("At least one tag is required.")
    except TagError as err:
        raise ApiError(422, "Invalid input.", {"tags": [str(err)]}) from None
    immutable = body.get("is_immutable") is True

    def change(tags: list[str], fixed: list[str]) -> tuple[list[str], list[str]]:
        return apply(str(action), tags, fixed, wanted, make_immutable=immutable)

    try:
        tagged = await run_in_threadpool(state(request).storage.retag, package, change)
    except TagError as err:
        raise ApiError(422, "Invalid input.", {"tags": [str(err)]}) from None
    if tagged is None:
        raise not_found()
    return JSONResponse(package_json(tagged, base_url(request)))


async def list_packages(request: Request) -> Response:
    """``GET /packages/{owner}/{repo}/``: a page of packages, pagination in headers (200).

    The query is matched on the search thread (``server.query.Searches``), so a long list
    never holds the event loop nor the threads uploads use; when too many searches wait,
    the answer is 429 with Retry-After. An unknown repository is 404, as Cloudsmith answers
    it, unless a push may create it (``--new-repos``): then it lists as empty.
    """
    st = state(request)
    repo = api_repo_or_new(request, Action.READ)
    page, size = paging(request)
    try:
        wanted = compile_query(request.query_params.get("query", ""))
    except QueryError as err:
        raise ApiError(400, "Invalid input.", {"query": [str(err)]}) from None
    packages = st.storage.packages
    try:
        count, shown = await st.searches.run(
            _matching, lambda: packages(repo) if repo is not None else [], wanted,
            request.query_params.get("sort", ""), slice((page - 1) * size, page * size))
    except SearchesBusy:
        raise ApiError(429, f"Request was throttled. Expected available in {SEARCH_RETRY} "
                            "second (too many searches are waiting).",
                       headers={"Retry-After": str(SEARCH_RETRY)}) from None
    pages = max(1, -(-count // size))
    if page > pages:
        raise ApiError(404, "Invalid page.")
    headers = {"X-Pagination-Count": str(count), "X-Pagination-Page": str(page),
               "X-Pagination-PageSize": str(size), "X-Pagination-PageTotal": str(pages)}
    base = base_url(request)
    return JSONResponse([package_json(p, base) for p in shown], headers=headers)


def _matching(packages: Callable[[], list[Package]], wanted: Matcher, sort: str,
              page: slice) -> tuple[int, list[Package]]:
    """Return how many of ``packages()`` ``wanted`` selects, and the ``page`` of them, sorted
    as asked. Matching reads the stored fields only: no package object is built here."""
    found = []
    for number, package in enumerate(packages()):
        if number % YIELD_EVERY == 0:
            time.sleep(0)  # hand the GIL to the event loop if it waits (else up to 5 ms)
        if wanted(search_fields(package)):
            found.append(package)
    return len(found), _sorted(found, sort)[page]


def paging(request: Request) -> tuple[int, int]:
    """Return the ``page`` and ``page_size`` a list asks for (30 by default, at most
    ``MAX_PAGE_SIZE``).

    Raises:
        ApiError: 422 when either is not a positive whole number.
    """
    page, size = request.query_params.get("page", "1"), request.query_params.get("page_size", "30")
    if not (is_number(page) and is_number(size) and int(page) >= 1 and int(size) >= 1):
        raise ApiError(422, "Invalid input.", {"page": [
            f"page and page_size are positive whole numbers of at most {MAX_DIGITS} digits."]})
    return int(page), min(int(size), MAX_PAGE_SIZE)


def _sorted(packages: list[Package], sort: str) -> list[Package]:
    """Sort by the package object's field ``sort`` names (``-`` first: descending; none:
    newest first), as text, packages without it last."""
    key = sort.lstrip("-") or "date"
    field = {"date": "uploaded_at", "name": "module", "version": "version",
             "size": "size", "filename": "filename"}.get(key, "uploaded_at")
    descending = sort.startswith("-") or not sort
    return sorted(packages, key=lambda p: (getattr(p, field) is None,
                                           str(getattr(p, field) or "")),
                  reverse=descending)
