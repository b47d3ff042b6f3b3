"""`gopush push --to artifactory:` against an Artifactory stand-in process rebuilt from
JFrog's Go publisher and REST documentation (tests/standins/artifactory.py cites each rule),
judged by the real go command.

What each test shows: the ``api/go`` deploy layout of ``jf go-publish`` (module path in its
own case, ``go.version`` property, ``X-Checksum-Sha1``/``-Md5``/``X-Checksum`` equal to the
bytes sent); go downloads the module, mixed case included, through the GOPROXY gopush prints
(and through a virtual repository named with --goproxy); overwrite protection from the
storage API before writing; a lost reply recognised; the checksum-mismatch 409.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina
from gotool import GoOracle
from standins.run import Standin, start_standin
from test_gitea_standin import module_zip, printed_goproxy, sum_of

from gopush.cli.main import main
from gopush.errors import ExitCode

DEPLOYER = "deployer-secret-1a2b3c4d"  # Read + Deploy, no Delete/Overwrite
ADMIN = "admin-secret-9f8e7d6c"  # Read + Deploy + Delete/Overwrite
BLIND = "blind-secret-5a6b7c8d"  # Deploy only, no Read


@pytest.fixture
def jfrog(tmp_path: Path) -> Iterator[Standin]:
    """An Artifactory stand-in: local go-local, virtual go-virtual over it, anonymous reads
    (Artifactory's "Allow Anonymous Access"; go sends .netrc credentials over HTTPS only)."""
    served = start_standin("artifactory", {
        "repos": {"go-local": {"type": "local"},
                  "go-virtual": {"type": "virtual", "repositories": ["go-local"]}},
        "users": {"deployer": {"secret": DEPLOYER, "perms": ["read", "deploy"]},
                  "admin": {"secret": ADMIN, "perms": ["read", "deploy", "delete"]},
                  "blind": {"secret": BLIND, "perms": ["deploy"]}},
        "anonymous_read": True}, tmp_path)
    yield served
    served.stop()


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """CI mode, the deployer's token from the environment, retries without sleeping."""
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("GOPUSH_API_KEY", DEPLOYER)
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


def push(capsys: pytest.CaptureFixture[str], jfrog: Standin, *args: str) -> tuple[int, str, str]:
    """Run ``gopush push --to artifactory:URL/artifactory/go-local ARGS``."""
    code = main(["push", "--to", f"artifactory:{jfrog.url}/artifactory/go-local", *args])
    out, err = capsys.readouterr()
    assert DEPLOYER not in out + err and ADMIN not in out + err
    return code, out, err


def deploys(jfrog: Standin) -> list[str]:
    """Return the paths of the PUT requests, in order."""
    return [r["path"] for r in jfrog.requests("PUT")]


def test_go_publish_layout_property_checksums_and_go_downloads(
        jfrog: Standin, go: GoOracle, tmp_path: Path, capsys) -> None:
    """A mixed-case module is deployed as jf go-publish does: .zip, .mod, .info under
    api/go/go-local/<module as written>/@v/ with ;go.version=, each with the SHA-1, MD5 and
    SHA-256 of its body; go downloads it (exact version and latest, which needs the
    property) through the printed GOPROXY."""
    zipped = module_zip(tmp_path, "example.com/Hello", "v1.0.0")
    code, out, err = push(capsys, jfrog, str(zipped))
    assert code == ExitCode.OK, err
    base = "/artifactory/api/go/go-local/example.com/Hello/@v/v1.0.0"
    assert deploys(jfrog) == [f"{base}.{ext};go.version=v1.0.0" for ext in ("zip", "mod", "info")]
    data = zipped.read_bytes()
    put = jfrog.requests("PUT")[0]["headers"]
    assert put["x-checksum-sha1"] == hashlib.sha1(data).hexdigest()
    assert put["x-checksum-md5"] == hashlib.md5(data).hexdigest()
    assert put["x-checksum"] == hashlib.sha256(data).hexdigest()
    assert put["authorization"] == f"Bearer {DEPLOYER}"

    # anonymous reads are on (go sends .netrc credentials over HTTPS only)
    env = {"GOPROXY": printed_goproxy(out)}
    assert env["GOPROXY"].startswith(f"{jfrog.url}/artifactory/api/go/go-local/,")
    h1 = sum_of(out + err, "example.com/Hello@v1.0.0")
    assert go.download("example.com/Hello", "v1.0.0", **env)["Sum"] == h1
    assert go.download("example.com/Hello", "latest", **env)["Version"] == "v1.0.0"


def test_virtual_repository_named_with_goproxy(jfrog: Standin, go: GoOracle, tmp_path: Path,
                                               capsys) -> None:
    """--goproxy naming a virtual repository: gopush prints it, and go downloads through it."""
    virtual = f"{jfrog.url}/artifactory/api/go/go-virtual"
    zipped = module_zip(tmp_path, "example.com/virt", "v0.3.0")
    code, out, err = push(capsys, jfrog, "--goproxy", virtual, str(zipped))
    assert code == ExitCode.OK, err
    env = {"GOPROXY": printed_goproxy(out)}
    assert env["GOPROXY"].startswith(virtual + "/,")
    assert go.download("example.com/virt", "v0.3.0", **env)["Sum"] == \
        sum_of(out + err, "example.com/virt@v0.3.0")


def test_identical_repush_and_completing_a_half_written_version(
        jfrog: Standin, tmp_path: Path, capsys) -> None:
    """A user without Delete/Overwrite re-pushes identical content: 'identical', nothing
    written. A version whose .mod/.info are missing (an earlier push stopped) is completed
    without writing its zip again."""
    zipped = module_zip(tmp_path, "example.com/again", "v1.0.0")
    assert push(capsys, jfrog, str(zipped))[0] == ExitCode.OK
    code, out, err = push(capsys, jfrog, str(zipped))
    assert code == ExitCode.OK and "identical" in out + err
    assert len(deploys(jfrog)) == 3

    half = module_zip(tmp_path, "example.com/half", "v1.0.0")
    jfrog.fault(drop_reply={"method": "PUT", "contains": "v1.0.0.mod"})
    stamina.set_testing(True, attempts=1)  # the lost .mod reply is not retried: push stops
    code, _, err = push(capsys, jfrog, str(half))
    assert code == ExitCode.UNAVAILABLE, err
    stamina.set_testing(True, attempts=3)
    code, _, err = push(capsys, jfrog, str(half))
    assert code == ExitCode.OK, err
    assert [p.split("/@v/")[1] for p in deploys(jfrog)[3:]] == \
        ["v1.0.0.zip;go.version=v1.0.0", "v1.0.0.mod;go.version=v1.0.0",
         "v1.0.0.info;go.version=v1.0.0"]  # second run: the .info only (zip and .mod kept)


def test_other_content_is_refused_before_writing(jfrog: Standin, tmp_path: Path, capsys,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Other content for a stored version: refused from the storage API's SHA-256 before any
    PUT (exit 5). --republish by a user without Delete/Overwrite: Artifactory's 403, with that
    permission named (exit 3). By one with it: replaced."""
    first = module_zip(tmp_path, "example.com/other", "v1.4.0", b"package m // one\n")
    second = module_zip(tmp_path, "example.com/other", "v1.4.0", b"package m // two\n")
    assert push(capsys, jfrog, str(first))[0] == ExitCode.OK
    code, _, err = push(capsys, jfrog, str(second))
    assert code == ExitCode.REJECTED and "different content" in err
    assert len(deploys(jfrog)) == 3
    code, _, err = push(capsys, jfrog, "--republish", str(second))
    assert code == ExitCode.CONFIG and "Delete/Overwrite" in err
    monkeypatch.setenv("GOPUSH_API_KEY", ADMIN)
    code, _, err = main(["push", "--to", f"artifactory:{jfrog.url}/artifactory/go-local",
                         "--republish", str(second)]), *capsys.readouterr()
    assert code == ExitCode.OK, err


def test_lost_reply_then_retry_is_recognised_as_landed(jfrog: Standin, tmp_path: Path,
                                                       capsys) -> None:
    """The zip is stored but its reply lost: the storage API shows this very zip before a
    retry, so it is not sent again (a second PUT would need Delete/Overwrite)."""
    zipped = module_zip(tmp_path, "example.com/lost", "v1.0.0")
    jfrog.fault(drop_reply={"method": "PUT", "contains": ".zip"})
    code, out, err = push(capsys, jfrog, "-v", str(zipped))
    assert code == ExitCode.OK, err
    assert "the earlier try had landed" in out + err
    assert [p.split("/@v/")[1].split(";")[0] for p in deploys(jfrog)] == \
        ["v1.0.0.zip", "v1.0.0.mod", "v1.0.0.info"]  # the zip sent once


def test_checksum_mismatch_is_not_version_exists(jfrog: Standin, tmp_path: Path, capsys) -> None:
    """Bytes changed in transit: Artifactory's 409 (checksums differ, nothing stored) is told
    as such (exit 6, run again), not as "version exists"; the next run publishes."""
    zipped = module_zip(tmp_path, "example.com/flip", "v1.0.0")
    jfrog.fault(corrupt={"method": "PUT", "contains": ".zip"})
    code, _, err = push(capsys, jfrog, str(zipped))
    assert code == ExitCode.UNAVAILABLE
    assert "Checksum error" in err and "checksums differ" in err and "--republish" not in err
    code, _, err = push(capsys, jfrog, str(zipped))
    assert code == ExitCode.OK, err
    assert re.search(r"\.zip;", deploys(jfrog)[-3])


def test_deploy_without_read_permission_skips_the_checks(
        jfrog: Standin, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user with Deploy but no Read: the storage API refuses (403), so the existence checks
    are skipped (they need more than the upload) and the three files are deployed."""
    monkeypatch.setenv("GOPUSH_API_KEY", BLIND)
    zipped = module_zip(tmp_path, "example.com/blind", "v1.0.0")
    code, out, err = push(capsys, jfrog, "-v", str(zipped))
    assert code == ExitCode.OK, err
    assert "no Read permission" in out + err
    assert len(deploys(jfrog)) == 3
