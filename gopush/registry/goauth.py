"""The answer to the go command's GOAUTH request (``GOAUTH='gopush goauth OWNER/REPO'``, go 1.24+).

GOAUTH's value is the command line itself: ``go help goauth`` writes ``command`` as a
placeholder, and go 1.27 runs ``GOAUTH='command gopush goauth'`` as a program named
``command``, which does not exist, and then sends no credentials, silently.

go runs the command once with no argument before its first HTTPS fetch, and again with the
URL as the last argument after a 4xx reply (the reply on stdin, which gopush does not need).
The command prints credential sets: one or more URL prefix lines (``https://`` only), a blank
line, header lines, a blank line. go attaches a set's headers to every request whose URL
starts with one of its prefixes, port included. Printing nothing is a valid answer: go then
tries the next GOAUTH method.

Which headers, for the GOPROXY URL of the chosen registry (``Settings``):

- a read token (``read_token``): ``Authorization: Basic token:<TOKEN>``, as Cloudsmith
  documents entitlement tokens;
- else the API key, as gopush itself sends it to that GOPROXY host
  (``gopush.registry.factory``): Basic ``USERNAME:<KEY>`` when a username is configured,
  Basic ``token:<KEY>`` on Cloudsmith's download host, ``X-Api-Key`` on the API host itself
  (``gopush serve``);
- else nothing.

The secret leaves gopush only here, on stdout, which go reads; never on stderr.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from gopush.config.settings import Settings


def credential_sets(settings: Settings, goproxy: str, url: str | None) -> str:
    """Return what ``gopush goauth [URL]`` prints: the credential set for ``goproxy`` (the
    registry's GOPROXY URL), or "" when there is no credential, the GOPROXY URL is not
    HTTPS (go sends GOAUTH headers over HTTPS only), or ``url`` is given and does not start
    with that prefix."""
    prefix = goproxy if goproxy.endswith("/") else f"{goproxy}/"
    if urlsplit(prefix).scheme != "https":
        return ""
    if url is not None and not (url == prefix.rstrip("/") or url.startswith(prefix)):
        return ""
    headers = _headers(settings, prefix)
    if not headers:
        return ""
    return "".join(f"{line}\n" for line in [prefix, "", *headers, ""])


def _headers(settings: Settings, goproxy: str) -> list[str]:
    if settings.read_token is not None:
        return [_basic("token", settings.read_token.key.reveal())]
    if settings.credential is None:
        return []
    key = settings.credential.key.reveal()
    if settings.target.username:
        return [_basic(settings.target.username, key)]
    host = urlsplit(goproxy).hostname or ""
    if host.endswith(".cloudsmith.io"):
        return [_basic("token", key)]
    if host == urlsplit(settings.target.location).hostname:
        return [f"X-Api-Key: {key}"]
    return []  # a foreign host never receives the key (as in gopush.registry.factory)


def _basic(user: str, password: str) -> str:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Authorization: Basic {pair}"
