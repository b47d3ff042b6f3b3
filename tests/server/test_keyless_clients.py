"""Keyless clients against a real `gopush serve` trusting the test OIDC issuer (HTTPS, test
CA): the official cloudsmith-cli with its own OIDC support (its GitHub Actions detector)
pushes, and gopush's `whoami` names the source of its key; the real go downloads what was
pushed with the h1: `gopush build` printed. (The server's refusals, one per check, are
tests/server/test_oidc_*.py's; the CI examples' runs are tests/e2e/test_ci_examples.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import Served, api_push, cloudsmith, gopush_build, tagged_module
from gotool import GoOracle
from oidc_issuer import OidcIssuer

REPOSITORY = "acme/widgets"
SERVICE = "ci-publisher"
MODULE = "example.com/widgets"


def trusting(tmp_path: Path, issuer: OidcIssuer, audience: str = "cloudsmith") -> Path:
    """Write the `gopush serve --config` file: ``issuer`` trusted for SERVICE, pushing to
    REPOSITORY, for tags of REPOSITORY only."""
    config = tmp_path / "serve.toml"
    config.write_text(
        f"[[trusted_publishers]]\nissuer = {json.dumps(issuer.url)}\n"
        f"audience = {json.dumps(audience)}\nservice = {json.dumps(SERVICE)}\n"
        f"repositories = [{json.dumps(REPOSITORY)}]\n"
        f"[trusted_publishers.claims]\nrepository = {json.dumps(REPOSITORY)}\n"
        '[trusted_publishers.claim_patterns]\nref = "refs/tags/v*"\n')
    return config


def start(serve: Any, tmp_path: Path, issuer: OidcIssuer, ca_cert: Path,
          visibility: str = "public", *extra: str) -> Served:
    """`gopush serve` with REPOSITORY ``visibility``, trusting ``issuer`` (its CA in
    SSL_CERT_FILE)."""
    served: Served = serve("--repo", f"{REPOSITORY}:{visibility}", "--config",
                           str(trusting(tmp_path, issuer)), *extra, new_repos=False,
                           env={"SSL_CERT_FILE": str(ca_cert)})
    return served


def github_job(issuer: OidcIssuer, ca_cert: Path) -> dict[str, str]:
    """A GitHub Actions job with `id-token: write` pushing a tag of REPOSITORY, whose runner
    trusts the test CA (requests reads REQUESTS_CA_BUNDLE, httpx SSL_CERT_FILE)."""
    issuer.actions_claims = {"repository": REPOSITORY, "ref": "refs/tags/v1.0.0"}
    return {**issuer.actions_environ(), "REQUESTS_CA_BUNDLE": str(ca_cert),
            "SSL_CERT_FILE": str(ca_cert)}


def test_official_cli_pushes_with_its_own_oidc(cloudsmith_cli: Path, serve: Any,
                                               oidc_issuer: OidcIssuer, test_ca: Any,
                                               go: GoOracle, tmp_path: Path) -> None:
    """cloudsmith-cli, with no key and CLOUDSMITH_ORG/CLOUDSMITH_SERVICE_SLUG set, finds the
    GitHub Actions runner, asks it for an ID token (audience "cloudsmith"), exchanges it at
    `gopush serve`, and pushes; go downloads the module with gopush build's h1:."""
    served = start(serve, tmp_path, oidc_issuer, test_ca.ca_cert)
    built = gopush_build(tagged_module(tmp_path / "repo", MODULE, ["v1.0.0"]).path, "v1.0.0",
                         tmp_path / "dist")
    env = {**github_job(oidc_issuer, test_ca.ca_cert), "CLOUDSMITH_ORG": "acme",
           "CLOUDSMITH_SERVICE_SLUG": SERVICE}
    proc = cloudsmith(cloudsmith_cli, served, "push", "go", REPOSITORY, built["zip"],
                      "--wait-interval", "0.2", key=None, env_extra=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Package synchronised successfully" in out
    assert oidc_issuer.audiences_requested() == ["cloudsmith"]
    assert oidc_issuer.actions_token not in out
    info = go.download(MODULE, "v1.0.0", GOPROXY=served.goproxy(REPOSITORY))
    assert info["Sum"] == built["sum"]


def test_gopush_whoami_and_push_keyless(serve: Any, oidc_issuer: OidcIssuer, test_ca: Any,
                                        go: GoOracle, tmp_path: Path) -> None:
    """`gopush whoami` in the same job exchanges and names the source; `gopush push go
    OWNER/REPO` with no key pushes; go downloads it with the pushed h1:."""
    served = start(serve, tmp_path, oidc_issuer, test_ca.ca_cert)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "CI": "true",
           "GOPUSH_API_HOST": served.url, "GOPUSH_OIDC_ORG": "acme",
           "GOPUSH_OIDC_SERVICE": SERVICE, **github_job(oidc_issuer, test_ca.ca_cert)}
    who = subprocess.run([sys.executable, "-m", "gopush", "whoami", "go", REPOSITORY],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert who.returncode == 0, who.stderr
    assert who.stdout.rstrip().endswith(
        f"key from OIDC (GitHub Actions \u2192 acme/{SERVICE})"), who.stdout
    repo = tagged_module(tmp_path / "repo", MODULE, ["v1.0.0"])
    pushed = subprocess.run([sys.executable, "-m", "gopush", "push", "go", REPOSITORY,
                             "--json", "-v"], cwd=repo.path, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert pushed.returncode == 0, pushed.stderr
    assert oidc_issuer.actions_token not in pushed.stdout + pushed.stderr
    doc = json.loads(pushed.stdout)
    info = go.download(MODULE, "v1.0.0", GOPROXY=served.goproxy(REPOSITORY))
    assert info["Sum"] == doc["sum"]


def test_gopush_push_keyless_refusals_exit_3_with_the_reason(
        serve: Any, oidc_issuer: OidcIssuer, test_ca: Any, tmp_path: Path) -> None:
    """`gopush push go OWNER/REPO ZIP` with no key, one ID token per case (GOPUSH_OIDC_TOKEN,
    or GitHub's endpoint for the audience): wrong repository claim, wrong ref, wrong
    audience, expired, bad signature, unknown issuer and a replayed token are refused with
    exit 3 and the server's reason, never echoing a token; a token signed by a rotated key
    (new kid) is accepted."""
    served = start(serve, tmp_path, oidc_issuer, test_ca.ca_cert)
    built = gopush_build(tagged_module(tmp_path / "repo", MODULE, ["v1.0.0"]).path, "v1.0.0",
                         tmp_path / "dist")
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "CI": "true",
            "GOPUSH_API_HOST": served.url, "GOPUSH_OIDC_ORG": "acme",
            "GOPUSH_OIDC_SERVICE": SERVICE, "SSL_CERT_FILE": str(test_ca.ca_cert)}

    def push(**env: str) -> tuple[int, str]:
        proc = subprocess.run([sys.executable, "-m", "gopush", "push", "go", REPOSITORY,
                               built["zip"]], env={**base, **env}, capture_output=True,
                              text=True, timeout=120, check=False)
        out = proc.stdout + proc.stderr
        assert "Traceback" not in out
        for secret in (env.get("GOPUSH_OIDC_TOKEN", ""), oidc_issuer.actions_token):
            assert not secret or secret not in out
        return proc.returncode, out

    stranger = OidcIssuer(test_ca)
    now = int(time.time())
    tag = {"repository": REPOSITORY, "ref": "refs/tags/v1.0.0"}
    try:
        cases = [
            ({**tag, "repository": "evil/widgets"}, "claim repository does not match"),
            ({**tag, "ref": "refs/heads/main"}, "claim ref does not match"),
            ({**tag, "iat": now - 900, "nbf": now - 900, "exp": now - 300}, "expired"),
        ]
        for claims, reason in cases:
            code, out = push(GOPUSH_OIDC_TOKEN=oidc_issuer.mint(**claims))
            assert code == 3 and reason in out, out
        code, out = push(GOPUSH_OIDC_TOKEN=oidc_issuer.mint_bad_signature(**tag))
        assert code == 3 and "signature" in out, out
        code, out = push(GOPUSH_OIDC_TOKEN=stranger.mint(**tag))
        assert code == 3 and "issuer unknown" in out, out
        code, out = push(**github_job(oidc_issuer, test_ca.ca_cert),
                         GOPUSH_OIDC_AUDIENCE="https://github.com/acme")
        assert code == 3 and "audience" in out, out
        token = oidc_issuer.mint(**tag)
        code, out = push(GOPUSH_OIDC_TOKEN=token)
        assert code == 0, out
        code, out = push(GOPUSH_OIDC_TOKEN=token)
        assert code == 3 and "token already used" in out, out
        oidc_issuer.rotate()
        code, out = push(GOPUSH_OIDC_TOKEN=oidc_issuer.mint(**tag))
        assert code == 0 and "identical" in out, out
    finally:
        stranger.close()


def test_a_push_token_beyond_its_scope_gets_a_hint_that_fits(
        serve: Any, oidc_issuer: OidcIssuer, test_ca: Any, tmp_path: Path) -> None:
    """Keyless `gopush rm` and `gopush tokens list` (managing: the push-only token may not)
    and `gopush ls` of a repository outside the publisher's: exit 3 with the server's reason,
    and a hint that does not send the user after "write access" they already have."""
    served = start(serve, tmp_path, oidc_issuer, test_ca.ca_cert)
    built = gopush_build(tagged_module(tmp_path / "repo", MODULE, ["v1.0.0"]).path, "v1.0.0",
                         tmp_path / "dist")
    assert api_push(served.url, REPOSITORY, built["zip"]).status_code == 201
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "CI": "true",
           "GOPUSH_API_HOST": served.url, "GOPUSH_OIDC_ORG": "acme",
           "GOPUSH_OIDC_SERVICE": SERVICE, "SSL_CERT_FILE": str(test_ca.ca_cert)}
    tag = {"repository": REPOSITORY, "ref": "refs/tags/v1.0.0"}
    for args, reason in ((["rm", REPOSITORY, f"{MODULE}@v1.0.0", "--yes"], "push-only"),
                         (["tokens", "list", REPOSITORY], "push-only"),
                         (["ls", "acme/other"], "limited to acme/widgets")):
        proc = subprocess.run([sys.executable, "-m", "gopush", *args],
                              env={**env, "GOPUSH_OIDC_TOKEN": oidc_issuer.mint(**tag)},
                              capture_output=True, text=True, timeout=120, check=False)
        hint = next(line for line in proc.stderr.splitlines() if line.startswith("hint:"))
        assert proc.returncode == 3 and reason in proc.stderr, proc.stderr
        assert "reason above" in hint and "push-only" in hint, hint


READ_TOKEN = "kverify-read-token-3f9a61"


def keyless_verify_setup(serve: Any, tmp_path: Path, issuer: OidcIssuer, ca_cert: Path,
                         visibility: str) -> tuple[dict[str, str], Any]:
    """`gopush serve` (REPOSITORY ``visibility``, read token READ_TOKEN) holding MODULE
    v1.0.0, pushed with the API key; a CI environment with keyless settings, no key."""
    served = start(serve, tmp_path, issuer, ca_cert, visibility, "--read-token",
                   f"{REPOSITORY}={READ_TOKEN}")
    built = gopush_build(tagged_module(tmp_path / "repo", MODULE, ["v1.0.0"]).path, "v1.0.0",
                         tmp_path / "dist")
    assert api_push(served.url, REPOSITORY, built["zip"]).status_code == 201
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "CI": "true",
           "GOPUSH_API_HOST": served.url, "GOPUSH_OIDC_ORG": "acme",
           "GOPUSH_OIDC_SERVICE": SERVICE, "SSL_CERT_FILE": str(ca_cert)}
    return env, built


def gopush_run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run gopush with ``env`` only; return (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "gopush", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def test_verify_with_a_fixed_id_token_private_exit_3_public_reads(
        serve: Any, oidc_issuer: OidcIssuer, test_ca: Any, tmp_path: Path) -> None:
    """A GitLab job (`id_tokens:` GOPUSH_OIDC_TOKEN, single use): verify of a private
    repository does not exchange the token (the push spends it) and exits 3 saying so and
    naming what reads instead; with GOPUSH_READ_TOKEN it verifies. The token is unspent
    afterwards: a push exchanges it."""
    env, built = keyless_verify_setup(serve, tmp_path, oidc_issuer, test_ca.ca_cert,
                                      "private")
    token = oidc_issuer.mint(repository=REPOSITORY, ref="refs/tags/v1.0.0")
    gitlab = {**env, "GITLAB_CI": "true", "GOPUSH_OIDC_TOKEN": token}
    argv = ("verify", "go", REPOSITORY, f"{MODULE}@v1.0.0", "--zip", built["zip"])
    code, out, err = gopush_run(gitlab, *argv)
    assert code == 3, err
    assert "the ID token in GOPUSH_OIDC_TOKEN is single use" in err, err
    assert "GOPUSH_READ_TOKEN" in err and "GitHub Actions" in err, err
    assert token not in out + err
    code, out, err = gopush_run({**gitlab, "GOPUSH_READ_TOKEN": READ_TOKEN}, *argv)
    assert code == 0 and "identical" in out, err
    assert READ_TOKEN not in out + err and token not in out + err
    code, out, err = gopush_run(gitlab, "push", "go", REPOSITORY, built["zip"])
    assert code == 0 and "identical" in out, err  # verify never spent the ID token


def test_verify_of_a_public_repository_never_exchanges(
        serve: Any, oidc_issuer: OidcIssuer, test_ca: Any, tmp_path: Path) -> None:
    """Public repository, keyless settings complete: verify reads anonymously and succeeds
    with a fixed ID token (left unspent: a push exchanges it afterwards) and in a GitHub
    Actions job (no ID token asked for, so no exchange)."""
    env, built = keyless_verify_setup(serve, tmp_path, oidc_issuer, test_ca.ca_cert,
                                      "public")
    argv = ("verify", "go", REPOSITORY, f"{MODULE}@v1.0.0", "--zip", built["zip"], "-v")
    token = oidc_issuer.mint(repository=REPOSITORY, ref="refs/tags/v1.0.0")
    gitlab = {**env, "GITLAB_CI": "true", "GOPUSH_OIDC_TOKEN": token}
    code, out, err = gopush_run(gitlab, *argv)
    assert code == 0 and "identical" in out, err
    assert "keyless" not in err, err
    code, out, err = gopush_run({**env, **github_job(oidc_issuer, test_ca.ca_cert)}, *argv)
    assert code == 0 and "identical" in out, err
    assert oidc_issuer.audiences_requested() == []
    code, out, err = gopush_run(gitlab, "push", "go", REPOSITORY, built["zip"])
    assert code == 0 and "identical" in out, err  # the fixed token was never exchanged
