"""The web page: repositories, their modules and versions, and an upload form, at ``/``.

Server-rendered HTML (Jinja2, autoescaped; templates in ``server/templates``) that works
without JavaScript and loads nothing from anywhere: its one stylesheet is inline and allowed
by its hash in a strict Content-Security-Policy (``CSP``), which also forbids scripts,
frames, and forms to other sites.

Who sees what follows the API's rules (``server.auth``): a visitor sees the public
repositories; one who signed in with an API key (``/web/login``; ``server.sessions``) sees
every repository, the recent uploads, the entitlement tokens (names, state and limits; never
a token, except once on the page answering the form that made it) and an upload form. A private repository is, to a visitor, the same 404 page as a
repository that does not exist. Wrong keys given to the sign-in form spend the client
address's guessing budget, as wrong API keys do (``server.guessing``): 429 once it is spent.

Pages:

- ``/``: the repositories;
- ``/web/{owner}/{repo}``: its modules, the consumer setup (``registry.base.consumer_guide``,
  public or private), and, signed in, the upload form, recent uploads and tokens;
- ``/web/{owner}/{repo}/mod/{module}``: the module's versions in Go's semver order, newest
  first (``gosem.semver.sort_versions``), pseudo-versions apart, each with its ``go get``
  line, its two go.sum lines and, when scanning is on, its vulnerability scan.

Every POST (sign-in, sign-out, upload) passes ``server.webguard`` first (same origin,
session, CSRF token, bounded body). The upload form takes a module zip and hands it to the
same path as ``push`` through the API: an upload slot (``Storage.new_file`` /
``complete_file``), then ``api_packages.create_package`` and the processing queue. The
layout form takes the files of a GOPROXY layout (several versions at once), checks all of
them (``server.layout``) and refuses the whole when one is wrong; otherwise each zip takes
the zip form's path.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gopush.gosem import dirhash, pseudo, semver
from gopush.modzip.rules import MAX_ZIP_BYTES
from gopush.registry.base import ConsumerSetup, consumer_guide, netrc_machine
from gopush.server.api_files import FORM_LIMIT
from gopush.server.api_packages import create_package
from gopush.server.blobs import Incoming
from gopush.server.entitlements import (
    Entitlement,
    EntitlementConflict,
    EntitlementError,
    check_name,
    new_token,
    utc_now,
)
from gopush.server.guessing import client_address
from gopush.server.layout import MAX_FILES, Received, check_layout, limit_for, read_name, shown
from gopush.server.receive import FilePart, receive_form, receive_parts
from gopush.server.records import Package, Repo, Version
from gopush.server.responses import ApiError, out_of_space
from gopush.server.sessions import Session
from gopush.server.slugs import is_slug
from gopush.server.space import DiskFull
from gopush.server.state import base_url, refuse_while_guessing, state
from gopush.server.storage import SlotGone
from gopush.server.validate import peek_module_version
from gopush.server.vulnstore import Scan
from gopush.server.webguard import (
    CSRF_FIELD,
    check_csrf,
    clear_session_cookie,
    guarded_session,
    session_of,
    set_session_cookie,
    small_form,
)

log = logging.getLogger("gopush.server")

TEMPLATES = Path(__file__).parent / "templates"
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined)
CSS = (TEMPLATES / "style.css").read_text(encoding="utf-8")
_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CSP = (f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
           "Cache-Control": "no-store"}
RECENT_UPLOADS = 20  # packages the repository page lists for a signed-in user


def render(request: Request, template: str, status: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """Return ``template`` rendered for this request's visitor, with the security headers."""
    _, session = session_of(request)
    signed_in = session is not None and session.signed_in
    body = _ENV.get_template(template).render(
        css=CSS, signed_in=signed_in, csrf=session.csrf if signed_in and session else "",
        csrf_field=CSRF_FIELD, user=state(request).settings.user, **context)
    return HTMLResponse(body, status_code=status, headers={**HEADERS, **(headers or {})})


def error_page(request: Request, err: ApiError) -> HTMLResponse:
    """Return an API error as an HTML page with the same status (and Retry-After)."""
    lines = [f"{name}: {text}" for name, texts in err.fields.items() for text in texts]
    headers = {k: v for k, v in err.headers.items() if k.lower() == "retry-after"}
    if err.close or request.method == "POST":  # a refused form may leave its body unread
        headers["Connection"] = "close"
    return render(request, "error.html", err.status, headers, detail=err.detail, lines=lines)


def not_found_page(request: Request) -> HTMLResponse:
    """Return the one 404 page: a private repository looks exactly like a missing one."""
    return error_page(request, ApiError(404, "Not found."))


Handler = Callable[[Request], Awaitable[Response]]


def web(handler: Handler) -> Handler:
    """Render what a page handler raises as an HTML error page, never a traceback."""

    @functools.wraps(handler)
    async def page(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as err:
            return error_page(request, err)
        except DiskFull:
            return error_page(request, out_of_space())
    return page


def signed_in(request: Request) -> bool:
    """Tell whether the visitor signed in with an API key."""
    _, session = session_of(request)
    return session is not None and session.signed_in


def visible_repo(request: Request) -> Repo | None:
    """Return the repository the path names if this visitor may see it, else None (a
    private one and a missing one alike)."""
    owner, name = request.path_params["owner"], request.path_params["repo"]
    if not (is_slug(owner) and is_slug(name)):
        return None
    repo = state(request).storage.repo(owner, name)
    if repo is None or (repo.private and not signed_in(request)):
        return None
    return repo


# -- pages ------------------------------------------------------------------------------------


@web
async def index(request: Request) -> Response:
    """``GET /``: the repositories this visitor may see."""
    everyone = signed_in(request)
    repos = [r for r in state(request).storage.repos() if everyone or not r.private]
    return render(request, "index.html", repos=repos)


@dataclass(frozen=True)
class ModuleRow:
    """A module of a repository page: its path, newest version, and how many it has."""

    path: str
    newest: str
    count: int


def consumer_setup(request: Request, repo: Repo) -> ConsumerSetup:
    """Return how consumers reach ``repo``'s GOPROXY (a .netrc machine when private)."""
    base = base_url(request)
    return ConsumerSetup(goproxy=f"{base}/go/{repo.full_name}",
                         netrc_machine=netrc_machine(base) if repo.private else None)


@web
async def repo_page(request: Request) -> Response:
    """``GET /web/{owner}/{repo}``: modules, consumer setup; signed in: upload form, recent
    uploads and entitlement tokens."""
    repo = visible_repo(request)
    if repo is None:
        return not_found_page(request)
    storage = state(request).storage
    context: dict[str, Any] = {"repo": repo, "uploads": [], "tokens": [],
                               "uploaded": _uploaded(request)}
    if signed_in(request):
        # uploads before modules: a version completes in one transaction, so an upload shown
        # completed is then in the module list too (read the other way round, it could not be)
        context["uploads"] = storage.packages(repo)[:RECENT_UPLOADS]
        context["tokens"] = [token_row(e) for e in storage.entitlements.list(repo)]
        context["max_zip_mb"] = MAX_ZIP_BYTES // (1 << 20)
        context["max_layout_files"] = MAX_FILES
    rows = await run_in_threadpool(_module_rows, request, repo)
    guide = consumer_guide(consumer_setup(request, repo), [(m.path, m.newest) for m in rows])
    return render(request, "repo.html", modules=rows, guide=guide.lines(), **context)


def _uploaded(request: Request) -> list[str]:
    """Return the packages the last upload made (``?uploaded=SLUG,SLUG``), for the page to
    mark; bounded as the layout form is."""
    return request.query_params.get("uploaded", "")[:64 * MAX_FILES].split(",")[:MAX_FILES]


def _module_rows(request: Request, repo: Repo) -> list[ModuleRow]:
    """Return a row per module ``repo`` serves, by path (in a worker thread)."""
    storage, rows = state(request).storage, []
    for module in storage.modules(repo):
        versions = [v.version for v in storage.versions(repo, module)]
        rows.append(ModuleRow(module, semver.max_version(versions), len(versions)))
    return rows


@dataclass(frozen=True)
class TokenRow:
    """An entitlement token as the page lists it: never the token itself."""

    name: str
    state: str  # "active", or why it reads nothing now
    downloads: str
    valid: str
    query: str


def token_row(ent: Entitlement) -> TokenRow:
    """Return what the page shows of an entitlement (``Entitlement.refusal`` for its state)."""
    limit = f" of {ent.limit_num_downloads}" if ent.limit_num_downloads else ""
    span = " to ".join(t for t in (ent.limit_date_range_from, ent.limit_date_range_to) if t)
    return TokenRow(ent.ent_name, ent.refusal(utc_now()) or "active",
                    f"{ent.downloads}{limit}", span or "always", ent.limit_package_query or "all")


@dataclass(frozen=True)
class VersionRow:
    """A version on a module page."""

    version: str
    time: str
    go_get: str
    go_sum: tuple[str, str]  # the zip's and the go.mod's lines
    quarantined: bool
    scan: Scan | None


@web
async def module_page(request: Request) -> Response:
    """``GET /web/{owner}/{repo}/mod/{module}``: the module's versions (see the docstring)."""
    repo = visible_repo(request)
    module = request.path_params["module"]
    if repo is None:
        return not_found_page(request)
    found = await run_in_threadpool(_version_rows, request, repo, module)
    if not found:
        return not_found_page(request)
    releases = [r for r in found if not pseudo.is_pseudo_version(r.version)]
    pseudos = [r for r in found if pseudo.is_pseudo_version(r.version)]
    newest = (releases or pseudos)[0].version
    setup = consumer_guide(consumer_setup(request, repo), [(module, newest)]).lines()[:-1]
    return render(request, "module.html", repo=repo, module=module, releases=releases,
                  pseudos=pseudos, scanning=state(request).settings.vuln.enabled, guide=setup)


def _version_rows(request: Request, repo: Repo, module: str) -> list[VersionRow]:
    """Return the rows of ``module``'s versions, newest first by Go's semver order."""
    st = state(request)
    by_version = {v.version: v for v in st.storage.versions(repo, module)}
    order = list(reversed(semver.sort_versions(by_version)))
    guide = consumer_guide(consumer_setup(request, repo), [(module, v) for v in order])
    policy = st.settings.vuln.quarantine
    held = st.vulns.quarantined(repo, module, policy) if policy else set()
    return [_version_row(request, repo, by_version[v], go_get, v in held)
            for v, go_get in zip(order, guide.go_get, strict=True)]


def _version_row(request: Request, repo: Repo, v: Version, go_get: str,
                 quarantined: bool) -> VersionRow:
    st = state(request)
    gomod = st.storage.blobs.read_bytes(v.mod_sha256)  # checked at upload: at most 16 MiB
    lines = (f"{v.module} {v.version} {v.sum}",
             f"{v.module} {v.version}/go.mod {dirhash.hash_gomod(gomod)}")
    scan = (st.vulns.scan(repo.owner, repo.name, v.module, v.version, v.sum)
            if st.settings.vuln.enabled else None)
    return VersionRow(v.version, v.time, go_get, lines, quarantined, scan)


# -- sign-in and sign-out ------------------------------------------------------------------


@web
async def login_form(request: Request) -> Response:
    """``GET /web/login``: the sign-in form, with a session for its CSRF token."""
    identifier, session = session_of(request)
    if session is None:
        identifier, session = state(request).sessions.start(signed_in=False)
    assert identifier is not None
    response = render(request, "login.html", form_csrf=session.csrf)
    set_session_cookie(response, request, identifier, session)
    return response


@web
async def login(request: Request) -> Response:
    """``POST /web/login``: sign in with an API key (a read token is not one).

    Raises:
        ApiError: 403 (origin, session, CSRF), 429 while the address's guessing budget is
            spent (before the key is looked at), 401 for a key that is not an API key.
    """
    identifier, session = guarded_session(request)
    fields = await small_form(request)
    check_csrf(session, fields)
    st, address = state(request), client_address(request)
    refuse_while_guessing(request)
    if not st.settings.key_ok(fields.get("api_key", "").strip()):
        st.guesses.refused(address)
        log.info("web sign-in refused from %s: not an API key", address or "?")
        raise ApiError(401, "That is not an API key of this server (a read token cannot "
                            "sign in).")
    st.sessions.end(identifier)  # a new identifier: one planted before sign-in is worthless
    new_id, new_session = st.sessions.start(signed_in=True)
    response = RedirectResponse("/", status_code=303, headers=HEADERS)
    set_session_cookie(response, request, new_id, new_session)
    return response


@web
async def logout(request: Request) -> Response:
    """``POST /web/logout``: end the session."""
    identifier, session = guarded_session(request)
    check_csrf(session, await small_form(request))
    state(request).sessions.end(identifier)
    response = RedirectResponse("/", status_code=303, headers=HEADERS)
    clear_session_cookie(response, request)
    return response


# -- the upload form ------------------------------------------------------------------------


@web
async def upload(request: Request) -> Response:
    """``POST /web/{owner}/{repo}/upload``: a module zip from the form, through the same
    package flow as ``push``; then back to the repository page, which shows its state.

    Raises:
        ApiError: 403 (origin, session, CSRF; before a byte of the file is kept), 404 for a
            repository the visitor cannot see, 413 for a form past the size limit, and the
            API's refusals of the upload (409, 422).
    """
    session, repo = _upload_target(request)
    if repo is None:
        return not_found_page(request)
    package = await _receive_upload(request, repo, session)
    return _uploaded_page(repo, [package])


def _upload_target(request: Request) -> tuple[Session, Repo | None]:
    """Pass what every upload form must before its body is read: the guard (origin,
    session), a signed-in session, and a declared length within ``FORM_LIMIT``; return the
    session and the repository (None: the visitor cannot see it, a 404).

    Raises:
        ApiError: 403 (origin, session, not signed in), 413 (the connection closed).
    """
    _, session = guarded_session(request)
    if not session.signed_in:
        raise ApiError(403, "Sign in with an API key to upload.")
    repo = visible_repo(request)
    if repo is None:
        return session, None
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared[:20]) > FORM_LIMIT:
        raise ApiError(413, f"The form is larger than a module zip may be "
                            f"({MAX_ZIP_BYTES} bytes).", close=True)
    return session, repo


def _uploaded_page(repo: Repo, packages: list[Package]) -> Response:
    """Send the browser back to the repository page, marking the packages just made."""
    slugs = ",".join(p.slug for p in packages)
    return RedirectResponse(f"/web/{repo.full_name}?uploaded={slugs}", status_code=303,
                            headers=HEADERS)


async def _receive_upload(request: Request, repo: Repo, session: Session) -> Package:
    """Receive the form's zip (CSRF checked before the file part) and make its package."""
    st = state(request)
    incoming = st.storage.blobs.incoming("form")
    try:
        await receive_form(request, incoming, st.settings.body_timeout, FORM_LIMIT,
                           lambda fields, at_file: _csrf_before_file(session, fields, at_file))
        if incoming.size == 0:
            raise ApiError(400, "Choose a module zip to upload.")
        st.expiry.sweep()  # abandoned uploads go before a new one starts (on the event loop)
        return await run_in_threadpool(_package_of, request, repo, incoming)
    finally:
        incoming.discard()


def _csrf_before_file(session: Session, fields: dict[str, str], at_file: bool) -> None:
    if at_file or CSRF_FIELD in fields:
        check_csrf(session, fields)


def _package_of(request: Request, repo: Repo, incoming: Incoming) -> Package:
    """Open an upload slot for the received bytes, complete it, and create its package
    (``api_packages.create_package``), as files create + upload + upload/go do."""
    storage = state(request).storage
    named = peek_module_version(incoming.path)
    filename = f"{named[1]}.zip" if named else "upload.zip"
    slot, _ = storage.new_file(repo, filename, incoming.md5, "post")
    try:
        slot = storage.complete_file(slot, incoming)
    except SlotGone as err:
        raise ApiError(422, "Invalid input.", {"file": [err.message]}) from None
    return create_package(request, repo, slot, False, "")


@web
async def upload_layout(request: Request) -> Response:
    """``POST /web/{owner}/{repo}/upload-layout``: the files of a GOPROXY layout (several
    versions at once), all checked before any is stored (``server.layout``); then each zip
    through the zip form's path, and back to the repository page.

    Raises:
        ApiError: as ``upload``; 422 naming every file at fault and the rule it breaks
            (nothing stored); 413 for a file past its kind's size; 400 for more than
            ``layout.MAX_FILES`` files or no zip.
    """
    session, repo = _upload_target(request)
    if repo is None:
        return not_found_page(request)
    st, received = state(request), Received()

    def open_part(filename: str) -> FilePart:
        named = read_name(filename)  # refuses a name before its bytes are kept
        incoming = st.storage.blobs.incoming("form")
        received.add(filename, named, incoming)
        return FilePart(incoming, limit_for(named), shown(filename))

    try:
        await receive_parts(request, st.settings.body_timeout, FORM_LIMIT,
                            lambda fields, at_file: _csrf_before_file(session, fields, at_file),
                            open_part, "layout", MAX_FILES)
        st.expiry.sweep()
        versions = await run_in_threadpool(check_layout, received, repo, st.storage)
        packages = [await run_in_threadpool(_package_of, request, repo, v.incoming)
                    for v in versions]
    finally:
        received.discard()
    return _uploaded_page(repo, packages)


# -- entitlement tokens ------------------------------------------------------------------


@web
async def create_token(request: Request) -> Response:
    """``POST /web/{owner}/{repo}/tokens``: make a named entitlement token with a random
    value, and show that value on the answer page, the one time it is ever shown (the
    page is not cached; no redirect carries it in a URL).

    Raises:
        ApiError: 403 (origin, session, CSRF, not signed in), 404 for a repository the
            visitor cannot see, 422 for a bad name, 409 for a name already taken.
    """
    _, session = guarded_session(request)
    fields = await small_form(request)
    check_csrf(session, fields)
    if not session.signed_in:
        raise ApiError(403, "Sign in with an API key to make tokens.")
    repo = visible_repo(request)
    if repo is None:
        return not_found_page(request)
    try:
        name, token = check_name(fields.get("name")), new_token()
        await run_in_threadpool(state(request).storage.entitlements.create, repo, name, token)
    except EntitlementError as err:
        raise ApiError(422, "Invalid input.", {err.field: [str(err)]}) from None
    except EntitlementConflict:
        raise ApiError(409, "Invalid input.", {"name": [
            "An entitlement token with this name already exists in this repository."]}) from None
    guide = consumer_guide(ConsumerSetup(goproxy=consumer_setup(request, repo).goproxy,
                                         netrc_machine=netrc_machine(base_url(request))), [])
    return render(request, "token.html", repo=repo, name=name, token=token,
                  netrc=(guide.netrc or "").replace("<read token>", token))
