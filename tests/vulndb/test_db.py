"""The database reader against the test database: file://, a loopback server with gzip, the
cache keyed by ``modified``, offline use of it, and every read bounded."""

from __future__ import annotations

import gzip
import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from vulndb_server import DATA

from gopush.errors import ConfigError
from gopush.vuln import db as vulndb
from gopush.vuln.db import open_db
from gopush.vuln.osv import VulnDbError

X_NET = ["GO-2022-0969", "GO-2023-1495", "GO-2023-1571", "GO-2023-1988", "GO-2023-2102",
         "GO-2026-4559"]
STDLIB_AND_TOOLCHAIN = ["GO-2021-0069", "GO-2022-0229", "GO-2022-0969", "GO-2023-1571",
                        "GO-2023-2102", "GO-2026-5856", "GO-2026-6179"]
DB_MODIFIED = json.loads((DATA / "index/db.json").read_bytes())["modified"]


def _ids(entries: list) -> list[str]:
    return [e.id for e in entries]


def test_file_url_reads_the_entries_of_the_modules_asked_and_stdlib(tmp_path: Path) -> None:
    db = open_db(DATA.as_uri(), tmp_path / "cache")
    assert (db.modified, db.offline) == (DB_MODIFIED, False)
    entries = db.entries_for(["golang.org/x/net"])
    assert _ids(entries) == sorted(set(X_NET) | set(STDLIB_AND_TOOLCHAIN))
    assert _ids(db.entries_for(["k8s.io/kubernetes"]))[:1] == ["GO-2021-0069"]
    assert "GO-2022-0617" in _ids(db.entries_for(["k8s.io/kubernetes"]))  # withdrawn, kept


def test_http_gzip_cold_then_warm_is_one_request(vulndb_http, tmp_path: Path) -> None:
    server = vulndb_http()
    cold = open_db(server.url, tmp_path)
    entries = cold.entries_for(["golang.org/x/net", "golang.org/x/text"])
    fetched = sorted(set(X_NET) | set(STDLIB_AND_TOOLCHAIN)
                     | {"GO-2020-0015", "GO-2021-0113", "GO-2022-1059"})
    assert _ids(entries) == fetched
    assert server.paths()[:2] == ["/index/db.json", "/index/modules.json"]
    assert sorted(server.paths()[2:]) == [f"/ID/{i}.json" for i in fetched]
    assert {s.encoding for s in server.log} == {"gzip"}

    server.clear()
    warm = open_db(server.url, tmp_path)
    assert _ids(warm.entries_for(["golang.org/x/net", "golang.org/x/text"])) == fetched
    assert server.paths() == ["/index/db.json"]
    assert warm.entries_for(["golang.org/x/net"]) == entries[:0] + [
        e for e in entries if e.id in set(X_NET) | set(STDLIB_AND_TOOLCHAIN)]


def test_a_changed_entry_is_fetched_again_and_only_it(vulndb_http, vulndb_data: Path,
                                                      tmp_path: Path) -> None:
    server = vulndb_http(vulndb_data)
    open_db(server.url, tmp_path).entries_for(["golang.org/x/net"])
    _modify(vulndb_data, "GO-2023-1988", "2026-09-01T10:00:00Z")
    server.clear()
    db = open_db(server.url, tmp_path)
    assert db.modified == "2026-09-01T10:00:00Z"
    db.entries_for(["golang.org/x/net"])
    assert server.paths() == ["/index/db.json", "/index/modules.json", "/ID/GO-2023-1988.json"]


def _modify(root: Path, vuln_id: str, modified: str) -> None:
    """Change one entry's ``modified`` as the database's deploy would: entry, index, db."""
    path = root / "ID" / f"{vuln_id}.json"
    entry = json.loads(path.read_bytes())
    entry["modified"] = modified
    path.write_text(json.dumps(entry))
    modules = json.loads((root / "index/modules.json").read_bytes())
    for module in modules:
        for vuln in module["vulns"]:
            if vuln["id"] == vuln_id:
                vuln["modified"] = modified
    (root / "index/modules.json").write_text(json.dumps(modules))
    (root / "index/db.json").write_text(json.dumps({"modified": modified}))


def test_offline_with_a_cache_says_how_old_and_goes_on(vulndb_http, tmp_path: Path) -> None:
    server = vulndb_http()
    online = open_db(server.url, tmp_path).entries_for(["golang.org/x/crypto"])
    state = next(tmp_path.glob("*/state.json"))
    _age(state, hours=3)
    server.close()
    db = open_db(server.url, tmp_path)
    assert db.offline and db.modified == DB_MODIFIED
    assert 3 * 3600 <= db.age_seconds < 3 * 3600 + 60
    assert db.entries_for(["golang.org/x/crypto"]) == online
    with pytest.raises(VulnDbError, match=r"ID/GO-2020-0015.json: not in the cache, and the "
                                          r"database cannot be reached"):
        db.entries_for(["golang.org/x/text"])  # never fetched


def _age(state_file: Path, *, hours: float) -> None:
    """Make the cache's last contact ``hours`` old (state.json's ``reached``)."""
    state = json.loads(state_file.read_bytes())
    state["reached"] = time.time() - hours * 3600
    state_file.write_text(json.dumps(state))


def test_offline_without_a_cache_names_the_url_and_the_cause(vulndb_http,
                                                             tmp_path: Path) -> None:
    server = vulndb_http()
    server.close()
    with pytest.raises(VulnDbError) as caught:
        open_db(server.url, tmp_path)
    assert caught.value.message.startswith(f"vulnerability database {server.url} cannot be "
                                           "reached: ")
    assert "refused" in caught.value.message.lower()
    assert caught.value.exit_code == 6


def test_file_directory_gone_is_offline_with_a_cache(vulndb_data: Path, tmp_path: Path) -> None:
    url = vulndb_data.as_uri()
    open_db(url, tmp_path / "c").entries_for(["golang.org/x/text"])
    vulndb_data.rename(vulndb_data.with_name("moved"))
    db = open_db(url, tmp_path / "c")
    assert db.offline and _ids(db.entries_for(["golang.org/x/text"]))[0] == "GO-2020-0015"
    with pytest.raises(VulnDbError, match=f"{url} cannot be reached: {vulndb_data} is not a "
                                          "directory"):
        open_db(url, tmp_path / "empty")


def test_a_server_error_is_offline_but_a_404_is_an_error(loopback, vulndb_http,
                                                         tmp_path: Path) -> None:
    good = vulndb_http()
    status = {"code": 503}

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status["code"])
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    url = loopback(answer)
    # Fill the cache for ``url`` from the real server's documents.
    cache = tmp_path / vulndb.cache_name(url)
    open_db(good.url, tmp_path).entries_for([])
    next(tmp_path.glob("127.0.0.1-*")).rename(cache)
    assert open_db(url, tmp_path).offline
    status["code"] = 404
    with pytest.raises(VulnDbError, match=r"index/db.json: the server answered 404 \(not "):
        open_db(url, tmp_path)


def test_a_gzip_bomb_is_cut_at_the_cap(loopback, tmp_path: Path) -> None:
    bomb = gzip.compress(b" " * (osv_cap() + 4096))  # some 20 kB on the wire

    def answer(handler: BaseHTTPRequestHandler) -> None:
        body = bomb if handler.path.endswith("modules.json") else gzip.compress(
            (DATA / "index/db.json").read_bytes())
        handler.send_response(200)
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    assert len(bomb) < 100_000
    db = open_db(loopback(answer), tmp_path)
    with pytest.raises(VulnDbError, match="index/modules.json: inflates to more than the "
                                          "8,388,608 bytes gopush reads"):
        db.entries_for(["golang.org/x/net"])


def osv_cap() -> int:
    from gopush.vuln import osv

    return osv.MAX_MODULES_INDEX_BYTES


@pytest.mark.parametrize(("body", "headers", "cause"), [
    (b"x" * 70_000, {"Content-Length": None}, "index/db.json: more than the 65,536 bytes gopush reads"),
    (b"", {"Content-Length": "999999999"}, "999,999,999 bytes declared"),
    (b'{"modified":"now"}', {}, "modified: 'now' is not an RFC 3339 time"),
    (b"not gzip", {"Content-Encoding": "gzip"}, "index/db.json: not valid gzip"),
    (b"{}", {"Content-Encoding": "br"}, "sent in 'br' encoding"),
])
def test_a_bad_answer_is_an_error_naming_it(loopback, tmp_path: Path, body: bytes,
                                            headers: dict[str, str | None], cause: str) -> None:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            if value is not None:  # None: no such header (the body ends with the connection)
                handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
        handler.close_connection = True

    url = loopback(answer)
    with pytest.raises(VulnDbError) as caught:
        open_db(url, tmp_path)
    assert caught.value.message.startswith(f"vulnerability database {url}: ")
    assert cause in caught.value.message


def test_one_deadline_bounds_a_server_that_trickles(loopback, tmp_path: Path) -> None:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.2)

    started = time.monotonic()
    with pytest.raises(VulnDbError, match="cannot be reached: no complete answer within"):
        open_db(loopback(answer), tmp_path, timeout=1.0)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("url", ["http://vuln.go.dev", "ftp://127.0.0.1/db", "vuln.go.dev",
                                 "file://host/dir"])
def test_urls_gopush_does_not_read_are_config_errors(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gopush reads https://HOST"):
        open_db(url, tmp_path)


def test_a_url_with_a_query_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="without a query or fragment"):
        open_db("https://vuln.example/db?token=abc", tmp_path)


def test_credentials_stay_out_of_the_url_shown_and_the_cache_name(vulndb_http,
                                                                  tmp_path: Path) -> None:
    server = vulndb_http()
    url = server.url.replace("http://", "http://user:s3cret-pw@")
    db = open_db(url, tmp_path)
    assert "s3cret-pw" not in db.url and "s3cret-pw" not in repr(db)
    assert vulndb.cache_name(url) == vulndb.cache_name(server.url)
    assert [p.name for p in tmp_path.iterdir()] == [vulndb.cache_name(server.url)]
    server.close()
    with pytest.raises(VulnDbError) as caught:
        open_db(url, tmp_path / "none")
    assert "s3cret-pw" not in caught.value.message


def test_each_database_url_has_its_own_cache(vulndb_http, tmp_path: Path) -> None:
    one, two = vulndb_http(), vulndb_http()
    open_db(one.url, tmp_path).entries_for([])
    two.clear()
    open_db(two.url, tmp_path).entries_for([])
    assert two.paths()[:2] == ["/index/db.json", "/index/modules.json"]


def test_a_damaged_cached_entry_is_fetched_again(vulndb_http, tmp_path: Path) -> None:
    server = vulndb_http()
    open_db(server.url, tmp_path).entries_for(["golang.org/x/text"])
    next(tmp_path.glob("*/ID/GO-2022-1059.json")).write_bytes(b'{"id": "GO-2022-10')
    server.clear()
    entries = open_db(server.url, tmp_path).entries_for(["golang.org/x/text"])
    assert "GO-2022-1059" in _ids(entries)
    assert server.paths() == ["/index/db.json", "/ID/GO-2022-1059.json"]


def test_govulndb_and_the_cache_dir_reach_the_reader(vulndb_http, tmp_path: Path) -> None:
    from gopush.config.vulndb import vulndb_settings

    server = vulndb_http()
    environ = {"HOME": str(tmp_path), "GOVULNDB": server.url,
               "GOPUSH_CACHE_DIR": str(tmp_path / "vc")}
    settings = vulndb_settings(None, environ)
    assert settings.source == "GOVULNDB"
    open_db(settings.url, settings.cache_dir).entries_for(["golang.org/x/text"])
    assert [p.name for p in (tmp_path / "vc").iterdir()] == [vulndb.cache_name(server.url)]
    file_db = open_db(vulndb_settings(None, {**environ, "GOVULNDB": DATA.as_uri()}).url,
                      tmp_path / "vc")
    assert file_db.modified == DB_MODIFIED


def test_entries_missing_from_the_cache_are_fetched_alone(vulndb_http, tmp_path: Path) -> None:
    server = vulndb_http()
    open_db(server.url, tmp_path).entries_for(["golang.org/x/net"])
    gone = sorted(X_NET)[:5]
    for vuln_id in gone:
        next(tmp_path.glob(f"*/ID/{vuln_id}.json")).unlink()
    server.clear()
    entries = open_db(server.url, tmp_path).entries_for(["golang.org/x/net"])
    assert set(X_NET) <= set(_ids(entries))
    assert server.paths()[0] == "/index/db.json"
    assert sorted(server.paths()[1:]) == [f"/ID/{i}.json" for i in gone]


def test_an_older_index_written_late_does_not_pass_for_the_newer(vulndb_data: Path,
                                                                 tmp_path: Path) -> None:
    """Two runs share the cache while the database moves: one fetched index/modules.json
    before GO-2022-1059 was added and keeps it after the other kept the newer index, whose
    state.json write lands last. The next run at the newer modified still finds the entry
    (one modules.json named in state.json read the older index as the newer's)."""
    index = vulndb_data / "index/modules.json"
    newer = index.read_bytes()
    modules = json.loads(newer)
    for module in modules:
        module["vulns"] = [v for v in module["vulns"] if v["id"] != "GO-2022-1059"]
    older, older_modified = json.dumps(modules).encode(), "2026-01-01T00:00:00Z"

    cache = tmp_path / "cache"
    found = open_db(vulndb_data.as_uri(), cache).entries_for(["golang.org/x/text"])
    assert "GO-2022-1059" in _ids(found)
    root = next(cache.iterdir())
    late = vulndb._Cache(root)
    late.keep_modules_index(older, older_modified)  # the run that read the older index
    state = json.loads((root / "state.json").read_bytes())
    state["modules_for"] = DB_MODIFIED  # the other run's state.json, written last
    (root / "state.json").write_text(json.dumps(state))
    again = open_db(vulndb_data.as_uri(), cache).entries_for(["golang.org/x/text"])
    assert "GO-2022-1059" in _ids(again)
