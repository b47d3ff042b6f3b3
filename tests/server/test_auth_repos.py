"""Authentication exactly as documented, and repositories only where declared, tried against a
real `gopush serve`: read-token user names, the go command with .netrc and GOAUTH, a push to
a mistyped OWNER/REPO (404 and a hint naming the real ones) and `--new-repos`."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, CertAuthority, api_push
from gotool import GoError, GoOracle

from gopush.errors import ExitCode
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

TOKEN = "read-token-3c9d1e"
MODULE = "example.com/secret"


def _zip(tmp_path: Path, module: str = MODULE, version: str = "v1.0.0") -> Path:
    dest = tmp_path / module.replace("/", "_") / f"{version}.zip"
    dest.parent.mkdir(parents=True, exist_ok=True)
    create_zip(dest, module, version, [DataFile("go.mod", f"module {module}\n".encode()),
                                       DataFile("lib.go", b"package lib\n")])
    return dest


def test_read_tokens_only_as_token_and_keys_only_with_the_user(serve: Any,
                                                               tmp_path: Path) -> None:
    """token:<T> and gopush:<API key> read a private repository; the same token or key
    under any other user name (or crossed) is refused with the very same 401 as no
    credentials, a wrong token and an unknown repository."""
    served = serve("--repo", "acme/private:private", new_repos=False,
                   env={"GOPUSH_SERVE_READ_TOKENS": f"acme/private={TOKEN}"})
    assert api_push(served.url, "acme/private", _zip(tmp_path)).status_code == 201
    info = served.goproxy("acme/private") + f"{MODULE}/@v/v1.0.0.info"
    assert httpx.get(info, auth=("token", TOKEN)).status_code == 200
    assert httpx.get(info, auth=("gopush", KEY)).status_code == 200
    refused = [httpx.get(info, auth=auth) for auth in
               [("anyone", TOKEN), ("other", KEY), ("token", KEY), ("gopush", TOKEN),
                ("Token", TOKEN), ("token", "wrong"), ("", TOKEN)]]
    refused.append(httpx.get(info))
    refused.append(httpx.get(served.goproxy("acme/nothing") + f"{MODULE}/@v/list",
                             auth=("token", TOKEN)))
    assert {r.status_code for r in refused} == {401}
    assert len({(r.text, r.headers["www-authenticate"]) for r in refused}) == 1
    assert "v1.0.0" not in refused[0].text


def _goauth_script(tmp_path: Path, url: str, user: str, password: str) -> str:
    """Return a GOAUTH entry (a command: go runs it and sends the headers it prints for the
    URL prefixes it names) that gives go Basic credentials for ``url``."""
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    script = tmp_path / f"goauth-{user}.sh"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n\\n%s\\n\\n' '{url}/' "
                      f"'Authorization: Basic {basic}'\n")
    script.chmod(0o700)
    return str(script)


def test_go_reads_a_private_repository_with_netrc_and_goauth(
        serve: Any, go: GoOracle, tmp_path: Path, test_ca: CertAuthority) -> None:
    """go downloads from a private repository over HTTPS with .netrc `login token password
    <T>` or `login gopush password <API key>`, and with a GOAUTH command giving the same;
    `login anyone password <T>` gets 401."""
    served = serve("--tls-cert", str(test_ca.cert), "--tls-key", str(test_ca.key),
                   "--repo", "acme/private:private", new_repos=False,
                   env={"GOPUSH_SERVE_READ_TOKENS": f"acme/private={TOKEN}"})
    ca = ssl.create_default_context(cafile=str(test_ca.ca_cert))
    pushed = api_push(served.url, "acme/private", _zip(tmp_path), verify=ca)
    assert pushed.status_code == 201
    machine = served.url.removeprefix("https://")
    tries = {"netrc-token": ("netrc", "token", TOKEN), "netrc-user": ("netrc", "gopush", KEY),
             "goauth-token": ("goauth", "token", TOKEN), "goauth-user": ("goauth", "gopush", KEY),
             "netrc-anyone": ("netrc", "anyone", TOKEN)}
    sums: dict[str, str] = {}
    for name, (how, user, password) in tries.items():
        env = {"GOPROXY": served.goproxy("acme/private"), "SSL_CERT_FILE": str(test_ca.ca_cert),
               "GOMODCACHE": str(tmp_path / name)}  # a fresh cache: go asks the server
        netrc = tmp_path / f"{name}.netrc"
        netrc.write_text(f"machine {machine} login {user} password {password}\n")
        netrc.chmod(0o600)
        env["NETRC"] = str(netrc)
        if how == "goauth":
            netrc.write_text("")
            env["GOAUTH"] = _goauth_script(tmp_path, served.url, user, password)
        try:
            sums[name] = go.download(MODULE, "v1.0.0", **env)["Sum"]
        except GoError as err:
            sums[name] = f"refused: {err}"
    assert "401" in sums.pop("netrc-anyone")
    assert len(set(sums.values())) == 1 and next(iter(sums.values())).startswith("h1:"), sums


def _push(served_url: str, repo: str, zip_path: Path) -> tuple[int, dict[str, Any], str]:
    """Run `gopush push go REPO ZIP --json` as a user would; return code, document, stderr."""
    env = {**os.environ, "GOPUSH_API_KEY": KEY, "CI": "1", "NO_PROXY": "127.0.0.1"}
    proc = subprocess.run([sys.executable, "-m", "gopush", "push", "go", repo, str(zip_path),
                           "--api-host", served_url, "--json"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def _repos(url: str, owner: str) -> list[str]:
    reply = httpx.get(f"{url}/repos/{owner}/", headers={"X-Api-Key": KEY})
    return sorted(r["slug"] for r in reply.json()) if reply.status_code == 200 else []


def test_a_push_to_a_mistyped_repository_is_404_and_names_the_real_ones(
        serve: Any, tmp_path: Path) -> None:
    """Without --new-repos, every API call about an undeclared repository is Cloudsmith's
    404 and nothing is created; `gopush push` exits 5 with a hint naming the owner's
    repositories."""
    served = serve("--repo", "acme/gomods", "--repo", "acme/tools:private", new_repos=False)
    body = {"filename": "v1.0.0.zip", "md5_checksum": "0" * 32, "method": "post"}
    calls = [("POST", "/packages/acme/gomodz/validate-upload/go/", {"package_file": "x.zip"}),
             ("POST", "/files/acme/gomodz/validate/", body), ("POST", "/files/acme/gomodz/", body),
             ("POST", "/packages/acme/gomodz/upload/go/", {"package_file": "x"}),
             ("GET", "/packages/acme/gomodz/", None)]
    for method, path, doc in calls:
        reply = httpx.request(method, served.url + path, headers={"X-Api-Key": KEY}, json=doc)
        assert (reply.status_code, reply.json()) == (404, {"detail": "Not found."}), path
    code, doc, err = _push(served.url, "acme/gomodz", _zip(tmp_path))
    assert code == ExitCode.REJECTED, err
    assert doc["http_status"] == 404 and "404" in doc["error"]["message"]
    message, hint = doc["error"]["message"], doc["error"]["hint"]
    assert "acme/gomodz" in message and "does not exist" in message, message
    assert "acme/gomods, acme/tools" in hint, hint
    assert KEY not in err + json.dumps(doc)
    assert _repos(served.url, "acme") == ["gomods", "tools"]  # nothing was created
    code, doc, err = _push(served.url, "nobody/gomods", _zip(tmp_path))
    assert code == ExitCode.REJECTED and "no repository of nobody" in doc["error"]["hint"]


@pytest.mark.parametrize("visibility", ["", "private"])
def test_new_repos_lets_a_push_create_its_repository(serve: Any, tmp_path: Path,
                                                     visibility: str) -> None:
    """With --new-repos (public) or --new-repos private, the first push creates the
    repository it names, with that visibility."""
    served = serve(*(["--new-repos", visibility] if visibility else ["--new-repos"]),
                   new_repos=False)
    code, doc, err = _push(served.url, "acme/fresh", _zip(tmp_path))
    assert code == ExitCode.OK and doc["status"] == "published", err
    assert _repos(served.url, "acme") == ["fresh"]
    anonymous = httpx.get(served.goproxy("acme/fresh") + f"{MODULE}/@v/list")
    assert anonymous.status_code == (401 if visibility else 200)


@pytest.mark.parametrize("user", ["token", "gopush", "anyone", None])
def test_a_refusal_does_the_same_work_whether_or_not_the_repository_exists(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user: str | None) -> None:
    """Wrong Basic credentials (or none) for a private repository and for one that does not
    exist run the very same database queries, each answering one row (the read-token lookup
    included), so the answer's time cannot tell which repositories exist; a timing test
    would be flaky, this is not."""
    from starlette.requests import Request

    from gopush.server.auth import may_read
    from gopush.server.settings import ServeSettings
    from gopush.server.storage import Storage

    storage = Storage(tmp_path / "data")
    storage.ensure_repo("acme", "private", private=True)
    storage.add_read_token("acme", "private", TOKEN)
    settings = ServeSettings(api_keys=(KEY,))
    queries: list[tuple[str, int]] = []

    def counted(method: Any) -> Any:
        def run(sql: str, *args: Any) -> Any:
            rows = method(sql, *args)
            queries.append((sql, len(rows) if isinstance(rows, list) else int(rows is not None)))
            return rows
        return run

    monkeypatch.setattr(storage.db, "one", counted(storage.db.one))
    monkeypatch.setattr(storage.db, "all", counted(storage.db.all))
    headers = [] if user is None else [
        (b"authorization", b"Basic " + base64.b64encode(f"{user}:wrong-{TOKEN}".encode()))]
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": headers})

    def work(owner: str, name: str) -> list[tuple[str, int]]:
        queries.clear()
        assert not may_read(request, owner, name, storage, settings)
        return list(queries)

    private, unknown = work("acme", "private"), work("acme", "nothing")
    assert any("entitlements" in sql for sql, _ in private)
    assert private == unknown


def test_the_access_log_masks_keys_in_urls_and_cuts_long_ones(serve: Any) -> None:
    """`gopush serve -v` logs each request with the value of key-like query parameters
    (`api_key`, `token`, `X-Amz-Signature`, also percent-encoded names) as `***` and a
    5,000-character query string cut short, on one line."""
    from gopush.server.redaction import MAX_LOGGED_TARGET

    served = serve("-v", "--repo", "acme/private:private", new_repos=False)
    proxy = served.goproxy("acme/private") + f"{MODULE}/@v/list"
    with httpx.Client(timeout=30) as client:
        client.get(proxy, params={"api_key": KEY, "page": "2"})
        client.get(f"{served.url}/packages/acme/private/?api%5Fkey={KEY}&X-Amz-Signature={KEY}"
                   f"&token={KEY};auth={KEY}")
        client.get(f"{served.url}/packages/acme/private/", params={"query": "(" * 5000},
                   headers={"X-Api-Key": KEY})
    served.stop()
    assert served.proc.stdout is not None
    log = served.proc.stdout.read().decode() + served.stderr()
    requests = [line for line in log.splitlines() if '"GET /' in line]
    assert len(requests) == 3, log
    assert KEY not in log
    assert "api_key=***&page=2" in requests[0]
    assert "api%5Fkey=***&X-Amz-Signature=***&token=***;auth=***" in requests[1]
    assert max(len(line) for line in requests) < MAX_LOGGED_TARGET + 200
    assert "characters)" in requests[2] and "Traceback" not in log
