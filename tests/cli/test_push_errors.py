"""``gopush push go`` against a Cloudsmith-style API faked with pytest-httpx: every error path.

Each test runs the real CLI entry point (``gopush.cli.main.main``) and checks the exit code,
the message, and that the API key appears in no byte of stdout or stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from registry.fakeapi import HOST, KEY, SLUG, FakeApi

from gopush.cli.main import main
from gopush.errors import ExitCode
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

MODULE, VERSION = "example.com/hello", "v1.0.0"


pytestmark = pytest.mark.usefixtures("no_backoff")


@pytest.fixture
def api(httpx_mock, monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    """Install the fake API and point gopush at it with a key from the environment."""
    fake = FakeApi()
    httpx_mock.add_callback(fake, is_reusable=True, is_optional=True)
    monkeypatch.setenv("GOPUSH_API_HOST", HOST)
    monkeypatch.setenv("GOPUSH_API_KEY", KEY)
    monkeypatch.setenv("CI", "true")
    return fake


def make_zip(directory: Path, body: str = "package hello\n") -> Path:
    """Write a valid module zip for example.com/hello@v1.0.0 and return its path."""
    path = directory / f"{VERSION}.zip"
    files = [DataFile("go.mod", f"module {MODULE}\n\ngo 1.21\n".encode()),
             DataFile("hello.go", body.encode())]
    create_zip(path, MODULE, VERSION, files)
    return path


@pytest.fixture
def module_zip(tmp_path: Path) -> Path:
    """A valid module zip on disk."""
    return make_zip(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run gopush; return (exit code, stdout, stderr) after checking the key never shows."""
    code = main(list(args))
    out, err = capsys.readouterr()
    assert KEY not in out and KEY not in err
    return code, out, err


def push(capsys: pytest.CaptureFixture[str], module_zip: Path, *extra: str
         ) -> tuple[int, str, str]:
    """Run ``gopush push go acme/gomods ZIP`` plus ``extra`` options."""
    return run(capsys, "push", "go", "acme/gomods", str(module_zip), *extra)


def error(status: int, detail: str = "", **extra: object) -> httpx.Response:
    """Return a Cloudsmith-style error reply."""
    return httpx.Response(status, json={"detail": detail or f"status {status}", **extra})


def test_happy_path_sequence_and_key_placement(api: FakeApi, module_zip: Path, capsys) -> None:
    """A fresh push runs the documented steps in order; the key goes to the API, never to the
    presigned upload URL (the GOPROXY on the same host gets it too)."""
    code, out, err = push(capsys, module_zip)
    assert code == ExitCode.OK, err
    assert api.steps() == ["list", "info", "validate_pkg", "validate_file", "slot", "upload",
                           "create", "status"]
    for seen in api.seen:
        has_key = seen.headers.get("x-api-key") == KEY
        assert has_key == (seen.step != "upload"), seen.step
    upload = next(s for s in api.seen if s.step == "upload")
    assert module_zip.read_bytes() in upload.body
    assert f"published {MODULE}@{VERSION} h1:" in out
    assert "GOPROXY=https://registry.test/go/acme/gomods/" in out
    assert f"go get {MODULE}@{VERSION}" in out


@pytest.mark.parametrize(("step", "status", "code", "words"), [
    ("validate_pkg", 401, ExitCode.CONFIG, "API key was refused"),
    ("validate_pkg", 403, ExitCode.CONFIG, "needs write access"),
    ("validate_pkg", 404, ExitCode.REJECTED, "does not exist or is not visible"),
    ("create", 409, ExitCode.REJECTED, "--republish"),
    ("upload", 413, ExitCode.REJECTED, "size limit"),
])
def test_status_maps_to_exit_code_and_hint(api: FakeApi, module_zip: Path, capsys, step: str,
                                           status: int, code: ExitCode, words: str) -> None:
    """Each refusal exits with its documented code (never status mod 256) and a hint."""
    api.on(step, error(status, f"the server says {status}, key {KEY}"))
    got, out, err = push(capsys, module_zip)
    assert got == code
    assert f"answered {status}" in err and f"the server says {status}, key ***" in err
    assert words in err
    assert out == ""


def test_422_shows_detail_and_fields(api: FakeApi, module_zip: Path, capsys) -> None:
    """A 422 shows the server's detail and every field message, in text and in JSON."""
    answer = error(422, "Invalid input.", fields={
        "package_file": ["The zip is not a Go module archive."],
        "non_field_errors": ["A package with this version already exists."]})
    api.on("validate_pkg", answer)
    code, out, err = push(capsys, module_zip)
    assert code == ExitCode.REJECTED
    assert "Invalid input." in err
    assert "package_file: The zip is not a Go module archive." in err
    assert "non_field_errors: A package with this version already exists." in err
    api.on("validate_pkg", answer)
    code, out, _ = push(capsys, module_zip, "--json")
    doc = json.loads(out)
    assert code == ExitCode.REJECTED and doc["ok"] is False
    assert doc["status"] == "failed" and doc["module"] == MODULE and doc["version"] == VERSION
    assert doc["fields"]["package_file"] == ["The zip is not a Go module archive."]


def test_429_with_retry_after_is_retried(api: FakeApi, module_zip: Path, capsys) -> None:
    """A 429 with Retry-After is retried and the push then succeeds."""
    throttled = httpx.Response(429, headers={"Retry-After": "2"}, json={"detail": "slow down"})
    api.on("slot", throttled, throttled)
    code, _, err = push(capsys, module_zip, "-v")
    assert code == ExitCode.OK, err
    assert api.steps().count("slot") == 3
    assert "retry 1/5: request an upload slot" in err


def test_429_forever_is_unavailable(api: FakeApi, module_zip: Path, capsys) -> None:
    """A registry that keeps throttling ends in exit 6 after bounded retries."""
    api.on("slot", *[httpx.Response(429, headers={"Retry-After": "1"})] * 6)
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.UNAVAILABLE
    assert "answered 429" in err and "after retries" in err
    assert api.steps().count("slot") == 6


def test_503_burst_then_success(api: FakeApi, module_zip: Path, capsys) -> None:
    """A burst of 503s on several steps is ridden out."""
    api.on("validate_file", error(503), error(503))
    api.on("create", error(502), error(503), error(504))
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.OK, err


def test_503_forever_is_unavailable(api: FakeApi, module_zip: Path, capsys) -> None:
    """Endless 503s end in exit 6 with the server's detail, not exit 247."""
    api.on("validate_pkg", *[error(503, "maintenance")] * 6)
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.UNAVAILABLE
    assert "answered 503" in err and "maintenance" in err


def test_connection_reset_mid_upload_resends_whole_body(api: FakeApi, module_zip: Path,
                                                        capsys) -> None:
    """A reset during the upload is retried with the complete body rebuilt from the file."""
    api.on("upload", httpx.ReadError("[Errno 104] Connection reset by peer"))
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.OK, err
    bodies = [s.body for s in api.seen if s.step == "upload"]
    assert len(bodies) == 2 and len(bodies[0]) == len(bodies[1])
    assert all(module_zip.read_bytes() in body for body in bodies)


def test_connection_reset_forever_is_unavailable(api: FakeApi, module_zip: Path,
                                                 capsys) -> None:
    """An upload that is always reset ends in exit 6 naming the host."""
    api.on("upload", *[httpx.ReadError("Connection reset by peer")] * 6)
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.UNAVAILABLE
    assert "cannot reach https://registry.test" in err and "Connection reset" in err


def test_lost_reply_to_create_is_not_resent(api: FakeApi, module_zip: Path, capsys) -> None:
    """When the create call landed but its reply was lost, the retry finds the package
    instead of creating it twice."""
    sha = __import__("hashlib").sha256(module_zip.read_bytes()).hexdigest()

    def lands_then_drops(request: httpx.Request) -> httpx.Response:
        api.packages.append({"name": MODULE, "version": VERSION, "slug": SLUG,
                             "checksum_sha256": sha})
        raise httpx.ReadError("connection closed")

    api.on("create", lands_then_drops)
    code, out, err = push(capsys, module_zip)
    assert code == ExitCode.OK, err
    assert api.steps().count("create") == 1
    assert f"(package {SLUG})" in out


def test_sync_failure(api: FakeApi, module_zip: Path, capsys) -> None:
    """A failed sync exits 5 with the registry's reason."""
    api.on("status", httpx.Response(200, json={
        "is_sync_completed": False, "is_sync_failed": True, "sync_progress": 40,
        "status_reason": "go.mod does not match. This package should be deleted"}))
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.REJECTED
    assert "go.mod does not match" in err and f"package {SLUG}" in err
    assert "resync" not in api.steps()


def _failed_sync(reason: str) -> httpx.Response:
    return httpx.Response(200, json={"is_sync_completed": False, "is_sync_failed": True,
                                     "sync_progress": 40, "status_reason": reason})


def test_sync_failure_is_resynced_then_succeeds(api: FakeApi, module_zip: Path,
                                                capsys) -> None:
    """A failure the registry may recover from is answered with a resync, then the push
    succeeds once the package synchronises."""
    api.on("status", _failed_sync("Storage backend timed out"))
    code, out, err = push(capsys, module_zip, "-v")
    assert code == ExitCode.OK, err
    assert "published" in out
    assert api.steps()[-3:] == ["status", "resync", "status"]
    assert "Storage backend timed out" in err and "resync" in err


def test_sync_failing_every_attempt_gives_up(api: FakeApi, module_zip: Path, capsys) -> None:
    """A package that fails on every attempt is resynced twice, then the push exits 5 with
    the reason; a failure that says the package should be deleted is never resynced."""
    api.on("status", *[_failed_sync("Storage backend timed out")] * 3)
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.REJECTED
    assert api.steps().count("resync") == 2 and "Storage backend timed out" in err
    assert "failed it 3 times" in err


def test_sync_never_ends_hits_deadline(api: FakeApi, module_zip: Path, capsys) -> None:
    """A sync that never finishes stops at --timeout with exit 6 and says what to do."""
    forever = httpx.Response(200, json={"is_sync_completed": False, "is_sync_failed": False,
                                        "sync_progress": 10})
    api.on("status", *[forever] * 100)
    code, _, err = push(capsys, module_zip, "--timeout", "1")
    assert code == ExitCode.UNAVAILABLE
    assert "not synchronised within 1s" in err and "run the same command again" in err


def test_package_created_synchronised_needs_no_status_poll(api: FakeApi, module_zip: Path,
                                                           capsys) -> None:
    """A registry whose create reply says the package is already synchronised is taken at
    its word: the push succeeds without a status poll."""
    api.on("create", httpx.Response(201, json={"slug": SLUG, "slug_perm": "AbCdEf123456",
                                               "is_sync_completed": True}))
    code, out, err = push(capsys, module_zip)
    assert code == ExitCode.OK, err
    assert "status" not in api.steps() and "published" in out


def test_no_wait_skips_status(api: FakeApi, module_zip: Path, capsys) -> None:
    """--no-wait returns after creating the package, reporting it as processing."""
    code, out, _ = push(capsys, module_zip, "--no-wait")
    assert code == ExitCode.OK and "status" not in api.steps()
    assert "uploaded (processing)" in out


def test_malformed_json(api: FakeApi, module_zip: Path, capsys) -> None:
    """A non-JSON reply where JSON is needed exits 6, quoting the start of the body."""
    api.on("slot", httpx.Response(202, text="<html>Gateway</html>"))
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.UNAVAILABLE
    assert "a reply gopush cannot read (202, not JSON)" in err and "<html>Gateway" in err


def test_json_success_document(api: FakeApi, module_zip: Path, capsys) -> None:
    """--json prints exactly one JSON document with the documented fields."""
    code, out, _ = push(capsys, module_zip, "--json")
    doc = json.loads(out)
    assert code == ExitCode.OK
    assert {k: doc[k] for k in ("module", "version", "status", "package")} == {
        "module": MODULE, "version": VERSION, "status": "published", "package": SLUG}
    assert doc["sum"].startswith("h1:") and doc["goproxy"] == f"{HOST}/go/acme/gomods/"
    assert doc["setup"]["GONOSUMDB"] == MODULE


def test_debug_trace_hides_key(api: FakeApi, module_zip: Path, capsys) -> None:
    """--debug shows request headers with the key replaced by ***."""
    code, _, err = push(capsys, module_zip, "--debug")
    assert code == ExitCode.OK
    assert "x-api-key: ***" in err.lower()


def test_identical_repush_is_success(api: FakeApi, module_zip: Path, capsys) -> None:
    """Re-pushing content the registry already serves exits 0 without uploading."""
    api.published_zip = module_zip.read_bytes()
    code, out, _ = push(capsys, module_zip)
    assert code == ExitCode.OK
    assert "already published, identical" in out
    assert "upload" not in api.steps() and "create" not in api.steps()


def test_different_content_is_refused(api: FakeApi, tmp_path: Path, capsys) -> None:
    """Another zip under a published version is refused, naming both h1: hashes."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    api.published_zip = make_zip(tmp_path / "a").read_bytes()
    other = make_zip(tmp_path / "b", "package hello\n\nconst X = 1\n")
    code, _, err = push(capsys, other)
    assert code == ExitCode.REJECTED
    assert "different content" in err and "checksum mismatch" in err
    assert "upload" not in api.steps()


def test_missing_key_in_ci(api: FakeApi, module_zip: Path, capsys,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key in CI, push fails at once, naming the variable to set."""
    monkeypatch.delenv("GOPUSH_API_KEY")
    code, _, err = push(capsys, module_zip)
    assert code == ExitCode.CONFIG and "GOPUSH_API_KEY" in err
    assert api.seen == []


def test_invalid_zip_sends_nothing(api: FakeApi, tmp_path: Path, capsys) -> None:
    """A zip go would refuse is stopped locally with exit 4."""
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    code, _, err = push(capsys, bad)
    assert code == ExitCode.INVALID_MODULE and api.seen == []
    assert "bad.zip" in err or "zip" in err


def _second_version(tmp_path: Path) -> Path:
    path = tmp_path / "second" / "v1.1.0.zip"
    path.parent.mkdir()
    create_zip(path, MODULE, "v1.1.0", [DataFile("go.mod", f"module {MODULE}\n".encode()),
                                        DataFile("hello.go", b"package hello\n")])
    return path


def test_several_zips_are_all_sent_before_any_wait(api: FakeApi, module_zip: Path,
                                                   tmp_path: Path, capsys) -> None:
    """Two zips in one push are both uploaded and created before the first status poll, so
    the registry processes them together; the JSON document lists both, published."""
    code, out, err = push(capsys, module_zip, str(_second_version(tmp_path)), "--json")
    assert code == ExitCode.OK, err
    steps = api.steps()
    assert steps.count("create") == 2 and steps.count("status") == 2
    assert max(i for i, step in enumerate(steps) if step == "create") < steps.index("status")
    doc = json.loads(out)
    assert [(m["version"], m["status"]) for m in doc["modules"]] == [
        ("v1.0.0", "published"), ("v1.1.0", "published")]


def test_failed_sync_names_the_other_packages_sent(api: FakeApi, module_zip: Path,
                                                   tmp_path: Path, capsys) -> None:
    """When the first of two packages fails processing, the error says the second was
    uploaded too and is processed by the registry without gopush."""
    api.on("status", _failed_sync("go.mod does not match. This package should be deleted"))
    code, out, _ = push(capsys, module_zip, str(_second_version(tmp_path)), "--json")
    assert code == ExitCode.REJECTED
    doc = json.loads(out)
    assert doc["also_sent"] == [f"{MODULE}@v1.1.0"]
    assert "also uploaded in this run" in doc["error"]["hint"]


def test_upload_refused_after_another_was_sent(api: FakeApi, module_zip: Path,
                                               tmp_path: Path, capsys) -> None:
    """When the registry refuses the second zip, the first (already uploaded, not yet waited
    for) is named as processed by the registry without gopush."""
    api.on("create", httpx.Response(201, json={"slug": SLUG, "slug_perm": "AbCdEf123456"}),
           error(422, "Invalid package.", fields={"package_file": ["Not a zip."]}))
    code, out, _ = push(capsys, module_zip, str(_second_version(tmp_path)), "--json")
    assert code == ExitCode.REJECTED
    doc = json.loads(out)
    assert doc["version"] == "v1.1.0" and doc["also_sent"] == [f"{MODULE}@v1.0.0"]
    assert "also uploaded in this run" in doc["error"]["hint"]
    assert "status" not in api.steps()


def test_repush_of_a_package_still_processing_waits_for_it(api: FakeApi, module_zip: Path,
                                                           capsys) -> None:
    """The same zip, uploaded earlier (--no-wait, a parallel job) and still processing: the
    re-push uploads nothing, but waits until consumers can fetch it before saying so; with
    --no-wait it says it is still being processed."""
    import hashlib

    api.packages.append({"name": MODULE, "version": VERSION, "slug": SLUG,
                         "checksum_sha256": hashlib.sha256(module_zip.read_bytes()).hexdigest(),
                         "is_sync_completed": False, "is_sync_failed": False})
    api.on("status", httpx.Response(200, json={"is_sync_completed": False, "sync_progress": 40,
                                               "status_str": "Sync In Progress"}))
    code, out, err = push(capsys, module_zip, "--json")
    assert code == ExitCode.OK, err
    assert json.loads(out)["status"] == "identical"
    assert api.steps().count("status") == 2  # in progress, then completed
    assert not {"upload", "create", "slot"} & set(api.steps())

    api.seen.clear()
    code, out, err = push(capsys, module_zip, "--no-wait")
    assert code == ExitCode.OK and "still being processed" in err
    assert "status" not in api.steps()
