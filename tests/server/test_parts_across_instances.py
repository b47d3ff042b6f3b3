"""The parts of one multipart upload reaching different instances (a round-robin balancer)
leave nothing behind once the upload is complete: real `gopush serve` subprocesses on one
PostgreSQL database and one --data directory.

- An instance that joined the first part in order, while another instance completed the
  upload, drops its join (a scratch file as large as a part: 100 MiB with the official CLI)
  at its next expiry check (each new upload slot, and periodically), not at --upload-expiry.
- A part that was still arriving when another instance completed the upload is refused
  (409) and deleted: before, it was kept (200) in `blobs/parts/` with no row to ever delete
  it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY
from test_instances import POSTGRESQL, Start, _until, instances  # noqa: F401 (the fixture)

from gopush.server.app import JOIN_CHECK

pytestmark = pytest.mark.both_databases

HEADERS = {"X-Api-Key": KEY}


def _slot(client: httpx.Client, data: bytes) -> dict[str, Any]:
    reply = client.post("/files/acme/mods/", json={
        "filename": "v1.0.0.zip", "md5_checksum": hashlib.md5(data).hexdigest(),
        "method": "put_parts"})
    assert reply.status_code == 202, reply.text
    return dict(reply.json())


def _put(url: str, slot: dict[str, Any], number: int, content: Any) -> httpx.Response:
    return httpx.put(f"{url}/_upload/parts/acme/mods/", content=content, headers=HEADERS,
                     params={"upload_id": slot["identifier"], "part_number": number},
                     timeout=60)


def _joined(data: Path) -> list[int]:
    """Return the sizes of the joins kept in the shared scratch directory."""
    return sorted(p.stat().st_size for p in (data / "tmp").glob("joined-*"))


@POSTGRESQL
def test_a_join_left_on_another_instance_goes_within_a_join_check(
        db_backend: str, instances: tuple[str, Start],  # noqa: F811 (the fixture)
        tmp_path: Path) -> None:
    """Part 1 to B (B joins it), parts 2 and 3 and complete to A: within B's next check of
    its joins (every JOIN_CHECK seconds on a shared database), B's 1 MiB join is gone;
    before, it stayed until B stopped or the scratch sweep found it --upload-expiry (24 h)
    old."""
    _, start = instances
    a, b = start(), start()
    parts = [os.urandom(1 << 20) for _ in range(3)]
    with httpx.Client(base_url=a.url, headers=HEADERS, timeout=60) as client:
        slot = _slot(client, b"".join(parts))
        for number, served in ((1, b), (2, a), (3, a)):
            reply = _put(served.url, slot, number, parts[number - 1])
            assert reply.status_code == 200, reply.text
        assert 1 << 20 in _joined(tmp_path / "data")  # B's join of part 1 (A's is empty)
        done = client.post(f"/files/acme/mods/{slot['identifier']}/complete/", json={})
        assert done.status_code == 201, done.text
    assert _joined(tmp_path / "data") == [1 << 20]  # A dropped its own; B was not told
    deadline = time.monotonic() + JOIN_CHECK + 20  # generous: a loaded machine
    while _joined(tmp_path / "data") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _joined(tmp_path / "data") == []


@POSTGRESQL
def test_a_part_arriving_after_another_instance_completed_is_refused_and_deleted(
        db_backend: str, instances: tuple[str, Start],  # noqa: F811 (the fixture)
        tmp_path: Path) -> None:
    """Part 2 starts on B (its first MiB sent), part 1 is complete on A and A completes the
    upload, then part 2's last 4 MiB arrive: 409, and no part of the upload is kept."""
    _, start = instances
    a, b = start(), start()
    first = os.urandom(1000)
    go_on = threading.Event()

    def body() -> Iterator[bytes]:
        yield b"a" * (1 << 20)
        assert go_on.wait(60)
        yield b"b" * (4 << 20)

    answers: dict[str, httpx.Response] = {}
    with httpx.Client(base_url=a.url, headers=HEADERS, timeout=60) as client:
        slot = _slot(client, first)
        assert _put(a.url, slot, 1, first).status_code == 200
        late = threading.Thread(target=lambda: answers.update(late=_put(b.url, slot, 2, body())))
        late.start()
        try:
            # B is receiving part 2 once its scratch file holds the first MiB
            _until("B receiving part 2", lambda: any(
                p.stat().st_size >= 1 << 20 for p in (tmp_path / "data" / "tmp").glob("part-*")),
                timeout=30)
            done = client.post(f"/files/acme/mods/{slot['identifier']}/complete/", json={})
            assert done.status_code == 201, done.text
        finally:
            go_on.set()
            late.join(60)
    assert answers["late"].status_code == 409, answers["late"].text
    time.sleep(0.2)  # nothing is deleted later: it must be gone already
    assert not (tmp_path / "data" / "blobs" / "parts" / slot["identifier"]).exists()
