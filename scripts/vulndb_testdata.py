"""Build the test vulnerability database (tests/vulndb/data/) from real published advisories.

Reads the chosen ``data/osv/GO-*.json`` entries from a clone of golang/vulndb (the bare git
directory the search tool's ``fetch`` brings is fine) at one commit, and writes them in the
exact vuln.go.dev layout:

    index/db.json        {"modified": newest entry's modified}
    index/modules.json   [{"path", "vulns": [{"id", "modified", "fixed"?}]}], sorted by path
    index/vulns.json     [{"id", "modified", "aliases"?}], sorted by id
    ID/GO-YYYY-NNNN.json each entry, compact JSON as json.Marshal writes it

The facts (ids, aliases, modules, ranges, packages, withdrawn) are copied as published. The
repository's entries carry zero ``modified`` and ``published`` times (the real ones are set
when the database is deployed); this script sets real-looking ones, derived from the id so
that a rerun writes the same bytes. ``fixed`` in modules.json follows vulndb's
``osvutils.LatestFixed``: the highest fixed of the SEMVER ranges, "" when a later
``introduced`` reopens it.

tests/vulndb/data/ was written from golang/vulndb a752ea54fd1b989d208a270aeef772f55a36b87a
(2026-08-21); tests/vulndb/test_data.py checks it against that commit when a clone is at hand.

Run:  python scripts/vulndb_testdata.py [--repo /work/.mirror/golang+vulndb/repo]
                                        [--rev HEAD] [--out tests/vulndb/data]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Each entry, and the case of the tests it stands for (tests/vulndb/test_findings.py).
CHOSEN = {
    "GO-2020-0017": "jwt-go: +incompatible versions, introduced at a pseudo-version, no fix; "
                    "jwt-go/v4 fixed at a prerelease (4.0.0-preview1)",
    "GO-2021-0072": "docker/distribution fixed at 2.7.0-rc.0+incompatible",
    "GO-2022-0379": "docker/distribution fixed at 2.8.0+incompatible",
    "GO-2022-0390": "docker/docker and moby/moby, +incompatible, no packages listed",
    "GO-2022-0969": "stdlib net/http (two ranges) and x/net/http2 fixed at a pseudo-version",
    "GO-2021-0356": "x/crypto/ssh fixed at a pseudo-version",
    "GO-2022-0229": "stdlib crypto/x509 and x/crypto/cryptobyte fixed at a pseudo-version",
    "GO-2023-1495": "x/net/http2/h2c introduced later, at a pseudo-version; fixed at one",
    "GO-2026-4559": "x/net/http2 introduced later (0.50.0), fixed 0.51.0",
    "GO-2023-1571": "x/net/http2 and http2/hpack, fixed 0.7.0",
    "GO-2023-1988": "x/net/html fixed 0.13.0",
    "GO-2023-2102": "x/net/http2 fixed 0.17.0",
    "GO-2020-0015": "x/text/encoding/unicode and transform, fixed 0.3.3",
    "GO-2021-0113": "x/text/language fixed 0.3.7",
    "GO-2022-1059": "x/text/language fixed 0.3.8",
    "GO-2021-0069": "stdlib math/big introduced later (1.14.0-0)",
    "GO-2026-5856": "stdlib crypto/tls fixed at a prerelease (1.27.0-rc.2)",
    "GO-2026-6179": "toolchain cmd/go",
    "GO-2022-0406": "ory/oathkeeper introduced at a prerelease (0.38.0-beta.2)",
    "GO-2022-0617": "k8s.io/kubernetes, withdrawn",
}

NEWEST = datetime(2026, 8, 20, tzinfo=UTC)  # the mirror's last commit is 2026-08-21


def read_entry(repo: Path, rev: str, osv_id: str) -> dict:
    """Return one published entry, as the repository holds it at ``rev``."""
    out = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:data/osv/{osv_id}.json"],
                         check=True, capture_output=True).stdout
    return json.loads(out)


def _spread(osv_id: str, salt: str, start: datetime, end: datetime) -> datetime:
    """Return a time between ``start`` and ``end`` chosen by a hash of the id (stable)."""
    span = max(int((end - start).total_seconds()), 1)
    offset = int.from_bytes(hashlib.sha256(f"{salt}:{osv_id}".encode()).digest()[:8], "big")
    return start + timedelta(seconds=offset % span)


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def set_times(entry: dict) -> None:
    """Give the entry real-looking ``published`` (in its id's year) and ``modified`` (later,
    and not before its ``withdrawn``) times."""
    year = int(entry["id"].split("-")[1])
    last = min(datetime(year, 12, 31, tzinfo=UTC), NEWEST - timedelta(days=30))
    published = _spread(entry["id"], "published", datetime(year, 1, 1, tzinfo=UTC), last)
    earliest = published
    if entry.get("withdrawn"):
        earliest = max(earliest, datetime.fromisoformat(entry["withdrawn"]))
    modified = _spread(entry["id"], "modified", earliest, NEWEST)
    entry["published"], entry["modified"] = rfc3339(published), rfc3339(modified)


def _semver_key(v: str) -> tuple:
    """Order OSV versions ("1.2.3", "0.0.0-2020...-abc", "2.7.0-rc.0+incompatible") as
    semver does (build metadata ignored); enough for choosing the highest ``fixed``."""
    v = v.split("+", 1)[0]
    core, _, pre = v.partition("-")
    nums = tuple(int(x) for x in core.split("."))
    if not pre:
        return nums, (1,)
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return nums, (0, ids)


def latest_fixed(ranges: list[dict]) -> str:
    """vulndb's ``osvutils.LatestFixed``: the highest ``fixed`` of the SEMVER ranges, or ""
    when an ``introduced`` above it reopens the range."""
    latest = ""
    for r in ranges:
        if r.get("type") != "SEMVER":
            continue
        for ev in r["events"]:
            fixed = ev.get("fixed", "")
            if fixed and (not latest or _semver_key(latest) < _semver_key(fixed)):
                latest = fixed
        for ev in r["events"]:
            intro = ev.get("introduced", "")
            if intro and intro != "0" and (not latest or _semver_key(latest) < _semver_key(intro)):
                latest = ""
                break
    return latest


def go_json(value: object) -> bytes:
    """Encode as Go's json.Marshal does: compact, UTF-8, with <, > and & escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def indexes(entries: list[dict]) -> tuple[dict, list, list]:
    """Return db.json, modules.json and vulns.json for ``entries``."""
    modules: dict[str, list[dict]] = {}
    for e in entries:
        for a in e["affected"]:
            vuln = {"id": e["id"], "modified": e["modified"]}
            fixed = latest_fixed(a.get("ranges", []))
            if fixed:
                vuln["fixed"] = fixed
            modules.setdefault(a["package"]["name"], []).append(vuln)
    modules_json = [{"path": p, "vulns": sorted(v, key=lambda x: x["id"])}
                    for p, v in sorted(modules.items())]
    vulns_json = [{"id": e["id"], "modified": e["modified"],
                   **({"aliases": e["aliases"]} if e.get("aliases") else {})}
                  for e in sorted(entries, key=lambda e: e["id"])]
    return {"modified": max(e["modified"] for e in entries)}, modules_json, vulns_json


def write_db(out: Path, entries: list[dict]) -> None:
    """Write the database layout under ``out`` (replacing what was there)."""
    if out.exists():
        shutil.rmtree(out)
    (out / "index").mkdir(parents=True)
    (out / "ID").mkdir()
    db, modules, vulns = indexes(entries)
    (out / "index" / "db.json").write_bytes(go_json(db))
    (out / "index" / "modules.json").write_bytes(go_json(modules))
    (out / "index" / "vulns.json").write_bytes(go_json(vulns))
    for e in entries:
        (out / "ID" / f"{e['id']}.json").write_bytes(go_json(e))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path("/work/.mirror/golang+vulndb/repo"))
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent.parent / "tests/vulndb/data")
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", str(args.repo), "rev-parse", args.rev], check=True,
                            capture_output=True, text=True).stdout.strip()
    entries = []
    for osv_id in sorted(CHOSEN):
        entry = read_entry(args.repo, commit, osv_id)
        set_times(entry)
        entries.append(entry)
    write_db(args.out, entries)
    print(f"wrote {len(entries)} entries from golang/vulndb {commit} to {args.out}")


if __name__ == "__main__":
    main()
