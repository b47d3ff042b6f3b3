"""Bounded work per request, tried as an attacker would against a real `gopush serve`: a
package search built to backtrack, and a 100 MB form flood sent to a bare upload URL (no key,
no or a wrong signature). Other clients keep being answered within a second, and the
server's peak memory (VmHWM) stays flat."""

from __future__ import annotations

import contextlib
import hashlib
import select
import socket
import threading
import time
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
from conftest import KEY, Served, api_push

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.server.query import MAX_QUERY_CHARS

AUTH = {"X-Api-Key": KEY}
MIB = 1 << 20
# (a+)+! against 26 a's: 2^26 ways to split the run, each tried when it was a regex
# (about 5 s on the 2-core CI machine, doubling per character).
BACKTRACKING = "name:(a+)+!"
LONG_NAME = "example.com/" + "a" * 26


def _zip(tmp_path: Path, module: str, version: str = "v1.0.0") -> Path:
    dest = tmp_path / module.replace("/", "_") / f"{version}.zip"
    dest.parent.mkdir(parents=True)
    create_zip(dest, module, version, [DataFile("go.mod", f"module {module}\n".encode()),
                                       DataFile("lib.go", b"package lib\n")])
    return dest


def _peak_mb(pid: int) -> float:
    """Return the process's peak resident memory (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


class Downloads:
    """A client fetching one module zip through GOPROXY over and over, timing each answer."""

    def __init__(self, url: str) -> None:
        self.url, self.seconds, self.statuses = url, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                self.statuses.append(client.get(self.url).status_code)
                self.seconds.append(time.monotonic() - started)
                time.sleep(0.05)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)


def test_a_backtracking_query_holds_no_other_client(serve: Any, tmp_path: Path) -> None:
    """A query that backtracked for seconds when terms were regular expressions is answered
    at once (nothing matches: "(a+)+!" is plain text), and a GOPROXY download made meanwhile
    answers within 1 s; '+' is an ordinary character, and a query past the limit is a 400."""
    served = serve()
    assert api_push(served.url, "acme/gomods", _zip(tmp_path, LONG_NAME)).status_code == 201
    download = served.goproxy("acme/gomods") + f"{LONG_NAME}/@v/v1.0.0.zip"
    listing = f"{served.url}/packages/acme/gomods/"
    answered: list[httpx.Response] = []

    def search() -> None:
        answered.append(httpx.get(listing, headers=AUTH, params={"query": BACKTRACKING},
                                  timeout=120))

    searching = threading.Thread(target=search)
    searching.start()
    time.sleep(0.2)  # the search is under way (it took seconds when it was a regex)
    started = time.monotonic()
    fetched = httpx.get(download, timeout=120)
    waited = time.monotonic() - started
    searching.join(120)
    print(f"GOPROXY download during the search: {waited:.3f} s")
    assert fetched.status_code == 200 and waited < 1.0, f"download took {waited:.2f} s"
    assert answered[0].status_code == 200 and answered[0].json() == []
    plus = httpx.get(listing, headers=AUTH, params={"query": f"name:^{LONG_NAME}$ "
                                                             "version:+incompatible"})
    assert plus.json() == []  # '+' is a character: no version here holds it
    too_long = httpx.get(listing, headers=AUTH, params={"query": "a" * (MAX_QUERY_CHARS + 1)})
    assert too_long.status_code == 400 and str(MAX_QUERY_CHARS) in too_long.text


def _flood_parts(prefix: dict[str, str], total: int) -> tuple[bytes, Any, int]:
    """Return (boundary, chunk iterator, Content-Length) of a form of ``prefix`` fields then
    8 kB fields with distinct names, ``total`` bytes in all (and never a file part)."""
    boundary = b"floodboundary7f3a"
    head = b"".join(b"--" + boundary + b'\r\nContent-Disposition: form-data; name="'
                    + name.encode() + b'"\r\n\r\n' + value.encode() + b"\r\n"
                    for name, value in prefix.items())
    filler = b"x" * 8000

    def part(n: int) -> bytes:
        return (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n'
                % n + filler + b"\r\n")

    size = len(part(0))  # names grow, so count exactly below
    count, length = 0, len(head)
    while length + size < total:
        length += len(part(count))
        count += 1
    length += len(b"--" + boundary + b"--\r\n")

    def chunks() -> Any:
        yield head
        buffer = bytearray()
        for n in range(count):
            buffer += part(n)
            if len(buffer) >= MIB:
                yield bytes(buffer)
                buffer.clear()
        yield bytes(buffer) + b"--" + boundary + b"--\r\n"

    return boundary, chunks(), length


def flood(url: str, prefix: dict[str, str],
          total: int = 100 * MIB) -> tuple[int | None, int, float]:
    """POST a ``total``-byte form of text fields to ``url`` as fast as the server reads it;
    stop as soon as an answer arrives. Return (HTTP status or None, bytes sent, seconds)."""
    started = time.monotonic()
    parts = urlsplit(url)
    boundary, chunks, length = _flood_parts(prefix, total)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sent = 0
    try:
        sock.sendall(f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     f"Content-Type: multipart/form-data; boundary={boundary.decode()}\r\n"
                     f"Content-Length: {length}\r\n\r\n".encode())
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered: it reads no further
            try:
                sock.sendall(chunk)
            except OSError:  # it closed the connection after answering
                break
            sent += len(chunk)
        return _status(sock), sent, round(time.monotonic() - started, 3)
    finally:
        sock.close()


def _status(sock: socket.socket) -> int | None:
    try:
        head = sock.recv(4096)
    except OSError:
        return None
    return int(head.split()[1]) if head.startswith(b"HTTP/1.1 ") else None


def _slot(served: Served, data: bytes) -> dict[str, Any]:
    reply = httpx.post(f"{served.url}/files/acme/gomods/", headers=AUTH, json={
        "filename": "v1.0.0.zip", "md5_checksum": hashlib.md5(data).hexdigest(),
        "method": "post"})
    assert reply.status_code == 202, reply.text
    return dict(reply.json())


def test_a_form_flood_to_a_bare_upload_url_is_refused_with_memory_flat(
        serve: Any, tmp_path: Path) -> None:
    """100 MB of form fields sent to an upload URL without the slot's signature (none, a
    wrong one, or an unknown slot) each get a 4xx after at most the 64 kB the form's fields
    may hold; the server's peak memory stays flat and GOPROXY downloads made meanwhile answer
    within 1 s. The slot itself still takes its real upload afterwards."""
    served = serve()
    module = _zip(tmp_path, "example.com/steady")
    assert api_push(served.url, "acme/gomods", module).status_code == 201
    data = _zip(tmp_path, "example.com/later").read_bytes()
    slot = _slot(served, data)
    url, key = slot["upload_url"], slot["upload_fields"]["key"]
    attacks = [(url, {"key": key}),  # no signature: refused once the fields reach 64 kB
               (url, {"key": key, "signature": "guessed"}),  # refused at the signature
               (url.replace(slot["identifier"], "no-such-slot"), {})]  # refused at once
    before = _peak_mb(served.proc.pid)
    download = served.goproxy("acme/gomods") + "example.com/steady/@v/v1.0.0.zip"
    with Downloads(download) as downloads:
        results = [flood(target, prefix) for target, prefix in attacks for _ in range(3)]
        time.sleep(0.3)
    after = _peak_mb(served.proc.pid)
    print(f"server VmHWM {before:.1f} MB -> {after:.1f} MB; floods (status, bytes sent, s): "
          f"{results}; downloads: {len(downloads.seconds)}, slowest "
          f"{max(downloads.seconds):.3f} s")
    assert all(status in (400, 403) for status, _, _ in results), results
    assert all(sent < 16 * MIB for _, sent, _ in results), results  # of 100 MB offered
    assert after - before < 20, f"peak memory grew {after - before:.1f} MB"
    assert set(downloads.statuses) == {200} and max(downloads.seconds) < 1.0
    upload = httpx.post(url, data=slot["upload_fields"], files={"file": ("v1.0.0.zip", data)})
    assert upload.status_code == 204, upload.text


def test_numbers_of_5000_digits_are_refused_with_422(serve: Any) -> None:
    """``page``, ``page_size`` and ``part_number`` of 5,000 digits (past int()'s 4,300-digit
    limit) are refused with 422 naming the parameter, never a 500 with a traceback; a
    ``part_number`` that is no number is not echoed into the upload query string."""
    served = serve()
    big = "9" * 5000
    with httpx.Client(base_url=served.url, headers=AUTH, timeout=30) as client:
        slot = client.post("/files/acme/mods/", json={
            "filename": "f.zip", "md5_checksum": "0" * 32, "method": "put_parts"})
        assert slot.status_code == 202, slot.text
        ident = slot.json()["identifier"]
        replies = {
            "page": client.get("/packages/acme/mods/", params={"page": big}),
            "page_size": client.get("/packages/acme/mods/", params={"page_size": big}),
            "part_number": client.put("/_upload/parts/acme/mods/", content=b"x",
                                      params={"upload_id": ident, "part_number": big}),
            "info part_number": client.get(f"/files/acme/mods/{ident}/info/",
                                           params={"part_number": big}),
            "info part_number=1&x": client.get(f"/files/acme/mods/{ident}/info/",
                                               params={"part_number": "1&upload_id=other"}),
        }
        assert client.get(f"/files/acme/mods/{ident}/info/",
                          params={"part_number": "2"}).json()["upload_querystring"] == (
            f"upload_id={ident}&part_number=2")
    for name, reply in replies.items():
        assert reply.status_code == 422, (name, reply.status_code, reply.text)
        field = "page" if name.startswith("page") else "part_number"
        assert list(reply.json()["fields"]) == [field], (name, reply.text)
    served.stop()
    assert "Traceback" not in served.stderr()


def _post_raw(url: str, body: bytes) -> bytes:
    """POST ``body`` as a form to ``url`` over a raw socket, stopping at the first answer;
    return the whole answer (the server closes the connection after it)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     f"Content-Type: multipart/form-data; boundary=BND\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode())
        for start in range(0, len(body), 64 * 1024):
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(body[start:start + 64 * 1024])
            except OSError:
                break
        answer = b""
        with contextlib.suppress(OSError):  # reset once it closed with our bytes unread
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


def test_oversized_part_headers_are_refused_naming_the_cause(serve: Any, tmp_path: Path) -> None:
    """A form part with a 5 MB header line, or with 20 header lines, gets 400 saying which
    (not "Upload failed: MultipartParseError"); the slot then takes its real upload."""
    served = serve()
    data = _zip(tmp_path, "example.com/later").read_bytes()
    slot = _slot(served, data)
    start = b'--BND\r\nContent-Disposition: form-data; name="key"\r\n'
    long_line = start + b"X-Junk: " + b"a" * 5_000_000 + b"\r\n\r\nv\r\n--BND--\r\n"
    many = start + b"".join(b"X-H%d: v\r\n" % i for i in range(20)) + b"\r\nv\r\n--BND--\r\n"
    answers = [_post_raw(slot["upload_url"], body) for body in (long_line, many)]
    for answer, cause in zip(answers, ["a part header line exceeds", "a part has more than"], strict=True):
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
        assert b"multipart/form-data form: " + cause.encode() in answer, answer[-300:]
    upload = httpx.post(slot["upload_url"], data=slot["upload_fields"],
                        files={"file": ("v1.0.0.zip", data)})
    assert upload.status_code == 204, upload.text
    served.stop()
    assert "Traceback" not in served.stderr()
