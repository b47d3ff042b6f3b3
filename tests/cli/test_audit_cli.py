"""`gopush audit` as a user runs it: real git checkouts, zips and GOPROXY layouts from
`gopush build`, against the test database (real advisories, tests/vulndb/data/) by file://
and by a loopback HTTP server with gzip.

The expected findings come from the advisories' published ranges: golang.org/x/net v0.6.0 is
affected by GO-2023-1571 (http2, http2/hpack; fixed 0.7.0), GO-2023-1988 (html; fixed 0.13.0)
and GO-2023-2102 (http2; fixed 0.17.0), and by none of GO-2022-0969 and GO-2023-1495 (fixed
before it) or GO-2026-4559 (introduced at 0.50.0).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gitrepo import GitRepo
from vulndb_server import DATA

from gopush.errors import ExitCode

DB = f"file://{DATA}"
MODULE = "example.com/app"


def gomod(net: str = "v0.6.0", go: str = "1.22") -> str:
    return f"module {MODULE}\n\ngo {go}\n\nrequire golang.org/x/net {net}\n"


HPACK_MAIN = ('package main\n\nimport (\n\t"fmt"\n\n\t"golang.org/x/net/http2/hpack"\n)\n\n'
              'func main() { fmt.Println(hpack.NewDecoder(4096, nil)) }\n')
IDNA_MAIN = ('package main\n\nimport "golang.org/x/net/idna"\n\n'
             'func main() { _, _ = idna.ToASCII("x") }\n')


@pytest.fixture
def app_repo(git_repo: GitRepo) -> GitRepo:
    """A module that requires x/net v0.6.0 and imports http2/hpack, tagged v1.0.0."""
    git_repo.commit("v1", {"go.mod": gomod(), "main.go": HPACK_MAIN,
                           "main_test.go": 'package main\n\nimport "golang.org/x/net/html"\n'})
    git_repo.tag("v1.0.0")
    return git_repo


def findings(doc: dict) -> dict[tuple[str, str], dict]:
    return {(f["id"], f["module"]): f for f in doc["findings"]}


def test_checkout_with_an_imported_finding_exits_7_naming_the_upgrade(
        app_repo: GitRepo, gopush_cli) -> None:
    """The imported hpack package is affected (exit 7); the message says what to upgrade to;
    html, imported only by a test, counts as not imported."""
    code, out, err = gopush_cli(app_repo.path, "audit", "--db", DB, "--json")
    assert code == ExitCode.VULNERABLE == 7, err
    doc = json.loads(out)
    assert (doc["ok"], doc["module"], doc["version"]) == (False, MODULE, "v1.0.0")
    assert doc["db"]["url"] == DB and doc["db"]["modified"]
    found = findings(doc)
    net = {i for i, m in found if m == "golang.org/x/net"}
    assert net == {"GO-2023-1571", "GO-2023-1988", "GO-2023-2102"}
    hpack = found["GO-2023-1571", "golang.org/x/net"]
    assert hpack == {"id": "GO-2023-1571", "aliases": ["CVE-2022-41723", "GHSA-vvpx-j8f3-3w6h"],
                     "module": "golang.org/x/net", "version": "v0.6.0", "fixed": "v0.7.0",
                     "summary": hpack["summary"], "imported": True,
                     "packages": ["golang.org/x/net/http2", "golang.org/x/net/http2/hpack"]}
    assert "HTTP/2" in hpack["summary"]
    assert found["GO-2023-1988", "golang.org/x/net"]["imported"] is False  # a test imports it
    assert found["GO-2023-2102", "golang.org/x/net"]["imported"] is False  # http2, not hpack
    message = doc["error"]["message"]
    assert "GO-2023-1571" in message and "upgrade golang.org/x/net to v0.7.0 or later" in message
    assert "GO-2023-1988" not in message  # not imported: not a reason to refuse
    assert "upgrade golang.org/x/net to v0.7.0 or later" in err


def test_fail_on_and_allow_decide_the_exit(app_repo: GitRepo, gopush_cli) -> None:
    """--fail-on never and --allow (by GO id or alias) accept the finding; the findings are
    reported all the same; a value that names no finding is a usage error."""
    for extra in (["--fail-on", "never"], ["--allow", "GO-2023-1571"],
                  ["--allow", "CVE-2022-41723"]):
        code, out, err = gopush_cli(app_repo.path, "audit", "--db", DB, "--json", *extra)
        assert code == ExitCode.OK, (extra, err)
        doc = json.loads(out)
        assert doc["ok"] is True and ("GO-2023-1571", "golang.org/x/net") in findings(doc)
    code, _, err = gopush_cli(app_repo.path, "audit", "--db", DB, "--allow", "2023-1571")
    assert code == ExitCode.USAGE and "not a Go vulnerability id" in err


def test_a_module_that_only_requires_passes_unless_fail_on_any(git_repo: GitRepo,
                                                                gopush_cli) -> None:
    """A sibling package (idna) of the affected ones is imported: not imported, exit 0;
    --fail-on any refuses it."""
    git_repo.commit("v1", {"go.mod": gomod(), "main.go": IDNA_MAIN})
    code, out, err = gopush_cli(git_repo.path, "audit", "--db", DB, "--json")
    assert code == ExitCode.OK, err
    doc = json.loads(out)
    assert doc["findings"] and not any(f["imported"] for f in doc["findings"])
    assert doc["version"].startswith("v0.0.0-")  # an untagged commit: its pseudo-version
    code, out, err = gopush_cli(git_repo.path, "audit", "--db", DB, "--fail-on", "any")
    assert code == ExitCode.VULNERABLE
    assert "upgrade golang.org/x/net to v0.17.0 or later" in err


def test_rev_picks_the_revision_audited(app_repo: GitRepo, gopush_cli) -> None:
    """HEAD requires the fixed x/net; --rev v1.0.0 still audits the release that did not."""
    app_repo.commit("upgrade", {"go.mod": gomod("v0.17.0")})
    code, out, err = gopush_cli(app_repo.path, "audit", "--db", DB, "--json")
    assert code == ExitCode.OK, err
    assert not [f for f in json.loads(out)["findings"] if f["module"] == "golang.org/x/net"]
    code, out, _ = gopush_cli(app_repo.path, "audit", "--db", DB, "--json", "--rev", "v1.0.0")
    assert code == ExitCode.VULNERABLE and json.loads(out)["version"] == "v1.0.0"


def test_zip_and_goproxy_layout_give_the_checkouts_findings(app_repo: GitRepo, gopush_cli,
                                                            tmp_path: Path) -> None:
    """A zip built by `gopush build` and its --out layout are audited as the checkout is."""
    out_dir = tmp_path / "dist"
    code, _, err = gopush_cli(app_repo.path, "build", "--out", str(out_dir))
    assert code == ExitCode.OK, err
    _, checkout, _ = gopush_cli(app_repo.path, "audit", "--db", DB, "--json")
    zip_path = out_dir / "example.com/app/@v/v1.0.0.zip"
    for target in (zip_path, out_dir):
        code, out, err = gopush_cli(tmp_path, "audit", str(target), "--db", DB, "--json")
        assert code == ExitCode.VULNERABLE, err
        assert json.loads(out)["findings"] == json.loads(checkout)["findings"]


def test_plain_output_is_one_line_per_finding(app_repo: GitRepo, gopush_cli,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """In CI (plain output) stdout has one tab-separated line per finding, then the summary;
    the error and what to upgrade to are on stderr."""
    monkeypatch.setenv("CI", "1")
    code, out, err = gopush_cli(app_repo.path, "audit", "--db", DB, "--fail-on", "never")
    assert code == ExitCode.OK, err
    lines = out.splitlines()
    rows = [line.split("\t") for line in lines if "\t" in line]
    assert {(r[0], r[1]) for r in rows} >= {("GO-2023-1571", "golang.org/x/net@v0.6.0"),
                                            ("GO-2023-1988", "golang.org/x/net@v0.6.0")}
    hpack = next(r for r in rows if r[0] == "GO-2023-1571" and r[1].startswith("golang.org"))
    assert hpack[2:4] == ["v0.7.0", "yes"]
    assert lines[-1].startswith(f"{MODULE}@v1.0.0: ") and "known vulnerabilities" in lines[-1]


def test_database_from_govulndb_and_the_config_file(app_repo: GitRepo, gopush_cli,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """--db > GOVULNDB > vuln_db in config.toml: each is used when it is the first given."""
    config = tmp_path / "config.toml"
    config.write_text(f'[default]\nvuln_db = "{DB}"\n')
    monkeypatch.setenv("GOPUSH_CONFIG", str(config))
    code, out, err = gopush_cli(app_repo.path, "audit", "--json")
    assert code == ExitCode.VULNERABLE and json.loads(out)["db"]["url"] == DB, err
    monkeypatch.setenv("GOVULNDB", f"file://{tmp_path}/nowhere")
    code, _, err = gopush_cli(app_repo.path, "audit")
    assert code == ExitCode.UNAVAILABLE and "nowhere" in err  # GOVULNDB beat the file
    code, out, err = gopush_cli(app_repo.path, "audit", "--db", DB, "--json")
    assert code == ExitCode.VULNERABLE, err  # --db beat GOVULNDB
    code, _, err = gopush_cli(app_repo.path, "audit", "--db", "ftp://example.com/db")
    assert code == ExitCode.CONFIG and "--db" in err and "file:///" in err


def test_over_http_with_gzip(app_repo: GitRepo, gopush_cli, vulndb_http) -> None:
    """The same findings from the database served by a loopback server with gzip."""
    served = vulndb_http()
    code, out, err = gopush_cli(app_repo.path, "audit", "--db", served.url, "--json")
    assert code == ExitCode.VULNERABLE, err
    _, by_file, _ = gopush_cli(app_repo.path, "audit", "--db", DB, "--json")
    assert json.loads(out)["findings"] == json.loads(by_file)["findings"]
    assert any(s.encoding == "gzip" for s in served.log)


def test_old_go_line_says_the_list_is_partial(git_repo: GitRepo, gopush_cli) -> None:
    """A go 1.16 module's go.mod need not list the whole build list: the audit says so."""
    git_repo.commit("v1", {"go.mod": gomod(go="1.16"), "main.go": HPACK_MAIN})
    code, _, err = gopush_cli(git_repo.path, "audit", "--db", DB)
    assert code == ExitCode.VULNERABLE
    assert "partial" in err and "go 1.16" in err


def test_outside_a_checkout_is_exit_4_with_a_hint(tmp_path: Path, gopush_cli) -> None:
    """No checkout, no zip: exit 4 and a hint naming what to pass instead."""
    code, _, err = gopush_cli(tmp_path, "audit", "--db", DB)
    assert code == ExitCode.INVALID_MODULE
    assert "hint:" in err and "zip" in err


def test_offline_uses_the_cache_and_says_how_old(app_repo: GitRepo, gopush_cli,
                                                vulndb_http) -> None:
    """Once the database is cached, an unreachable one still audits (same findings), with a
    warning giving the cache's age; with no cache at all it is exit 6."""
    served = vulndb_http()
    code, online, _ = gopush_cli(app_repo.path, "audit", "--db", served.url, "--json")
    assert code == ExitCode.VULNERABLE
    served.close()
    code, offline, err = gopush_cli(app_repo.path, "audit", "--db", served.url, "--json")
    assert code == ExitCode.VULNERABLE, err
    assert json.loads(offline)["findings"] == json.loads(online)["findings"]
    assert "cannot be reached" in err and "cached" in err and " ago" in err
    code, _, err = gopush_cli(app_repo.path, "audit", "--db", "http://127.0.0.1:9/")
    assert code == ExitCode.UNAVAILABLE and "127.0.0.1:9" in err


def test_uncommitted_changes_are_named(app_repo: GitRepo, gopush_cli) -> None:
    """An upgrade written to go.mod but not committed is not what gets audited: say so."""
    app_repo.write({"go.mod": gomod("v0.17.0")})
    code, _, err = gopush_cli(app_repo.path, "audit", "--db", DB)
    assert code == ExitCode.VULNERABLE  # the commit still requires v0.6.0
    assert "uncommitted changes are not audited (go.mod)" in err


def test_layout_of_two_versions_names_the_one_refused(app_repo: GitRepo, gopush_cli,
                                                      tmp_path: Path) -> None:
    """A layout holding v1.0.0 (x/net v0.6.0) and v1.1.0 (x/net v0.17.0): one document per
    module version; the error names v1.0.0 only."""
    out_dir = tmp_path / "dist"
    assert gopush_cli(app_repo.path, "build", "--out", str(out_dir))[0] == ExitCode.OK
    app_repo.commit("upgrade", {"go.mod": gomod("v0.17.0")})
    app_repo.tag("v1.1.0")
    assert gopush_cli(app_repo.path, "build", "--out", str(out_dir))[0] == ExitCode.OK
    code, out, err = gopush_cli(tmp_path, "audit", str(out_dir), "--db", DB, "--json")
    assert code == ExitCode.VULNERABLE, err
    doc = json.loads(out)
    assert [m["version"] for m in doc["modules"]] == ["v1.0.0", "v1.1.0"]
    assert f"{MODULE}@v1.0.0" in doc["error"]["message"]
    assert f"{MODULE}@v1.1.0" not in doc["error"]["message"]


def test_a_file_that_is_no_module_zip_is_exit_4(tmp_path: Path, gopush_cli) -> None:
    """A TARGET file go would not accept as a module zip is refused with the gate's words."""
    bogus = tmp_path / "v1.0.0.zip"
    bogus.write_bytes(b"not a zip at all")
    code, _, err = gopush_cli(tmp_path, "audit", str(bogus), "--db", DB)
    assert code == ExitCode.INVALID_MODULE
    assert str(bogus) in err and "zip" in err


def test_push_allow_without_audit_is_a_usage_error(module_zip: Path, gopush_cli) -> None:
    """`push --allow` or `--fail-on` without `--audit` would silently do nothing: exit 2."""
    for extra in (["--allow", "GO-2023-1571"], ["--fail-on", "any"]):
        code, _, err = gopush_cli(module_zip.parent, "push", "go", "acme/gomods",
                                  str(module_zip), *extra)
        assert code == ExitCode.USAGE and "--audit" in err


def test_a_database_gone_back_in_time_is_named(app_repo: GitRepo, gopush_cli,
                                               vulndb_data: Path) -> None:
    """The database answers an older modified than it did before (a stale mirror): the
    audit goes on with it and warns, naming both times, on every run until it catches up."""
    url = vulndb_data.as_uri()
    code, _, err = gopush_cli(app_repo.path, "audit", "--db", url)
    assert code == ExitCode.VULNERABLE and "older than" not in err
    newest = json.loads((vulndb_data / "index/db.json").read_bytes())["modified"]
    (vulndb_data / "index/db.json").write_text(json.dumps({"modified": "2022-01-01T00:00:00Z"}))
    for _ in range(2):
        code, _, err = gopush_cli(app_repo.path, "audit", "--db", url)
        assert code == ExitCode.VULNERABLE
        assert f"says modified 2022-01-01T00:00:00Z, older than the {newest}" in err, err
    (vulndb_data / "index/db.json").write_text(json.dumps({"modified": newest}))
    code, _, err = gopush_cli(app_repo.path, "audit", "--db", url)
    assert "older than" not in err, err
