"""The test database is the vuln.go.dev layout, consistent, and served as vuln.go.dev serves it."""

from __future__ import annotations

import gzip
import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
from vulndb_server import DATA
from vulndb_testdata import CHOSEN, latest_fixed


def _json(path: str) -> object:
    return json.loads((DATA / path).read_bytes())


def test_layout_holds_the_chosen_entries_and_consistent_indexes() -> None:
    entries = {f.stem: json.loads(f.read_bytes()) for f in (DATA / "ID").glob("*.json")}
    assert sorted(entries) == sorted(CHOSEN)
    assert sorted(p.name for p in (DATA / "index").iterdir()) == [
        "db.json", "modules.json", "vulns.json"]
    assert _json("index/db.json") == {"modified": max(e["modified"] for e in entries.values())}
    indexed = {(m["path"], v["id"]): v for m in _json("index/modules.json") for v in m["vulns"]}
    named = {(a["package"]["name"], e["id"]): (e, a) for e in entries.values()
             for a in e["affected"]}
    assert indexed.keys() == named.keys()
    for key, vuln in indexed.items():
        entry, affected = named[key]
        assert vuln["modified"] == entry["modified"]
        assert vuln.get("fixed", "") == latest_fixed(affected["ranges"])


def test_every_case_of_the_must_show_is_present() -> None:
    versions = [ev for f in (DATA / "ID").glob("*.json")
                for a in json.loads(f.read_bytes())["affected"]
                for r in a["ranges"] for ev in r["events"]]
    values = [v for ev in versions for v in ev.values()]
    assert any(v.endswith("+incompatible") for v in values)
    assert any("-rc" in v or "-preview" in v or "-beta" in v for v in values)  # prereleases
    assert any(v.startswith("0.0.0-2") for v in values)  # pseudo-versions
    assert any(ev.get("introduced", "0") != "0" for ev in versions)  # introduced later
    modules = {m["path"] for m in _json("index/modules.json")}
    assert {"stdlib", "toolchain", "golang.org/x/net", "golang.org/x/text"} <= modules
    assert json.loads((DATA / "ID/GO-2022-0617.json").read_bytes())["withdrawn"]


def test_server_sends_gzip_when_accepted_and_logs_each_request(vulndb_http) -> None:
    server = vulndb_http()
    request = urllib.request.Request(server.url + "/index/db.json",
                                     headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as reply:
        assert reply.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(reply.read()) == (DATA / "index/db.json").read_bytes()
    with urllib.request.urlopen(server.url + "/ID/GO-2022-0969.json") as reply:
        assert reply.headers.get("Content-Encoding") is None
    assert [(s.path, s.encoding) for s in server.log] == [
        ("/index/db.json", "gzip"), ("/ID/GO-2022-0969.json", "identity")]


def test_the_benchmark_generator_writes_a_database_gopush_reads(tmp_path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    from vulndb_gen import generate, requirements

    from gopush.vuln.db import open_db

    modules = generate(tmp_path / "db", entries=400)
    assert len(list((tmp_path / "db/ID").iterdir())) == 400
    db = open_db((tmp_path / "db").as_uri(), tmp_path / "cache")
    wanted = [m for m, _ in requirements(30, entries=400)]
    assert set(wanted) <= set(modules)
    entries = db.entries_for(wanted)
    named = {a.module for e in entries for a in e.affected}
    assert set(wanted) <= named and "stdlib" in named


MIRROR = Path("/work/.mirror/golang+vulndb/repo")
PUBLISHED_AT = "a752ea54fd1b989d208a270aeef772f55a36b87a"  # golang/vulndb, 2026-08-21


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no golang/vulndb clone at " + str(MIRROR))
def test_the_facts_are_the_published_ones() -> None:
    """Every field but the two times is byte for byte what golang/vulndb publishes."""
    for path in sorted((DATA / "ID").glob("*.json")):
        ours = json.loads(path.read_bytes())
        published = json.loads(subprocess.run(
            ["git", "-C", str(MIRROR), "show", f"{PUBLISHED_AT}:data/osv/{path.name}"],
            check=True, capture_output=True).stdout)
        for times in ("modified", "published"):
            ours.pop(times), published.pop(times)
        assert ours == published, path.name
