"""`gopush serve --vuln-db` against a database that breaks or lies, and clients that try to
get around the quarantine: a real server subprocess, the test database (real advisories)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import api_push
from test_vulns import ENTRY, MODULE, api, app_module, index_changed, scan_of, wait_for

LATER = "2026-10-01T00:00:00Z"


def break_entry(db: Path, entry: str, when: str = LATER) -> None:
    """Make the database at ``db`` say ``entry`` changed at ``when`` while its file is not
    there (a mirror that synced the index before the entries): db.json moves too."""
    (db / "ID" / f"{entry}.json").unlink()
    index_changed(db, entry, when)


def test_a_broken_rescan_keeps_the_quarantine(serve: Any, vulndb_data: Path,
                                             tmp_path: Path) -> None:
    """A quarantined version stays quarantined when the rescan after the database moved
    cannot read an entry: the scan that failed does not replace the one that held."""
    served = serve("--vuln-db", vulndb_data.as_uri(), "--vuln-refresh", "0.02",
                   "--quarantine", "imported")
    package = api_push(served.url, "acme/gomods", app_module(tmp_path)["zip"]).json()
    info = f"/go/acme/gomods/{MODULE}/@v/v1.0.0.info"
    assert api(served, info, key=None).status_code == 403
    first = scan_of(served, "acme/gomods", package["slug"])

    break_entry(vulndb_data, ENTRY)
    wait_for(lambda: "ID/GO-2022-1059.json" in (scan_of(served, "acme/gomods",
                                                        package["slug"])["status_reason"]
                                                or ""),
             message="the rescan that fails")
    scan = scan_of(served, "acme/gomods", package["slug"])
    assert scan["status"] == "scanned", scan
    assert scan["num_vulnerabilities"] == first["num_vulnerabilities"], scan
    assert scan["database"]["modified"] == first["database"]["modified"], scan
    refused = api(served, info, key=None)
    assert refused.status_code == 403 and ENTRY in refused.text, refused.text
    assert "v1.0.0" not in api(served, f"/go/acme/gomods/{MODULE}/@v/list", key=None).text


def test_database_credentials_stay_out_of_the_data_directory(serve: Any,
                                                             tmp_path: Path) -> None:
    """A database URL with a password: neither the log nor any file the server writes
    (its SQLite database included) holds the password."""
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens: every check fails, and is recorded
    data = tmp_path / "data"
    served = serve("--vuln-db", f"https://alice:Pa55-word@127.0.0.1:{port}/db",
                   "--vuln-refresh", "0.02", "--vuln-timeout", "1", data=data)
    wait_for(lambda: any(b"cannot be reached" in p.read_bytes() for p in data.glob("*.sqlite3*")),
             message="a failed check of the database recorded")
    served.stop()
    assert "Pa55-word" not in served.stderr()
    holding = [p for p in data.rglob("*") if p.is_file() and b"Pa55-word" in p.read_bytes()]
    assert holding == []


def test_a_database_rolled_back_releases_nothing(serve: Any, vulndb_data: Path,
                                                 tmp_path: Path) -> None:
    """The database answers an older state (db.json's modified goes back, the entry not
    yet in the index: a stale mirror): the quarantined version stays quarantined, and the
    database's status says why it was not rescanned."""
    served = serve("--vuln-db", vulndb_data.as_uri(), "--vuln-refresh", "0.02",
                   "--quarantine", "imported")
    package = api_push(served.url, "acme/gomods", app_module(tmp_path)["zip"]).json()
    info = f"/go/acme/gomods/{MODULE}/@v/v1.0.0.info"
    assert api(served, info, key=None).status_code == 403

    modules = json.loads((vulndb_data / "index" / "modules.json").read_bytes())
    for module in modules:
        module["vulns"] = [v for v in module["vulns"] if v["id"] != ENTRY]
    (vulndb_data / "index" / "modules.json").write_text(json.dumps(modules))
    (vulndb_data / "index" / "db.json").write_text(json.dumps({"modified": "2022-06-01T00:00:00Z"}))
    data, first = served.data, scan_of(served, "acme/gomods", package["slug"])["identifier"]
    wait_for(lambda: any(b"older than the" in p.read_bytes() for p in data.glob("*.sqlite3*"))
             or scan_of(served, "acme/gomods", package["slug"])["identifier"] != first,
             message="a refresh that saw the older database")
    scan = scan_of(served, "acme/gomods", package["slug"])
    assert ENTRY in json.dumps(scan["scans"]), scan
    refused = api(served, info, key=None)
    assert refused.status_code == 403 and ENTRY in refused.text, refused.text


def test_a_replace_directive_does_not_lift_the_quarantine(serve: Any, vulndb_data: Path,
                                                          tmp_path: Path) -> None:
    """An uploader adds `replace golang.org/x/text v0.3.7 => golang.org/x/text v0.3.8`:
    go ignores a dependency's replace directives, so everyone requiring the module builds
    with v0.3.7; the version is quarantined for it all the same."""
    from conftest import gopush_build
    from gitrepo import GitRepo
    from test_vulns import APP_GO, GO_MOD

    repo = GitRepo(tmp_path / "repo")
    replaced = GO_MOD + "\nreplace golang.org/x/text v0.3.7 => golang.org/x/text v0.3.8\n"
    repo.commit("release", {"go.mod": replaced, "app.go": APP_GO, "LICENSE": "MIT\n"})
    repo.git("tag", "v1.0.0")
    built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    served = serve("--vuln-db", vulndb_data.as_uri(), "--quarantine", "imported")
    package = api_push(served.url, "acme/gomods", built["zip"]).json()
    refused = api(served, f"/go/acme/gomods/{MODULE}/@v/v1.0.0.info", key=None)
    assert refused.status_code == 403, refused.text
    assert f"{ENTRY} (CVE-2022-32149, GHSA-69ch-w2m2-3vjp) in golang.org/x/text@v0.3.7" \
        in refused.text, refused.text
    assert scan_of(served, "acme/gomods", package["slug"])["num_imported"] >= 1


def test_an_import_behind_megabytes_of_comment_is_not_hidden(serve: Any, vulndb_data: Path,
                                                             tmp_path: Path) -> None:
    """app.go opens with 8 MiB of comment, then imports golang.org/x/text/language (go
    compiles it): its imports are past what the scan reads, so they count as unknown,
    and --quarantine imported holds the version (it served it as "required only")."""
    from conftest import gopush_build
    from gitrepo import GitRepo
    from test_vulns import APP_GO, GO_MOD

    from gopush.vuln.imports import MAX_SOURCE_BYTES

    repo = GitRepo(tmp_path / "repo")
    padded = "// padding\n" * (MAX_SOURCE_BYTES // 11 + 1) + APP_GO
    repo.commit("release", {"go.mod": GO_MOD, "app.go": padded, "LICENSE": "MIT\n"})
    repo.git("tag", "v1.0.0")
    built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    served = serve("--vuln-db", vulndb_data.as_uri(), "--quarantine", "imported")
    api_push(served.url, "acme/gomods", built["zip"]).json()
    refused = api(served, f"/go/acme/gomods/{MODULE}/@v/v1.0.0.info", key=None)
    assert refused.status_code == 403, refused.text
    assert ENTRY in refused.text, refused.text


def test_the_upstream_does_not_list_a_quarantined_version(serve: Any, vulndb_data: Path,
                                                          tmp_path: Path) -> None:
    """A repository with an --upstream that holds the same version: the quarantined
    version stays out of `list` and `@latest`, which the upstream's answers brought back."""
    built = app_module(tmp_path)
    upstream = serve("--repo", "acme/origin")
    api_push(upstream.url, "acme/origin", built["zip"])
    mirror = serve("--repo", "acme/mirror", "--upstream",
                   f"acme/mirror={upstream.goproxy('acme/origin')}",
                   "--vuln-db", vulndb_data.as_uri(), "--quarantine", "imported")
    api_push(mirror.url, "acme/mirror", built["zip"])
    base = f"/go/acme/mirror/{MODULE}/@"
    assert api(mirror, base + "v/v1.0.0.info", key=None).status_code == 403
    assert "v1.0.0" not in api(mirror, base + "v/list", key=None).text
    latest = api(mirror, base + "latest", key=None)
    assert latest.status_code == 404, latest.text
