"""OSV entries and the indexes, parsed within bounds: real documents read, bad ones named."""

from __future__ import annotations

import json

import pytest
from vulndb_server import DATA

from gopush.vuln import osv
from gopush.vuln.osv import Event, VulnDbError


def _entry(**changes: object) -> bytes:
    doc = json.loads((DATA / "ID/GO-2022-0969.json").read_bytes())
    doc.update(changes)
    return json.dumps(doc).encode()


def test_a_published_entry_reads_as_published() -> None:
    entry = osv.parse_entry((DATA / "ID/GO-2022-0969.json").read_bytes())
    assert entry.id == "GO-2022-0969"
    assert entry.aliases == ("CVE-2022-27664", "GHSA-69cg-p879-7622")
    assert [a.module for a in entry.affected] == ["stdlib", "golang.org/x/net"]
    assert entry.affected[0].ranges == ((Event("introduced", "0"), Event("fixed", "1.18.6"),
                                         Event("introduced", "1.19.0-0"),
                                         Event("fixed", "1.19.1")),)
    assert entry.affected[1].ranges == ((Event("introduced", "0"),
                                         Event("fixed", "0.0.0-20220906165146-f3363e06e74c")),)
    assert entry.affected[1].packages == ("golang.org/x/net/http2",)
    assert entry.withdrawn == ""


def test_withdrawn_and_no_packages() -> None:
    entry = osv.parse_entry((DATA / "ID/GO-2022-0617.json").read_bytes())
    assert entry.withdrawn == "2024-08-21T16:25:56Z"
    assert entry.affected[0].packages == ()


def test_every_document_of_the_test_database_parses() -> None:
    for path in (DATA / "ID").glob("*.json"):
        assert osv.parse_entry(path.read_bytes()).id == path.stem
    assert osv.parse_db_index((DATA / "index/db.json").read_bytes()).startswith("2026-")
    index = osv.parse_modules_index((DATA / "index/modules.json").read_bytes())
    assert [v.id for v in index["golang.org/x/text"]] == [
        "GO-2020-0015", "GO-2021-0113", "GO-2022-1059"]
    assert index["golang.org/x/crypto"][0].fixed == "0.0.0-20220314234659-1baeb1ce4c0b"


def test_only_semver_ranges_and_known_events_are_read() -> None:
    affected = [{"package": {"name": "example.com/m"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "9"}]},
                            {"type": "SEMVER", "events": [{"introduced": "0"},
                                                          {"last_affected": "1.0.0"},
                                                          {"fixed": "1.2.0"}]}],
                 "ecosystem_specific": {"imports": [{"path": "example.com/m/a"},
                                                    {"path": "example.com/m/a"}]}}]
    entry = osv.parse_entry(_entry(affected=affected))
    assert entry.affected[0].ranges == ((Event("introduced", "0"), Event("fixed", "1.2.0")),)
    assert entry.affected[0].packages == ("example.com/m/a",)


@pytest.mark.parametrize(("changes", "named"), [
    ({"id": "../../etc/passwd"}, "id: '../../etc/passwd' is not a vulnerability id"),
    ({"id": ".."}, "id: '..' is not a vulnerability id"),
    ({"modified": "yesterday"}, "modified: 'yesterday' is not an RFC 3339 time"),
    ({"modified": "2024-01-01T00:00:00"}, "is not an RFC 3339 time"),  # no zone
    ({"aliases": "CVE-1"}, "aliases: not a JSON array"),
    ({"affected": [{"package": {"name": 7}}]}, "affected[0].package.name: not a string"),
    ({"affected": [{"package": {"name": "m"}, "ranges": [{"type": "SEMVER",
                                                          "events": [{"fixed": ""}]}]}]},
     "affected[0].ranges[0].events[0].fixed: empty"),
])
def test_a_bad_entry_is_named(changes: dict[str, object], named: str) -> None:
    with pytest.raises(VulnDbError, match=None) as caught:
        osv.parse_entry(_entry(**changes))
    assert named in caught.value.message


@pytest.mark.parametrize(("data", "why"), [
    (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply"),
    (b'{"modified": ' + b"9" * 5000 + b"}", "a number too long to read"),
    (b'"\xff"', "not UTF-8 text"),
    (b"<html>", "not JSON"),
])
def test_json_that_defeats_the_decoder_is_one_error(data: bytes, why: str) -> None:
    with pytest.raises(VulnDbError) as caught:
        osv.parse_entry(data)
    assert caught.value.message == why


def test_documents_over_their_cap_are_refused_unread() -> None:
    with pytest.raises(VulnDbError, match="more than the 1,048,576"):
        osv.parse_entry(b" " * (osv.MAX_ENTRY_BYTES + 1))
    with pytest.raises(VulnDbError, match="more than the 65,536"):
        osv.parse_db_index(b" " * (osv.MAX_DB_INDEX_BYTES + 1))


def test_a_module_twice_in_the_index_is_refused() -> None:
    twice = b'[{"path":"m","vulns":[]},{"path":"m","vulns":[]}]'
    with pytest.raises(VulnDbError, match=r"\[1\].path: 'm' twice"):
        osv.parse_modules_index(twice)
