"""Gitea/Forgejo and Artifactory targets over pytest-httpx: HTTP edge cases the stand-in
processes (test_gitea_standin.py, test_artifactory_standin.py) do not reach."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina

from gopush.cli.main import main
from gopush.errors import ExitCode
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

KEY = "tok_5e3f0a9b8c7d6e5f4a3b"
MODULE, VERSION = "example.com/hello", "v1.0.0"
FILES = re.compile(r"https://git\.test/api/v1/packages/acme/go/example\.com%2Fhello/v1\.0\.0/files")


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
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


def test_gitea_upload_basic_auth_and_package_api_path(httpx_mock, module_zip: Path,
                                                      capsys) -> None:
    """The package API gets the module path as one %2F-escaped segment; the zip goes by PUT
    /api/packages/OWNER/go/upload with Basic user:token."""
    httpx_mock.add_response(method="GET", url=FILES, status_code=404)
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


def test_gitea_409_for_this_very_zip_is_success(httpx_mock, module_zip: Path, capsys) -> None:
    """A 409 whose stored zip has this SHA-256 (a lost reply's retry racing Gitea's commit)
    is the upload having landed, not a refusal."""
    sha256 = hashlib.sha256(module_zip.read_bytes()).hexdigest()
    httpx_mock.add_response(method="GET", url=FILES, status_code=404)
    httpx_mock.add_response(method="PUT", status_code=409,
                            text="package version already exists")
    httpx_mock.add_response(method="GET", url=FILES,
                            json=[{"name": "v1.0.0.zip", "sha256": sha256}])
    code, _, err = run(capsys, "push", "--to", "gitea:https://git.test/acme", str(module_zip))
    assert code == ExitCode.OK, err


def test_gitea_409_for_other_content_is_version_exists(httpx_mock, module_zip: Path,
                                                       capsys) -> None:
    """A 409 whose stored zip differs (another job pushed the version in between): exit 5,
    with Gitea's meaning (it never overwrites)."""
    httpx_mock.add_response(method="GET", url=FILES, status_code=404)
    httpx_mock.add_response(method="PUT", status_code=409,
                            text="package version already exists")
    httpx_mock.add_response(method="GET", url=FILES,
                            json=[{"name": "v1.0.0.zip", "sha256": "0" * 64}])
    code, _, err = run(capsys, "push", "--to", "gitea:https://git.test/acme", str(module_zip))
    assert code == ExitCode.REJECTED
    assert "package version already exists" in err and "never overwrites" in err


def test_artifactory_unknown_repository(httpx_mock, module_zip: Path, capsys) -> None:
    """A repository the storage API does not know: exit 5, naming the target's form."""
    httpx_mock.add_response(method="GET", status_code=404, url=re.compile(
        r"https://jf\.test/artifactory/api/storage/go-local.*"),
        json={"errors": [{"status": 404, "message": "Unable to find item"}]}, is_reusable=True)
    code, _, err = run(capsys, "push", "--to", "artifactory:https://jf.test/artifactory/go-local",
                       str(module_zip))
    assert code == ExitCode.REJECTED and "no repository 'go-local'" in err


def test_artifactory_refused_credentials(httpx_mock, module_zip: Path, capsys) -> None:
    """A 401 from the storage API exits 3 with Artifactory's credential forms."""
    httpx_mock.add_response(method="GET", status_code=401, is_reusable=True,
                            json={"errors": [{"status": 401, "message": "Bad credentials"}]})
    code, _, err = run(capsys, "push", "--to", "artifactory:https://jf.test/artifactory/go-local",
                       str(module_zip))
    assert code == ExitCode.CONFIG and "Bad credentials" in err and "Bearer" in err
