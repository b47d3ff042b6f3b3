"""The Cloudsmith-style upload API of the server, in process: paths, auth, error bodies,
pagination, idempotent retries, republish and multipart assembly."""

from __future__ import annotations

import hashlib
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from conftest import Settled, settle

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.server.app import create_app
from gopush.server.receive import FLUSH_BYTES
from gopush.server.run import bind
from gopush.server.settings import ServeSettings
from gopush.server.storage import Storage, rfc3339

pytestmark = pytest.mark.both_databases

KEY = "api-test-key"
AUTH = {"X-Api-Key": KEY}


def _served(tmp_path: Path, settings: ServeSettings,
            database: str | None) -> Iterator[httpx.Client]:
    """Run a fresh server (repository acme/mods declared, as --repo does) by uvicorn in a
    thread, on ``database`` (``storage_db``); yield a client of it."""
    storage = Storage(tmp_path / "data", database)
    storage.ensure_repo("acme", "mods")
    app = create_app(storage, settings)
    listening = bind("127.0.0.1", 0, tls=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening.sock]})
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.01)
    with httpx.Client(base_url=listening.url, timeout=30) as c:
        yield c
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def client(tmp_path: Path, storage_db: str | None) -> Iterator[httpx.Client]:
    """Return a client of a fresh server with one API key and the repository acme/mods."""
    yield from _served(tmp_path, ServeSettings(api_keys=(KEY,)), storage_db)


@pytest.fixture
def client_new_repos(tmp_path: Path, storage_db: str | None) -> Iterator[httpx.Client]:
    """Return a client of a fresh server whose pushes may create repositories (--new-repos)."""
    yield from _served(tmp_path, ServeSettings(api_keys=(KEY,), new_repos=True), storage_db)


def module_zip(tmp_path: Path, module: str, version: str, body: str = "") -> Path:
    """Create a small module zip with create_zip; return its path."""
    dest = tmp_path / f"{module.replace('/', '_')}-{version}-{len(body)}" / f"{version}.zip"
    dest.parent.mkdir(parents=True)
    files = [DataFile("lib.go", f"package lib\n{body}".encode())]
    if not module.endswith("nomod"):
        files.append(DataFile("go.mod", f"module {module}\n".encode()))
    create_zip(dest, module, version, files)
    return dest


def upload(client: httpx.Client, zip_path: Path, repo: str = "acme/mods") -> str:
    """Upload a zip with the form POST; return the file identifier."""
    data = zip_path.read_bytes()
    slot = client.post(f"/files/{repo}/", headers=AUTH,
                       json={"filename": zip_path.name, "method": "post",
                             "md5_checksum": hashlib.md5(data).hexdigest()}).json()
    sent = client.post(slot["upload_url"], data=slot["upload_fields"],
                       files={"file": (zip_path.name, data)})
    assert sent.status_code == 204, sent.text
    return str(slot["identifier"])


def create(client: httpx.Client, identifier: str, repo: str = "acme/mods",
           **extra: object) -> Settled:
    """Call upload/go; return the reply once the server processed the package."""
    reply = client.post(f"/packages/{repo}/upload/go/", headers=AUTH,
                        json={"package_file": identifier, **extra})
    return settle(reply, str(client.base_url).rstrip("/"), key=KEY)


@pytest.mark.parametrize("path", ["/packages/acme/mods/validate-upload/go/",
                                  "/packages/acme/mods/validate-upload/go",
                                  "/v1/packages/acme/mods/validate-upload/go/",
                                  "/v1/packages/acme/mods/validate-upload/go"])
def test_paths_bare_and_v1_with_or_without_slash(client: httpx.Client, path: str) -> None:
    """Every API path answers bare and under /v1, with or without the slash, never redirecting."""
    reply = client.post(path, headers=AUTH, json={"package_file": "/home/me/v1.0.0.zip"},
                        follow_redirects=False)
    assert reply.status_code == 204


def test_auth_errors_use_cloudsmith_texts(client: httpx.Client) -> None:
    """No key, a wrong key and a Bearer key get the documented answers."""
    path = "/files/acme/mods/validate/"
    body = {"filename": "v1.0.0.zip", "md5_checksum": "0" * 32}
    assert client.post(path, json=body).json() == {
        "detail": "Authentication credentials were not provided."}
    wrong = client.post(path, json=body, headers={"X-Api-Key": "nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "Invalid API key."})
    bearer = client.post(path, json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert bearer.status_code == 204


def test_validation_errors_name_fields(client: httpx.Client) -> None:
    """Bad file parameters get 422 with one message per field; an unknown package 404."""
    reply = client.post("/files/acme/mods/validate/", headers=AUTH,
                        json={"filename": "", "md5_checksum": "xyz"})
    assert reply.status_code == 422
    assert set(reply.json()["fields"]) == {"filename", "md5_checksum"}
    missing = client.get("/packages/acme/mods/nothing/status/", headers=AUTH)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not found."})
    assert client.post("/packages/acme/mods/upload/go/", headers=AUTH,
                       json={}).status_code == 422


def test_user_self_and_service_check(client: httpx.Client) -> None:
    """user/self is unauthenticated without a key, names the user with one; status is up."""
    assert client.get("/user/self/").json()["authenticated"] is False
    me = client.get("/v1/user/self/", headers=AUTH).json()
    assert me["authenticated"] is True and me["slug"] == "gopush"
    assert client.get("/user/self/", headers={"X-Api-Key": "x"}).status_code == 401
    assert KEY not in client.get("/user/tokens/", headers=AUTH).text
    assert client.get("/status/check/basic/").json()["detail"]


def test_slots_for_post_and_parts(client: httpx.Client) -> None:
    """Slots carry an absolute upload URL and an upload_fields object for both methods."""
    for method in ("post", "put_parts"):
        slot = client.post("/files/acme/mods/", headers=AUTH,
                           json={"filename": "v1.0.0.zip", "md5_checksum": "a" * 32,
                                 "method": method})
        assert slot.status_code == 202
        body = slot.json()
        assert body["identifier"] and body["upload_url"].startswith(f"{client.base_url}")
        assert isinstance(body["upload_fields"], dict)


def test_list_query_and_pagination(client: httpx.Client, tmp_path: Path) -> None:
    """The list is a bare array with pagination headers; the query finds one module version."""
    for n in range(3):
        assert create(client, upload(client, module_zip(tmp_path, f"example.com/m{n}",
                                                        "v1.0.0"))).status_code == 201
    page = client.get("/packages/acme/mods/", headers=AUTH, params={"page_size": 2})
    assert len(page.json()) == 2
    assert (page.headers["X-Pagination-Count"], page.headers["X-Pagination-PageTotal"]) == (
        "3", "2")
    found = client.get("/packages/acme/mods/", headers=AUTH, params={
        "query": "format:go name:^example.com/m1$ version:^v1.0.0$"}).json()
    assert [(p["name"], p["version"]) for p in found] == [("example.com/m1", "v1.0.0")]
    assert client.get("/packages/acme/mods/", headers=AUTH,
                      params={"page": 9}).status_code == 404
    unknown = client.get("/packages/acme/unknown/", headers=AUTH)
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not found."})


def test_new_version_is_queued_then_synchronised(client: httpx.Client, tmp_path: Path) -> None:
    """upload/go answers a new version with a queued package (not yet served), which the
    server then processes to completed; the status endpoint follows it."""
    identifier = upload(client, module_zip(tmp_path, "example.com/queued", "v1.0.0"))
    reply = client.post("/packages/acme/mods/upload/go/", headers=AUTH,
                        json={"package_file": identifier})
    assert reply.status_code == 201
    queued = reply.json()
    assert (queued["status_str"], queued["is_sync_awaiting"], queued["is_sync_in_flight"],
            queued["is_sync_completed"]) == ("Awaiting Synchronisation", True, True, False)
    assert (queued["name"], queued["version"]) == ("example.com/queued", "v1.0.0")
    done = settle(reply, str(client.base_url).rstrip("/"), key=KEY).json()
    assert done["slug"] == queued["slug"] and done["is_sync_completed"] is True
    status = client.get(f"/packages/acme/mods/{queued['slug']}/status/", headers=AUTH).json()
    assert (status["status_str"], status["stage_str"]) == ("Completed", "Fully Synchronised")
    assert client.get("/go/acme/mods/example.com/queued/@v/list").text == "v1.0.0\n"


def test_retried_upload_go_returns_same_package(client: httpx.Client, tmp_path: Path) -> None:
    """upload/go sent twice for one upload gives the same package (a retried POST)."""
    identifier = upload(client, module_zip(tmp_path, "example.com/retry", "v1.0.0"))
    first, second = create(client, identifier), create(client, identifier)
    assert first.json()["slug_perm"] == second.json()["slug_perm"]


def test_republish_replaces_only_when_asked(client: httpx.Client, tmp_path: Path) -> None:
    """Other content for a version is 409 unless republish is true; then it replaces it."""
    old = create(client, upload(client, module_zip(tmp_path, "example.com/re", "v1.0.0"))).json()
    new_zip = module_zip(tmp_path, "example.com/re", "v1.0.0", body="// changed\n")
    refused = create(client, upload(client, new_zip))
    assert refused.status_code == 409
    assert "checksum mismatch" in refused.json()["fields"]["non_field_errors"][0]
    replaced = create(client, upload(client, new_zip), republish=True)
    assert replaced.status_code == 201 and replaced.json()["summary"] != old["summary"]
    zip_bytes = client.get("/go/acme/mods/example.com/re/@v/v1.0.0.zip").content
    assert zip_bytes == new_zip.read_bytes()
    listed = client.get("/packages/acme/mods/", headers=AUTH).json()
    assert [p["slug"] for p in listed] == [replaced.json()["slug"]]


def test_parts_join_in_order_and_check_md5(client: httpx.Client, tmp_path: Path) -> None:
    """Parts (sent out of order, one re-sent) join in part order; complete is idempotent; a
    wrong MD5 is refused."""
    zip_path = module_zip(tmp_path, "example.com/parts", "v1.0.0", body="x" * 5000)
    data = zip_path.read_bytes()
    pieces = [data[:1000], data[1000:2000], data[2000:]]
    slot = client.post("/files/acme/mods/", headers=AUTH, json={
        "filename": "v1.0.0.zip", "md5_checksum": hashlib.md5(data).hexdigest(),
        "method": "put_parts"}).json()
    url = slot["upload_url"]
    assert client.put(url, params={"upload_id": slot["identifier"], "part_number": 1},
                      content=pieces[0]).status_code == 401
    for number in (2, 1, 3, 3):
        reply = client.put(url, headers=AUTH, content=pieces[number - 1],
                           params={"upload_id": slot["identifier"], "part_number": number})
        assert reply.status_code == 200
    done = f"/files/acme/mods/{slot['identifier']}/complete/"
    body = {"upload_id": slot["identifier"], "complete": True}
    assert client.post(done, headers=AUTH, json=body).status_code == 201
    assert client.post(done, headers=AUTH, json=body).status_code == 201
    assert create(client, slot["identifier"]).json()["is_sync_completed"] is True
    bad = client.post("/files/acme/mods/", headers=AUTH, json={
        "filename": "v1.0.0.zip", "md5_checksum": "0" * 32, "method": "put_parts"}).json()
    client.put(url, headers=AUTH, content=data,
               params={"upload_id": bad["identifier"], "part_number": 1})
    refused = client.post(f"/files/acme/mods/{bad['identifier']}/complete/", headers=AUTH)
    assert refused.status_code == 400 and "MD5" in refused.json()["detail"]


def _parts_slot(client: httpx.Client, data: bytes) -> tuple[str, str]:
    slot = client.post("/files/acme/mods/", headers=AUTH, json={
        "filename": "v1.0.0.zip", "md5_checksum": hashlib.md5(data).hexdigest(),
        "method": "put_parts"}).json()
    return str(slot["upload_url"]), str(slot["identifier"])


def _put_part(client: httpx.Client, url: str, identifier: str, number: int,
              content: bytes) -> None:
    reply = client.put(url, headers=AUTH, content=content,
                       params={"upload_id": identifier, "part_number": number})
    assert reply.status_code == 200 and reply.json()["size"] == len(content), reply.text


def _complete_and_fetch(client: httpx.Client, identifier: str, module: str) -> bytes:
    done = client.post(f"/files/acme/mods/{identifier}/complete/", headers=AUTH,
                       json={"upload_id": identifier, "complete": True})
    assert done.status_code == 201, done.text
    assert create(client, identifier).json()["is_sync_completed"] is True
    return client.get(f"/go/acme/mods/{module}/@v/v1.0.0.zip").content


@pytest.mark.parametrize("order", [(1, 2, 3), (1, 2, 1, 3), (3, 1, 2), (1, 3, 2, 2)])
def test_parts_in_any_order_or_resent_join_to_the_upload(client: httpx.Client, tmp_path: Path,
                                                         order: tuple[int, ...]) -> None:
    """Parts sent in order, again, or out of order join to exactly the uploaded bytes."""
    module = f"example.com/order{''.join(map(str, order))}"
    data = module_zip(tmp_path, module, "v1.0.0", body="y" * 9000).read_bytes()
    pieces = {1: data[:3000], 2: data[3000:6000], 3: data[6000:]}
    url, identifier = _parts_slot(client, data)
    for number in order:
        _put_part(client, url, identifier, number, pieces[number])
    assert _complete_and_fetch(client, identifier, module) == data


def test_part_cut_off_mid_body_then_resent_joins_cleanly(client: httpx.Client,
                                                          tmp_path: Path) -> None:
    """A part whose connection drops after more than a write buffer of it was appended (a
    torn tail in the joined file), sent again and followed by the next part, still joins to
    exactly the uploaded bytes."""
    module = "example.com/torn"
    body = secrets.token_hex(3_000_000)  # hex text: the zip stays ~3.4 MB
    data = module_zip(tmp_path, module, "v1.0.0", body=body).read_bytes()
    third = len(data) // 3
    pieces = {1: data[:third], 2: data[third:2 * third], 3: data[2 * third:]}
    assert len(pieces[2]) > FLUSH_BYTES + 4096
    url, identifier = _parts_slot(client, data)
    _put_part(client, url, identifier, 1, pieces[1])
    host, port = str(client.base_url.host), int(client.base_url.port or 80)
    path = f"{httpx.URL(url).path}?upload_id={identifier}&part_number=2"
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nX-Api-Key: {KEY}\r\n"
                     f"Content-Length: {len(pieces[2])}\r\n\r\n".encode()
                     + pieces[2][:FLUSH_BYTES + 4096])
        joined = _wait_for_file_larger_than(tmp_path / "data" / "tmp", len(pieces[1]))
    assert joined > len(pieces[1])  # part of the cut-off body really reached the join
    _put_part(client, url, identifier, 2, pieces[2])
    _put_part(client, url, identifier, 3, pieces[3])
    assert _complete_and_fetch(client, identifier, module) == data


def _wait_for_file_larger_than(directory: Path, size: int) -> int:
    """Return the size of the largest file in ``directory`` once one exceeds ``size`` (5 s)."""
    deadline = time.monotonic() + 5
    largest = 0
    while time.monotonic() < deadline and largest <= size:
        largest = max((p.stat().st_size for p in directory.iterdir()), default=0)
        time.sleep(0.01)
    return largest


def test_goproxy_answers(client: httpx.Client, tmp_path: Path) -> None:
    """.info/.mod/.zip have the right bodies; a module without go.mod gets the synthesized
    go.mod; non-canonical versions are 404."""
    create(client, upload(client, module_zip(tmp_path, "example.com/nomod", "v1.0.0")))
    base = "/go/acme/mods/example.com/nomod/@v/"
    info = client.get(base + "v1.0.0.info").json()
    assert info["Version"] == "v1.0.0" and info["Time"].endswith("Z")
    assert client.get(base + "v1.0.0.mod").text == "module example.com/nomod\n"
    assert client.get(base + "v1.0.0.zip").headers["content-type"] == "application/zip"
    assert client.get(base + "v1.0.info").status_code == 404
    assert client.get(base + "list").text == "v1.0.0\n"


def test_oversized_json_body_is_refused(client: httpx.Client) -> None:
    """An API body over 1 MiB is refused instead of being read into memory: one that says
    so in its Content-Length gets 413 before a byte is read."""
    reply = client.post("/files/acme/mods/validate/", headers={**AUTH, "Content-Type":
                                                               "application/json"},
                        content=b'{"filename": "' + b"x" * (2 << 20) + b'"}')
    assert reply.status_code == 413 and "too large" in reply.json()["detail"].lower()


@pytest.mark.sqlite_only  # ages the slot in the SQLite file
def test_abandoned_multipart_upload_expires(client: httpx.Client, tmp_path: Path) -> None:
    """A multipart upload left half-way is deleted, joined file included, once its slot is
    older than the expiry (24 h) and another upload starts; its parts then get 404."""
    data = module_zip(tmp_path, "example.com/abandoned", "v1.0.0",
                      body=secrets.token_hex(8000)).read_bytes()
    half = len(data) // 2
    url, identifier = _parts_slot(client, data)
    _put_part(client, url, identifier, 1, data[:half])
    tmp = tmp_path / "data" / "tmp"
    assert sum(p.stat().st_size for p in tmp.iterdir()) == half
    with sqlite3.connect(tmp_path / "data" / "registry.sqlite3") as db:  # 25 hours ago
        db.execute("UPDATE files SET created_at = ? WHERE identifier = ?",
                   (rfc3339(time.time() - 25 * 3600), identifier))
    _parts_slot(client, b"another upload")
    assert list(tmp.iterdir()) == []
    late = client.put(url, headers=AUTH, content=data[half:],
                      params={"upload_id": identifier, "part_number": 2})
    assert late.status_code == 404
    done = client.post(f"/files/acme/mods/{identifier}/complete/", headers=AUTH, json={})
    assert done.status_code == 404


@pytest.mark.parametrize(("method", "path", "content"), [
    ("POST", "/files/acme/mods/", b"[" * 100_000 + b"]" * 100_000),  # nests too deep
    ("POST", "/files/acme/mods/",
     b'{"filename": "\\ud800.zip", "md5_checksum": "00000000000000000000000000000000"}'),
    ("POST", "/packages/acme/mods/upload/go/", b'{"package_file": "\\ud800"}'),
])
def test_json_that_is_no_text_is_a_400(client: httpx.Client, method: str, path: str,
                                       content: bytes) -> None:
    """JSON nested past Python's recursion limit, or holding a lone surrogate (valid JSON,
    but no text anything can store): 400 with a reason, not a 500 and a traceback."""
    reply = client.request(method, path, content=content,
                           headers={**AUTH, "Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text
    assert "JSON" in reply.json()["detail"]
    assert client.get("/packages/acme/mods/", headers=AUTH).status_code in (200, 404)


@pytest.mark.parametrize(("query", "status"), [("page=%C2%B2", 422), ("page_size=%C2%B2", 422),
                                             ("query=" + "(" * 13000, 400)])
def test_odd_query_parameters_are_answered(client: httpx.Client, tmp_path: Path, query: str,
                                           status: int) -> None:
    """A superscript digit (str.isdigit says yes, int() says no) is an invalid page (422);
    a query past the length limit is a 400 naming it; never a 500."""
    assert create(client, upload(client, module_zip(tmp_path, "example.com/q", "v1.0.0"))
                  ).status_code == 201
    reply = client.get(f"/packages/acme/mods/?{query}", headers=AUTH)
    assert reply.status_code == status, reply.text


def test_a_pseudo_version_whose_time_is_no_time_fails_with_the_reason(
        client: httpx.Client, tmp_path: Path) -> None:
    """v0.0.0-20991399999999-...: month 13. The package fails at once with the reason (it
    used to stay "Sync In Progress" forever), and uploading the version again is answered
    at once, not after a minute with a 500."""
    version = "v0.0.0-20991399999999-abcdefabcdef"
    zip_path = module_zip(tmp_path, "example.com/when", version)
    first = create(client, upload(client, zip_path))
    assert first.package["is_sync_failed"], first.package
    assert "malformed time" in first.package["status_reason"]
    started = time.monotonic()
    again = create(client, upload(client, zip_path))
    assert again.status_code < 500 and time.monotonic() - started < 20, again.text


def test_only_a_valid_upload_creates_a_repository(client_new_repos: httpx.Client,
                                                  tmp_path: Path) -> None:
    """With --new-repos, validation calls (all a --dry-run makes) and refused requests create
    no repository (a misspelled name would linger and be listed at every start); the first
    upload slot does."""
    client = client_new_repos
    body = {"filename": "v1.0.0.zip", "md5_checksum": "0" * 32}
    assert client.post("/files/acme/typo/validate/", headers=AUTH, json=body).status_code == 204
    assert client.post("/packages/acme/typo/validate-upload/go/", headers=AUTH,
                       json={"package_file": "v1.0.0.zip"}).status_code == 204
    assert client.post("/files/acme/typo/", headers=AUTH, json={}).status_code == 422
    assert client.post("/packages/acme/typo/upload/go/", headers=AUTH,
                       json={"package_file": "nope"}).status_code == 422
    probe = "/go/acme/typo/example.com/r/@v/list"
    assert "no repository acme/typo" in client.get(probe, auth=("gopush", KEY)).text  # none yet
    assert create(client, upload(client, module_zip(tmp_path, "example.com/r", "v1.0.0"),
                                 repo="acme/typo"), repo="acme/typo").status_code == 201
    assert client.get(probe, auth=("gopush", KEY)).text == "v1.0.0\n"


def test_parts_past_what_a_module_zip_may_hold_are_refused(
        client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts can never add up to more than a module zip may have (500 MiB; 1 MiB here):
    a part that would pass it is refused (413) from its Content-Length, before its body is
    read, whether it continues the join or waits in a file; a re-sent part replaces its
    earlier bytes, so it still fits."""
    from gopush.server import api_files

    monkeypatch.setattr(api_files, "MAX_ZIP_BYTES", 1 << 20)
    piece = b"p" * (600 << 10)
    url, identifier = _parts_slot(client, piece * 2)
    _put_part(client, url, identifier, 1, piece)
    _put_part(client, url, identifier, 1, piece)  # the same part again: replaces, still fits
    for number in (2, 5):  # next in order, and out of order
        reply = client.put(url, headers=AUTH, content=piece,
                           params={"upload_id": identifier, "part_number": number})
        assert reply.status_code == 413 and "bytes a module zip may have" in reply.text
    _put_part(client, url, identifier, 2, b"q" * (400 << 10))  # what is left still fits
