"""A test OpenID Connect issuer on 127.0.0.1 over HTTPS (the test CA), for trusted publishing.

It plays the two parts GitHub Actions plays for a keyless release job:

- the **issuer** (token.actions.githubusercontent.com): `/.well-known/openid-configuration`
  (discovery, naming ``jwks_uri``) and `/.well-known/jwks` (the public keys, each with its
  ``kid``); ``mint(**claims)`` signs an ID token with the current key, with GitHub Actions'
  claims as defaults; ``rotate()`` makes a new key with a new ``kid``;
  ``mint_bad_signature`` signs with a key the JWKS never publishes (same ``kid``);
- the **runner's token endpoint**: ``ACTIONS_ID_TOKEN_REQUEST_URL`` (already carrying a query,
  as GitHub's does, so clients append ``&audience=``), answered only with
  ``Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>``, with ``{"value": JWT}`` as GitHub
  answers; the token's ``aud`` is the requested audience (GitHub's default, the owner's URL,
  when none is asked for), its other claims ``actions_claims`` over the defaults.

Every request is recorded (``requests``: method and path with query), so a test can count
JWKS fetches. Keys are made with `cryptography`; tokens are signed with PyJWT.

The API (``OidcIssuer``, the ``oidc_issuer`` fixture, ``github_claims``) is shared by the
server tests and the client/CI-example tests: keep it stable.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from testca import CertAuthority

DEFAULT_REPOSITORY = "acme/widgets"
DEFAULT_REF = "refs/tags/v1.0.0"
TOKEN_SECONDS = 300  # GitHub's ID tokens are short-lived: a few minutes
ACTIONS_PATH = "/_apis/pipelines/idtoken"
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SigningKey:
    """One issuer key: its ``kid``, algorithm (RS256 or ES256) and private key."""

    kid: str
    algorithm: str
    private: PrivateKey

    def jwk(self) -> dict[str, Any]:
        """Return the public key as a JWK (with kid, alg and use), as a JWKS lists it."""
        algo = jwt.get_algorithm_by_name(self.algorithm)
        key: dict[str, Any] = json.loads(algo.to_jwk(self.private.public_key()))
        return {**key, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


def new_key(algorithm: str = "RS256") -> SigningKey:
    """Make a fresh key for ``algorithm`` (RS256: RSA 2048; ES256: P-256) with a random kid."""
    private: PrivateKey
    if algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"test issuer keys are RS256 or ES256, not {algorithm}")
    return SigningKey(secrets.token_hex(8), algorithm, private)


def github_claims(issuer: str, *, repository: str = DEFAULT_REPOSITORY, ref: str = DEFAULT_REF,
                  audience: str = "cloudsmith", lifetime: int = TOKEN_SECONDS) -> dict[str, Any]:
    """Return the claims GitHub Actions puts in an ID token for a push of ``ref`` in
    ``repository`` (a fresh ``jti``; ``iat`` and ``nbf`` now, ``exp`` ``lifetime`` later)."""
    now = int(time.time())
    owner = repository.split("/", 1)[0]
    ref_type = "tag" if ref.startswith("refs/tags/") else "branch"
    return {
        "iss": issuer, "aud": audience, "sub": f"repo:{repository}:ref:{ref}",
        "jti": str(uuid.uuid4()), "iat": now, "nbf": now, "exp": now + lifetime,
        "repository": repository, "repository_owner": owner, "repository_id": "1296269",
        "repository_owner_id": "9919", "repository_visibility": "private",
        "ref": ref, "ref_type": ref_type, "ref_protected": "false",
        "sha": "d6cd1e2bd19e03a81132a23b2025920577f84e37",
        "workflow": "release", "workflow_ref": f"{repository}/.github/workflows/release.yml@{ref}",
        "job_workflow_ref": f"{repository}/.github/workflows/release.yml@{ref}",
        "event_name": "push", "actor": "octocat", "actor_id": "583231",
        "run_id": "42", "run_number": "7", "run_attempt": "1",
        "runner_environment": "github-hosted",
    }


class OidcIssuer:
    """The test issuer and the fake runner token endpoint, served over HTTPS on 127.0.0.1.

    ``url`` is the issuer (``iss``) and the base of discovery; ``audience`` the default
    ``aud`` of ``mint``; ``actions_token`` the bearer the runner endpoint wants.
    """

    def __init__(self, ca: CertAuthority, *, algorithm: str = "RS256",
                 audience: str = "cloudsmith") -> None:
        self.ca = ca
        self.audience = audience
        self.keys: list[SigningKey] = [new_key(algorithm)]
        self.actions_token = secrets.token_urlsafe(24)
        self.actions_claims: dict[str, Any] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.socket = ca.server_context().wrap_socket(self._server.socket,
                                                              server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # -- keys and tokens ------------------------------------------------------------------------

    @property
    def key(self) -> SigningKey:
        """The current signing key (the last made)."""
        return self.keys[-1]

    @property
    def kid(self) -> str:
        """The current key's ``kid``."""
        return self.key.kid

    def rotate(self, algorithm: str | None = None, *, keep_old: bool = True) -> str:
        """Make a new current key (same algorithm unless given) with a new kid; return the kid.

        The JWKS then lists the old keys too, as issuers do while tokens signed with them
        live, unless ``keep_old`` is false.
        """
        key = new_key(algorithm or self.key.algorithm)
        with self._lock:
            self.keys = [*self.keys, key] if keep_old else [key]
        return key.kid

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Return GitHub Actions' claims for this issuer, with ``overrides`` applied: a claim
        given as None is left out; ``repository`` and ``ref`` also set ``sub`` and the owner
        unless those are given."""
        base = github_claims(self.url, audience=self.audience,
                             repository=overrides.get("repository", DEFAULT_REPOSITORY),
                             ref=overrides.get("ref", DEFAULT_REF))
        merged = {**base, **overrides}
        return {name: value for name, value in merged.items() if value is not None}

    def sign(self, claims: dict[str, Any], *, key: SigningKey | None = None,
             headers: dict[str, Any] | None = None) -> str:
        """Sign ``claims`` as a JWT with ``key`` (default: the current one), its kid in the
        header, ``headers`` over the header's fields."""
        key = key or self.key
        return jwt.encode(claims, key.private, algorithm=key.algorithm,
                          headers={"kid": key.kid, **(headers or {})})

    def mint(self, **claims: Any) -> str:
        """Return an ID token signed with the current key: GitHub Actions' claims with
        ``claims`` over them (see ``claims``)."""
        return self.sign(self.claims(**claims))

    def mint_bad_signature(self, **claims: Any) -> str:
        """Return a token like ``mint``'s, with the current kid, signed by a key the JWKS
        does not hold: its signature does not verify."""
        stranger = new_key(self.key.algorithm)
        return self.sign(self.claims(**claims), key=SigningKey(self.kid, stranger.algorithm,
                                                                stranger.private))

    # -- the runner's token endpoint ------------------------------------------------------------

    @property
    def actions_request_url(self) -> str:
        """``ACTIONS_ID_TOKEN_REQUEST_URL``: already holds a query, as GitHub's does."""
        return f"{self.url}{ACTIONS_PATH}?api-version=2.0"

    def actions_environ(self) -> dict[str, str]:
        """The variables a GitHub Actions job with ``id-token: write`` has for OIDC."""
        claims = self.claims(**self.actions_claims)
        return {"GITHUB_ACTIONS": "true", "CI": "true",
                "ACTIONS_ID_TOKEN_REQUEST_URL": self.actions_request_url,
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.actions_token,
                "GITHUB_REPOSITORY": claims["repository"],
                "GITHUB_REPOSITORY_OWNER": claims["repository"].split("/", 1)[0],
                "GITHUB_REF": claims["ref"]}

    def audiences_requested(self) -> list[str | None]:
        """The ``audience`` each answered runner-endpoint request asked for (None: none)."""
        found = []
        for method, target in self.requests:
            parts = urlsplit(target)
            if method == "GET" and parts.path == ACTIONS_PATH:
                found.append(parse_qs(parts.query).get("audience", [None])[0])
        return found

    def fetches(self, path: str) -> int:
        """How many requests asked for ``path`` (e.g. ``JWKS_PATH``), any query."""
        return sum(1 for _, target in self.requests if urlsplit(target).path == path)

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    # -- answers --------------------------------------------------------------------------------

    def answer(self, method: str, target: str, authorization: str) -> tuple[int, dict[str, Any]]:
        """Return the status and JSON body for one request."""
        with self._lock:
            self.requests.append((method, target))
            keys = list(self.keys)
        parts = urlsplit(target)
        if method == "GET" and parts.path == DISCOVERY_PATH:
            return 200, self.discovery()
        if method == "GET" and parts.path == JWKS_PATH:
            return 200, {"keys": [key.jwk() for key in keys]}
        if method == "GET" and parts.path == ACTIONS_PATH:
            return self._actions_token(parse_qs(parts.query), authorization)
        return 404, {"message": "Not Found"}

    def discovery(self) -> dict[str, Any]:
        """The discovery document, as GitHub's issuer publishes it (the fields that matter)."""
        return {"issuer": self.url, "jwks_uri": f"{self.url}{JWKS_PATH}",
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public", "pairwise"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "claims_supported": sorted(self.claims())}

    def _actions_token(self, query: dict[str, list[str]],
                       authorization: str) -> tuple[int, dict[str, Any]]:
        if not secrets.compare_digest(authorization, f"Bearer {self.actions_token}"):
            return 401, {"message": "Unauthorized"}
        claims = self.claims(**self.actions_claims)
        owner = claims["repository"].split("/", 1)[0]
        audience = query.get("audience", [f"https://github.com/{owner}"])[0]
        return 200, {"count": 1, "value": self.sign({**claims, "aud": audience})}


def _handler_for(issuer: OidcIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply()

        def do_POST(self) -> None:
            self._reply()

        def _reply(self) -> None:
            status, body = issuer.answer(self.command, self.path,
                                         self.headers.get("authorization", ""))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def oidc_issuer(test_ca: CertAuthority) -> Iterator[OidcIssuer]:
    """Return a running test issuer (RS256, default audience "cloudsmith"); stopped after the
    test. Clients trust it with ``SSL_CERT_FILE=test_ca.ca_cert``."""
    issuer = OidcIssuer(test_ca)
    yield issuer
    issuer.close()
