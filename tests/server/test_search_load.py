"""Searches are bounded in total: a flood of the costliest queries the language takes, sent
to a real `gopush serve` by many key holders at once, leaves pushes and GOPROXY reads fast."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.server import api_packages
from gopush.server.app import create_app
from gopush.server.query import (
    MAX_QUERY_TERMS,
    SEARCH_THREADS,
    SEARCH_WAITING,
    QueryError,
    Searches,
    SearchesBusy,
    compile_query,
)
from gopush.server.run import bind
from gopush.server.settings import ServeSettings
from gopush.server.storage import Storage

PACKAGES = 300
CLIENTS = 30
FLOOD_SECONDS = 10.0
LONG = "x" * 150  # long module paths: every name test scans more text


def _zip(directory: Path, module: str, version: str = "v1.0.0") -> Path:
    dest = directory / f"{module.rsplit('/', 1)[-1]}.zip"
    create_zip(dest, module, version, [DataFile("go.mod", f"module {module}\n".encode())])
    return dest


def _push(url: str, *zips: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "GOPUSH_API_HOST": url, "GOPUSH_API_KEY": KEY, "CI": "1",
           "NO_PROXY": "127.0.0.1"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "gopush", "push", "go", "acme/mods",
                           *map(str, zips), "--json"], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    return proc, time.monotonic() - started


def test_a_search_flood_leaves_pushes_and_downloads_fast(serve: Any, tmp_path: Path) -> None:
    """With 300 packages (300 versions), 30 key holders repeating a query of
    MAX_QUERY_TERMS version comparisons for 10 s: a `gopush push` of a small module finishes within 2 s and GOPROXY
    `.info` reads stay fast (medians printed); a query of more terms is refused with 400."""
    served = serve()
    modules = tmp_path / "modules"
    modules.mkdir()
    # each a version of its own: no comparison is answered from another package's
    zips = [_zip(modules, f"example.com/{LONG}/m{i}", f"v1.0.{i}") for i in range(PACKAGES)]
    filled, _ = _push(served.url, *zips)
    assert filled.returncode == 0, filled.stderr[-2000:]
    costly = " ".join(["version:~=v1.0.0"] * MAX_QUERY_TERMS)
    search = f"{served.url}/packages/acme/mods/"
    too_many = httpx.get(search, params={"query": costly + " version:>v0"},
                         headers={"X-Api-Key": KEY}, timeout=30)
    assert too_many.status_code == 400, too_many.text
    assert f"at most {MAX_QUERY_TERMS}" in too_many.text
    info = f"{served.goproxy('acme/mods')}example.com/{LONG}/m1/@v/v1.0.1.info"
    with httpx.Client(timeout=30) as client:
        alone = [_seconds(lambda: client.get(info)) for _ in range(10)]

    stop = time.monotonic() + FLOOD_SECONDS
    answers: dict[int, int] = {}

    def flood() -> None:
        with httpx.Client(headers={"X-Api-Key": KEY}, timeout=60) as client:
            while time.monotonic() < stop:
                status = client.get(search, params={"query": costly, "page_size": 1}).status_code
                answers[status] = answers.get(status, 0) + 1

    during: list[float] = []

    def read() -> None:
        with httpx.Client(timeout=60) as client:
            while time.monotonic() < stop - 1:
                during.append(_seconds(lambda: client.get(info)))

    threads = [threading.Thread(target=flood) for _ in range(CLIENTS)]
    threads.append(threading.Thread(target=read))
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)  # the flood is at full strength
        pushed, push_seconds = _push(served.url, _zip(tmp_path, "example.com/during"))
    finally:
        for thread in threads:
            thread.join()
    print(f"\n{CLIENTS} clients searching for {FLOOD_SECONDS:.0f} s ({answers}): gopush push "
          f"{push_seconds:.2f} s; GOPROXY .info median {statistics.median(alone) * 1000:.1f} ms "
          f"alone, {statistics.median(during) * 1000:.1f} ms during (n={len(during)}, "
          f"max {max(during) * 1000:.0f} ms)")
    assert pushed.returncode == 0, pushed.stderr[-2000:]
    assert push_seconds < 2, f"gopush push took {push_seconds:.1f} s"
    assert statistics.median(during) < 0.5
    assert set(answers) <= {200, 429} and answers.get(200)
    served.stop()
    assert "Traceback" not in served.stderr()


def _seconds(call: Any) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def test_a_query_holds_at_most_max_query_terms_terms() -> None:
    """MAX_QUERY_TERMS terms are read; one more is an error naming the limit (AND, OR and
    NOT are not terms)."""
    compile_query(" OR NOT ".join(["version:>v1"] * MAX_QUERY_TERMS))
    with pytest.raises(QueryError, match=f"at most {MAX_QUERY_TERMS}"):
        compile_query(" ".join(["a"] * (MAX_QUERY_TERMS + 1)))


def test_searches_past_the_queue_are_refused_at_once_and_the_queue_frees() -> None:
    """With one thread and one place to wait, a third search is refused before it starts;
    once the first two end, searches run again."""
    release = threading.Event()

    async def scenario() -> list[Any]:
        searches = Searches(threads=1, waiting=1)
        try:
            first = asyncio.ensure_future(searches.run(release.wait, 10))
            second = asyncio.ensure_future(searches.run(lambda: "second"))
            await asyncio.sleep(0.05)
            with pytest.raises(SearchesBusy):
                await searches.run(lambda: "refused")
            release.set()
            done = [await first, await second]
            return [*done, await searches.run(lambda: "later")]
        finally:
            searches.close()

    assert asyncio.run(scenario()) == [True, "second", "later"]


def test_searches_past_the_queue_get_429_with_retry_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While SEARCH_THREADS searches run and SEARCH_WAITING wait (each held here until
    released), five more package lists are answered 429 with Retry-After at once, in
    Cloudsmith's throttling words; the held ones then all answer 200."""
    import uvicorn

    release = threading.Event()
    matching = api_packages._matching
    monkeypatch.setattr(api_packages, "_matching",
                        lambda *args: (release.wait(60), matching(*args))[1])
    storage = Storage(tmp_path / "data")
    storage.ensure_repo("acme", "mods")
    listening = bind("127.0.0.1", 0, tls=False)
    server = uvicorn.Server(uvicorn.Config(create_app(storage, ServeSettings(api_keys=(KEY,))),
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening.sock]})
    thread.start()
    room = SEARCH_THREADS + SEARCH_WAITING
    results: list[httpx.Response] = []
    try:
        while not server.started and thread.is_alive():
            time.sleep(0.01)

        def search() -> None:
            results.append(httpx.get(f"{listening.url}/packages/acme/mods/",
                                     headers={"X-Api-Key": KEY}, timeout=60))

        clients = [threading.Thread(target=search) for _ in range(room + 5)]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 20
        while len(results) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = list(results)
        release.set()
        for client in clients:
            client.join(60)
    finally:
        release.set()
        server.should_exit = True
        thread.join(10)
    assert [r.status_code for r in refused] == [429] * 5
    assert all(r.headers["retry-after"] == "1" for r in refused)
    assert refused[0].json()["detail"].startswith("Request was throttled.")
    assert sorted(r.status_code for r in results) == [200] * room + [429] * 5
