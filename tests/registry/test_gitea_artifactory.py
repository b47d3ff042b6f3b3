"""Gitea/Forgejo and Artifactory targets over pytest-httpx: paths, bodies, auth, refusals."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
import stamina

from gopush.cli.main import main
from gopush.errors import ExitCode
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

KEY = "tok_5e3f0a9b8c7d6e5f4a3b"
MODULE, VERSION = "example.com/Hello", "v1.0.0"


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI mode, key from the environment, retries without sleeping."""
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("GOPUSH_API_KEY", KEY)
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


@pytest.fixture
def module_zip(tmp_path: Path) -> Path:
    """A valid module zip."""
    path = tmp_path / f"{VERSION}.zip"
    create_zip(path, MODULE, VERSION, [DataFile("go.mod", f"module {MODULE}\n".encode()),
                                       DataFile("h.go", b"package hello\n")])
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Run gopush and check the key never shows."""
    code = main(list(args))
    out, err = capsys.readouterr()
    assert KEY not in out + err
    return code, out, err


def test_gitea_upload(httpx_mock, module_zip: Path, capsys) -> None:
    """Gitea gets the zip by PUT /api/packages/OWNER/go/upload with Basic user:token."""
    httpx_mock.add_response(method="GET", status_code=404,
                            url=re.compile(r"https://git\.test/api/packages/acme/go/.*\.info"))
    httpx_mock.add_response(method="GET", url="https://git.test/api/v1/user", json={"login": "ci"})
    httpx_mock.add_response(method="PUT", url="https://git.test/api/packages/acme/go/upload",
                            status_code=201)
    code, out, err = run(capsys, "push", "--to", "gitea:https://git.test/acme", "--username",
                         "ci", str(module_zip))
    assert code == ExitCode.OK, err
    put = httpx_mock.get_request(method="PUT")
    assert put.content == module_zip.read_bytes()
    assert put.headers["authorization"] == "Basic " + base64.b64encode(
        f"ci:{KEY}".encode()).decode()
    assert "GOPROXY=https://git.test/api/packages/acme/go/" in out
    assert "example.com/!hello/@v/v1.0.0.info" in str(httpx_mock.get_requests()[0].url)


def test_gitea_conflict(httpx_mock, module_zip: Path, capsys) -> None:
    """A 409 from Gitea exits 5 and suggests --republish."""
    httpx_mock.add_response(method="GET", status_code=404, url=re.compile(r".*\.info$"))
    httpx_mock.add_response(method="GET", url="https://git.test/api/v1/user", json={})
    httpx_mock.add_response(method="PUT", status_code=409,
                            json={"message": "package version already exists"})
    code, _, err = run(capsys, "push", "--to", "gitea:https://git.test/acme", str(module_zip))
    assert code == ExitCode.REJECTED
    assert "package version already exists" in err and "--republish" in err


def test_artifactory_puts_zip_mod_info(httpx_mock, module_zip: Path, capsys) -> None:
    """Artifactory gets .zip, .mod, then .info under @v/, with checksum headers and Bearer."""
    base = "https://jf.test/artifactory/go-local"
    httpx_mock.add_response(method="GET", status_code=404, url=re.compile(
        r"https://jf\.test/artifactory/api/go/go-local/.*\.info"))
    httpx_mock.add_response(method="GET", url=f"{base}/", json={})
    for ext in ("zip", "mod", "info"):
        httpx_mock.add_response(method="PUT", url=f"{base}/example.com/!hello/@v/v1.0.0.{ext}",
                                status_code=201)
    code, _, err = run(capsys, "push", "--to", f"artifactory:{base}", str(module_zip))
    assert code == ExitCode.OK, err
    puts = [r for r in httpx_mock.get_requests() if r.method == "PUT"]
    assert [str(r.url).rsplit(".", 1)[1] for r in puts] == ["zip", "mod", "info"]
    assert puts[0].content == module_zip.read_bytes()
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in puts)
    assert all(len(r.headers["x-checksum-sha256"]) == 64 for r in puts)
    assert puts[1].content == f"module {MODULE}\n".encode()


def test_artifactory_refusal(httpx_mock, module_zip: Path, capsys) -> None:
    """A 403 on deploy exits 3 with the server's message."""
    base = "https://jf.test/artifactory/go-local"
    httpx_mock.add_response(method="GET", status_code=404, url=re.compile(r".*\.info$"))
    httpx_mock.add_response(method="GET", url=f"{base}/", json={})
    httpx_mock.add_response(method="PUT", status_code=403,
                            json={"errors": [{"message": "not permitted"}]})
    code, _, err = run(capsys, "push", "--to", f"artifactory:{base}", str(module_zip))
    assert code == ExitCode.CONFIG and "403" in err and "not permitted" in err
