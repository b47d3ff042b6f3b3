"""`gopush serve --export DIR` / `--import DIR` (issue 14): a registry on SQLite with several
repositories (public; private with a seeded and a created entitlement token; a deleted
version, tags, retention rules, a failed package), exported while it serves, imported into
PostgreSQL, then served: the real go downloads every module with the h1: it had before, the
tokens still read (and only they), the deleted version stays 410, `gopush ls` lists the
same; then back from PostgreSQL to SQLite. And the refusals: a tampered, missing or
symbolic-linked blob, a truncated rows file, a non-empty target, a newer schema: each named,
each exit code as documented, nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, CertAuthority, Served, api_push, start_serve
from gotool import GoError, GoOracle
from pgdatabases import Databases, unavailable
from zipbomb import run_measured

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.server.db import SCHEMA_VERSION, open_database, sqlite_url
from gopush.server.space import Space
from gopush.server.transfer import TABLES

PUB, SECRET = "example.com/pub", "example.com/secret"
SEEDED = "seeded-reader-token-1"
DOWNLOADS = [("acme/public", PUB, "v1.0.0"), ("acme/public", PUB, "v1.2.0"),
             ("acme/private", SECRET, "v1.0.0")]

pytestmark = pytest.mark.skipif(bool(unavailable()), reason=str(unavailable()))


def _zip(root: Path, module: str, version: str) -> Path:
    dest = root / module.replace("/", "_") / f"{version}.zip"
    dest.parent.mkdir(parents=True, exist_ok=True)
    create_zip(dest, module, version, [
        DataFile("go.mod", f"module {module}\n\ngo 1.21\n".encode()),
        DataFile("lib.go", f"package lib\n\nconst V = \"{version}\"\n".encode())])
    return dest


def gopush(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GOPUSH_", "CLOUDSMITH_"))}
    return subprocess.run([sys.executable, "-m", "gopush", *args], capture_output=True,
                          text=True, timeout=300, check=False,
                          env={**full, "CI": "1", **(env or {})})


def serve_tls(data: Path, ca: CertAuthority, database: str | None = None, *,
              declare: bool = False) -> Served:
    """Start `gopush serve` over HTTPS on ``data``/``database``; ``declare``: with the
    repositories and the seeded token (the source; an imported registry has them)."""
    env = {"GOPUSH_SERVE_DATABASE": database} if database else None
    repos = ("--repo", "acme/public", "--repo", "acme/private:private",
             "--read-token", f"acme/private={SEEDED}") if declare else ()
    return start_serve(data, "--tls-cert", str(ca.cert), "--tls-key", str(ca.key), *repos,
                       env=env, new_repos=False)


@dataclass
class Source:
    """The SQLite registry the tests export, serving, and what it held."""

    served: Served
    created_token: str
    sums: dict[tuple[str, str], str]
    listed: list[Any]
    ca: CertAuthority


def _client(served: Served, ca: CertAuthority, **kw: Any) -> httpx.Client:
    return httpx.Client(base_url=served.url, verify=ssl.create_default_context(
        cafile=str(ca.ca_cert)), timeout=60, **kw)


def _fill(served: Served, ca: CertAuthority, root: Path) -> str:
    """Push, delete, tag, fail, set retention and create a token; return the token."""
    verify = ssl.create_default_context(cafile=str(ca.ca_cert))
    slugs = {}
    for version in ("v1.0.0", "v1.1.0", "v1.2.0"):
        pushed = api_push(served.url, "acme/public", _zip(root, PUB, version), verify=verify)
        assert pushed.package["status_str"] == "Completed", pushed.package
        slugs[version] = pushed.package["slug"]
    secret = api_push(served.url, "acme/private", _zip(root, SECRET, "v1.0.0"), verify=verify)
    assert secret.package["status_str"] == "Completed"
    bad = root / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    failed = api_push(served.url, "acme/public", bad, verify=verify)
    assert failed.package["status_str"] == "Sync Failed", failed.package
    with _client(served, ca, headers={"X-Api-Key": KEY}) as client:
        assert client.delete(f"/packages/acme/public/{slugs['v1.1.0']}/").status_code == 204
        tagged = client.post(f"/packages/acme/public/{slugs['v1.2.0']}/tag/",
                             json={"action": "add", "tags": ["stable"]})
        assert tagged.status_code == 200, tagged.text
        rules = client.patch("/repos/acme/public/retention/", json={
            "retention_enabled": True, "retention_count_limit": 50})
        assert rules.status_code == 200, rules.text
        made = client.post("/entitlements/acme/private/", json={"name": "ci-reader"})
        assert made.status_code == 201, made.text
    return str(made.json()["token"])


def _extra_rows(db_file: Path) -> None:
    """Rows no HTTP call of this test makes: trusted publishing and a vulnerability scan."""
    with sqlite3.connect(db_file) as conn:
        conn.execute("INSERT INTO oidc_jtis VALUES ('https://issuer.test', 'jti-1', 4102444800)")
        conn.execute("INSERT INTO publish_tokens VALUES (?, 'acme', 'ci', 'https://issuer.test',"
                     " 'repo:acme/x', 4102444800, '2026-01-01T00:00:00Z')", ("ab" * 32,))
        conn.execute("INSERT INTO vuln_db VALUES ('https://vuln.test', '2026-01-01T00:00:00Z', "
                     "'2026-01-02T00:00:00Z', '')")
        conn.execute("INSERT INTO vuln_scans VALUES ('acme', 'public', ?, 'v1.0.0', 'h1:x', 7, "
                     "'scanned', NULL, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', '{}', "
                     "'[]', 0, 0)", (PUB,))


def _downloads(go: GoOracle, served: Served, ca: CertAuthority, tmp: Path,
               token: str) -> dict[tuple[str, str], str]:
    """Return the h1: the real go downloads for every module of DOWNLOADS."""
    sums = {}
    for n, (repo, module, version) in enumerate(DOWNLOADS):
        proxy = served.goproxy(repo).replace("https://", f"https://token:{token}@")
        got = go.download(module, version, GOPROXY=proxy, SSL_CERT_FILE=str(ca.ca_cert),
                          GOMODCACHE=str(tmp / f"cache-{os.getpid()}-{n}-{id(served)}"))
        sums[(module, version)] = str(got["Sum"])
    return sums


def _ls(served: Served, ca: CertAuthority) -> list[Any]:
    proc = gopush("ls", "acme/public", "--json", "--api-host", served.url,
                  env={"GOPUSH_API_KEY": KEY, "SSL_CERT_FILE": str(ca.ca_cert)})
    assert proc.returncode == 0, proc.stderr
    return sorted(json.dumps(p, sort_keys=True) for p in json.loads(proc.stdout)["packages"])


def rows_of(url: str, space_root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Return every exported table's rows (those an export carries), sorted."""
    db = open_database(url, Space(space_root, space_root / "tmp"))
    try:
        with db.snapshot() as conn:
            found = {}
            for table in TABLES:
                names = [c.name for c in db.columns(conn, table.name)]
                where = f" WHERE {table.where}" if table.where else ""
                found[table.name] = sorted(
                    tuple(row) for row in conn.execute(
                        f"SELECT {', '.join(names)} FROM {table.name}{where}"))
            return found
    finally:
        db.close()


@pytest.fixture(scope="module")
def pg() -> Iterator[Databases]:
    databases = Databases()
    yield databases
    databases.close()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory, test_ca: CertAuthority) -> Iterator[Source]:
    root = tmp_path_factory.mktemp("source")
    served = serve_tls(root / "data", test_ca, declare=True)
    try:
        token = _fill(served, test_ca, root)
        _extra_rows(root / "data" / "registry.sqlite3")
        go = GoOracle(root / "go", str(Path(sys.executable).parent / "go"))
        sums = _downloads(go, served, test_ca, root, token)
        yield Source(served, token, sums, _ls(served, test_ca), test_ca)
    finally:
        served.stop()


def export(data: Path, out: Path, database: str | None = None) -> dict[str, Any]:
    args = ["serve", "--json", "--data", str(data), "--export", str(out)]
    proc = gopush(*args, *(["--database", database] if database else []))
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)["exported"]
    return doc


def import_(data: Path, src: Path, database: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    args = ["serve", "--json", "--data", str(data), "--import", str(src)]
    return gopush(*args, *(["--database", database] if database else []))


def test_sqlite_to_postgresql_and_back(source: Source, pg: Databases, go: GoOracle,
                                       tmp_path: Path) -> None:
    """Exported while serving, imported into PostgreSQL, served: every table's rows are
    the source's, go downloads every module with the same h1:, both tokens read and a
    wrong one is refused, the deleted version is 410, `gopush ls` lists the same; then
    exported from PostgreSQL (serving) and imported into SQLite: the same rows again."""
    ca = source.ca
    src_data = source.served.data
    out = tmp_path / "export"
    doc = export(src_data, out)
    assert doc["schema_version"] == SCHEMA_VERSION and doc["rows"]["packages"] == 5
    print(f"\nexport: {doc['rows']}, {doc['blobs']} blobs, {doc['blob_bytes']} bytes")
    before = rows_of(sqlite_url(src_data / "registry.sqlite3"), src_data)

    url = pg.new()
    proc = import_(tmp_path / "pgdata", out, url)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["imported"]["rows"] == doc["rows"]
    assert rows_of(url, tmp_path / "pgdata") == before

    served = serve_tls(tmp_path / "pgdata", ca, url)
    try:
        for token in (source.created_token, SEEDED):
            assert _downloads(go, served, ca, tmp_path, token) == source.sums
        with _client(served, ca) as client:
            listing = f"/go/acme/private/{SECRET}/@v/list"
            assert client.get(listing, auth=("token", SEEDED)).status_code == 200
            assert client.get(listing, auth=("token", source.created_token)).status_code == 200
            assert client.get(listing, auth=("token", "not-a-token")).status_code == 401
            assert client.get(listing).status_code == 401
            gone = client.get(f"/go/acme/public/{PUB}/@v/v1.1.0.zip")
            assert gone.status_code == 410, gone.text
            listed = client.get(f"/go/acme/public/{PUB}/@v/list").text.split()
            assert sorted(listed) == ["v1.0.0", "v1.2.0"]
        with pytest.raises(GoError, match="410"):
            go.download(PUB, "v1.1.0", GOPROXY=served.goproxy("acme/public"),
                        SSL_CERT_FILE=str(ca.ca_cert), GOMODCACHE=str(tmp_path / "c410"))
        assert _ls(served, ca) == source.listed
        # a new push on the imported registry gets new ids past the imported ones
        pushed = api_push(served.url, "acme/public", _zip(tmp_path, PUB, "v1.3.0"),
                          verify=ssl.create_default_context(cafile=str(ca.ca_cert)))
        assert pushed.package["status_str"] == "Completed"

        back = tmp_path / "back"
        export(tmp_path / "pgdata", back, url)  # from PostgreSQL, while it serves
    finally:
        served.stop()
    proc = import_(tmp_path / "sqlite-again", back)
    assert proc.returncode == 0, proc.stderr
    again = rows_of(sqlite_url(tmp_path / "sqlite-again" / "registry.sqlite3"),
                    tmp_path / "sqlite-again")
    # what serving the PostgreSQL registry changed: v1.3.0's rows, the tokens' download counts
    moved = ("packages", "versions", "files", "entitlements")
    assert {t: r for t, r in again.items() if t not in moved} == \
        {t: r for t, r in before.items() if t not in moved}
    assert set(before["packages"]) < set(again["packages"])
    assert len(again["packages"]) == len(before["packages"]) + 1
    served = serve_tls(tmp_path / "sqlite-again", ca)
    try:
        assert _downloads(go, served, ca, tmp_path, SEEDED) == source.sums
        assert _ls(served, ca) != source.listed  # v1.3.0 is there too
    finally:
        served.stop()


# -- refusals: each named, nothing written ---------------------------------------------------


@pytest.fixture(scope="module")
def exported(source: Source, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exports") / "good"
    export(source.served.data, out)
    return out


def _copy(exported: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    return copy


def _a_blob(export_dir: Path) -> Path:
    entry = json.loads((export_dir / "blobs.jsonl").read_text().splitlines()[0])
    return export_dir / "blobs" / "sha256" / entry["sha256"][:2] / entry["sha256"]


def _refused(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    error = json.loads(proc.stdout)["error"]["message"]
    for word in words:
        assert word in error, error
    assert "Traceback" not in proc.stderr
    return str(error)


def _nothing_written(data: Path, url: str | None = None) -> None:
    assert not data.exists(), list(data.rglob("*"))
    if url is not None:
        assert not any(rows_of(url, data.parent / "scratch").values())


@pytest.mark.parametrize("target", ["sqlite", "postgresql"])
def test_tampered_or_missing_blob_is_refused_before_anything_is_written(
        exported: Path, pg: Databases, tmp_path: Path, target: str) -> None:
    url = pg.new() if target == "postgresql" else None
    copy = _copy(exported, tmp_path)
    blob = _a_blob(copy)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 1
    blob.write_bytes(bytes(data))
    error = _refused(import_(tmp_path / "t1", copy, url), 4, str(blob), "does not hash")
    print(f"\ntampered: {error}")
    _nothing_written(tmp_path / "t1", url)

    blob.unlink()
    error = _refused(import_(tmp_path / "t2", copy, url), 4, str(blob), "missing")
    print(f"missing: {error}")
    _nothing_written(tmp_path / "t2", url)


def test_a_symbolic_link_out_of_the_export_is_not_followed(exported: Path,
                                                           tmp_path: Path) -> None:
    copy = _copy(exported, tmp_path)
    blob = _a_blob(copy)
    outside = tmp_path / "outside"
    outside.write_bytes(blob.read_bytes())  # the very bytes: only the link is wrong
    blob.unlink()
    blob.symlink_to(outside)
    _refused(import_(tmp_path / "t", copy), 4, str(blob), "symbolic link")
    _nothing_written(tmp_path / "t")
    shutil.rmtree(copy / "rows")
    (copy / "rows").symlink_to(exported / "rows")
    _refused(import_(tmp_path / "t", copy), 4, "rows/repos.jsonl", "symbolic link")


def test_a_named_pipe_in_the_export_is_refused_not_waited_on(exported: Path,
                                                             tmp_path: Path) -> None:
    """A FIFO where a blob or the manifest should be: opening it for reading waited for a
    writer for ever (`--import` hung); it is refused as not a regular file at once."""
    copy = _copy(exported, tmp_path)
    blob = _a_blob(copy)
    blob.unlink()
    os.mkfifo(blob)
    args = ["serve", "--json", "--data", str(tmp_path / "t"), "--import", str(copy)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOPUSH_", "CLOUDSMITH_"))}
    proc = subprocess.run([sys.executable, "-m", "gopush", *args], capture_output=True,
                          text=True, timeout=60, check=False, env={**env, "CI": "1"})
    _refused(proc, 4, str(blob), "not a regular file")
    _nothing_written(tmp_path / "t")
    (copy / "manifest.json").unlink()
    os.mkfifo(copy / "manifest.json")
    proc = subprocess.run([sys.executable, "-m", "gopush", *args], capture_output=True,
                          text=True, timeout=60, check=False, env={**env, "CI": "1"})
    _refused(proc, 3, "manifest.json", "not a regular file")
    _nothing_written(tmp_path / "t")


def test_a_truncated_rows_file_is_refused(exported: Path, pg: Databases, tmp_path: Path) -> None:
    url = pg.new()
    copy = _copy(exported, tmp_path)
    rows = copy / "rows" / "packages.jsonl"
    rows.write_bytes(rows.read_bytes()[:-40])
    error = _refused(import_(tmp_path / "t", copy, url), 4, str(rows), "cut short")
    print(f"\ntruncated: {error}")
    _nothing_written(tmp_path / "t", url)
    # cut at a line's end, with the manifest's size made to agree: the digest still differs
    lines = (exported / "rows" / "packages.jsonl").read_bytes().splitlines(keepends=True)
    rows.write_bytes(b"".join(lines[:-1]))
    manifest = json.loads((copy / "manifest.json").read_text())
    for entry in manifest["tables"]:
        if entry["name"] == "packages":
            entry["bytes"] = rows.stat().st_size
    (copy / "manifest.json").write_text(json.dumps(manifest))
    _refused(import_(tmp_path / "t", copy, url), 4, str(rows), "altered")
    _nothing_written(tmp_path / "t", url)


def _rewrite(copy: Path, name: str, data: bytes) -> None:
    """Replace an export file and make the manifest agree with it (a consistent forgery)."""
    (copy / name).write_bytes(data)
    manifest = json.loads((copy / "manifest.json").read_text())
    for entry in [*manifest["tables"], manifest["blobs"]]:
        if entry["file"] == name:
            entry.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
            entry["rows" if "rows" in entry else "count"] = data.count(b"\n")
    (copy / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("target", ["sqlite", "postgresql"])
def test_a_failure_while_writing_leaves_no_row_and_no_blob(
        exported: Path, pg: Databases, tmp_path: Path, target: str) -> None:
    """Forgeries the checks before writing cannot see (the manifest agrees with them): a
    repeated row breaks a primary key; a blob manifest without a blob a row needs is found
    after the other blobs were placed. Either way the transaction rolls back and the blobs
    it placed are deleted."""
    url = pg.new() if target == "postgresql" else None
    copy = _copy(exported, tmp_path)
    repos = (copy / "rows" / "repos.jsonl").read_bytes()
    _rewrite(copy, "rows/repos.jsonl", repos + repos.splitlines(keepends=True)[0])
    data = tmp_path / "t"
    _refused(import_(data, copy, url), 4, "rows/repos.jsonl line 3")
    _rewrite(copy, "rows/repos.jsonl", repos)
    listing = (copy / "blobs.jsonl").read_bytes().splitlines(keepends=True)
    _rewrite(copy, "blobs.jsonl", b"".join(listing[:-1]))
    error = _refused(import_(data, copy, url), 4, "needs blob",
                     json.loads(listing[-1])["sha256"])
    print(f"\nforged: {error}")
    found = rows_of(url or sqlite_url(data / "registry.sqlite3"), data)
    assert not any(found.values()), found
    assert not [p for p in (data / "blobs").rglob("*") if p.is_file()]


def test_a_non_empty_target_is_refused(source: Source, exported: Path, tmp_path: Path) -> None:
    data = tmp_path / "target"
    start_serve(data, "--repo", "acme/other").stop()  # a registry with one repository
    db_file = data / "registry.sqlite3"
    before = rows_of(sqlite_url(db_file), data)
    error = _refused(import_(data, exported), 3, "not empty", "repos has rows")
    print(f"\nnon-empty: {error}")
    assert rows_of(sqlite_url(db_file), data) == before


def test_a_newer_schema_or_format_is_refused(exported: Path, tmp_path: Path) -> None:
    copy = _copy(exported, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest,
                                                    "schema_version": SCHEMA_VERSION + 1}))
    error = _refused(import_(tmp_path / "t", copy), 3, "newer gopush",
                     f"schema {SCHEMA_VERSION + 1}")
    print(f"\nnewer: {error}")
    _nothing_written(tmp_path / "t")
    (copy / "manifest.json").unlink()
    _refused(import_(tmp_path / "t", copy), 3, "not an export")
    _nothing_written(tmp_path / "t")


def test_export_refuses_a_directory_that_holds_files(source: Source, tmp_path: Path) -> None:
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = gopush("serve", "--json", "--data", str(source.served.data), "--export", str(out))
    _refused(proc, 3, "not a new or empty directory")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_every_table_of_the_schema_is_exported_or_named_as_left_out() -> None:
    """A migration that adds a table must say whether an export carries it."""
    db = open_database("sqlite:///:memory:", Space(Path("."), Path(".")))
    try:
        with db.tx() as tx:
            names = {str(r[0]) for r in tx.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                "'sqlite_%'")}
    finally:
        db.close()
    assert names == {t.name for t in TABLES}


def _run_measured(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    """Run `gopush ARGS`; return its exit status, stderr and peak RSS in MB."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GOPUSH_", "CLOUDSMITH_"))}
    done = run_measured([sys.executable, "-m", "gopush", *args],
                        {**full, "CI": "1", **(env or {})}, timeout=300)
    return done.code, done.err, done.peak_mb


def test_a_108_mib_module_moves_in_bounded_memory(big_module: dict[str, Any], pg: Databases,
                                                  go: GoOracle, tmp_path: Path) -> None:
    """Export from SQLite and import into PostgreSQL of a registry holding a >= 100 MiB
    zip: each process's peak RSS stays far below the zip's size (blobs are streamed), and
    the real go downloads it from the imported registry with gopush build's h1:."""
    served = start_serve(tmp_path / "src")
    try:
        pushed = api_push(served.url, "acme/big", big_module["zip"])
        assert pushed.package["status_str"] == "Completed", pushed.package
        began = time.monotonic()
        status, err, export_mb = _run_measured("serve", "--data", str(tmp_path / "src"),
                                               "--export", str(tmp_path / "exp"))
        export_s = time.monotonic() - began
        assert status == 0, err
    finally:
        served.stop()
    url = pg.new()
    began = time.monotonic()
    status, err, import_mb = _run_measured("serve", "--data", str(tmp_path / "dst"),
                                           "--import", str(tmp_path / "exp"),
                                           env={"GOPUSH_SERVE_DATABASE": url})
    import_s = time.monotonic() - began
    assert status == 0, err
    size_mb = Path(big_module["zip"]).stat().st_size / (1 << 20)
    print(f"\n{size_mb:.0f} MiB zip: export {export_s:.1f} s, peak RSS {export_mb:.0f} MB; "
          f"import {import_s:.1f} s, peak RSS {import_mb:.0f} MB")
    assert export_mb < 100 and import_mb < 100
    imported = start_serve(tmp_path / "dst", env={"GOPUSH_SERVE_DATABASE": url})
    try:
        got = go.download("example.com/big", "v1.0.0", GOPROXY=imported.goproxy("acme/big"),
                          GOINSECURE="*", GOMODCACHE=str(tmp_path / "cache"))
        assert got["Sum"] == big_module["sum"]
    finally:
        imported.stop()


# -- a registry that changes while it is exported (in-process, both engines) ----------------


def _accepted(version: str, sum_: str) -> Any:
    from gopush.modzip.accept import AcceptedZip

    return AcceptedZip("example.com/m", version, sum_, b"module example.com/m\n",
                       gomod_synthesized=False, valid=(), pseudo_time=None)


def _exported_rows(out: Path, table: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "rows" / f"{table}.jsonl").read_text().splitlines()]


def _during_blob_copy(monkeypatch: pytest.MonkeyPatch, change: Any) -> list[str]:
    """Run ``change`` once, when the export reads its first blob (after the snapshot);
    return the blobs read, in order."""
    from gopush.server import transfer

    real, read = transfer._read_blob, []

    def reading(blobs: Any, sha: str) -> Any:
        if not read:
            change()
        read.append(sha)
        return real(blobs, sha)

    monkeypatch.setattr(transfer, "_read_blob", reading)
    return read


@pytest.mark.both_databases
def test_a_push_during_an_export_is_not_in_it(tmp_path: Path, storage_db: str | None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import stored_upload

    from gopush.server.storage import Storage
    from gopush.server.transfer import export_registry

    storage = Storage(tmp_path / "data", storage_db)
    repo = storage.ensure_repo("acme", "mods")
    storage.publish(repo, stored_upload(storage, b"first"), _accepted("v1.0.0", "h1:a"),
                    republish=False)
    _during_blob_copy(monkeypatch, lambda: storage.publish(
        repo, stored_upload(storage, b"late zip"), _accepted("v1.1.0", "h1:b"),
        republish=False))
    summary = export_registry(storage.db, storage.blobs, tmp_path / "out")
    assert [v["version"] for v in _exported_rows(tmp_path / "out", "versions")] == ["v1.0.0"]
    assert hashlib.sha256(b"late zip").hexdigest() not in (
        tmp_path / "out" / "blobs.jsonl").read_text()
    assert summary.rows["packages"] == 1 and len(storage.versions(repo, "example.com/m")) == 2
    storage.db.close()


@pytest.mark.both_databases
def test_a_delete_during_an_export_starts_it_again(tmp_path: Path, storage_db: str | None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The blob of a package deleted after the snapshot is gone when the export copies it:
    the export starts again from a new snapshot, where the package is deleted."""
    from conftest import stored_upload

    from gopush.server.storage import Storage
    from gopush.server.transfer import export_registry

    storage = Storage(tmp_path / "data", storage_db)
    repo = storage.ensure_repo("acme", "mods")
    storage.publish(repo, stored_upload(storage, b"kept"), _accepted("v1.0.0", "h1:a"),
                    republish=False)
    doomed, _ = storage.publish(repo, stored_upload(storage, b"doomed"),
                                _accepted("v1.1.0", "h1:b"), republish=False)
    read = _during_blob_copy(monkeypatch, lambda: storage.delete_package(doomed))
    summary = export_registry(storage.db, storage.blobs, tmp_path / "out")
    assert doomed.blob_sha256 in read  # the first try reached it, deleted
    assert read.count(read[0]) == 2  # and the second try began again
    states = {p["version"]: p["state"] for p in _exported_rows(tmp_path / "out", "packages")}
    assert states == {"v1.0.0": "completed", "v1.1.0": "deleted"}
    assert summary.blobs == 2  # kept's zip and the go.mod
    assert not list((tmp_path).glob(".out.partial-*"))
    storage.db.close()


def _first_repo_with(exported: Path, **changes: Any) -> bytes:
    lines = (exported / "rows" / "repos.jsonl").read_bytes().splitlines(keepends=True)
    row = {**json.loads(lines[0]), **changes}
    return json.dumps(row).encode() + b"\n" + b"".join(lines[1:])


@pytest.mark.parametrize(("forged", "words"), [
    (lambda e: _first_repo_with(e, private="yes"), ("line 1", "column private",
                                                    "not a 64-bit integer")),
    (lambda e: _first_repo_with(e, private=1 << 64), ("line 1", "not a 64-bit integer")),
    (lambda e: _first_repo_with(e, owner=None), ("line 1", "null in a NOT NULL column")),
    (lambda e: _first_repo_with(e, owner="a\u0000b"), ("line 1", "NUL character")),
    (lambda e: _first_repo_with(e, evil="x"), ("line 1", "not a row of the table's columns")),
    (lambda e: b"[" * 100_000 + b"]" * 100_000 + b"\n", ("line 1", "nested too deeply")),
    (lambda e: b'{"owner": "' + b"x" * (16 << 20) + b'"}\n', ("line 1", "longer than")),
], ids=["text-in-integer", "huge-integer", "null", "nul", "extra-column", "deep", "long-line"])
def test_hostile_rows_are_refused_by_name(exported: Path, tmp_path: Path, forged: Any,
                                          words: tuple[str, ...]) -> None:
    """Rows files the manifest agrees with but that do not fit the schema or the bounds."""
    copy = _copy(exported, tmp_path)
    _rewrite(copy, "rows/repos.jsonl", forged(exported))
    _refused(import_(tmp_path / "t", copy), 4, "rows/repos.jsonl", *words)
    _nothing_written(tmp_path / "t")


def test_an_oversized_manifest_is_refused(exported: Path, tmp_path: Path) -> None:
    copy = _copy(exported, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "pad": "x" * (1 << 20)}))
    _refused(import_(tmp_path / "t", copy), 4, "manifest.json", "larger than")
    _nothing_written(tmp_path / "t")


def test_export_names_a_blob_the_store_lost(tmp_path: Path) -> None:
    from conftest import stored_upload

    from gopush.server.storage import Storage

    storage = Storage(tmp_path / "data")
    repo = storage.ensure_repo("acme", "mods")
    package, _ = storage.publish(repo, stored_upload(storage, b"zip"),
                                 _accepted("v1.0.0", "h1:a"), republish=False)
    storage.blobs.delete([str(package.blob_sha256)])  # behind the registry's back
    storage.db.close()
    proc = gopush("serve", "--json", "--data", str(tmp_path / "data"), "--export",
                  str(tmp_path / "out"))
    _refused(proc, 4, str(package.blob_sha256), "missing from the registry's store")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))
