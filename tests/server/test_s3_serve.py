"""`gopush serve --blobs s3://BUCKET/PREFIX` end to end, on a real S3 server: Ceph's RADOS
Gateway 16.2 from Debian (one for the session, tests/conftest.py ``ceph_gateway``; a new
bucket per test; the AWS variables in the environment of every `gopush serve`).

- Two instances on one PostgreSQL database and one bucket, and no disk in common (one with a
  ``--data`` of its own, the other with none): `gopush push` to one and the official
  cloudsmith-cli to the other, the real go downloading each module through the other
  instance with the pushed h1:; the 108 MiB module sent by the official CLI in parts through
  HAProxy (round robin: its parts reach both instances), downloaded by go from each
  instance, while what each server's memory grows by stays a fraction of the zip's size.
- ``/readyz`` while the gateway is down: 503 with the cause in words that name nothing of
  the deployment (no endpoint, bucket or credential: anyone may ask), 200 once it is back;
  credentials the gateway refuses stop `gopush serve` at start (exit 6), the error naming
  the variable to fix, never its value.
- ``--export`` from a registry on S3, ``--import`` into one on a directory, and the same
  export into another on S3: go downloads every module with the same h1:.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from balancer import Balancer
from balancer import unavailable as balancer_unavailable
from cephrgw import RadosGateway
from conftest import (
    KEY,
    Served,
    api_push,
    cloudsmith,
    gopush_build,
    start_serve,
    tagged_module,
)
from gotool import GoOracle
from pgdatabases import Databases
from pgdatabases import unavailable as pg_unavailable

from gopush.server.app import JOIN_CHECK

REPO = "acme/gomods"
PREFIX = "registry"


def _keys(bucket: str, under: str) -> list[str]:
    """Return the keys of the bucket under ``PREFIX/under`` (a plain client's listing)."""
    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                         Prefix=f"{PREFIX}/{under}")
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def _module(root: Path, name: str, size: int = 0) -> dict[str, Any]:
    """Build example.com/NAME v1.0.0 with `gopush build` (with ``size`` random bytes)."""
    extra: dict[str, str | bytes] = {"assets/data.bin": os.urandom(size)} if size else {}
    repo = tagged_module(root / name, f"example.com/{name}", ["v1.0.0"], extra)
    return gopush_build(repo.path, "v1.0.0", root / f"{name}-dist")


def _gopush_push(served: Served, zip_path: str) -> None:
    """Push ``zip_path`` to ``served`` with `gopush push go`; assert it published."""
    env = {**os.environ, "GOPUSH_API_HOST": served.url, "GOPUSH_API_KEY": KEY, "CI": "1",
           "NO_PROXY": "127.0.0.1"}
    proc = subprocess.run([sys.executable, "-m", "gopush", "push", "go", REPO, zip_path,
                           "--json"], env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _official_push(exe: Path, served: Served, zip_path: str, url: str | None = None) -> None:
    """Push ``zip_path`` with `cloudsmith push go` to ``served``, or to ``url`` before it."""
    target = dataclasses.replace(served, url=url or served.url)  # the CLI reads the URL only
    proc = cloudsmith(exe, target, "push", "go", REPO, zip_path, "--wait-interval", "0.2")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Package synchronised successfully" in out, out
    assert KEY not in out


@dataclass
class S3Pair:
    """Two instances on one database and one bucket, HAProxy before them."""

    instances: list[Served]
    balancer: Balancer
    bucket: str


@pytest.fixture
def s3_pair(s3_bucket: str, tmp_path: Path, pg_databases: Databases) -> Iterator[S3Pair]:
    for why in (pg_unavailable(), balancer_unavailable()):
        if why:
            pytest.skip(why)
    env = {"GOPUSH_SERVE_DATABASE": pg_databases.new(),
           "GOPUSH_SERVE_BLOBS": f"s3://{s3_bucket}/{PREFIX}"}
    instances: list[Served] = []
    balancer = None
    try:
        instances.append(start_serve(tmp_path / "a", env=env))  # a --data of its own
        instances.append(start_serve(None, env=env))  # none: a scratch directory of its own
        balancer = Balancer.start([served.url for served in instances])
        yield S3Pair(instances, balancer, s3_bucket)
    finally:
        if balancer is not None:
            balancer.stop()
        for served in instances:
            served.stop()


@pytest.mark.slow
def test_two_instances_with_no_shared_disk_serve_the_same_modules(
        s3_pair: S3Pair, cloudsmith_cli: Path, go: GoOracle, big_module: dict[str, Any],
        tmp_path: Path) -> None:
    """gopush push to one instance and the official CLI to the other: go downloads each
    module through the other one with the pushed h1:. The 108 MiB module goes in parts
    through HAProxy (both instances take some), go downloads it from each instance, and
    what it adds to either server's memory stays a fraction of the zip's size; no part is
    left in the bucket and no blob, part or join on either instance's disk."""
    first, second = s3_pair.instances
    assert first.doc["blobs"] == second.doc["blobs"] == \
        f"s3://{s3_pair.bucket}/{PREFIX}/ at {os.environ['AWS_ENDPOINT_URL']}"
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in json.dumps(first.doc)

    by_gopush, by_cli = _module(tmp_path, "viagopush", 1 << 20), _module(tmp_path, "viacli")
    _gopush_push(first, by_gopush["zip"])
    _official_push(cloudsmith_cli, second, by_cli["zip"])
    for built, other in ((by_gopush, second), (by_cli, first)):
        info = go.download(built["module"], "v1.0.0", GOPROXY=other.goproxy(REPO))
        assert info["Sum"] == built["sum"]

    size_mib = Path(big_module["zip"]).stat().st_size / (1 << 20)
    idle = [served.peak_rss_mib("VmRSS") for served in s3_pair.instances]
    for served in s3_pair.instances:
        served.reset_peak_rss()
    before = [int(s3_pair.balancer.stats()[f"gopush{n}"]["stot"]) for n in range(2)]
    began = time.monotonic()
    _official_push(cloudsmith_cli, first, big_module["zip"], url=s3_pair.balancer.url)
    pushed = time.monotonic() - began
    after = [int(s3_pair.balancer.stats()[f"gopush{n}"]["stot"]) for n in range(2)]
    assert all(a - b >= 2 for b, a in zip(before, after)), (before, after)
    push_rss = [served.peak_rss_mib() for served in s3_pair.instances]
    assert _keys(s3_pair.bucket, "parts/") == []  # every part deleted once joined

    fetched = []
    for served in s3_pair.instances:
        served.reset_peak_rss()
        began = time.monotonic()
        info = go.download("example.com/big", "v1.0.0", GOPROXY=served.goproxy(REPO))
        fetched.append(time.monotonic() - began)
        assert info["Sum"] == big_module["sum"]
        go.run(["clean", "-modcache"])
    download_rss = [served.peak_rss_mib() for served in s3_pair.instances]
    print(f"\n{size_mib:.1f} MiB zip on S3 (Ceph RGW), two instances: push in parts through "
          f"HAProxy {pushed:.1f} s (requests per instance {before} -> {after}, peak RSS "
          f"{push_rss[0]:.0f}/{push_rss[1]:.0f} MiB); go download from each "
          f"{fetched[0]:.1f}/{fetched[1]:.1f} s (peak RSS of the serving one "
          f"{download_rss[0]:.0f}/{download_rss[1]:.0f} MiB); RSS before the push "
          f"{idle[0]:.0f}/{idle[1]:.0f} MiB")
    # Streamed, not held: what the push and the downloads add to each server's memory stays
    # a fraction of the zip (an instance holding the zip would add all of it). The absolute
    # peak is not below the zip's size on S3: the idle server is at about 97 MiB, a quarter of
    # it the S3 client's own (boto3 and S3's service model; 49 -> 74 MiB on opening the store).
    rises = [max(p, d) - i for p, d, i in zip(push_rss, download_rss, idle)]
    assert max(rises) < size_mib / 3, rises

    blobs = _keys(s3_pair.bucket, "sha256/")
    assert len(blobs) >= 3 + 3  # three zips and their go.mod files (at least)
    # the instance that did not complete the big upload drops its join of the parts it took
    # within JOIN_CHECK seconds (server.expiry.drop_finished_joins); then nothing of a blob
    # is on either instance's local disk
    def local() -> list[str]:
        return [p.name for served in s3_pair.instances
                for p in (served.data / "tmp").rglob("*") if p.is_file()]

    deadline = time.monotonic() + JOIN_CHECK + 20  # generous: a loaded machine
    while local() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert local() == []
    assert not any((served.data / "blobs").exists() for served in s3_pair.instances)


def test_readyz_names_a_stopped_gateway_and_nothing_of_the_deployment(
        ceph_gateway: RadosGateway, s3_bucket: str, tmp_path: Path) -> None:
    """With the gateway killed, /readyz (asked with no key) answers 503 saying the blob
    store's connection is refused, naming neither the endpoint, the bucket nor a credential
    (the log names the endpoint, for the operator); a download, a part and a form upload are
    refused in the same words; 200 again once it is back, and what was stored before
    serves."""
    served = start_serve(tmp_path / "data", "--blobs", f"s3://{s3_bucket}/{PREFIX}",
                         stderr=(tmp_path / "stderr").open("wb"))
    gateway = ceph_gateway
    try:
        built = _module(tmp_path, "kept")
        assert api_push(served.url, REPO, built["zip"]).status_code == 201
        assert httpx.get(f"{served.url}/readyz").json() == {"status": "ready", "reason": None}
        zip_url = f"{served.goproxy(REPO)}example.com/kept/@v/v1.0.0.zip"
        other_zip = Path(_module(tmp_path, "during")["zip"]).read_bytes()
        gateway.kill_gateway()
        try:
            down = httpx.get(f"{served.url}/readyz", timeout=30)
            download = httpx.get(zip_url, timeout=60)
            upload = httpx.post(f"{served.url}/files/{REPO}/", headers={"X-Api-Key": KEY},
                                json={"filename": "v1.0.0.zip", "method": "post",
                                      "md5_checksum": hashlib.md5(other_zip).hexdigest()}
                                ).json()
            sent = httpx.post(upload["upload_url"], data=upload["upload_fields"], timeout=60,
                              files={"file": ("v1.0.0.zip", other_zip)})
            part = httpx.put(f"{served.url}/_upload/parts/{REPO}/", headers={"X-Api-Key": KEY},
                             content=b"a part", params={"upload_id": _parts_slot(served),
                                                        "part_number": 1})
        finally:
            gateway.restart_gateway()
        assert down.status_code == 503, down.text
        reason = down.json()["reason"]
        assert reason == ("The registry's blob store cannot be used: connection refused; "
                          "see the server log.")
        # a download is 503 (go tries again later); a part too (clients retry it); a form
        # upload 400 (the official CLI would re-send its POST without the body)
        assert download.status_code == 503, download.text
        now = "The registry's blob store cannot be used now: connection refused; try again later."
        assert (sent.status_code, sent.json()["detail"]) == (400, now)
        assert (part.status_code, part.json()["detail"]) == (503, now)
        for secret in (gateway.endpoint, str(gateway.s3_port), s3_bucket, gateway.access_key,
                       gateway.secret_key):
            assert all(secret not in reply.text for reply in (down, download, sent, part))
        up = httpx.get(f"{served.url}/readyz")
        assert up.status_code == 200, up.text
        assert httpx.get(zip_url).content == Path(built["zip"]).read_bytes()
    finally:
        served.stop()
    log = (tmp_path / "stderr").read_text()
    assert f"s3://{s3_bucket}/{PREFIX}/ at {gateway.endpoint}" in log  # for the operator
    assert "cannot connect: connection refused" in log
    assert gateway.secret_key not in log and "Traceback" not in log


def _parts_slot(served: Served) -> str:
    """Open a multipart upload slot on ``served``; return its identifier."""
    slot = httpx.post(f"{served.url}/files/{REPO}/", headers={"X-Api-Key": KEY},
                      json={"filename": "v2.0.0.zip", "md5_checksum": "0" * 32,
                            "method": "put_parts"})
    assert slot.status_code == 202, slot.text
    return str(slot.json()["identifier"])


def test_serve_refuses_to_start_with_refused_credentials_and_shows_none(
        aws_env: dict[str, str], s3_bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong secret key: `gopush serve` does not start (its first sweep of the store is
    refused): exit 6, the error names the variable to fix and shows neither the key nor the
    secret, and no traceback."""
    wrong = "wrong-secret-" + "w" * 24
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    proc = subprocess.run([sys.executable, "-m", "gopush", "serve", "--port", "0", "--data",
                           str(tmp_path / "data"), "--blobs", f"s3://{s3_bucket}/{PREFIX}"],
                          capture_output=True, text=True, timeout=120, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 6, out
    assert "the secret key (AWS_SECRET_ACCESS_KEY) does not match the access key" in out
    assert "Traceback" not in out
    for secret in (wrong, aws_env["AWS_SECRET_ACCESS_KEY"]):
        assert secret not in out


def _serve_cmd(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `gopush serve --json ARGS` (an export or an import); return its JSON document."""
    proc = subprocess.run([sys.executable, "-m", "gopush", "serve", "--json", *args],
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def test_export_from_s3_import_into_a_directory_and_into_s3_again(
        s3_bucket: str, go: GoOracle, tmp_path: Path) -> None:
    """A registry on S3 (SQLite metadata) exported while it serves; imported into one whose
    blobs are in a directory, and into another on S3 under another prefix: go downloads
    every module from each with the h1: it had."""
    on_s3 = f"s3://{s3_bucket}/{PREFIX}"
    source = start_serve(tmp_path / "source", "--blobs", on_s3)
    modules = [_module(tmp_path, f"moved{n}", n << 19) for n in range(3)]
    try:
        for built in modules:
            assert api_push(source.url, REPO, built["zip"]).status_code == 201
        exported = _serve_cmd("--data", str(tmp_path / "source"), "--blobs", on_s3,
                              "--export", str(tmp_path / "export"))["exported"]
    finally:
        source.stop()
    assert exported["blobs"] == 2 * len(modules)  # each zip and its go.mod
    targets = [("directory", ()), ("s3", ("--blobs", f"s3://{s3_bucket}/imported"))]
    for name, blobs in targets:
        data = tmp_path / name
        imported = _serve_cmd("--data", str(data), *blobs, "--import", str(tmp_path / "export"))
        assert imported["imported"]["rows"] == exported["rows"]
        served = start_serve(data, *blobs)
        try:
            for built in modules:
                info = go.download(built["module"], "v1.0.0", GOPROXY=served.goproxy(REPO))
                assert info["Sum"] == built["sum"], (name, built["module"])
            go.run(["clean", "-modcache"])
        finally:
            served.stop()
    assert (tmp_path / "directory" / "blobs" / "sha256").is_dir()
    assert len(boto3.client("s3").list_objects_v2(
        Bucket=s3_bucket, Prefix="imported/sha256/")["Contents"]) == 2 * len(modules)
