"""CloudsmithRegistry against the pytest-httpx fake: multipart uploads, retries, lookups."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from registry.fakeapi import HOST, KEY, SLOT, SLUG, FakeApi

from gopush.actions.artifact import load_artifact
from gopush.config.credentials import Credential, Secret
from gopush.config.settings import Settings, Target
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.registry import cloudsmith
from gopush.registry.factory import open_registry

MODULE, VERSION = "example.com/hello", "v1.0.0"


pytestmark = pytest.mark.usefixtures("no_backoff")


@pytest.fixture
def api(httpx_mock) -> FakeApi:
    """The fake Cloudsmith API on every httpx transport."""
    fake = FakeApi()
    httpx_mock.add_callback(fake, is_reusable=True, is_optional=True)
    return fake


def open_fake() -> cloudsmith.CloudsmithRegistry:
    """Open the registry gopush would open for acme/gomods on the fake host."""
    settings = Settings(target=Target(kind="cloudsmith", location=HOST, repository="acme/gomods"),
                        credential=Credential(Secret(KEY), "test"))
    registry = open_registry(settings)
    assert isinstance(registry, cloudsmith.CloudsmithRegistry)
    return registry


def big_zip(tmp_path: Path, size: int) -> Path:
    """A module zip with ``size`` incompressible bytes in one file."""
    path = tmp_path / f"{VERSION}.zip"
    files = [DataFile("go.mod", f"module {MODULE}\n".encode()),
             DataFile("blob.bin", os.urandom(size))]
    create_zip(path, MODULE, VERSION, files)
    return path


def test_parts_cover_the_file_in_order(api: FakeApi, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """At or above PART_SIZE the zip goes as numbered PUTs whose bodies concatenate to the
    file, then ``complete``; the slot asks for put_parts."""
    monkeypatch.setattr(cloudsmith, "PART_SIZE", 4096)
    artifact = load_artifact(big_zip(tmp_path, 10_000))
    sent: list[int] = []
    published = open_fake().publish(artifact, republish=False, on_progress=sent.append)
    slot = next(s for s in api.seen if s.step == "slot")
    assert json.loads(slot.body)["method"] == "put_parts"
    parts = [s for s in api.seen if s.step == "part"]
    numbers = [httpx.URL(p.url).params["part_number"] for p in parts]
    assert numbers == [str(n) for n in range(1, len(parts) + 1)] and len(parts) == 3
    assert all(httpx.URL(p.url).params["upload_id"] == SLOT for p in parts)
    assert b"".join(p.body for p in parts) == artifact.zip_path.read_bytes()
    assert api.steps()[-2:] == ["complete", "create"]
    assert sum(sent) == artifact.size and published.package


def test_part_retry_resends_same_bytes(api: FakeApi, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A part that fails with 503 is sent again, byte for byte, and progress is not counted
    twice."""
    monkeypatch.setattr(cloudsmith, "PART_SIZE", 4096)
    artifact = load_artifact(big_zip(tmp_path, 10_000))
    api.on("part", httpx.Response(200), httpx.Response(503))
    sent: list[int] = []
    open_fake().publish(artifact, republish=False, on_progress=sent.append)
    parts = [s for s in api.seen if s.step == "part"]
    assert len(parts) == 4 and parts[1].body == parts[2].body
    assert sum(sent) == artifact.size


def test_below_part_size_is_one_form_post(api: FakeApi, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """One byte below PART_SIZE the zip goes as a single form POST with the slot's fields
    and no key."""
    artifact = load_artifact(big_zip(tmp_path, 3000))
    monkeypatch.setattr(cloudsmith, "PART_SIZE", artifact.size + 1)
    open_fake().publish(artifact, republish=False, on_progress=lambda n: None)
    upload = next(s for s in api.seen if s.step == "upload")
    assert "x-api-key" not in upload.headers
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert int(upload.headers["content-length"]) == len(upload.body)
    assert b'name="key"\r\n\r\nin/' + SLOT.encode() in upload.body
    assert b'name="file"; filename="v1.0.0.zip"\r\n\r\n' in upload.body
    assert "part" not in api.steps()


def test_lookup_identical_by_sha256_needs_no_download(api: FakeApi, tmp_path: Path) -> None:
    """A listed package with the same SHA-256 is identical without reading the GOPROXY."""
    artifact = load_artifact(big_zip(tmp_path, 100))
    api.packages.append({"name": MODULE, "version": VERSION, "slug": "s1",
                         "checksum_sha256": artifact.sha256})
    existing = open_fake().lookup(artifact)
    assert existing is not None and existing.sum == artifact.sum and existing.package == "s1"
    assert api.steps() == ["list"]


def test_lookup_of_a_failed_package_is_not_identical(api: FakeApi, tmp_path: Path) -> None:
    """A package whose processing failed was never served: the same SHA-256 does not make
    it an identical, published version."""
    artifact = load_artifact(big_zip(tmp_path, 100))
    api.packages.append({"name": MODULE, "version": VERSION, "slug": "s1",
                         "checksum_sha256": artifact.sha256, "is_sync_failed": True})
    existing = open_fake().lookup(artifact)
    assert existing is not None and (existing.state, existing.sum) == ("failed", None)


def test_lookup_reads_back_h1_through_goproxy(api: FakeApi, tmp_path: Path) -> None:
    """Without a listed package, the served zip is downloaded and hashed like go does."""
    artifact = load_artifact(big_zip(tmp_path, 100))
    api.published_zip = artifact.zip_path.read_bytes()
    existing = open_fake().lookup(artifact)
    assert existing is not None and existing.sum == artifact.sum
    assert api.steps() == ["list", "info", "zip"]


def test_whoami(api: FakeApi) -> None:
    """whoami returns the user the key belongs to."""
    assert open_fake().whoami()["slug"] == "dev"


def test_default_goproxy() -> None:
    """Cloudsmith's own host maps to dl.cloudsmith.io; any other host to <root>/go/O/R/."""
    assert (cloudsmith.default_goproxy("https://api.cloudsmith.io", "acme", "r")
            == "https://dl.cloudsmith.io/basic/acme/r/go/")
    assert (cloudsmith.default_goproxy("http://127.0.0.1:8080/v1", "acme", "r")
            == "http://127.0.0.1:8080/go/acme/r/")


def test_status_polls_wait_first_then_spread_out(api: FakeApi) -> None:
    """The first poll waits a few milliseconds (a package is never processed at once), and
    each later one waits longer, from ``POLL_INTERVALS``, until the package is synchronised."""
    busy = httpx.Response(200, json={"is_sync_completed": False, "is_sync_failed": False,
                                     "sync_progress": 50, "status_str": "Sync In Progress"})
    api.on("status", busy, busy, busy)
    registry = open_fake()
    pauses: list[float] = []
    registry.api.sleep = pauses.append
    done = registry.wait(cloudsmith.Published(package=SLUG),
                         timeout=60, on_status=lambda message, percent: None)
    assert done.synced and api.steps().count("status") == 4
    assert pauses == list(cloudsmith.POLL_INTERVALS[:4])
    assert pauses == sorted(pauses) and pauses[0] <= 0.005


def test_a_delete_whose_reply_was_lost_is_done_once_the_package_is_gone(
        httpx_mock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A DELETE whose reply is lost is not an error when the package is then gone (404):
    the first try landed; ``rm`` must not report a failure for a removal that happened."""
    monkeypatch.setattr("time.sleep", lambda _: None)
    path = f"{HOST}/packages/acme/gomods/{SLUG}/"
    httpx_mock.add_exception(httpx.ReadError("reply lost"), method="DELETE", url=path)
    httpx_mock.add_response(method="GET", url=path, status_code=404,
                            json={"detail": "Not found."})
    open_fake().delete_package(SLUG)
    assert [r.method for r in httpx_mock.get_requests()] == ["DELETE", "GET"]
