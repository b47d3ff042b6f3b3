"""The web page against a real `gopush serve`, through httpx: what a visitor sees, and the
hostile side of every page and form (private repositories, CSRF, cross-origin POSTs, sign-in
with a read token, guessing keys, script injection, oversized forms)."""

from __future__ import annotations

import html
import re
import socket
import ssl
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, Served, api_push

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.server.guessing import BURST

PUBLIC_MOD, SECRET_MOD = "example.com/open", "example.com/hidden"
READ_TOKEN = "read-token-3f9a1c77"


def module_zip(tmp_path: Path, module: str, version: str = "v1.0.0",
               files: dict[str, bytes] | None = None) -> Path:
    """Make the zip `gopush build` would (the zip writer go's rules are checked by)."""
    dest = tmp_path / "zips" / module.replace("/", "_") / f"{version}.zip"
    dest.parent.mkdir(parents=True, exist_ok=True)
    listed = {"go.mod": f"module {module}\n".encode(), "lib.go": b"package lib\n",
              **(files or {})}
    create_zip(dest, module, version, [DataFile(p, d) for p, d in listed.items()])
    return dest


def two_repos(serve: Any, tmp_path: Path) -> Served:
    """Start a server with a public acme/pub holding PUBLIC_MOD v1.0.0 and v1.1.0 and a
    private acme/priv holding SECRET_MOD v1.0.0 (and a read token for it)."""
    served = serve("--repo", "acme/pub:public", "--repo", "acme/priv:private",
                   "--read-token", f"acme/priv={READ_TOKEN}", new_repos=False)
    for repo, module, version in (("acme/pub", PUBLIC_MOD, "v1.0.0"),
                                  ("acme/pub", PUBLIC_MOD, "v1.1.0"),
                                  ("acme/priv", SECRET_MOD, "v1.0.0")):
        pushed = api_push(served.url, repo, module_zip(tmp_path, module, version))
        assert pushed.status_code == 201 and pushed.package["status_str"] == "Completed"
    return served


def csrf_in(page: str) -> str:
    """Return the CSRF token of the first form on ``page``."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


class Browser:
    """A client that behaves as a browser on the server's own pages: cookies kept, Origin
    sent on every POST."""

    def __init__(self, served: Served, origin: str | None = None) -> None:
        self.url = served.url
        self.client = httpx.Client(base_url=served.url, timeout=30,
                                   headers={"Origin": origin or served.url})

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def sign_in(self, key: str) -> httpx.Response:
        """Fetch the sign-in form and send it with ``key``."""
        token = csrf_in(self.get("/web/login").text)
        return self.client.post("/web/login", data={"csrf": token, "api_key": key})

    def upload(self, repo: str, zip_path: Path, csrf: str | None = None) -> httpx.Response:
        """Send the upload form of ``repo``'s page (its CSRF token unless told)."""
        token = csrf if csrf is not None else csrf_in(self.get(f"/web/{repo}").text)
        return self.client.post(f"/web/{repo}/upload", data={"csrf": token},
                                files={"file": (zip_path.name, zip_path.read_bytes(),
                                                "application/zip")})


@pytest.fixture
def served(serve: Any, tmp_path: Path) -> Served:
    return two_repos(serve, tmp_path)


def test_anonymous_sees_public_versions_in_semver_order_with_go_sum(served: Served,
                                                                    go: Any) -> None:
    """The public repository's module page lists v1.1.0 before v1.0.0, each with its go get
    line and go.sum lines, which are the ones the real go computes when it downloads."""
    visitor = Browser(served)
    index = visitor.get("/")
    assert index.status_code == 200 and "acme/pub" in index.text
    page = visitor.get(f"/web/acme/pub/mod/{PUBLIC_MOD}").text
    assert page.index("v1.1.0") < page.index("v1.0.0")
    got = go.download(PUBLIC_MOD, "v1.0.0", GOPROXY=served.goproxy("acme/pub"))
    assert f"{PUBLIC_MOD} v1.0.0 {got['Sum']}" in page
    assert f"{PUBLIC_MOD} v1.0.0/go.mod {got['GoModSum']}" in page
    assert f"go get {PUBLIC_MOD}@v1.1.0" in page
    setup = html.unescape(visitor.get("/web/acme/pub").text)
    assert f"GOPROXY={served.url}/go/acme/pub/," in setup and ".netrc" not in setup


def test_pseudo_versions_are_listed_apart(served: Served, tmp_path: Path) -> None:
    pseudo = "v1.1.1-0.20240102030405-abcdefabcdef"
    pushed = api_push(served.url, "acme/pub", module_zip(tmp_path, PUBLIC_MOD, pseudo))
    assert pushed.package["status_str"] == "Completed"
    page = Browser(served).get(f"/web/acme/pub/mod/{PUBLIC_MOD}").text
    releases, _, pseudos = page.partition('id="pseudo-versions"')
    assert "v1.1.0" in releases and pseudo not in releases and pseudo in pseudos


def test_anonymous_sees_nothing_private(served: Served) -> None:
    """The private repository is missing from the index, and its pages (guessed URLs
    included) answer the very same 404 page as a repository that does not exist."""
    visitor = Browser(served)
    assert "acme/priv" not in visitor.get("/").text
    missing = visitor.get("/web/acme/nothing")
    assert missing.status_code == 404
    for path in ("/web/acme/priv", f"/web/acme/priv/mod/{SECRET_MOD}",
                 "/web/acme/priv/mod/example.com/nothing"):
        reply = visitor.get(path)
        assert (reply.status_code, reply.text) == (404, missing.text), path
        assert SECRET_MOD not in reply.text
    upload = visitor.client.post("/web/acme/priv/upload", data={"csrf": "x"})
    assert upload.status_code == 403 and SECRET_MOD not in upload.text


def test_signed_in_sees_private_repository_tokens_but_never_token_values(served: Served
                                                                         ) -> None:
    user = Browser(served)
    reply = user.sign_in(KEY)
    assert reply.status_code == 303
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and KEY.lower() not in cookie
    assert "acme/priv" in user.get("/").text
    page = user.get("/web/acme/priv").text
    assert SECRET_MOD in page and 'id="tokens"' in page and READ_TOKEN not in page
    assert "machine 127.0.0.1:" in html.unescape(page)  # the private consumer setup
    assert user.get(f"/web/acme/priv/mod/{SECRET_MOD}").status_code == 200


def test_pages_carry_a_strict_content_security_policy(served: Served) -> None:
    headers = Browser(served).get("/").headers
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"


def test_sign_in_without_or_with_a_wrong_csrf_token_is_refused(served: Served) -> None:
    user = Browser(served)
    user.get("/web/login")  # a session, but the token is not sent or wrong
    for data in ({"api_key": KEY}, {"api_key": KEY, "csrf": "wrong"}):
        reply = user.client.post("/web/login", data=data)
        assert reply.status_code == 403 and "CSRF" in reply.text
    signed = Browser(served)
    signed.sign_in(KEY)
    out = signed.client.post("/web/logout", data={"csrf": "wrong"})
    assert out.status_code == 403 and "acme/priv" in signed.get("/").text  # still signed in
    stranger = Browser(served)  # no session at all
    assert stranger.client.post("/web/login", data={"api_key": KEY,
                                                     "csrf": "x"}).status_code == 403
    assert "acme/priv" not in user.get("/").text


def test_cross_origin_posts_are_refused(served: Served, tmp_path: Path) -> None:
    """A POST from another origin (or with no Origin nor Referer) is refused even with a
    valid session and CSRF token: sign-in, upload and sign-out alike."""
    user = Browser(served)
    assert user.sign_in(KEY).status_code == 303
    token = csrf_in(user.get("/web/acme/pub").text)
    evil = {"Origin": "http://evil.example"}
    zip_path = module_zip(tmp_path, PUBLIC_MOD, "v1.9.0-evil")
    reply = user.client.post("/web/acme/pub/upload", data={"csrf": token}, headers=evil,
                             files={"file": (zip_path.name, zip_path.read_bytes())})
    assert reply.status_code == 403 and "Cross-origin" in reply.text
    bare = httpx.Client(base_url=served.url, cookies=user.client.cookies)  # no Origin
    assert bare.post("/web/logout", data={"csrf": token}).status_code == 403
    referer = {"Referer": f"{served.url}/web/acme/pub"}  # no Origin, own Referer: allowed
    assert bare.post("/web/logout", data={"csrf": token}, headers=referer).status_code == 303
    assert "v1.9.0-evil" not in user.get(f"/web/acme/pub/mod/{PUBLIC_MOD}").text


def test_upload_without_or_with_a_wrong_csrf_token_stores_nothing(served: Served,
                                                                 tmp_path: Path) -> None:
    user = Browser(served)
    user.sign_in(KEY)
    before = httpx.get(f"{served.url}/packages/acme/pub/", headers={"X-Api-Key": KEY}).json()
    zip_path = module_zip(tmp_path, PUBLIC_MOD, "v1.3.0-x")
    for token in ("", "wrong"):
        reply = user.upload("acme/pub", zip_path, csrf=token)
        assert reply.status_code == 403 and "CSRF" in reply.text, reply.text
    after = httpx.get(f"{served.url}/packages/acme/pub/", headers={"X-Api-Key": KEY}).json()
    assert after == before


def test_a_read_token_cannot_sign_in(served: Served) -> None:
    user = Browser(served)
    reply = user.sign_in(READ_TOKEN)
    assert reply.status_code == 401 and "read token cannot sign in" in reply.text
    assert "acme/priv" not in user.get("/").text


def test_wrong_keys_spend_the_same_guessing_budget_as_the_api(served: Served) -> None:
    """BURST wrong keys through the form, then the next sign-in (even with the right key)
    gets 429 with Retry-After, and so does the API and GOPROXY with credentials: one
    budget per address."""
    user = Browser(served)
    token = csrf_in(user.get("/web/login").text)
    for n in range(BURST):
        reply = user.client.post("/web/login", data={"csrf": token, "api_key": f"guess{n}"})
        assert reply.status_code == 401
    reply = user.client.post("/web/login", data={"csrf": token, "api_key": KEY})
    assert reply.status_code == 429 and int(reply.headers["retry-after"]) >= 1
    api = httpx.get(f"{served.url}/entitlements/acme/priv/", headers={"X-Api-Key": "guess"})
    assert api.status_code == 429
    proxy = httpx.get(f"{served.goproxy('acme/priv')}{SECRET_MOD}/@v/list",
                      auth=("token", "guess"))
    assert proxy.status_code == 429


def test_script_in_tags_names_and_reasons_is_rendered_escaped(served: Served,
                                                             tmp_path: Path) -> None:
    """A tag, an entitlement name and a failed upload's reason that carry <script> are
    shown as text."""
    script = "<script>alert(1)</script>"
    with httpx.Client(base_url=served.url, headers={"X-Api-Key": KEY}) as api:
        listed = api.get("/packages/acme/pub/").json()
        tagged = api.post(f"/packages/acme/pub/{listed[0]['slug']}/tag/",
                          json={"action": "add", "tags": [script]})
        assert tagged.status_code == 200, tagged.text
        made = api.post("/entitlements/acme/pub/", json={"name": script})
        assert made.status_code == 201, made.text
    bad = tmp_path / "bad.zip"  # a name go refuses, which the failure reason quotes
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(f"{PUBLIC_MOD}@v1.4.0/go.mod", f"module {PUBLIC_MOD}\n")
        zf.writestr(f"{PUBLIC_MOD}@v1.4.0/{script}.go", "package lib\n")
    user = Browser(served)
    user.sign_in(KEY)
    assert user.upload("acme/pub", bad).status_code == 303
    page = user.get("/web/acme/pub").text
    assert "<script" not in page.lower()
    assert page.count("&lt;script&gt;") >= 2
    guessed = user.get(f"/web/acme/pub/mod/{script}")  # a module path cannot hold '<'
    assert guessed.status_code == 404 and "script" not in guessed.text.lower()


def test_oversized_forms_are_refused(served: Served) -> None:
    user = Browser(served)
    token = csrf_in(user.get("/web/login").text)
    reply = user.client.post("/web/login", data={"csrf": token, "api_key": "k" * 20000})
    assert reply.status_code == 413
    many = {f"f{n}": "x" for n in range(50)} | {"csrf": token}
    assert user.client.post("/web/login", data=many).status_code == 400
    user.sign_in(KEY)
    page_token = csrf_in(user.get("/web/acme/pub").text)
    head = (f"POST /web/acme/pub/upload HTTP/1.1\r\nHost: {served.url[7:]}\r\n"
            f"Origin: {served.url}\r\nCookie: {_cookie_header(user)}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {600 << 20}\r\n\r\n")
    host, port = served.url[7:].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())  # no body: refused on the declared length alone
        assert sock.recv(4096).startswith(b"HTTP/1.1 413 ")
    big_field = user.client.post("/web/acme/pub/upload",
                                 data={"csrf": page_token, "note": "y" * 70000},
                                 files={"file": ("a.zip", b"PK")})
    assert big_field.status_code == 400


def test_sign_out_ends_the_session(served: Served) -> None:
    user = Browser(served)
    user.sign_in(KEY)
    token = csrf_in(user.get("/").text)
    old = dict(user.client.cookies)
    assert user.client.post("/web/logout", data={"csrf": token}).status_code == 303
    replay = httpx.Client(base_url=served.url, cookies=old)
    assert "acme/priv" not in replay.get("/").text


def _cookie_header(user: Browser) -> str:
    return "; ".join(f"{name}={value}" for name, value in user.client.cookies.items())


def test_signing_in_gives_a_new_session_identifier(served: Served) -> None:
    """A session identifier known before sign-in (one planted in the browser) is worth
    nothing afterwards: sign-in ends it and starts another."""
    user = Browser(served)
    user.get("/web/login")
    planted = dict(user.client.cookies)
    assert user.sign_in(KEY).status_code == 303
    assert dict(user.client.cookies) != planted
    assert "acme/priv" not in httpx.Client(base_url=served.url, cookies=planted).get("/").text


def test_module_page_shows_scans_and_quarantine(serve: Any, tmp_path: Path,
                                                vulndb_data: Path) -> None:
    """With --vuln-db, a version's row shows its findings (the test database's real
    advisory for golang.org/x/text v0.3.7) and that --quarantine holds it back."""
    from test_vulns import ENTRY, MODULE, app_module

    served = serve("--vuln-db", vulndb_data.as_uri(), "--quarantine", "imported",
                   "--repo", "acme/pub:public", new_repos=False)
    pushed = api_push(served.url, "acme/pub", app_module(tmp_path)["zip"])
    assert pushed.package["status_str"] == "Completed"
    page = html.unescape(Browser(served).get(f"/web/acme/pub/mod/{MODULE}").text)
    assert ENTRY in page and "golang.org/x/text@v0.3.7" in page and "quarantined" in page
    assert "known vulnerabilit" in page and "imported)" in page


def test_session_cookie_is_secure_over_tls(serve: Any, test_ca: Any) -> None:
    served = serve("--tls-cert", str(test_ca.cert), "--tls-key", str(test_ca.key))
    trust = ssl.create_default_context(cafile=str(test_ca.ca_cert))
    with httpx.Client(base_url=served.url, verify=trust,
                      headers={"Origin": served.url}) as user:
        token = csrf_in(user.get("/web/login").text)
        reply = user.post("/web/login", data={"csrf": token, "api_key": KEY})
        assert reply.status_code == 303
        assert "secure" in reply.headers["set-cookie"].lower()


def test_uploading_other_content_for_a_published_version_is_refused(served: Served,
                                                                    tmp_path: Path) -> None:
    """The same rule as push: v1.0.0 is published, so a different zip for it is refused
    (409, the page says why) and the published one stays."""
    user = Browser(served)
    user.sign_in(KEY)
    other = module_zip(tmp_path / "other", PUBLIC_MOD, "v1.0.0", {"extra.go": b"package lib\n"})
    before = user.get(f"/web/acme/pub/mod/{PUBLIC_MOD}").text
    reply = user.upload("acme/pub", other)
    assert reply.status_code == 409 and "already exists" in reply.text
    assert user.get(f"/web/acme/pub/mod/{PUBLIC_MOD}").text == before


def test_sessions_end_and_stay_bounded() -> None:
    """A session ends at its time; a flood of sign-in form sessions never pushes out a
    signed-in one."""
    from gopush.server import sessions

    now = [1000.0]
    store = sessions.Sessions(clock=lambda: now[0])
    signed, _ = store.start(signed_in=True)
    for _ in range(sessions.MAX_FORM_SESSIONS + 10):
        store.start(signed_in=False)
    assert store.get(signed) is not None
    now[0] += sessions.SIGNED_IN_SECONDS
    assert store.get(signed) is None


def test_a_token_made_through_the_form_is_shown_once_and_reads(served: Served) -> None:
    """The form makes a read token of the private repository: its value is on the answer
    page only, and GOPROXY serves the private module to it (and to nothing else)."""
    user = Browser(served)
    user.sign_in(KEY)
    token_csrf = csrf_in(user.get("/web/acme/priv").text)
    made = user.client.post("/web/acme/priv/tokens", data={"csrf": token_csrf, "name": "ci"})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    token = re.search(r'<pre id="new-token">([^<]+)</pre>', made.text)
    assert token, made.text
    listing = f"{served.goproxy('acme/priv')}{SECRET_MOD}/@v/list"
    assert httpx.get(listing, auth=("token", token.group(1))).text == "v1.0.0\n"
    assert httpx.get(listing, auth=("token", "not-it")).status_code == 401
    page = user.get("/web/acme/priv").text
    assert ">ci<" in page and token.group(1) not in page
    again = user.client.post("/web/acme/priv/tokens", data={"csrf": token_csrf, "name": "ci"})
    assert again.status_code == 409
    anonymous = Browser(served)
    anonymous.get("/web/login")
    refused = anonymous.client.post("/web/acme/priv/tokens", data={"csrf": "x", "name": "x"})
    assert refused.status_code == 403


def test_the_form_refuses_a_zip_exactly_as_a_push_through_the_api(served: Served,
                                                                 tmp_path: Path) -> None:
    """The same zip go would refuse, once through the API and once through the form, fails
    with the same reason: one acceptance path."""
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(f"{PUBLIC_MOD}@v1.5.0/go.mod", "module example.com/elsewhere\n")
        zf.writestr(f"{PUBLIC_MOD}@v1.5.0/lib.go", "package lib\n")
    by_api = api_push(served.url, "acme/pub", bad).package
    assert by_api["status_str"] == "Sync Failed"
    user = Browser(served)
    user.sign_in(KEY)
    reply = user.upload("acme/pub", bad)
    assert reply.status_code == 303
    slug = reply.headers["location"].rpartition("uploaded=")[2]
    api = httpx.Client(base_url=served.url, headers={"X-Api-Key": KEY})
    deadline = time.monotonic() + 60
    while (by_form := api.get(f"/packages/acme/pub/{slug}/").json())["is_sync_in_flight"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert by_form["status_str"] == "Sync Failed"
    assert by_form["status_reason"] == by_api["status_reason"]
    assert by_api["status_reason"] in html.unescape(user.get("/web/acme/pub").text)
