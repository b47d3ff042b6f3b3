"""`gopush serve --database URL`: SQLite or PostgreSQL behind one interface, a versioned
schema migrated forward at start (or alone with --migrate-only), a newer one refused, the
PostgreSQL password never shown."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import KEY, api_push
from pgdatabases import Databases
from test_packages_manage import module_zip

from gopush.errors import ExitCode
from gopush.server.db import SCHEMA, SCHEMA_VERSION, _postgres_ddl, digest

pytestmark = pytest.mark.both_databases


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gopush", "serve", *args],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, **(env or {})})


def _database_url(db_backend: str, pg_databases: Databases, data: Path) -> str:
    return (pg_databases.new() if db_backend == "postgresql"
            else f"sqlite:///{data / 'elsewhere.sqlite3'}")


def _schema_version(url: str) -> int:
    if url.startswith("sqlite:"):
        with sqlite3.connect(urlsplit(url).path[1:]) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        assert row is not None
        return int(row[0])


def _set_schema_version(url: str, version: int) -> None:
    if url.startswith("sqlite:"):
        with sqlite3.connect(urlsplit(url).path[1:]) as conn:
            conn.execute(f"PRAGMA user_version = {version}")
        return
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (version,))


def test_migrate_only_migrates_and_serves_nothing(tmp_path: Path, db_backend: str,
                                                  pg_databases: Databases) -> None:
    """--migrate-only brings a new database to this gopush's schema and exits 0 without
    binding a port; the password of a PostgreSQL URL appears nowhere in what it prints."""
    url = _database_url(db_backend, pg_databases, tmp_path)
    done = _serve("--json", "--data", str(tmp_path / "data"), "--migrate-only",
                  env={"GOPUSH_SERVE_DATABASE": url})
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["schema_version"] == SCHEMA_VERSION == _schema_version(url)
    password = urlsplit(url).password
    if password:
        assert password not in done.stdout + done.stderr
        assert printed["database"] == url.replace(f"gopush:{password}@", "")  # no user info


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path, db_backend: str,
                                                      pg_databases: Databases) -> None:
    """A database a newer gopush wrote (a schema version beyond ours) is refused: exit 3,
    the message says why and names the database without its password; nothing changes."""
    url = _database_url(db_backend, pg_databases, tmp_path)
    assert _serve("--data", str(tmp_path / "data"), "--migrate-only", "--database",
                  url).returncode == 0
    _set_schema_version(url, SCHEMA_VERSION + 1)
    for args in (["--migrate-only"], ["--port", "0"]):
        done = _serve("--data", str(tmp_path / "data"), "--database", url, *args)
        assert done.returncode == ExitCode.CONFIG, done.stderr
        assert "written by a newer gopush" in done.stderr and "Traceback" not in done.stderr
        assert f"schema {SCHEMA_VERSION + 1}" in done.stderr
        password = urlsplit(url).password
        assert not password or password not in done.stderr
    assert _schema_version(url) == SCHEMA_VERSION + 1


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_a_schema_0_postgresql_database_is_migrated_forward(
        tmp_path: Path, db_backend: str, pg_databases: Databases, serve: Any) -> None:
    """A PostgreSQL database at schema 0 with a --read-token seed gets every migration at
    start; migration 2 turns the seed into an entitlement (its digest only), which reads."""
    import psycopg

    url = pg_databases.new()
    with psycopg.connect(url) as conn:
        conn.execute(_postgres_ddl(SCHEMA))
        conn.execute("CREATE TABLE schema_version (version BIGINT NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (0)")
        conn.execute("INSERT INTO repos VALUES ('acme', 'private', 1, NULL, "
                     "'2024-01-01T00:00:00Z')")
        conn.execute("INSERT INTO read_tokens (owner, name, token_sha256) VALUES "
                     "('acme', 'private', %s)", (digest("old-reader-token"),))
    served = serve(data=tmp_path / "data", env={"GOPUSH_SERVE_DATABASE": url})
    assert _schema_version(url) == SCHEMA_VERSION
    listed = httpx.get(f"{served.url}/entitlements/acme/private/", headers={"X-Api-Key": KEY})
    assert [e["name"] for e in listed.json()] == ["read-token-1"]
    pushed = api_push(served.url, "acme/private",
                      module_zip(tmp_path, "v1.0.0", "// v1", "example.com/m"))
    assert pushed.status_code == 201, pushed.text
    info = httpx.get(served.goproxy("acme/private") + "example.com/m/@v/v1.0.0.info",
                     auth=("token", "old-reader-token"))
    assert info.status_code == 200 and info.json()["Version"] == "v1.0.0"


@pytest.mark.parametrize("url", [
    "mysql://u:hunter2-secret@db/x", "sqlite://host/x",
    "postgresql://gopush:hunter2-secret@127.0.0.1:1/none",
    # libpq's own form, not a URL: nothing in it can be told apart as the password
    "host=127.0.0.1 port=1 user=gopush password=hunter2-secret",
    # a '%' not percent-encoded in the password: libpq's reason quoted it
    "postgresql://gopush:hunter2-secret%zz@127.0.0.1:1/none",
    "postgresql://gopush:hunter2-secret@[::1/none",  # urlsplit: "Invalid IPv6 URL"
    "postgresql://gopush:hunter2-secret@127.0.0.1:99999/none",  # a port out of range
])
def test_an_unusable_database_url_is_a_config_error(tmp_path: Path, url: str) -> None:
    """An unknown scheme, a SQLite URL with a host, a PostgreSQL server that does not answer,
    a value that is no well-formed URL or one libpq cannot read: exit 3, the URL named
    without its password (or not at all), no traceback, no data directory made."""
    done = _serve("--port", "0", "--data", str(tmp_path / "data"), "--database", url)
    assert not (tmp_path / "data").exists()
    assert done.returncode == ExitCode.CONFIG, done.stderr
    assert "Traceback" not in done.stderr and "hunter2-secret" not in done.stderr
    assert "--database" in done.stderr or "cannot reach the database" in done.stderr


def test_start_names_the_database_without_its_password(serve: Any, db_backend: str) -> None:
    """The start line and --json name the database; a PostgreSQL URL without its user
    information (server.redaction: no password)."""
    served = serve()
    shown = served.doc["database"]
    if db_backend == "sqlite":
        assert shown.endswith("registry.sqlite3")
    else:
        assert shown.startswith("postgresql://127.0.0.1:") and "@" not in shown


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_postgresql_down_then_back_loses_nothing_acknowledged(
        tmp_path: Path, db_backend: str, serve: Any) -> None:
    """PostgreSQL killed (immediate shutdown, as a crash) under a running server and
    started again: the next request is answered (dead pooled connections are replaced,
    not handed out). Killed for longer: /readyz says unavailable (503), GOPROXY and API
    requests get 503 with Retry-After (which clients retry; was a 500 and a traceback per
    request) and the server keeps running; once the database is back, with no restart of
    gopush, the version pushed before downloads with its bytes and a new push works."""
    from pgserver import PostgresServer

    pg = PostgresServer.start()  # its own cluster: the session's one is not to be killed
    try:
        served = serve(data=tmp_path / "data", env={"GOPUSH_SERVE_DATABASE": pg.url})
        pushed = module_zip(tmp_path, "v1.0.0", "// one", "example.com/m")
        before = api_push(served.url, "acme/gomods", pushed)
        assert before.status_code == 201, before.text
        info = served.goproxy("acme/gomods") + "example.com/m/@v/v1.0.0.info"
        assert httpx.get(info).status_code == 200
        pg.kill()  # and back before any request: the pool's dead connections cost nothing
        pg.start_again()
        assert httpx.get(info).status_code == 200
        assert httpx.get(f"{served.url}/readyz").status_code == 200
        pg.kill()
        assert httpx.get(f"{served.url}/readyz").status_code == 503
        time.sleep(2.5)  # the queue is looked at every second meanwhile
        for reply in (httpx.get(info),
                      httpx.get(f"{served.url}/packages/acme/gomods/", headers={"X-Api-Key": KEY})):
            assert reply.status_code == 503, reply.text
            assert reply.headers["retry-after"] == "5"
            assert reply.json() == {
                "detail": "The registry's database cannot be reached; try again shortly."}
        assert served.proc.poll() is None
        pg.start_again()
        assert httpx.get(f"{served.url}/readyz").status_code == 200
        zip_url = served.goproxy("acme/gomods") + "example.com/m/@v/v1.0.0.zip"
        assert httpx.get(zip_url).content == pushed.read_bytes()
        after = api_push(served.url, "acme/gomods",
                         module_zip(tmp_path, "v1.0.1", "// two", "example.com/m"))
        assert after.status_code == 201, after.text
        served.stop()
        log = served.stderr()
        assert "Traceback" not in log  # one line per refused request, one for the queue
        assert log.count("the queue cannot be read") == 1, log
    finally:
        pg.stop()


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_an_instance_older_than_the_schema_leaves_the_rotation(
        tmp_path: Path, db_backend: str, pg_databases: Databases, serve: Any) -> None:
    """A newer gopush migrates the database while this one serves (`--migrate-only` of the
    next release, here its schema_version row): /readyz turns 503 naming both versions, so
    the balancer stops sending requests this gopush no longer understands (it said ready);
    back at this gopush's schema, ready again."""
    import psycopg

    url = pg_databases.new()
    served = serve(data=tmp_path / "data", env={"GOPUSH_SERVE_DATABASE": url})
    assert httpx.get(f"{served.url}/readyz").status_code == 200
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    ready = httpx.get(f"{served.url}/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "reason": (
        f"The database is at schema {SCHEMA_VERSION + 1}, newer than this gopush knows "
        f"({SCHEMA_VERSION}): upgrade this instance.")}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION,))
    assert httpx.get(f"{served.url}/readyz").status_code == 200


@pytest.mark.sqlite_only
def test_a_data_directory_named_with_url_characters_keeps_its_database(tmp_path: Path) -> None:
    """The default database is a sqlite:/// URL made from --data: a directory named with
    '#', '?', '%' or a space still gets its registry.sqlite3 inside it (percent-encoded)."""
    from gopush.server.storage import Storage

    data = tmp_path / "a#b?c%d e"
    storage = Storage(data)
    storage.ensure_repo("acme", "mods")
    storage.db.close()
    assert (data / "registry.sqlite3").is_file()
    assert [r.full_name for r in Storage(data).repos()] == ["acme/mods"]
