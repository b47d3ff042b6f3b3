"""Faults: a server killed mid-upload, zips go would refuse, concurrent pushes of one version,
stalled bodies, and an upload target that never answers 5xx."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from badzips import size_lie, write_zip
from conftest import (
    KEY,
    Served,
    api_push,
    api_upload,
    create_package,
    gopush_build,
    seeded_bytes,
    tagged_module,
)
from gotool import GoError, GoOracle

pytestmark = pytest.mark.both_databases


def _slot(served: Served, repo: str, md5: str, filename: str = "v1.0.0.zip") -> dict[str, Any]:
    reply = httpx.post(f"{served.url}/files/{repo}/", headers={"X-Api-Key": KEY},
                       json={"filename": filename, "md5_checksum": md5, "method": "post"})
    assert reply.status_code == 202, reply.text
    return dict(reply.json())


def _form_head(slot: dict[str, Any], boundary: str, length_of_file: int) -> tuple[bytes, bytes]:
    """Return (request head incl. the form fields, form tail) for a raw-socket form POST."""
    fields = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n"
                      f"{v}\r\n".encode() for k, v in slot["upload_fields"].items())
    fields += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"v1.0.0.zip\"\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    path = "/" + slot["upload_url"].split("/", 3)[3]
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(fields) + length_of_file + len(tail)}\r\n\r\n").encode()
    return head + fields, tail


def _connect(served: Served) -> socket.socket:
    host, port = served.url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=30)


def test_kill_mid_upload_leaves_no_partial_version(serve: Any, go: GoOracle,
                                                   tmp_path: Path) -> None:
    """kill -9 while an upload body streams: after a restart nothing of it is visible or left
    on disk (on PostgreSQL its scratch file stays until it is older than --upload-expiry:
    another instance may be writing it), and the same module then uploads and downloads
    cleanly."""
    repo = tagged_module(tmp_path / "repo", "example.com/killed", ["v1.0.0"],
                         {"big.bin": seeded_bytes(7, 24 << 20)})
    built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    data = Path(built["zip"]).read_bytes()
    served = serve(data=tmp_path / "registry")
    slot = _slot(served, "acme/gomods", hashlib.md5(data).hexdigest())
    head, _ = _form_head(slot, "b0undary", len(data))
    with _connect(served) as conn:
        conn.sendall(head + data[: len(data) // 2])
        deadline = time.monotonic() + 10
        while not any((served.data / "tmp").iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any((served.data / "tmp").iterdir()), "the body should be streaming to disk"
        served.proc.send_signal(signal.SIGKILL)
        served.proc.wait(10)
    restarted = serve(data=tmp_path / "registry")
    leftovers = list((restarted.data / "tmp").iterdir())
    if restarted.database is None:
        assert leftovers == []
    else:  # PostgreSQL: other instances may share --data, a dead one's scratch goes by age
        assert [p.name.split("-")[0] for p in leftovers] == ["form"]
    proxy = restarted.goproxy("acme/gomods")
    assert httpx.get(proxy + "example.com/killed/@v/list").status_code == 404  # no version
    assert httpx.get(proxy + "example.com/killed/@v/v1.0.0.info").status_code == 404
    listed = httpx.get(f"{restarted.url}/packages/acme/gomods/", headers={"X-Api-Key": KEY})
    assert listed.json() == []
    with pytest.raises(GoError, match="404"):
        go.download("example.com/killed", "v1.0.0", GOPROXY=proxy)
    assert api_push(restarted.url, "acme/gomods", built["zip"]).status_code == 201
    assert go.download("example.com/killed", "v1.0.0", GOPROXY=proxy)["Sum"] == built["sum"]


@pytest.mark.parametrize(("case", "reason"), [
    ("bad-path", 'malformed file path "x<y>.go": invalid char \'<\''),
    ("size-lie", "uncompressed size is larger than declared size"),
    ("case-collision", 'case-insensitive file name collision: "README" and "readme"'),
    ("unclean-path", "a/../b.go: file path is not clean"),
    ("wrong-go-mod", "go.mod declares module example.com/other"),
])
def test_refused_zips_fail_with_reason(serve: Any, tmp_path: Path, case: str,
                                       reason: str) -> None:
    """A zip go would refuse becomes a failed package with a readable status_reason, and
    nothing is served for it."""
    served = serve()
    prefix, gomod = "example.com/bad@v1.0.0/", b"module example.com/bad\n"
    zip_path = tmp_path / "v1.0.0.zip"
    if case == "size-lie":
        size_lie(zip_path, prefix, "data.txt", b"twelve bytes" * 10, 5)
    else:
        files = {"bad-path": {"go.mod": gomod, "x<y>.go": b"package bad\n"},
                 "case-collision": {"go.mod": gomod, "README": b"a", "readme": b"b"},
                 "unclean-path": {"go.mod": gomod, "a/../b.go": b"package bad\n"},
                 "wrong-go-mod": {"go.mod": b"module example.com/other\n"}}[case]
        write_zip(zip_path, prefix, files)
    reply = api_push(served.url, "acme/gomods", zip_path)
    assert reply.status_code == 201, reply.text
    package = reply.json()
    status = httpx.get(f"{served.url}/v1/packages/acme/gomods/{package['slug']}/status/",
                       headers={"X-Api-Key": KEY}).json()
    assert status["is_sync_failed"] is True and status["is_sync_completed"] is False
    assert reason in status["status_reason"]
    assert "package should be deleted" in status["status_reason"]
    proxy = served.goproxy("acme/gomods")
    assert httpx.get(proxy + "example.com/bad/@v/v1.0.0.zip").status_code == 404


def test_concurrent_pushes_of_one_version_store_one(serve: Any, go: GoOracle,
                                                    tmp_path: Path) -> None:
    """Two uploads of the same version with different content, created at the same moment:
    exactly one is stored (201), the other is told (409), and go gets the winner."""
    served = serve()
    one = gopush_build(tagged_module(tmp_path / "a", "example.com/race", ["v1.0.0"]).path,
                       "v1.0.0", tmp_path / "dist-a")
    two = gopush_build(tagged_module(tmp_path / "b", "example.com/race",
                                     ["v0.1.0", "v1.0.0"]).path, "v1.0.0", tmp_path / "dist-b")
    for round_ in range(3):  # several rounds, so the race is really exercised
        replies = _at_once(lambda i, r=round_: _push_pair(served, r, (one, two), i), 2)
        codes = sorted(r.status_code for r in replies)
        assert codes == [201, 409], [r.text for r in replies]
        winner = next(r for r in replies if r.status_code == 201).json()
        listed = httpx.get(f"{served.url}/packages/acme/race{round_}/",
                           headers={"X-Api-Key": KEY}).json()
        assert [p["slug"] for p in listed] == [winner["slug"]]
        got = go.download("example.com/race", "v1.0.0",
                          GOPROXY=served.goproxy(f"acme/race{round_}"))
        assert got["Sum"] == winner["summary"]
        go.run(["clean", "-modcache"])


def _push_pair(served: Served, round_: int, docs: tuple[dict[str, Any], ...], i: int) -> Any:
    """Upload zip ``i`` into repository race<round_>, then create its package in step with
    the other thread."""
    ident = api_upload(served.url, f"acme/race{round_}", docs[i]["zip"])
    _BARRIERS[round_].wait()
    return create_package(served.url, f"acme/race{round_}", ident)


_BARRIERS = [threading.Barrier(2) for _ in range(3)]


def _at_once(fn: Any, n: int) -> list[Any]:
    results: list[Any] = [None] * n
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, fn(i)))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_identical_concurrent_pushes_both_succeed_once(serve: Any, tmp_path: Path) -> None:
    """Identical uploads created at the same moment both succeed with the same package."""
    served = serve()
    doc = gopush_build(tagged_module(tmp_path / "a", "example.com/same", ["v1.0.0"]).path,
                       "v1.0.0", tmp_path / "dist")
    ids = [api_upload(served.url, "acme/gomods", doc["zip"]) for _ in range(2)]
    replies = _at_once(lambda i: create_package(served.url, "acme/gomods", ids[i]), 2)
    assert [r.status_code for r in replies] == [201, 201]
    assert replies[0].json()["slug"] == replies[1].json()["slug"]


def test_stalled_body_gets_400_and_close(serve: Any, tmp_path: Path) -> None:
    """A form POST whose body stops arriving is answered 400 "Request body incomplete" after
    the body timeout, and the connection is closed (the official CLI would otherwise hang)."""
    served = serve("--body-timeout", "1")
    slot = _slot(served, "acme/gomods", "0" * 32)
    head, _ = _form_head(slot, "stall", 100_000)
    with _connect(served) as conn:
        conn.sendall(head + b"x" * 10)
        started = time.monotonic()
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
        assert time.monotonic() - started < 10
    status_line, _, rest = reply.partition(b"\r\n")
    assert b" 400 " in status_line
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["detail"] == "Request body incomplete"


def test_upload_target_answers_4xx_never_5xx(serve: Any, tmp_path: Path) -> None:
    """Wrong MD5, wrong signature, unknown slot and a non-form body all get 4xx replies."""
    served = serve()
    zip_path = write_zip(tmp_path / "v1.0.0.zip", "example.com/m@v1.0.0/",
                         {"go.mod": b"module example.com/m\n"})
    slot = _slot(served, "acme/gomods", "0" * 32)
    files = {"file": ("v1.0.0.zip", zip_path.read_bytes())}
    wrong_md5 = httpx.post(slot["upload_url"], data=slot["upload_fields"], files=files)
    assert wrong_md5.status_code == 400 and "MD5" in wrong_md5.json()["detail"]
    forged = httpx.post(slot["upload_url"], data={**slot["upload_fields"], "signature": "x"},
                        files=files)
    assert forged.status_code == 403
    unknown = httpx.post(f"{served.url}/_upload/nope/", data={}, files=files)
    assert unknown.status_code == 403
    not_form = httpx.post(slot["upload_url"], content=b"raw bytes")
    assert not_form.status_code == 400
    never_done = create_package(served.url, "acme/gomods", slot["identifier"])
    assert never_done.status_code == 422
    assert "not finished" in str(never_done.json()["fields"])


def _tmp_bytes(served: Served) -> int:
    return sum(p.stat().st_size for p in (served.data / "tmp").iterdir())


def _wait_tmp_bytes(served: Served, size: int) -> int:
    """Return the bytes under tmp/ once they are ``size`` (or whatever they are after 10 s)."""
    deadline = time.monotonic() + 10
    while (found := _tmp_bytes(served)) != size and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _cut_part(served: Served, identifier: str, number: int, declared: int, sent: bytes) -> None:
    """Send ``sent`` of a part PUT declaring ``declared`` bytes, wait until the server has
    written some of it, then close the connection (a client's Ctrl-C)."""
    path = f"/_upload/parts/acme/mods/?upload_id={identifier}&part_number={number}"
    before = _tmp_bytes(served)
    with _connect(served) as conn:
        conn.sendall(f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {KEY}\r\n"
                     f"Content-Length: {declared}\r\n\r\n".encode() + sent)
        deadline = time.monotonic() + 10
        while _tmp_bytes(served) <= before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _tmp_bytes(served) > before, "the body should be streaming to disk"


def test_cut_off_part_bodies_leave_no_bytes_behind(serve: Any, tmp_path: Path) -> None:
    """A part whose client hangs up mid-body leaves none of its bytes on disk: a cut first
    part leaves nothing, a cut second part leaves exactly the first. The re-sent part then
    joins to exactly the upload; a part sent after complete is refused (409), not kept."""
    served = serve(data=tmp_path / "registry")
    data = seeded_bytes(11, 6 << 20)
    first, second = data[: 2 << 20], data[2 << 20:]
    auth = {"X-Api-Key": KEY}
    slots = [httpx.post(f"{served.url}/files/acme/mods/", headers=auth, json={
        "filename": f"{n}.zip", "md5_checksum": hashlib.md5(data).hexdigest(),
        "method": "put_parts"}).json() for n in range(2)]
    url = slots[0]["upload_url"]

    _cut_part(served, slots[0]["identifier"], 1, len(first), first[: 1536 * 1024])
    assert _wait_tmp_bytes(served, 0) == 0

    ident = slots[1]["identifier"]
    assert httpx.put(url, headers=auth, content=first,
                     params={"upload_id": ident, "part_number": 1}).status_code == 200
    _cut_part(served, ident, 2, len(second), second[: 3 << 20])
    assert _wait_tmp_bytes(served, len(first)) == len(first)

    assert httpx.put(url, headers=auth, content=second,
                     params={"upload_id": ident, "part_number": 2}).status_code == 200
    done = httpx.post(f"{served.url}/files/acme/mods/{ident}/complete/", headers=auth, json={})
    assert done.status_code == 201, done.text  # the server's MD5 of the join matched
    late = httpx.put(url, headers=auth, content=b"late" * 1000,
                     params={"upload_id": ident, "part_number": 3})
    assert late.status_code == 409
    assert _tmp_bytes(served) == 0
