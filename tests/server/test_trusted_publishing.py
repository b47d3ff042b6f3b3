"""Trusted publishing in `gopush serve` (issue 13 point 2), end to end on loopback: a real
`gopush serve --config` trusting the test OIDC issuer (HTTPS, test CA), ID tokens exchanged
at POST /openid/ORG/ as cloudsmith-cli exchanges them, the push token used for a push, and
the real go downloading what was pushed. Each refusal names the check that failed and never
echoes a token; the server's log holds no token either."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from conftest import KEY, Served, api_push, gopush_build, tagged_module
from gotool import GoOracle
from oidc_issuer import JWKS_PATH, OidcIssuer
from testca import CertAuthority

pytestmark = pytest.mark.both_databases

MODULE = "example.com/widgets"


def write_config(path: Path, *publishers: dict[str, Any]) -> Path:
    """Write a serve config of ``publishers`` (dicts of the TOML keys) to ``path``."""
    lines = []
    for p in publishers:
        lines.append("[[trusted_publishers]]")
        for key in ("service", "issuer", "audience", "token_minutes", "repositories"):
            if key in p:
                lines.append(f"{key} = {_toml(p[key])}")
        for table in ("claims", "claim_patterns"):
            if p.get(table):
                lines.append(f"[trusted_publishers.{table}]")
                lines += [f"{name} = {_toml(v)}" for name, v in p[table].items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return str(value) if isinstance(value, int) else f'"{value}"'


def github_publisher(source: OidcIssuer, /, **over: Any) -> dict[str, Any]:
    """A publisher as the README's example declares one: tags of acme/widgets may push."""
    return {"service": "ci-publisher", "issuer": source.url, "audience": "cloudsmith",
            "repositories": ["acme/widgets"], "claims": {"repository": "acme/widgets"},
            "claim_patterns": {"ref": "refs/tags/v*"}, **over}


def serve_trusting(serve: Any, tmp_path: Path, ca: CertAuthority, *publishers: dict[str, Any],
                   repos: tuple[str, ...] = ("acme/widgets", "acme/other")) -> Served:
    """Start `gopush serve --config` (trusting the test CA for the issuer's HTTPS)."""
    config = write_config(tmp_path / f"serve{time.monotonic_ns()}.toml", *publishers)
    args = [a for r in repos for a in ("--repo", r)]
    return serve("-v", "--config", str(config), *args, new_repos=False,
                 env={"SSL_CERT_FILE": str(ca.ca_cert)})


def exchange(served: Served, token: str, org: str = "acme",
             service: str = "ci-publisher") -> httpx.Response:
    """POST /openid/ORG/ as cloudsmith-cli does."""
    return httpx.post(f"{served.url}/openid/{org}/",
                      json={"oidc_token": token, "service_slug": service}, timeout=30)


def refused(reply: httpx.Response, status: int, reason: str, token: str) -> None:
    """Assert a refusal: its status, the check it names, and no echo of the token."""
    assert reply.status_code == status, reply.text
    assert reason in reply.json()["detail"], reply.json()
    assert not echoed(token, reply.text)


def echoed(token: str, text: str) -> bool:
    """Tell whether ``text`` holds ``token`` or any longer part of it (e.g. its signature)."""
    return any(part in text for part in [token, *token.split(".")] if len(part) > 8)


def test_keyless_push_then_go_downloads_it(serve: Any, go: GoOracle, tmp_path: Path,
                                           oidc_issuer: OidcIssuer) -> None:
    """A tag's ID token becomes a push token; it pushes with no API key; go downloads the
    module with the pushed h1:; the discovery document and JWKS were read once."""
    served = serve_trusting(serve, tmp_path, oidc_issuer.ca, github_publisher(oidc_issuer))
    repo = tagged_module(tmp_path / "repo", MODULE, ["v1.0.0"])
    built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    reply = exchange(served, oidc_issuer.mint())
    assert reply.status_code == 200, reply.text
    token = reply.json()["token"]
    assert reply.json()["expires_at"] - time.time() == pytest.approx(90 * 60, abs=30)
    pushed = api_push(served.url, "acme/widgets", built["zip"], key=token)
    assert pushed.status_code == 201 and pushed.package["status_str"] == "Completed"
    got = go.download(MODULE, "v1.0.0", GOPROXY=served.goproxy("acme/widgets"))
    assert got["Sum"] == built["sum"] and got["GoModSum"] == built["gomod_sum"]
    me = httpx.get(f"{served.url}/user/self/", headers={"X-Api-Key": token}).json()
    assert me["name"] == "trusted publisher acme/ci-publisher"
    tokens = httpx.get(f"{served.url}/user/tokens/", headers={"X-Api-Key": token}).json()
    assert tokens[0]["description"] == "push-only token of trusted publisher acme/ci-publisher"
    assert tokens[0]["key"] is None
    assert oidc_issuer.fetches(JWKS_PATH) == 1
    served.stop()
    assert not echoed(token, served.stderr())


def test_each_check_refuses_with_its_reason(serve: Any, tmp_path: Path,
                                            oidc_issuer: OidcIssuer, test_ca: CertAuthority
                                            ) -> None:
    """Wrong repository claim, wrong ref, wrong audience, expired, not yet valid, bad
    signature, unknown issuer, unknown service, unsigned and HMAC tokens, a replay: each
    refused, 401 or 403, naming the check; the accepted token is accepted once."""
    served = serve_trusting(serve, tmp_path, test_ca, github_publisher(oidc_issuer))
    stranger = OidcIssuer(test_ca)
    now = int(time.time())
    try:
        cases = [
            (oidc_issuer.mint(repository="evil/widgets"), 403, "claim repository does not match"),
            (oidc_issuer.mint(ref="refs/heads/main"), 403, "claim ref does not match"),
            (oidc_issuer.mint(ref="refs/tags/v1/x"), 403, "claim ref does not match"),
            (oidc_issuer.mint(aud="https://github.com/acme"), 401, "audience"),
            (oidc_issuer.mint(iat=now - 900, nbf=now - 900, exp=now - 300), 401, "expired"),
            (oidc_issuer.mint(nbf=now + 600), 401, "not yet valid: the token's nbf"),
            (oidc_issuer.mint_bad_signature(), 401, "signature: does not verify"),
            (stranger.mint(), 401, "issuer unknown"),
            (oidc_issuer.mint(jti=None), 401, "claim jti is missing"),
            (jwt.encode(oidc_issuer.claims(), None, algorithm="none"), 401,
             "algorithm 'none' is not accepted"),
            (jwt.encode(oidc_issuer.claims(), "k" * 32, algorithm="HS256",
                        headers={"kid": oidc_issuer.kid}), 401, "algorithm 'HS256'"),
            ("not.a-jwt", 401, "not a JWT"),
        ]
        for token, status, reason in cases:
            refused(exchange(served, token), status, reason, token)
        token = oidc_issuer.mint()
        refused(exchange(served, token, service="other"), 401, "service slug unknown", token)
        refused(exchange(served, token, org="elsewhere"), 401, "service slug unknown", token)
        assert exchange(served, token).status_code == 200
        refused(exchange(served, token), 401, "token already used", token)
        assert stranger.fetches(JWKS_PATH) == 0  # an issuer no publisher names is never asked
    finally:
        stranger.close()
    served.stop()
    assert served.proc.stdout is not None
    log = served.proc.stdout.read().decode() + served.stderr()
    assert "exchange for acme/ci-publisher refused (403): claim ref does not match" in log
    assert not echoed(token, log)


def test_time_claims_that_are_not_numbers_are_refused_not_a_crash(
        serve: Any, tmp_path: Path, oidc_issuer: OidcIssuer) -> None:
    """RFC 7519 dates are JSON numbers: an issuer-signed token whose exp, iat or nbf is a
    string of digits, or true, is refused 401 naming the claim (it was a 500 and a traceback
    for exp, and accepted for iat and nbf); a float exp is a number and is accepted. The
    reason ends with one full stop."""
    served = serve_trusting(serve, tmp_path, oidc_issuer.ca, github_publisher(oidc_issuer))
    now = int(time.time())
    for name, value in (("exp", str(now + 300)), ("iat", str(now)), ("nbf", str(now)),
                        ("iat", True)):
        token = oidc_issuer.mint(**{name: value})
        reply = exchange(served, token)
        refused(reply, 401, f"claim {name} is not a number", token)
        assert not reply.json()["detail"].endswith(".."), reply.json()
    reply = exchange(served, oidc_issuer.mint(exp=now + 300.5))
    assert reply.status_code == 200, reply.text
    reply = exchange(served, oidc_issuer.mint(exp=float("nan")))
    assert reply.status_code == 401 and not reply.json()["detail"].endswith(".."), reply.text
    served.stop()
    assert "Traceback" not in served.stderr()


def test_a_token_cannot_be_replayed_in_the_leeway_after_its_exp(
        serve: Any, tmp_path: Path, oidc_issuer: OidcIssuer) -> None:
    """exp is checked with a leeway (clock skew), so a token is still valid for a while
    after its exp: its jti must be remembered that long too. It was forgotten at exp, and
    the same ID token exchanged again a moment later got a second push token."""
    served = serve_trusting(serve, tmp_path, oidc_issuer.ca, github_publisher(oidc_issuer))
    token = oidc_issuer.mint(exp=int(time.time()) + 2)
    assert exchange(served, token).status_code == 200
    time.sleep(3.5)  # past exp, well within the leeway
    exchange(served, oidc_issuer.mint())  # any exchange sweeps the jtis past their time
    refused(exchange(served, token), 401, "token already used", token)


def test_rotated_key_is_fetched_once_and_bogus_kids_do_not_loop(
        serve: Any, tmp_path: Path, oidc_issuer: OidcIssuer) -> None:
    """A token signed with a new key (new kid, ES256) is accepted after one JWKS refetch;
    then a stream of tokens with unknown kids is refused without fetching again."""
    served = serve_trusting(serve, tmp_path, oidc_issuer.ca, github_publisher(oidc_issuer))
    assert exchange(served, oidc_issuer.mint()).status_code == 200
    assert oidc_issuer.fetches(JWKS_PATH) == 1
    oidc_issuer.rotate("ES256")
    assert exchange(served, oidc_issuer.mint()).status_code == 200
    assert oidc_issuer.fetches(JWKS_PATH) == 2
    for n in range(15):
        token = oidc_issuer.sign(oidc_issuer.claims(), headers={"kid": f"bogus-{n}"})
        refused(exchange(served, token), 401, "has no key with kid 'bogus-", token)
    assert oidc_issuer.fetches(JWKS_PATH) == 2
    assert exchange(served, oidc_issuer.mint()).status_code == 200  # the known kid still works


def test_push_token_is_push_only_and_scoped(serve: Any, tmp_path: Path,
                                            oidc_issuer: OidcIssuer) -> None:
    """The push token pushes to its repository only (403 naming the scope elsewhere), reads
    its packages (API and GOPROXY, private repositories too), and may not delete, tag,
    republish, manage entitlements or retention; an API key still may; a wrong token is
    401."""
    served = serve_trusting(serve, tmp_path, oidc_issuer.ca, github_publisher(oidc_issuer),
                            repos=("acme/widgets:private", "acme/other:private"))
    repo = tagged_module(tmp_path / "repo", MODULE, ["v1.0.0"])
    built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    token = exchange(served, oidc_issuer.mint()).json()["token"]
    slug = api_push(served.url, "acme/widgets", built["zip"], key=token).package["slug"]
    url, as_token = served.url, {"X-Api-Key": token}
    other = httpx.post(f"{url}/files/acme/other/", headers=as_token, json={
        "filename": "x.zip", "md5_checksum": "0" * 32})
    assert other.status_code == 403
    assert other.json()["detail"] == ("trusted publisher acme/ci-publisher may not push in "
                                      "acme/other: its token is limited to acme/widgets")
    bearer = {"Authorization": f"Bearer {token}"}  # how cloudsmith-cli sends it
    listed = httpx.get(f"{url}/packages/acme/widgets/", headers=bearer)
    assert listed.status_code == 200 and [p["slug"] for p in listed.json()] == [slug]
    assert httpx.get(f"{url}/repos/", headers=bearer).json()[0]["slug_perm"] == "acme/widgets"
    assert len(httpx.get(f"{url}/repos/", headers={"X-Api-Key": KEY}).json()) == 2
    for name, status in (("widgets", 200), ("other", 401)):
        listed = httpx.get(f"{served.goproxy(f'acme/{name}')}{MODULE}/@v/list", headers=bearer)
        assert listed.status_code == status, (name, listed.text)
    managing = [
        ("DELETE", f"/packages/acme/widgets/{slug}/", None),
        ("POST", f"/packages/acme/widgets/{slug}/tag/", {"action": "add", "tags": ["x"]}),
        ("GET", "/entitlements/acme/widgets/", None),
        ("POST", "/entitlements/acme/widgets/", {"name": "reader"}),
        ("GET", "/repos/acme/widgets/retention/", None),
        ("POST", "/packages/acme/widgets/upload/go/", {"package_file": "x",
                                                       "republish": True}),
    ]
    for method, path, body in managing:
        reply = httpx.request(method, url + path, headers=as_token, json=body)
        assert reply.status_code == 403, (path, reply.text)
        assert "may not manage packages" in reply.json()["detail"]
        assert "push-only" in reply.json()["detail"]
    assert httpx.get(f"{url}/entitlements/acme/widgets/",
                     headers={"X-Api-Key": KEY}).status_code == 200
    wrong = httpx.get(f"{url}/packages/acme/widgets/", headers={"X-Api-Key": token + "x"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "Invalid API key."


def test_refused_exchanges_spend_the_guessing_budget(serve: Any, tmp_path: Path,
                                                     oidc_issuer: OidcIssuer) -> None:
    """Refused exchanges count like refused keys: after the burst, 429 with Retry-After,
    even for a valid token (the issuer is not asked)."""
    from gopush.server.guessing import BURST

    served = serve_trusting(serve, tmp_path, oidc_issuer.ca, github_publisher(oidc_issuer))
    for _ in range(BURST):
        assert exchange(served, oidc_issuer.mint(ref="refs/heads/x")).status_code == 403
    throttled = exchange(served, oidc_issuer.mint())
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1


def test_a_browser_cannot_spend_the_budget_through_the_exchange(
        serve: Any, tmp_path: Path, oidc_issuer: OidcIssuer) -> None:
    """Any web page can make a visitor's browser POST text/plain to the exchange (no CORS
    preflight for that): each refusal spent the address's guessing budget, so a page left
    open locked the machine's own `go get` and keyless pushes out (429). A request with an
    Origin header (browsers send it on such POSTs; CI clients never do) is refused 403 at
    once, without counting; then a CI's exchange from the same address still succeeds."""
    from gopush.server.guessing import BURST

    served = serve_trusting(serve, tmp_path, oidc_issuer.ca, github_publisher(oidc_issuer))
    body = '{"oidc_token": "x.y.z", "service_slug": "ci-publisher"}'
    for _ in range(BURST + 5):
        reply = httpx.post(f"{served.url}/openid/acme/", content=body,
                           headers={"Origin": "https://evil.example",
                                    "Content-Type": "text/plain"})
        assert reply.status_code == 403, reply.text
        assert "browser" in reply.json()["detail"]
    assert exchange(served, oidc_issuer.mint()).status_code == 200


def test_config_errors_name_the_entry_and_exit_3(tmp_path: Path,
                                                 oidc_issuer: OidcIssuer) -> None:
    """A wrong --config stops the start with exit 3 and a message naming the key."""
    import subprocess
    import sys

    def start(config: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gopush", "serve", "--port", "0",
                               "--data", str(tmp_path / "data"), "--config", str(config)],
                              capture_output=True, text=True, timeout=60, check=False)

    cases = {
        "no claim": (github_publisher(oidc_issuer, claims={}, claim_patterns={}),
                     "no required claim"),
        "http issuer": (github_publisher(oidc_issuer, issuer="http://127.0.0.1:1"),
                        "is not an https:// issuer URL"),
        "two owners": (github_publisher(oidc_issuer, repositories=["a/b", "c/d"]),
                       "all must have one owner"),
        "minutes": (github_publisher(oidc_issuer, token_minutes=0), "token_minutes"),
    }
    for name, (publisher, reason) in cases.items():
        proc = start(write_config(tmp_path / f"{name}.toml", publisher))
        assert proc.returncode == 3 and reason in proc.stderr, (name, proc.stderr)
        assert "Traceback" not in proc.stderr
    typo = tmp_path / "typo.toml"
    typo.write_text('[[trusted_publishers]]\nservise = "x"\n')
    proc = start(typo)
    assert proc.returncode == 3 and "unknown key(s) servise" in proc.stderr
    assert not (tmp_path / "data").exists()


def test_an_unreachable_or_silent_issuer_is_503_quickly_remembered(
        serve: Any, tmp_path: Path, oidc_issuer: OidcIssuer) -> None:
    """An issuer whose port is closed, or that accepts and never answers: the exchange is
    503 "issuer unavailable" naming why, the silent one within the 10 s fetch deadline; a
    second exchange at once gets the same answer without waiting again."""
    import socket

    from gopush.server.oidc import FETCH_SECONDS

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_url = f"https://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the backlog; nothing ever answers
    silent_url = f"https://127.0.0.1:{silent.getsockname()[1]}"
    try:
        served = serve_trusting(
            serve, tmp_path, oidc_issuer.ca,
            github_publisher(oidc_issuer, service="down", issuer=closed_url),
            github_publisher(oidc_issuer, service="silent", issuer=silent_url))
        down = oidc_issuer.mint(iss=closed_url)
        refused(exchange(served, down, service="down"), 503, "issuer unavailable", down)
        assert "ConnectError" in exchange(served, down, service="down").json()["detail"]
        hush = oidc_issuer.mint(iss=silent_url)
        started = time.monotonic()
        refused(exchange(served, hush, service="silent"), 503,
                f"no answer within {FETCH_SECONDS:g} s", hush)
        first = time.monotonic() - started
        started = time.monotonic()
        refused(exchange(served, hush, service="silent"), 503, "issuer unavailable", hush)
        again = time.monotonic() - started
    finally:
        silent.close()
    print(f"\nsilent issuer: refused after {first:.1f} s, again after {again:.2f} s")
    assert FETCH_SECONDS <= first < FETCH_SECONDS + 5 and again < 2


def test_an_issuer_whose_certificate_does_not_verify_is_not_trusted(
        serve: Any, tmp_path: Path, oidc_issuer: OidcIssuer) -> None:
    """Without the test CA among the server's CAs, the issuer's HTTPS does not verify: 503
    naming the certificate, and no token."""
    config = write_config(tmp_path / "serve.toml", github_publisher(oidc_issuer))
    served = serve("--config", str(config), "--repo", "acme/widgets", new_repos=False)
    token = oidc_issuer.mint()
    reply = exchange(served, token)
    refused(reply, 503, "issuer unavailable", token)
    assert "CERTIFICATE_VERIFY_FAILED" in reply.json()["detail"]


def test_one_service_slug_for_github_and_gitlab(serve: Any, tmp_path: Path,
                                                oidc_issuer: OidcIssuer,
                                                test_ca: CertAuthority) -> None:
    """The README's GitLab publisher beside the GitHub one, under one service slug: the
    token's iss picks the publisher, whose audience and claims then apply."""
    gitlab = OidcIssuer(test_ca, audience="https://registry.example.com")
    try:
        served = serve_trusting(serve, tmp_path, test_ca, github_publisher(oidc_issuer), {
            "service": "ci-publisher", "issuer": gitlab.url,
            "audience": "https://registry.example.com", "repositories": ["acme/widgets"],
            "claims": {"project_path": "acme/widgets", "ref_type": "tag"},
            "claim_patterns": {"ref": "v*"}})
        tag = {"project_path": "acme/widgets", "ref": "v1.0.0", "ref_type": "tag"}
        assert exchange(served, gitlab.mint(**tag)).status_code == 200
        assert exchange(served, oidc_issuer.mint()).status_code == 200
        branch = gitlab.mint(**{**tag, "ref": "main", "ref_type": "branch"})
        refused(exchange(served, branch), 403, "claim ref_type does not match", branch)
        github_aud = gitlab.mint(**tag, aud="cloudsmith")
        refused(exchange(served, github_aud), 401, "audience", github_aud)
    finally:
        gitlab.close()
