"""Trusted publishing, the parts a running server cannot show quickly: claim patterns, the
issuer reader's bounds (size, redirects, a discovery document naming another issuer, a
failure remembered), and a push token past its expiry."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_trusted_publishing import exchange, github_publisher, write_config

from gopush.server.oidc import (
    FAILURE_SECONDS,
    MAX_DOCUMENT_BYTES,
    IssuerKeys,
    Refused,
    Verified,
)
from gopush.server.publishers import glob_regex, load_publishers

ISSUER = "https://issuer.example"


@pytest.mark.parametrize(("pattern", "value", "matches"), [
    ("refs/tags/v*", "refs/tags/v1.2.3", True),
    ("refs/tags/v*", "refs/tags/v1/evil", False),  # * stops at /
    ("refs/tags/**", "refs/tags/release/v1", True),
    ("refs/tags/v?.0.0", "refs/tags/v2.0.0", True),
    ("refs/tags/v?.0.0", "refs/tags/v10.0.0", False),
    ("refs/tags/v1.[0-9]", "refs/tags/v1.5", False),  # brackets stand for themselves
    ("refs/tags/v1.[0-9]", "refs/tags/v1.[0-9]", True),
    ("refs/heads/main", "refs/heads/main\n", False),
])
def test_claim_patterns(pattern: str, value: str, matches: bool) -> None:
    assert (glob_regex(pattern).fullmatch(value) is not None) is matches


def _keys(handler: Any, clock: list[float] | None = None) -> IssuerKeys:
    now = clock or [1000.0]
    return IssuerKeys(clock=lambda: now[0],
                      client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def _reason(keys: IssuerKeys, issuer: str = ISSUER) -> str:
    with pytest.raises(Refused) as refused:
        asyncio.run(keys.key(issuer, "k1"))
    assert refused.value.status == 503
    return refused.value.reason


class _Sent(httpx.AsyncByteStream):
    """A reply body that arrives in 64 KiB pieces, as from the network (read once)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> Any:
        for at in range(0, len(self.body), 65536):
            yield self.body[at:at + 65536]


def _reply(status: int, body: bytes = b"", **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, stream=_Sent(body))


def test_issuer_documents_are_bounded_and_checked() -> None:
    """A JWKS past the cap, a redirect, a discovery document naming another issuer or an
    http:// jwks_uri: each is "issuer unavailable", naming what was wrong."""
    def discovery(jwks: str = f"{ISSUER}/jwks", issuer: str = ISSUER) -> httpx.Response:
        return _reply(200, json.dumps({"issuer": issuer, "jwks_uri": jwks}).encode())

    cases = [
        (lambda r: discovery() if "well-known" in r.url.path
         else _reply(200, b" " * (MAX_DOCUMENT_BYTES * 40)),
         f"is larger than {MAX_DOCUMENT_BYTES} bytes"),
        (lambda r: _reply(302, Location="https://elsewhere/"), "answered 302"),
        (lambda r: discovery(issuer="https://evil.example"), "names the issuer"),
        (lambda r: discovery(jwks="http://issuer.example/jwks"), "no https:// jwks_uri"),
        (lambda r: _reply(200, b"[" * 100_000), "nested too deeply"),
    ]
    for handler, why in cases:
        assert why in _reason(_keys(handler)), why


def test_a_failed_fetch_is_remembered_then_retried() -> None:
    """Within FAILURE_SECONDS of a failed fetch the same error comes without a request."""
    asked: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return _reply(500)

    clock = [1000.0]
    keys = _keys(down, clock)
    first = _reason(keys)
    assert "issuer unavailable" in first and "answered 500" in first
    assert _reason(keys) == first and len(asked) == 1
    clock[0] += FAILURE_SECONDS
    _reason(keys)
    assert len(asked) == 2


def test_an_expired_push_token_is_refused(serve: Any, tmp_path: Path, oidc_issuer: Any) -> None:
    """A push token minted 91 minutes ago (90-minute lifetime) gets 401 saying it expired;
    one minted now works."""
    from gopush.server.storage import Storage

    config = write_config(tmp_path / "pub.toml", github_publisher(oidc_issuer))
    publisher = load_publishers(config).entries[0]
    storage = Storage(tmp_path / "data")
    claims = {"jti": "j1", "exp": int(time.time()) + 300, "sub": "repo:acme/widgets"}
    fresh, _ = storage.publish_tokens.mint(Verified(publisher, {**claims, "jti": "j2"}))
    storage.publish_tokens.clock = lambda: time.time() - 91 * 60  # (a later mint purges it)
    old, _ = storage.publish_tokens.mint(Verified(publisher, claims))
    storage.db.close()
    served = serve("--config", str(config), "--repo", "acme/widgets", data=tmp_path / "data",
                   new_repos=False)
    url = f"{served.url}/packages/acme/widgets/"
    expired = httpx.get(url, headers={"X-Api-Key": old})
    assert expired.status_code == 401 and "has expired" in expired.json()["detail"]
    assert httpx.get(url, headers={"X-Api-Key": fresh}).status_code == 200
    assert exchange(served, "x.y.z").status_code == 401
