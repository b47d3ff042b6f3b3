"""Keyless push (OIDC) in the client, against a Cloudsmith-style API and a GitHub Actions
token endpoint faked with pytest-httpx: the edge cases of the exchange.

Each test runs the real CLI entry point and checks the exit code, the message, and that no
token (the runner's request token, the ID token, the key minted from it) shows in any byte
of stdout or stderr, even with -v. The end-to-end runs against a real `gopush serve` are in
tests/e2e/test_keyless_serve.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from registry.fakeapi import HOST, FakeApi, Seen

from gopush.cli.main import main
from gopush.errors import ExitCode
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.registry import cloudsmith

MODULE, VERSION = "example.com/hello", "v1.0.0"
ACTIONS_URL = "https://actions.test/_apis/pipelines/idtoken?api-version=2.0"
REQUEST_TOKEN = "ghs_request_Q2h9wL4kT7uY1pX3"  # distinctive strings to search output for
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ0ZXN0In0.c2lnbmF0dXJlX29mX3RoZV9pZF90b2tlbg"
MINTED = "oidc_minted_key_5e8b1c7d9a2f4e6b"
SECRETS = (REQUEST_TOKEN, ID_TOKEN, MINTED)

pytestmark = pytest.mark.usefixtures("no_backoff")


class KeylessApi(FakeApi):
    """The fake registry plus its exchange (``POST /openid/{org}/``) and GitHub Actions'
    token endpoint; each answers as the real ones do unless a test queues otherwise."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        step = ("idtoken" if path == "/_apis/pipelines/idtoken" else
                "openid" if path.startswith("/openid/") else "")
        if not step:
            return super().__call__(request)
        self.seen.append(Seen(step, request.method, str(request.url), dict(request.headers),
                              request.read()))
        queue = self.queued.get(step)
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer(request) if callable(answer) else answer
        if step == "idtoken":
            if request.headers.get("authorization") != f"Bearer {REQUEST_TOKEN}":
                return httpx.Response(401, json={"message": "Unauthorized"})
            return httpx.Response(200, json={"count": 1, "value": ID_TOKEN})
        return httpx.Response(200, json={"token": MINTED})

    def one(self, step: str) -> httpx.URL:
        """Return the URL of the one request of ``step``."""
        urls = [httpx.URL(s.url) for s in self.seen if s.step == step]
        assert len(urls) == 1, self.steps()
        return urls[0]


@pytest.fixture
def api(httpx_mock, monkeypatch: pytest.MonkeyPatch) -> KeylessApi:
    """Install the fake API; a GitHub Actions job with id-token: write and an org and
    service set, no API key anywhere."""
    fake = KeylessApi()
    httpx_mock.add_callback(fake, is_reusable=True, is_optional=True)
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "ACTIONS_ID_TOKEN_REQUEST_URL",
                 "ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOPUSH_API_HOST", HOST)
    monkeypatch.setenv("GOPUSH_NO_KEYRING", "1")
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", ACTIONS_URL)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
    monkeypatch.setenv("GOPUSH_OIDC_ORG", "acme")
    monkeypatch.setenv("GOPUSH_OIDC_SERVICE", "ci-publisher")
    return fake


@pytest.fixture
def module_zip(tmp_path: Path) -> Path:
    """A valid module zip on disk."""
    path = tmp_path / f"{VERSION}.zip"
    create_zip(path, MODULE, VERSION, [DataFile("go.mod", f"module {MODULE}\n".encode()),
                                       DataFile("hello.go", b"package hello\n")])
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run gopush; return (exit code, stdout, stderr) after checking no token shows."""
    code = main(list(args))
    out, err = capsys.readouterr()
    for secret in SECRETS:
        assert secret not in out and secret not in err, (secret, out, err)
    return code, out, err


def push(capsys: pytest.CaptureFixture[str], zip_path: Path,
         *extra: str) -> tuple[int, str, str]:
    return run(capsys, "push", "go", "acme/gomods", str(zip_path), "-v", *extra)


def test_github_actions_token_exchanged_and_used_for_every_request(
        api: KeylessApi, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ID token is asked of GitHub Actions (bearer, its query kept, &audience=cloudsmith),
    exchanged as the official CLI does, and the key it yields goes as X-Api-Key on every
    registry request of the run, each upload part included; -v names the source."""
    monkeypatch.setattr(cloudsmith, "PART_SIZE", 4096)
    zip_path = tmp_path / f"{VERSION}.zip"
    create_zip(zip_path, MODULE, VERSION, [DataFile("go.mod", f"module {MODULE}\n".encode()),
                                           DataFile("blob.bin", os.urandom(10_000))])
    code, _, err = push(capsys, zip_path)
    assert code == ExitCode.OK, err
    asked = api.one("idtoken")
    assert asked.params["api-version"] == "2.0" and asked.params["audience"] == "cloudsmith"
    exchange = next(s for s in api.seen if s.step == "openid")
    assert exchange.method == "POST" and exchange.url == f"{HOST}/openid/acme/"
    assert json.loads(exchange.body) == {"oidc_token": ID_TOKEN, "service_slug": "ci-publisher"}
    assert "x-api-key" not in exchange.headers and "authorization" not in exchange.headers
    registry = [s for s in api.seen if s.step not in ("idtoken", "openid", "upload")]
    assert [s.step for s in registry].count("part") == 3
    assert all(s.headers.get("x-api-key") == MINTED for s in registry), \
        [(s.step, s.headers.get("x-api-key")) for s in registry]
    assert api.steps().index("openid") < api.steps().index("validate_pkg")
    assert "key from OIDC (GitHub Actions \u2192 acme/ci-publisher)" in err


def test_official_cli_names_and_a_variable_token(api: KeylessApi, module_zip: Path, capsys,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """CLOUDSMITH_ORG / CLOUDSMITH_SERVICE_SLUG and GitLab's CLOUDSMITH_OIDC_TOKEN: the
    token is exchanged as it is, GitHub's endpoint is not asked."""
    for name in ("GOPUSH_OIDC_ORG", "GOPUSH_OIDC_SERVICE", "GITHUB_ACTIONS",
                 "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("CLOUDSMITH_ORG", "acme")
    monkeypatch.setenv("CLOUDSMITH_SERVICE_SLUG", "gitlab-publisher")
    monkeypatch.setenv("CLOUDSMITH_OIDC_TOKEN", ID_TOKEN)
    monkeypatch.setenv("GITLAB_CI", "true")
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.OK, err
    assert "idtoken" not in api.steps()
    exchange = next(s for s in api.seen if s.step == "openid")
    assert json.loads(exchange.body)["service_slug"] == "gitlab-publisher"
    assert json.loads(exchange.body)["oidc_token"] == ID_TOKEN
    assert "OIDC (GitLab CI, CLOUDSMITH_OIDC_TOKEN \u2192 acme/gitlab-publisher)" in err


def test_flags_win_and_audience_and_v1_host(api: KeylessApi, module_zip: Path, capsys,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """--oidc-org/--oidc-service beat the variables; CLOUDSMITH_OIDC_AUDIENCE is what
    GitHub is asked for; an API host ending in /v1 exchanges beside it, at /openid/."""
    monkeypatch.setenv("GOPUSH_API_HOST", f"{HOST}/v1")
    monkeypatch.setenv("CLOUDSMITH_OIDC_AUDIENCE", "https://registry.test/acme")
    code, _, err = push(capsys, module_zip, "--oidc-org", "other", "--oidc-service", "rel")
    assert code == ExitCode.OK, err
    assert api.one("idtoken").params["audience"] == "https://registry.test/acme"
    assert str(api.one("openid")) == f"{HOST}/openid/other/"
    exchange = next(s for s in api.seen if s.step == "openid")
    assert json.loads(exchange.body)["service_slug"] == "rel"


def test_a_configured_key_comes_first(api: KeylessApi, module_zip: Path, capsys,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """With GOPUSH_API_KEY set, no ID token is asked for and nothing is exchanged."""
    monkeypatch.setenv("GOPUSH_API_KEY", MINTED)
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.OK, err
    assert "idtoken" not in api.steps() and "openid" not in api.steps()
    assert "key from GOPUSH_API_KEY" in err


@pytest.mark.parametrize(("status", "detail", "words"), [
    (401, "claim 'ref' does not match: refs/heads/main", "claim 'ref' does not match"),
    (403, "token already used", "token already used"),
    (400, "service slug unknown: ci-publisher", "service slug unknown"),
    (404, "Not found.", "no keyless endpoint for org 'acme'"),
])
def test_exchange_refused_names_the_servers_reason(api: KeylessApi, module_zip: Path, capsys,
                                                   status: int, detail: str,
                                                   words: str) -> None:
    """A refused exchange exits 3 with the server's reason (or, for 404, the org to check);
    nothing is uploaded; a reply that quotes the ID token has it masked."""
    api.on("openid", httpx.Response(status, json={"detail": f"{detail} ({ID_TOKEN})"}))
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.CONFIG, err
    assert "exchange the GitHub Actions ID token for a key of acme/ci-publisher" in err
    assert words in err and "Traceback" not in err
    assert "slot" not in api.steps() and "validate_pkg" not in api.steps()


def test_exchange_retried_on_503(api: KeylessApi, module_zip: Path, capsys) -> None:
    """The exchange is retried as other calls are (a 503, then the token)."""
    api.on("openid", httpx.Response(503))
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.OK, err
    assert api.steps().count("openid") == 2


def test_exchange_answer_without_token(api: KeylessApi, module_zip: Path, capsys) -> None:
    """A 200 without a token is a refusal (exit 3), not a crash."""
    api.on("openid", httpx.Response(200, json={"detail": "ok"}))
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.CONFIG and "without a token" in err, err


def test_github_refuses_the_request_token(api: KeylessApi, module_zip: Path, capsys,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A request token the runner refuses: exit 3, naming `id-token: write`; no exchange."""
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ghs_stale_request_token_0000")
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.CONFIG, err
    assert "ask GitHub Actions for an ID token" in err and "id-token: write" in err
    assert "ghs_stale_request_token_0000" not in err
    assert "openid" not in api.steps()


def test_no_id_token_in_this_ci(api: KeylessApi, module_zip: Path, capsys,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Org and service set, but the job has no ID token: exit 3, saying what to set."""
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL")
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.CONFIG, err
    assert "no ID token available in this CI" in err and "id-token: write" in err
    assert api.seen == []


def test_half_of_githubs_pair_names_the_missing_half(api: KeylessApi, module_zip: Path,
                                                     capsys, monkeypatch: pytest.MonkeyPatch
                                                     ) -> None:
    """Only one of ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN reached the step (a container job
    passing one variable through): exit 3 naming the one that is missing, not "none is
    set"."""
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.CONFIG, err
    assert "ACTIONS_ID_TOKEN_REQUEST_URL is set but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not" in err
    assert api.seen == []


def test_only_one_of_org_and_service(api: KeylessApi, module_zip: Path, capsys,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An org without a service is a config error naming the missing one and its variable."""
    monkeypatch.delenv("GOPUSH_OIDC_SERVICE")
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.CONFIG, err
    assert "the service is not set (the org comes from GOPUSH_OIDC_ORG)" in err
    assert "GOPUSH_OIDC_SERVICE" in err and api.seen == []


def test_org_must_be_a_slug(api: KeylessApi, module_zip: Path, capsys,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """An org that would change the exchange's path is refused before any request."""
    monkeypatch.setenv("GOPUSH_OIDC_ORG", "acme/../x")
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.CONFIG and "invalid OIDC org" in err, err
    assert api.seen == []


def test_whoami_names_the_oidc_source(api: KeylessApi, capsys) -> None:
    """whoami exchanges as push does and says where the key came from (text and JSON)."""
    code, out, err = run(capsys, "whoami")
    assert code == ExitCode.OK, err
    assert out.strip() == ("dev (Dev Example dev@example.test), key from "
                           "OIDC (GitHub Actions \u2192 acme/ci-publisher)")
    assert api.one("whoami") and next(
        s for s in api.seen if s.step == "whoami").headers["x-api-key"] == MINTED
    code, out, _ = run(capsys, "whoami", "--json")
    assert code == ExitCode.OK
    assert json.loads(out)["key_from"] == "OIDC (GitHub Actions \u2192 acme/ci-publisher)"


def test_verify_reads_without_exchanging(api: KeylessApi, capsys,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """verify reads a public repository anonymously: a keyless setup is not exchanged for it
    (the minted key is push-only, and each exchange spends a single-use ID token), nor even
    checked (an org without a service does not stop a read)."""
    api.published_zip = None
    code, _, err = run(capsys, "verify", "go", "acme/gomods", f"{MODULE}@{VERSION}")
    assert "idtoken" not in api.steps() and "openid" not in api.steps()
    assert "is not published" in err, err
    monkeypatch.delenv("GOPUSH_OIDC_SERVICE")
    again, _, err = run(capsys, "verify", "go", "acme/gomods", f"{MODULE}@{VERSION}")
    assert again == code and "is not published" in err and "OIDC" not in err, err



def test_verify_refused_anonymously_exchanges_a_fresh_token(api: KeylessApi, module_zip: Path,
                                                             capsys) -> None:
    """A private repository refuses the anonymous read (401): verify asks GitHub Actions for
    an ID token of its own, exchanges it, and reads again with the minted key, sent to the
    GOPROXY as an API key goes to that host (X-Api-Key); nothing is asked before the 401."""
    api.published_zip = module_zip.read_bytes()

    def info(request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-api-key") != MINTED:
            return httpx.Response(401, json={"detail": "Authentication credentials were not "
                                                       "provided."})
        return httpx.Response(200, json={"Version": VERSION, "Time": "2024-01-01T00:00:00Z"})

    api.on("info", info, info)
    code, out, err = run(capsys, "verify", "go", "acme/gomods", f"{MODULE}@{VERSION}",
                         "--zip", str(module_zip), "-v")
    assert code == ExitCode.OK and "identical" in out, err
    assert api.steps() == ["info", "idtoken", "openid", "info", "zip"], api.steps()
    assert "x-api-key" not in api.seen[0].headers
    assert api.seen[-1].headers["x-api-key"] == MINTED
