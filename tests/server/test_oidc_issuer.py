"""The test OIDC issuer (tests/oidc_issuer.py) is what it claims to be: a client that trusts
only the test CA finds its keys by discovery, verifies what it mints, and refuses what it
mints with a bad signature; the runner endpoint answers as GitHub's does."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from oidc_issuer import JWKS_PATH, OidcIssuer


def _verify(issuer: OidcIssuer, token: str, audience: str = "cloudsmith") -> dict[str, Any]:
    verify = issuer.ca.client_context()
    discovery = httpx.get(f"{issuer.url}/.well-known/openid-configuration", verify=verify).json()
    assert discovery["issuer"] == issuer.url
    keys = jwt.PyJWKSet.from_dict(httpx.get(discovery["jwks_uri"], verify=verify).json())
    key = next(k for k in keys.keys if k.key_id == jwt.get_unverified_header(token)["kid"])
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["RS256", "ES256"],
                                        audience=audience, issuer=issuer.url)
    return claims


def test_minted_tokens_verify_by_discovery_and_rotation_adds_a_kid(
        oidc_issuer: OidcIssuer) -> None:
    claims = _verify(oidc_issuer, oidc_issuer.mint(ref="refs/tags/v2.0.0"))
    assert claims["sub"] == "repo:acme/widgets:ref:refs/tags/v2.0.0"
    assert claims["repository"] == "acme/widgets" and claims["exp"] - claims["iat"] == 300
    assert "jti" in claims and _verify(oidc_issuer, oidc_issuer.mint())["jti"] != claims["jti"]
    old = oidc_issuer.kid
    new = oidc_issuer.rotate("ES256")
    assert new != old and jwt.get_unverified_header(oidc_issuer.mint())["alg"] == "ES256"
    _verify(oidc_issuer, oidc_issuer.mint())
    assert "nbf" not in _verify(oidc_issuer, oidc_issuer.mint(nbf=None))
    assert oidc_issuer.fetches(JWKS_PATH) == 4


def test_bad_signature_does_not_verify(oidc_issuer: OidcIssuer) -> None:
    token = oidc_issuer.mint_bad_signature()
    assert jwt.get_unverified_header(token)["kid"] == oidc_issuer.kid
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(oidc_issuer, token)


def test_runner_endpoint_wants_its_bearer_and_mints_for_the_audience(
        oidc_issuer: OidcIssuer) -> None:
    env = oidc_issuer.actions_environ()
    url = env["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=cloudsmith"
    verify = oidc_issuer.ca.client_context()
    assert httpx.get(url, verify=verify).status_code == 401
    oidc_issuer.actions_claims = {"repository": "acme/tools"}
    reply = httpx.get(url, headers={
        "Authorization": f"Bearer {env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}"}, verify=verify)
    assert reply.status_code == 200
    claims = _verify(oidc_issuer, reply.json()["value"])
    assert claims["repository"] == "acme/tools"
    assert oidc_issuer.audiences_requested() == ["cloudsmith", "cloudsmith"]
