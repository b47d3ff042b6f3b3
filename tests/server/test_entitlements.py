"""Entitlement tokens at runtime: the official cloudsmith-cli's `entitlements` commands against
a real `gopush serve`, and the real go command observing each result with
`GOPROXY=http://token:<TOKEN>@.../go/OWNER/REPO/`; then the hostile side of every new
endpoint."""

from __future__ import annotations

import json
import sqlite3
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, CertAuthority, Served, api_push, cloudsmith
from gotool import GoError, GoOracle

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

pytestmark = pytest.mark.both_databases

SECRET, OTHER = "example.com/secret", "example.com/other"


def _zip(tmp_path: Path, module: str, version: str = "v1.0.0") -> Path:
    dest = tmp_path / "zips" / module.replace("/", "_") / f"{version}.zip"
    dest.parent.mkdir(parents=True, exist_ok=True)
    create_zip(dest, module, version, [DataFile("go.mod", f"module {module}\n".encode()),
                                       DataFile("lib.go", b"package lib\n")])
    return dest


def _private(serve: Any, tmp_path: Path, ca: CertAuthority | None = None) -> Served:
    """Start a server (HTTPS with ``ca``: go sends credentials over HTTPS only) with a
    private acme/private holding SECRET and OTHER v1.0.0."""
    tls = ("--tls-cert", str(ca.cert), "--tls-key", str(ca.key)) if ca else ()
    served = serve("--repo", "acme/private:private", "--repo", "acme/other:private",
                   *tls, new_repos=False)
    verify: Any = ssl.create_default_context(cafile=str(ca.ca_cert)) if ca else True
    for module in (SECRET, OTHER):
        pushed = api_push(served.url, "acme/private", _zip(tmp_path, module), verify=verify)
        assert pushed.status_code == 201
    return served


class Downloads:
    """The real go, a fresh module cache per download (so it always asks the server)."""

    def __init__(self, go: GoOracle, served: Served, tmp_path: Path, ca: CertAuthority) -> None:
        self.go, self.served, self.tmp, self.n, self.ca = go, served, tmp_path, 0, ca

    def __call__(self, token: str, module: str = SECRET, repo: str = "acme/private") -> str:
        """Return the h1: go downloads with ``token``, or ``refused: <go's error>``."""
        self.n += 1
        proxy = self.served.goproxy(repo).replace("https://", f"https://token:{token}@")
        try:
            return str(self.go.download(module, "v1.0.0", GOPROXY=proxy,
                                        SSL_CERT_FILE=str(self.ca.ca_cert),
                                        GOMODCACHE=str(self.tmp / f"cache{self.n}"))["Sum"])
        except GoError as err:
            return f"refused: {err}"


def _cli(exe: Path, served: Served, *args: str) -> Any:
    """Run `cloudsmith ... -F json` (not checking the test CA's certificate: the CLI takes
    no CA file); return its data (asserting it succeeded)."""
    proc = cloudsmith(exe, served, *args, "-F", "json", "--without-ssl-verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)["data"] if proc.stdout.strip() else None


def test_cloudsmith_cli_entitlements_drive_what_go_downloads(
        serve: Any, go: GoOracle, cloudsmith_cli: Path, tmp_path: Path,
        test_ca: CertAuthority) -> None:
    """create gives a token go downloads with; list hides it; refresh replaces it (old:
    401); restrict by package query hides other modules (404), by expiry or by download
    limit refuses (401); delete revokes."""
    served = _private(serve, tmp_path, test_ca)
    download = Downloads(go, served, tmp_path, test_ca)
    [created] = _cli(cloudsmith_cli, served, "entitlements", "create", "acme/private",
                     "--name", "ci-reader")
    token, ident = created["token"], created["slug_perm"]
    assert len(token) == 16 and token.isalnum()
    good = download(token)
    assert good.startswith("h1:"), good
    assert download("A" * 16).startswith("refused") and "401" in download("A" * 16)

    listed = _cli(cloudsmith_cli, served, "entitlements", "list", "acme/private",
                  "--show-tokens")
    assert [(e["name"], e["token"]) for e in listed] == [("ci-reader", "********")]
    assert token not in json.dumps(listed)

    [refreshed] = _cli(cloudsmith_cli, served, "entitlements", "refresh",
                       f"acme/private/{ident}", "-y")
    new = refreshed["token"]
    assert new != token and refreshed["slug_perm"] == ident
    old = download(token)
    assert "401" in old, old
    assert download(new) == good

    [scoped] = _cli(cloudsmith_cli, served, "entitlements", "restrict", f"acme/private/{ident}",
                    "--limit-package-query", f"name:^{SECRET}$")
    assert scoped["limit_package_query"] == f"name:^{SECRET}$"
    assert download(new) == good
    outside = download(new, OTHER)
    assert "404" in outside, outside
    listing = httpx.get(served.goproxy("acme/private") + f"{OTHER}/@v/list",
                        auth=("token", new),
                        verify=ssl.create_default_context(cafile=str(test_ca.ca_cert)))
    assert listing.status_code == 404

    [expiring] = _cli(cloudsmith_cli, served, "entitlements", "create", "acme/private",
                      "--name", "expired")
    _cli(cloudsmith_cli, served, "entitlements", "restrict", f"acme/private/{expiring['slug_perm']}",
         "--limit-date-range-to", "2020-01-01T00:00:00Z")
    assert "401" in download(expiring["token"])

    [once] = _cli(cloudsmith_cli, served, "entitlements", "create", "acme/private",
                  "--name", "once")
    _cli(cloudsmith_cli, served, "entitlements", "restrict", f"acme/private/{once['slug_perm']}",
         "--limit-num-downloads", "1")
    assert download(once["token"]) == good
    assert "401" in download(once["token"])  # exhausted

    [renamed] = _cli(cloudsmith_cli, served, "entitlements", "update", f"acme/private/{ident}",
                     "--name", "ci-renamed")
    assert renamed["name"] == "ci-renamed" and renamed["token"] == "********"
    for args in (("list", "acme/private"),
                 ("restrict", f"acme/private/{ident}", "--limit-num-downloads", "50")):
        table = cloudsmith(cloudsmith_cli, served, "entitlements", *args, "--without-ssl-verify")
        assert table.returncode == 0 and "ci-renamed" in table.stdout, table.stdout + table.stderr
        assert new not in table.stdout + table.stderr
    proc = cloudsmith(cloudsmith_cli, served, "entitlements", "delete",
                      f"acme/private/{ident}", "-y", "--without-ssl-verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "401" in download(new)
    names = [e["name"] for e in _cli(cloudsmith_cli, served, "entitlements", "list",
                                     "acme/private")]
    assert names == ["expired", "once"]


def test_given_token_update_enable_disable_reset(serve: Any, tmp_path: Path) -> None:
    """A given token works; disable refuses it, enable allows it again; update renames;
    reset gives an exhausted token its downloads back; the token is never stored in
    clear."""
    served = _private(serve, tmp_path)
    api = httpx.Client(base_url=served.url, headers={"X-Api-Key": KEY})
    given = "GivenToken0123456789"
    made = api.post("/entitlements/acme/private/", json={"name": "given", "token": given})
    assert made.status_code == 201 and made.json()["token"] == given
    ident = made.json()["slug_perm"]
    zip_url = served.goproxy("acme/private") + f"{SECRET}/@v/v1.0.0.zip"
    assert httpx.get(zip_url, auth=("token", given)).status_code == 200
    assert api.post(f"/entitlements/acme/private/{ident}/disable/").status_code == 204
    assert httpx.get(zip_url, auth=("token", given)).status_code == 401
    assert api.post(f"/entitlements/acme/private/{ident}/enable/").status_code == 204
    renamed = api.patch(f"/entitlements/acme/private/{ident}/",
                        json={"name": "renamed", "limit_num_downloads": 2})
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed"
    assert renamed.json()["token"] == "********"
    assert httpx.get(zip_url, auth=("token", given)).status_code == 200
    assert httpx.get(zip_url, auth=("token", given)).status_code == 401
    assert api.get(f"/entitlements/acme/private/{ident}/").json()["downloads"] == 2
    assert api.post(f"/entitlements/acme/private/{ident}/reset/").status_code == 204
    assert httpx.get(zip_url, auth=("token", given)).status_code == 200
    served.stop()
    for path in served.data.rglob("*"):
        if path.is_file():
            assert given.encode() not in path.read_bytes()


def test_read_token_seeds_once(serve: Any, tmp_path: Path) -> None:
    """--read-token becomes an entitlement; once refreshed through the API, a restart with
    the same option does not bring the old token back."""
    data = tmp_path / "seeded"
    args = ("--repo", "acme/private:private", "--read-token", "acme/private=seed-token-1")
    served = serve(*args, data=data, new_repos=False)
    listed = httpx.get(f"{served.url}/entitlements/acme/private/", headers={"X-Api-Key": KEY})
    [seed] = listed.json()
    assert seed["name"] == "read-token-1"
    url = served.goproxy("acme/private") + f"{SECRET}/@v/list"
    assert httpx.get(url, auth=("token", "seed-token-1")).status_code == 404  # let in: no module
    refreshed = httpx.post(f"{served.url}/entitlements/acme/private/{seed['slug_perm']}/refresh/",
                           headers={"X-Api-Key": KEY})
    assert refreshed.status_code == 200
    served.stop()
    again = serve(*args, data=data, new_repos=False)
    assert httpx.get(again.goproxy("acme/private") + f"{SECRET}/@v/list",
                     auth=("token", "seed-token-1")).status_code == 401
    assert len(httpx.get(f"{again.url}/entitlements/acme/private/",
                         headers={"X-Api-Key": KEY}).json()) == 1


def test_migration_2_turns_read_tokens_into_entitlements(tmp_path: Path) -> None:
    """A schema-1 data directory's read tokens become entitlements (their digests only)."""
    from gopush.server.db import digest
    from gopush.server.storage import Storage

    storage = Storage(tmp_path)
    storage.ensure_repo("acme", "private", private=True)
    storage.db.close()
    conn = sqlite3.connect(tmp_path / "registry.sqlite3")
    conn.execute("DROP TABLE entitlements")
    conn.execute("ALTER TABLE packages DROP COLUMN tags_immutable")  # migration 3's
    conn.execute("DROP TABLE retention_rules")  # migration 4's
    for column in ("republish", "claimed_by", "lease_until"):  # the queue claims' (i14-multi)
        conn.execute(f"ALTER TABLE packages DROP COLUMN {column}")
    conn.execute("INSERT INTO read_tokens VALUES ('acme', 'private', ?)", (digest("old-one"),))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    reopened = Storage(tmp_path)
    private, ent = reopened.read_access("acme", "private", "old-one")
    assert private is True and ent is not None and ent.ent_name == "read-token-1"
    assert not reopened.entitlements.seed("acme", "private", "old-one")  # already seeded


# -- hostile clients ---------------------------------------------------------------------------

ENDPOINTS = [("GET", "/entitlements/acme/private/"), ("POST", "/entitlements/acme/private/"),
             ("GET", "/entitlements/acme/private/X/"), ("PATCH", "/entitlements/acme/private/X/"),
             ("DELETE", "/entitlements/acme/private/X/"),
             *[("POST", f"/entitlements/acme/private/X/{a}/")
               for a in ("refresh", "enable", "disable", "reset")]]


@pytest.fixture
def with_token(serve: Any, tmp_path: Path) -> tuple[Served, str, str]:
    """A server with SECRET in acme/private and an entitlement: (served, token, slug_perm)."""
    served = _private(serve, tmp_path)
    made = httpx.post(f"{served.url}/entitlements/acme/private/", headers={"X-Api-Key": KEY},
                      json={"name": "reader"}).json()
    return served, made["token"], made["slug_perm"]


def test_no_key_or_a_read_token_manages_nothing(with_token: tuple[Served, str, str]) -> None:
    """Every entitlements endpoint answers 401 without a key, with a read token as a key,
    and with the token as Basic credentials; nothing changes."""
    served, token, ident = with_token
    for method, path in ENDPOINTS:
        path = path.replace("/X/", f"/{ident}/")
        for headers in ({}, {"X-Api-Key": token}, {"Authorization": f"Bearer {token}"}):
            reply = httpx.request(method, served.url + path, headers=headers,
                                  json={"name": "mine"})
            assert reply.status_code == 401, (method, path, headers, reply.text)
        reply = httpx.request(method, served.url + path, auth=("token", token), json={})
        assert reply.status_code == 401, (method, path)
    listed = httpx.get(f"{served.url}/entitlements/acme/private/", headers={"X-Api-Key": KEY})
    assert [e["name"] for e in listed.json()] == ["reader"] and listed.json()[0]["is_active"]
    info = served.goproxy("acme/private") + f"{SECRET}/@v/v1.0.0.info"
    assert httpx.get(info, auth=("token", token)).status_code == 200


def test_a_token_reads_its_own_repository_only(with_token: tuple[Served, str, str]) -> None:
    """The token of acme/private gets the one 401 from acme/other and from a repository
    that does not exist, identical to a wrong token's."""
    served, token, _ = with_token
    refused = [httpx.get(served.goproxy(repo) + f"{SECRET}/@v/list", auth=("token", t))
               for repo, t in [("acme/other", token), ("acme/nothing", token),
                               ("acme/private", "X" * 16)]]
    assert {r.status_code for r in refused} == {401}
    assert len({r.text for r in refused}) == 1


def test_guessing_tokens_is_rate_limited(with_token: tuple[Served, str, str]) -> None:
    """Wrong tokens get the one 401 until the address's burst is spent, then 429 with
    Retry-After for every read, the right token included; reads without credentials
    never count."""
    served, token, _ = with_token
    url = served.goproxy("acme/private") + f"{SECRET}/@v/list"
    with httpx.Client() as client:
        for _ in range(40):
            assert client.get(url).status_code == 401  # no credentials: not a guess
        answers = [client.get(url, auth=("token", f"guess{n:011d}")) for n in range(40)]
        codes = [a.status_code for a in answers]
        assert codes[:30] == [401] * 30 and set(codes[30:]) == {429}, codes
        assert len({a.text for a in answers[:30]}) == 1
        assert int(answers[-1].headers["retry-after"]) >= 1
        assert client.get(url, auth=("token", token)).status_code == 429


def test_guessing_api_keys_is_rate_limited(with_token: tuple[Served, str, str]) -> None:
    """Wrong API keys on the entitlements API spend the same budget: 401 until it is
    spent, then 429 with Retry-After, the right key included."""
    served = with_token[0]
    url = f"{served.url}/entitlements/acme/private/"
    with httpx.Client() as client:
        codes = [client.get(url, headers={"X-Api-Key": f"guess-{n}"}).status_code
                 for n in range(35)]
        assert codes[:30] == [401] * 30 and set(codes[30:]) == {429}, codes
        assert client.get(url, headers={"X-Api-Key": KEY}).status_code == 429


@pytest.mark.parametrize(("body", "field"), [
    ({"name": ""}, "name"), ({"name": "x" * 201}, "name"), ({"name": "a\nb"}, "name"),
    ({"name": "t", "token": "short"}, "token"), ({"name": "t", "token": "a" * 65}, "token"),
    ({"name": "t", "token": "not-alnum-token-1234"}, "token"),
])
def test_create_refuses_bad_fields(with_token: tuple[Served, str, str], body: dict[str, Any],
                                   field: str) -> None:
    """Names and given tokens are bounded and checked (422 naming the field)."""
    served = with_token[0]
    reply = httpx.post(f"{served.url}/entitlements/acme/private/", headers={"X-Api-Key": KEY},
                       json=body)
    assert reply.status_code == 422 and field in reply.json()["fields"], reply.text


@pytest.mark.parametrize(("body", "field"), [
    ({"limit_package_query": "name:a " * 17}, "limit_package_query"),
    ({"limit_package_query": "x" * 1025}, "limit_package_query"),
    ({"limit_package_query": 'name:"open'}, "limit_package_query"),
    ({"limit_num_downloads": -1}, "limit_num_downloads"),
    ({"limit_num_downloads": 2 ** 70}, "limit_num_downloads"),
    ({"limit_date_range_to": "tomorrow"}, "limit_date_range_to"),
    ({"limit_date_range_to": "2030-01-01T00:00:00"}, "limit_date_range_to"),
    ({"limit_num_clients": 3}, "limit_num_clients"),
    ({"limit_path_query": "/x"}, "limit_path_query"),
    ({"is_active": "yes"}, "is_active"),
])
def test_restrict_refuses_unbounded_or_unenforced_limits(
        with_token: tuple[Served, str, str], body: dict[str, Any], field: str) -> None:
    """Package queries are bounded as searches are; limits gopush does not enforce are
    refused rather than silently ignored (422 naming the field); nothing changes."""
    served, token, ident = with_token
    reply = httpx.patch(f"{served.url}/entitlements/acme/private/{ident}/",
                        headers={"X-Api-Key": KEY}, json=body)
    assert reply.status_code == 422 and field in reply.json()["fields"], reply.text
    info = served.goproxy("acme/private") + f"{SECRET}/@v/v1.0.0.info"
    assert httpx.get(info, auth=("token", token)).status_code == 200


def test_names_and_tokens_are_unique_and_lists_paged(
        with_token: tuple[Served, str, str]) -> None:
    """A second entitlement with a taken name or token is refused (422); lists page with
    Cloudsmith's headers and refuse pages past the end."""
    served, token, _ = with_token
    api = httpx.Client(base_url=served.url, headers={"X-Api-Key": KEY})
    assert api.post("/entitlements/acme/private/", json={"name": "reader"}).status_code == 422
    taken = api.post("/entitlements/acme/private/", json={"name": "dup", "token": token})
    assert taken.status_code == 422 and token not in taken.text
    for n in range(3):
        assert api.post("/entitlements/acme/private/", json={"name": f"n{n}"}).status_code == 201
    page = api.get("/entitlements/acme/private/", params={"page": 2, "page_size": 3})
    assert page.status_code == 200 and len(page.json()) == 1
    assert page.headers["x-pagination-count"] == "4"
    assert api.get("/entitlements/acme/private/", params={"page": 3, "page_size": 3}) \
        .status_code == 404
    assert api.get("/entitlements/acme/private/", params={"page_size": "x"}).status_code == 422
    assert api.get("/entitlements/acme/nothing/").status_code == 404
    assert api.get("/entitlements/acme/private/nope/").status_code == 404


def test_refusals_and_limits_as_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Times from the official CLI (``+00:00``) and others are stored as RFC 3339 UTC and
    compared as such; each refusal names its cause; a repository holds at most
    MAX_ENTITLEMENTS; a HEAD of a zip is not a download."""
    from gopush.server import entitlements
    from gopush.server.entitlements import EntitlementError, check_time
    from gopush.server.storage import Storage

    assert check_time("t", "2020-01-01T00:00:00+00:00") == "2020-01-01T00:00:00Z"
    assert check_time("t", "2030-06-01T02:00:00+02:00") == "2030-06-01T00:00:00Z"
    storage = Storage(tmp_path)
    repo = storage.ensure_repo("acme", "private", private=True)
    ent = storage.entitlements.create(repo, "a", "A" * 16)
    window = storage.entitlements.update(ent, {"limit_date_range_from": "2030-01-01T00:00:00Z",
                                               "limit_date_range_to": "2031-01-01T00:00:00Z"})
    assert window is not None
    assert window.refusal("2029-12-31T23:59:59Z") == "not valid before 2030-01-01T00:00:00Z"
    assert window.refusal("2030-06-01T00:00:00Z") is None
    assert window.refusal("2031-01-01T00:00:00Z") == "expired at 2031-01-01T00:00:00Z"
    limited = storage.entitlements.update(ent, {"limit_num_downloads": 1,
                                                "limit_date_range_from": None,
                                                "limit_date_range_to": None})
    assert limited is not None and storage.entitlements.count_download(limited)
    assert not storage.entitlements.count_download(limited)
    monkeypatch.setattr(entitlements, "MAX_ENTITLEMENTS", 3)
    storage.entitlements.create(repo, "b", "B" * 16)
    storage.entitlements.create(repo, "c", "C" * 16)
    with pytest.raises(EntitlementError, match="at most 3"):
        storage.entitlements.create(repo, "d", "D" * 16)


def test_a_head_of_a_zip_is_not_a_download(with_token: tuple[Served, str, str]) -> None:
    """Only a GET of a zip counts against the download limit."""
    served, token, ident = with_token
    api = httpx.Client(base_url=served.url, headers={"X-Api-Key": KEY})
    api.patch(f"/entitlements/acme/private/{ident}/", json={"limit_num_downloads": 1})
    zip_url = served.goproxy("acme/private") + f"{SECRET}/@v/v1.0.0.zip"
    assert httpx.head(zip_url, auth=("token", token)).status_code == 200
    assert httpx.get(zip_url, auth=("token", token)).status_code == 200
    assert httpx.get(zip_url, auth=("token", token)).status_code == 401


@pytest.mark.sqlite_only  # reads the SQLite file
def test_a_scoped_token_sees_and_fetches_nothing_outside_its_query(serve: Any,
                                                                   tmp_path: Path) -> None:
    """Through a repository with an upstream, a token scoped to v1.0.0 of SECRET lists only
    that version; @latest is 404 while upstream's latest (v1.1.0) is outside the scope and
    nothing is cached (go asks `list` first, so it still finds v1.0.0); its request for
    v1.1.0 is 404 without the upstream being asked (not cached); an API key still gets
    everything."""
    origin = serve("--repo", "acme/origin")
    for version in ("v1.0.0", "v1.1.0"):
        pushed = api_push(origin.url, "acme/origin", _zip(tmp_path, SECRET, version))
        assert pushed.status_code == 201
    mirror = serve("--repo", "acme/mirror:private",
                   "--upstream", f"acme/mirror={origin.goproxy('acme/origin')}", new_repos=False)
    api = httpx.Client(base_url=mirror.url, headers={"X-Api-Key": KEY})
    made = api.post("/entitlements/acme/mirror/", json={"name": "old-only"}).json()
    api.patch(f"/entitlements/acme/mirror/{made['slug_perm']}/",
              json={"limit_package_query": "version:^v1.0.0$"})
    base, auth = mirror.goproxy("acme/mirror") + f"{SECRET}/@", ("token", made["token"])
    assert httpx.get(base + "v/list", auth=auth).text.split() == ["v1.0.0"]
    assert httpx.get(base + "latest", auth=auth).status_code == 404  # upstream's is v1.1.0
    assert httpx.get(base + "v/v1.1.0.info", auth=auth).status_code == 404
    conn = sqlite3.connect(mirror.data / "registry.sqlite3")
    cached = [r[0] for r in conn.execute("SELECT version FROM versions")]
    conn.close()
    assert "v1.1.0" not in cached
    assert httpx.get(base + "v/v1.0.0.info", auth=auth).status_code == 200
    assert httpx.get(base + "latest", auth=auth).json()["Version"] == "v1.0.0"  # cached now
    everything = httpx.get(base + "v/list", headers={"X-Api-Key": KEY})
    assert everything.text.split() == ["v1.0.0", "v1.1.0"]
