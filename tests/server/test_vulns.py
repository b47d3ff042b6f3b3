"""Vulnerability scanning in `gopush serve --vuln-db`: a real server, a package pushed by the
official cloudsmith-cli, its `vulnerabilities` command showing the findings, the real go
refused a quarantined version with the reason and served it once the database withdraws the
entry or the quarantine is off; the database unreachable or hanging; who may read scans.

The database is the test database (tests/vulndb/data/, real advisories) served by the
loopback gzip server, or as file://. The module requires golang.org/x/text v0.3.7 and
imports golang.org/x/text/language: GO-2022-1059 (fixed in v0.3.8) is an imported finding.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, Served, api_push, cloudsmith, gopush_build
from gitrepo import GitRepo
from gotool import GoError, GoOracle

pytestmark = pytest.mark.both_databases

MODULE = "example.com/app"
ENTRY = "GO-2022-1059"  # golang.org/x/text/language, fixed in 0.3.8
GO_MOD = f"module {MODULE}\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.7\n"
APP_GO = ('package app\n\nimport (\n\t"fmt"\n\n\t"golang.org/x/text/language"\n)\n\n'
          'func Tag() string { return fmt.Sprint(language.English) }\n')


def app_module(tmp_path: Path, tag: str = "v1.0.0") -> dict[str, Any]:
    """Build example.com/app at ``tag`` with `gopush build`; return its JSON document."""
    repo = GitRepo(tmp_path / f"repo-{tag}")
    repo.commit(f"release {tag}", {"go.mod": GO_MOD, "app.go": APP_GO, "LICENSE": "MIT\n"})
    repo.git("tag", tag)
    return gopush_build(repo.path, tag, tmp_path / f"dist-{tag}")


def api(served: Served, path: str, key: str | None = KEY, **params: Any) -> httpx.Response:
    """GET an API path of ``served`` (with the API key unless ``key`` is None)."""
    headers = {"X-Api-Key": key} if key else {}
    return httpx.get(f"{served.url}{path}", headers=headers, params=params, timeout=30)


def scan_of(served: Served, repo: str, slug: str) -> dict[str, Any]:
    """Return the package's scan as the read endpoint serves it (as the CLI reads it: the
    list, then its first item; asked again if a rescan replaced it in between)."""
    for _ in range(5):
        listed = api(served, f"/vulnerabilities/{repo}/{slug}/")
        assert listed.status_code == 200, listed.text
        identifier = listed.json()[0]["identifier"]
        read = api(served, f"/vulnerabilities/{repo}/{slug}/{identifier}/")
        if read.status_code != 404 or "scan is now" not in read.text:
            break
    assert read.status_code == 200, read.text
    return dict(read.json())


def wait_for(what: Callable[[], Any], timeout: float = 60, message: str = "") -> Any:
    """Return ``what()`` once it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"not within {timeout}s: {message}")


def withdraw(db: Path, entry: str, when: str = "2026-09-01T00:00:00Z") -> None:
    """Mark ``entry`` withdrawn in the database directory ``db``, as vulndb publishes it:
    the entry's ``withdrawn`` and ``modified``, its modules.json line, and db.json."""
    path = db / "ID" / f"{entry}.json"
    doc = json.loads(path.read_bytes())
    doc.update(withdrawn=when, modified=when)
    path.write_text(json.dumps(doc, separators=(",", ":")))
    index_changed(db, entry, when)


def index_changed(db: Path, entry: str, when: str) -> None:
    """Make the indexes of the database at ``db`` say ``entry`` changed at ``when``: its
    modules.json lines, and db.json."""
    modules = json.loads((db / "index" / "modules.json").read_bytes())
    for module in modules:
        for vuln in module["vulns"]:
            if vuln["id"] == entry:
                vuln["modified"] = when
    (db / "index" / "modules.json").write_text(json.dumps(modules, separators=(",", ":")))
    (db / "index" / "db.json").write_text(json.dumps({"modified": when}))


def go_refusal(go: GoOracle, served: Served, repo: str, version: str = "v1.0.0") -> str:
    """Return what go says when it cannot download MODULE@version (fail if it can)."""
    with pytest.raises(GoError) as refused:
        go.download(MODULE, version, GOPROXY=served.goproxy(repo))
    return str(refused.value)


def test_cli_shows_findings_go_refused_then_served_when_withdrawn(
        cloudsmith_cli: Path, serve: Any, go: GoOracle, vulndb_http: Any,
        vulndb_data: Path, tmp_path: Path) -> None:
    """The official CLI prints the scan; go is refused the quarantined version with the
    reason (403), list and @latest leave it out; once the database withdraws the entry
    and its modified moves, the refresh rescans and go downloads it, with gopush build's h1."""
    db = vulndb_http(vulndb_data)
    served = serve("--vuln-db", db.url, "--vuln-refresh", "0.02", "--quarantine", "imported")
    built = app_module(tmp_path)
    pushed = cloudsmith(cloudsmith_cli, served, "push", "go", "acme/gomods", built["zip"],
                        "--wait-interval", "0.2")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr  # pushing is still allowed
    slug = api(served, "/packages/acme/gomods/").json()[0]["slug"]

    shown = cloudsmith(cloudsmith_cli, served, "vulnerabilities", f"acme/gomods/{slug}", "-A")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert ENTRY in shown.stdout and "golang.org/x/text" in shown.stdout
    assert "(imported)" in shown.stdout and ">= v0.3.8" in shown.stdout
    as_json = cloudsmith(cloudsmith_cli, served, "vulnerabilities", f"acme/gomods/{slug}",
                         "-F", "json")
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    data = json.loads(as_json.stdout)["data"]
    results = {r["vulnerability_id"]: r for r in data["scans"][0]["results"]}
    assert results[ENTRY]["fixed_version"]["version"] == "v0.3.8"
    assert results[ENTRY]["affected_version"]["version"] == "v0.3.7"
    assert data["num_vulnerabilities"] == len(results)
    assert f"Total Vulnerabilities: {len(results)}" in shown.stdout

    said = go_refusal(go, served, "acme/gomods")
    print(said)
    assert "403 Forbidden" in said and ENTRY in said, said
    assert "in golang.org/x/text@v0.3.7 (imported: golang.org/x/text/language)" in said, said
    assert "Upgrade golang.org/x/text to v0.3.8." in said, said
    base = f"/go/acme/gomods/{MODULE}/@"
    assert "v1.0.0" not in api(served, base + "v/list", key=None).text
    assert api(served, base + "latest", key=None).status_code == 404
    for ext in ("info", "mod", "zip"):
        assert api(served, f"{base}v/v1.0.0.{ext}", key=None).status_code == 403

    withdraw(vulndb_data, ENTRY)
    wait_for(lambda: ENTRY not in json.dumps(scan_of(served, "acme/gomods", slug)["scans"]),
             message="the rescan after the database's modified moved")
    info = go.download(MODULE, "v1.0.0", GOPROXY=served.goproxy("acme/gomods"))
    assert info["Sum"] == built["sum"]
    assert "v1.0.0" in api(served, base + "v/list", key=None).text


def test_quarantine_off_serves_the_version_again(serve: Any, go: GoOracle, vulndb_data: Path,
                                                 tmp_path: Path) -> None:
    """The same data directory, restarted without --quarantine: go gets the version (the
    scan is kept: the findings are still listed)."""
    url = vulndb_data.as_uri()
    data = tmp_path / "data"
    served = serve("--vuln-db", url, "--quarantine", "any", data=data)
    built = app_module(tmp_path)
    package = api_push(served.url, "acme/gomods", built["zip"]).json()
    assert package["is_sync_completed"], package
    assert "403 Forbidden" in go_refusal(go, served, "acme/gomods")
    served.stop()

    again = serve("--vuln-db", url, data=data)
    info = go.download(MODULE, "v1.0.0", GOPROXY=again.goproxy("acme/gomods"))
    assert info["Sum"] == built["sum"]
    assert scan_of(again, "acme/gomods", package["slug"])["num_vulnerabilities"] > 0


def test_database_missing_publishes_unscanned_then_scans_when_it_appears(
        serve: Any, tmp_path: Path) -> None:
    """A database that cannot be read: the package is published at once, its scan says why
    (and so does the log); once the database is there, the refresh scans it."""
    import shutil

    from vulndb_server import DATA

    missing = tmp_path / "later"
    served = serve("--vuln-db", missing.as_uri(), "--vuln-refresh", "0.02",
                   "--quarantine", "imported")
    built = app_module(tmp_path)
    started = time.monotonic()
    package = api_push(served.url, "acme/gomods", built["zip"]).json()
    took = time.monotonic() - started
    assert package["is_sync_completed"], package
    scan = scan_of(served, "acme/gomods", package["slug"])
    assert scan["status"] == "failed" and "cannot be reached" in scan["status_reason"], scan
    assert api(served, f"/go/acme/gomods/{MODULE}/@v/v1.0.0.info").status_code == 200
    shutil.copytree(DATA, missing)
    found = wait_for(lambda: (s := scan_of(served, "acme/gomods", package["slug"]))["status"]
                     == "scanned" and s, message="the scan once the database appeared")
    assert any(r["vulnerability_id"] == ENTRY for r in found["scans"][0]["results"])
    assert api(served, f"/go/acme/gomods/{MODULE}/@v/v1.0.0.info").status_code == 403
    served.stop()
    assert "cannot be reached" in served.stderr()
    print(f"published unscanned in {took:.2f} s")


def test_hanging_database_is_given_up_after_the_timeout(serve: Any, tmp_path: Path) -> None:
    """A database that accepts connections and never answers costs a package at most
    --vuln-timeout seconds (plus processing); the package is published unscanned."""
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)  # never accepted: connects succeed, no byte ever comes back
    try:
        served = serve("--vuln-db", f"http://127.0.0.1:{hang.getsockname()[1]}",
                       "--vuln-timeout", "2", "--vuln-refresh", "600")
        built = app_module(tmp_path)
        started = time.monotonic()
        package = api_push(served.url, "acme/gomods", built["zip"]).json()
        took = time.monotonic() - started
    finally:
        hang.close()
    assert package["is_sync_completed"], package
    assert took < 2 + 15, took  # the timeout plus a generous margin for a loaded machine
    scan = scan_of(served, "acme/gomods", package["slug"])
    assert scan["status"] == "failed", scan
    print(f"published after {took:.2f} s with a hanging database (--vuln-timeout 2)")


def test_unauthenticated_clients_read_no_scan(serve: Any, vulndb_data: Path,
                                              tmp_path: Path) -> None:
    """Without the API key every scan endpoint answers the same 401, for a public, a
    private and an unknown repository; with it, unknown packages and pages are 404 and a
    page is one item whatever page_size asks."""
    served = serve("--vuln-db", vulndb_data.as_uri(), "--repo", "acme/private:private",
                   "--read-token", "acme/private=reader", "--quarantine", "any")
    built = app_module(tmp_path)
    slugs = {repo: api_push(served.url, repo, built["zip"]).json()["slug"]
             for repo in ("acme/gomods", "acme/private")}
    refused = set()
    for repo, slug in [*slugs.items(), ("acme/nothing", "x")]:
        listed = scan_of(served, repo, slug) if repo != "acme/nothing" else None
        ident = listed["identifier"] if listed else "scan-1"
        for path in (f"/vulnerabilities/{repo}/{slug}/", f"/vulnerabilities/{repo}/{slug}/{ident}/"):
            for key in (None, "wrong-key"):
                reply = api(served, path, key=key)
                assert reply.status_code == 401, (path, reply.text)
                assert MODULE not in reply.text and ENTRY not in reply.text
                refused.add(reply.status_code)
            basic = httpx.get(f"{served.url}{path}", auth=("token", "reader"), timeout=30)
            assert basic.status_code == 401  # a read token reads GOPROXY, not the API
    assert refused == {401}
    private = slugs["acme/private"]
    assert api(served, "/vulnerabilities/acme/private/nope/").status_code == 404
    assert api(served, "/vulnerabilities/acme/nothing/x/").status_code == 404
    assert api(served, f"/vulnerabilities/acme/private/{private}/scan-999999/").status_code == 404
    assert api(served, f"/vulnerabilities/acme/private/{private}/", page="2").status_code == 404
    assert api(served, f"/vulnerabilities/acme/private/{private}/",
               page_size="1" + "0" * 30).status_code == 422
    one = api(served, f"/vulnerabilities/acme/private/{private}/", page_size="1000")
    assert one.status_code == 200 and len(one.json()) == 1

    # a quarantined version of a private repository: the reason only to those who may read
    info = f"/go/acme/private/{MODULE}/@v/v1.0.0.info"
    hidden = api(served, info, key=None)
    assert hidden.status_code == 401 and ENTRY not in hidden.text
    told = httpx.get(f"{served.url}{info}", auth=("token", "reader"), timeout=30)
    assert told.status_code == 403 and ENTRY in told.text
    public = api(served, f"/go/acme/gomods/{MODULE}/@v/v1.0.0.info", key=None)
    assert public.status_code == 403 and ENTRY in public.text


@pytest.mark.sqlite_only  # writes a schema-0 SQLite file
def test_schema_migration_keeps_an_old_registry(serve: Any, tmp_path: Path) -> None:
    """A data directory written before scans existed (schema 0) opens: its rows stay, the
    scan tables are added, user_version becomes 1; one from a newer gopush is refused."""
    from gopush.server import db as serverdb

    data = tmp_path / "old"
    data.mkdir()
    with sqlite3.connect(data / "registry.sqlite3") as old:
        old.executescript(serverdb.SCHEMA)
        old.execute("INSERT INTO repos (owner, name, created_at) VALUES ('acme', 'kept', "
                    "'2026-01-01T00:00:00Z')")
    served = serve("--vuln-db", (tmp_path / "nodb").as_uri(), data=data)
    assert "acme/kept" in {r["repository"] for r in served.doc["repositories"]}
    served.stop()
    with sqlite3.connect(data / "registry.sqlite3") as migrated:
        assert migrated.execute("PRAGMA user_version").fetchone()[0] == serverdb.SCHEMA_VERSION
        tables = {r[0] for r in migrated.execute("SELECT name FROM sqlite_master")}
        assert {"vuln_scans", "vuln_db"} <= tables
        migrated.execute(f"PRAGMA user_version = {serverdb.SCHEMA_VERSION + 1}")
    proc = subprocess.run([sys.executable, "-m", "gopush", "serve", "--port", "0", "--data",
                           str(data)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 3, proc.stderr
    assert "written by a newer gopush" in proc.stderr


def test_scans_follow_the_bytes_a_version_serves(tmp_path: Path) -> None:
    """In-process: a scan counts only for the zip a version serves (keyed by its h1:); a
    deleted package's scan quarantines nothing and is forgotten once old enough; a scan of
    a zip being published (not yet a version) is kept."""
    from conftest import stored_upload

    from gopush.modzip.create import create_zip
    from gopush.modzip.files import DataFile
    from gopush.server.storage import Storage
    from gopush.server.validate import check_upload
    from gopush.server.vulnstore import ModuleInputs, VulnStore
    from gopush.vuln.scan import Finding, Requirements

    out = tmp_path / "app.zip"
    create_zip(out, MODULE, "v1.0.0", [DataFile("go.mod", GO_MOD.encode()),
                                       DataFile("app.go", APP_GO.encode())])
    storage = Storage(tmp_path / "data")
    store = VulnStore(storage.db)
    accepted = check_upload(out)
    finding = Finding(ENTRY, (), "golang.org/x/text", "v0.3.7", "v0.3.8", "s", True,
                      ("golang.org/x/text/language",))
    inputs = ModuleInputs(Requirements((), "1.22", False), ("golang.org/x/text/language",))
    scan = store.save("acme", "mods", MODULE, "v1.0.0", accepted.sum, inputs=inputs,
                      findings=[finding], reason=None, db_modified="2026-08-13T09:15:18Z")
    repo = storage.ensure_repo("acme", "mods")
    assert store.quarantined(repo, MODULE, "imported") == set()  # not published yet
    assert store.forget_unserved(older_than=3600) == 0  # young: being published
    slot = stored_upload(storage, out.read_bytes())
    package, _ = storage.publish(repo, slot, accepted, republish=False)
    assert store.quarantined(repo, MODULE, "imported") == {"v1.0.0"}
    assert store.quarantined(repo, MODULE, "") == set()
    assert store.quarantining(repo, MODULE, "v1.0.0", "any") == scan
    assert store.forget_unserved(older_than=-2) == 0  # served: kept
    storage.delete_package(package)
    assert store.quarantined(repo, MODULE, "any") == set()
    assert store.forget_unserved(older_than=-2) == 1  # (times are to the second)
    assert store.scan("acme", "mods", MODULE, "v1.0.0", accepted.sum) is None
