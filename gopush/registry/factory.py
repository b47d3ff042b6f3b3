"""Build the Registry that ``Settings`` name, with its HTTP sessions.

The only place that knows which class serves which target kind, and which credentials go
to which host: the API key travels to the API host; to the GOPROXY host only when it is
the same host (``gopush serve``, Gitea, Artifactory: as it goes to the API, ``X-Api-Key``
or Basic) or Cloudsmith's download host, as Basic ``token:<key>``. A key minted by a keyless
exchange travels as an API key does (``gopush serve`` takes a push token for GOPROXY reads
of its repositories as ``X-Api-Key`` or Bearer). With no key, a read token
(``GOPUSH_READ_TOKEN``, what ``gopush verify`` reads a private repository with) goes to the
Cloudsmith-style GOPROXY URL as Basic ``token:<TOKEN>``, as go sends it from ``gopush goauth``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from gopush.config.credentials import Credential
from gopush.config.settings import Settings
from gopush.registry import cloudsmith
from gopush.registry.base import Registry
from gopush.registry.goproxy import GoproxyReader
from gopush.registry.http import Session, Trace, make_client


def open_registry(settings: Settings, *, trace: Trace | None = None, debug: bool = False,
                  transport: httpx.BaseTransport | None = None,
                  sleep: Callable[[float], None] | None = None,
                  announce: Trace | None = None) -> Registry:
    """Return the registry for ``settings.target``, ready to use (close it when done).

    ``trace`` gets the -v lines (each request); ``announce`` each retry, why and when.
    """
    target = settings.target
    # the other targets' modules are imported only when used: a push starts faster
    if target.kind == "dir":
        from gopush.registry.goproxy_dir import GoproxyDirRegistry

        return GoproxyDirRegistry(Path(target.location), target.goproxy)

    def session(base: str, style: str) -> Session:
        return _session(settings, base, settings.credential, style, trace=trace, debug=debug,
                        transport=transport, sleep=sleep, announce=announce)

    key_style = "basic" if target.username else "bearer"
    if target.kind == "gitea":
        from gopush.registry.gitea import GiteaRegistry

        goproxy = target.goproxy or f"{target.location}/api/packages/{target.repository}/go/"
        return GiteaRegistry(session(target.location, key_style), target.repository,
                             GoproxyReader(session(goproxy, key_style), goproxy))
    if target.kind == "artifactory":
        from gopush.registry import artifactory

        goproxy = target.goproxy or artifactory.default_goproxy(target.location)
        root, repo = artifactory.split_location(target.location)
        return artifactory.ArtifactoryRegistry(
            session(root, key_style), repo, GoproxyReader(session(goproxy, key_style), goproxy))
    owner, _, repo = target.repository.partition("/")
    goproxy = target.goproxy or cloudsmith.default_goproxy(target.location, owner, repo)
    api = session(target.location, "x-api-key")
    if settings.credential is None and settings.read_token is not None:
        reads = _session(settings, goproxy, settings.read_token, "basic", trace=trace,
                         debug=debug, transport=transport, sleep=sleep, announce=announce)
        reads.username = "token"
    else:
        reads = _goproxy_session(api, goproxy, session)
    return cloudsmith.CloudsmithRegistry(api, owner, repo, GoproxyReader(reads, goproxy),
                                         part_size=settings.part_size)


def _goproxy_session(api: Session, goproxy: str,
                     session: Callable[[str, str], Session]) -> Session:
    """Return the GOPROXY session that holds the API key (see the module docstring)."""
    host = urlsplit(goproxy).hostname or ""
    if host == api.client.base_url.host:
        return session(goproxy, "x-api-key")
    if host.endswith(".cloudsmith.io"):
        made = session(goproxy, "basic")
        made.username = "token"
        return made
    made = session(goproxy, "none")
    made.credential = None  # a foreign host never receives the key
    return made


def exchange_keyless(settings: Settings, *, trace: Trace | None = None, debug: bool = False,
                     transport: httpx.BaseTransport | None = None,
                     sleep: Callable[[float], None] | None = None,
                     announce: Trace | None = None) -> Settings:
    """Return ``settings`` with the key ``registry.oidc.exchange`` gets for this CI's
    identity (``settings.keyless``, whose ID token must be set): the ID token goes to the
    API host only, GitHub's request token to its own endpoint only.

    Raises:
        AuthError, RegistryUnavailable: see ``registry.oidc.exchange``.
    """
    from gopush.registry import oidc

    assert settings.keyless is not None

    def session(base: str, credential: Credential, style: str) -> Session:
        return _session(settings, base, credential, style, trace=trace, debug=debug,
                        transport=transport, sleep=sleep, announce=announce)

    credential = oidc.exchange(settings.keyless, settings.target.location, session)
    return settings._replace(credential=credential,
                             sources={**settings.sources, "api_key": credential.source})


def _session(settings: Settings, base: str, credential: Credential | None, style: str, *,
             trace: Trace | None, debug: bool, transport: httpx.BaseTransport | None,
             sleep: Callable[[float], None] | None, announce: Trace | None) -> Session:
    """Return a Session to ``base`` holding ``credential``, with the settings' deadline."""
    made = Session(make_client(base, transport=transport), credential=credential,
                   auth_style=style, username=settings.target.username, trace=trace,
                   debug=debug, timeout=settings.request_timeout, announce=announce)
    if sleep is not None:
        made.sleep = sleep
    return made
