"""What every handler reaches through the request: storage, settings, upstream client."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request

from gopush.server.assembly import Assemblies
from gopush.server.auth import Action, Caller, presented_key, require
from gopush.server.expiry import SlotExpiry
from gopush.server.guessing import GuessLimiter, client_address
from gopush.server.oidc import IssuerKeys
from gopush.server.query import Searches
from gopush.server.receive import chunks
from gopush.server.records import Repo
from gopush.server.responses import ApiError, not_found
from gopush.server.sessions import Sessions
from gopush.server.settings import ServeSettings
from gopush.server.slugs import is_slug
from gopush.server.storage import Storage
from gopush.server.sync import Synchroniser
from gopush.server.vulnstore import VulnStore

if TYPE_CHECKING:
    from gopush.server.upstream import Upstream

MAX_JSON_BYTES = 1 << 20  # API request bodies are small JSON objects


@dataclass
class ServerState:
    """The long-lived parts of a running server (``app.state.gopush``)."""

    storage: Storage
    settings: ServeSettings
    upstream: Upstream
    sync: Synchroniser
    assemblies: Assemblies = field(default_factory=Assemblies)
    searches: Searches = field(default_factory=Searches)
    issuers: IssuerKeys = field(default_factory=IssuerKeys)  # trusted publishers' issuers
    guesses: GuessLimiter = field(default_factory=GuessLimiter)  # refused GOPROXY credentials
    sessions: Sessions = field(default_factory=Sessions)  # the web page's (server.sessions)
    expiry: SlotExpiry = field(init=False)
    vulns: VulnStore = field(init=False)  # stored scans, and quarantine (server.vulnstore)

    def __post_init__(self) -> None:
        self.expiry = SlotExpiry(self.storage, self.assemblies, self.settings.upload_expiry)
        self.vulns = VulnStore(self.storage.db)


def state(request: Request) -> ServerState:
    """Return the server state of the application handling ``request``."""
    found: ServerState = request.app.state.gopush
    return found


def base_url(request: Request) -> str:
    """Return the server's base URL as the client addressed it (no trailing slash)."""
    return str(request.base_url).rstrip("/")


def caller(request: Request, action: Action) -> Caller:
    """Return who makes an API call that names no repository, if they may do ``action``.

    Raises:
        ApiError: 401 without a valid credential; 403 beyond the caller's scope.
    """
    st = state(request)
    return require(request, st.settings, st.storage, action)


def api_repo(request: Request, action: Action) -> Repo:
    """Authenticate an API call for ``action`` and return the repository it names.

    Raises:
        ApiError: 401 without a valid credential; 404 for a bad or unknown
            owner/repository; 403 when the caller may not do ``action`` there.
    """
    repo = api_repo_or_new(request, action)
    if repo is None:
        raise not_found()
    return repo


def managed_repo(request: Request) -> Repo:
    """Authenticate a call that manages the repository (``Action.MANAGE``) and return the
    repository (``api_repo``), counting a refused key against the address's guessing
    budget.

    Raises:
        ApiError: 429 (Retry-After) while the budget is spent, before the key is looked
            at; 401 and 404 as ``api_repo``.
    """
    guesses, address = state(request).guesses, client_address(request)
    refuse_while_guessing(request)
    try:
        return api_repo(request, Action.MANAGE)
    except ApiError as err:
        if err.status == 401 and presented_key(request) is not None:
            guesses.refused(address)
        raise


def refuse_while_guessing(request: Request) -> None:
    """Refuse the request while its address's guessing budget is spent (``server.guessing``),
    before any credential it carries is looked at: the entitlements API and the web page's
    sign-in (GOPROXY answers its own plain-text 429).

    Raises:
        ApiError: 429 with Retry-After.
    """
    wait = state(request).guesses.wait(client_address(request))
    if wait:
        raise ApiError(429, f"Request was throttled. Expected available in {wait} seconds "
                            "(too many refused credentials from this address).",
                       headers={"Retry-After": str(wait)})


def api_repo_or_new(request: Request, action: Action) -> Repo | None:
    """Authenticate an API call for ``action`` and return the repository it names, or None
    when it does not exist and the server was started to let a push create it
    (``--new-repos``; ``new_repo`` does, once the request proved valid: a refused or merely
    validated upload creates nothing).

    Raises:
        ApiError: 401 without a valid credential; 404 for a bad or unknown owner/repository
            (unless pushes may create it); 403 when the caller may not do ``action`` there
            (``auth.require``: a push token outside its repositories).
    """
    st = state(request)
    owner, name = request.path_params["owner"], request.path_params["repo"]
    if not (is_slug(owner) and is_slug(name)):
        require(request, st.settings, st.storage, action)
        raise not_found()
    require(request, st.settings, st.storage, action, owner, name)
    repo = st.storage.repo(owner, name)
    if repo is None and not st.settings.new_repos:
        raise not_found()
    return repo


def new_repo(request: Request) -> Repo:
    """Create the repository a valid first push names (``api_repo_or_new`` checked it)."""
    st = state(request)
    return st.storage.ensure_repo(request.path_params["owner"], request.path_params["repo"],
                                  private=st.settings.new_repos_private)


async def json_body(request: Request) -> dict[str, object]:
    """Return the JSON object of a small request body ({} when empty).

    Raises:
        ApiError: 413 (before reading) when the declared Content-Length is past
            ``MAX_JSON_BYTES``; 400 when the body is not a JSON object (or a chunked one
            grows past the limit: reading stops there).
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared[:20]) > MAX_JSON_BYTES:
        raise ApiError(413, f"Request body too large (limit {MAX_JSON_BYTES} bytes for a "
                            f"JSON body).", close=True)
    raw = b"".join([chunk async for chunk in chunks(request, 30.0, MAX_JSON_BYTES)])
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
        # a lone surrogate ("\\ud800") is valid JSON but no text: nothing can store or print it
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        raise ApiError(400, "JSON parse error: the request body is not valid JSON text "
                            "(or nests too deep).") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid input: expected a JSON object.")
    return body


