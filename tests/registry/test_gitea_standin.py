"""`gopush push --to gitea:` against a Gitea stand-in process rebuilt from Gitea's source
(tests/standins/gitea.py cites each rule), judged by the real go command.

What each test shows: a least-privilege token (``write:package`` only) pushes, without the
``read:user`` call; go downloads the module through the GOPROXY gopush prints; a mixed-case
module path is refused before anything is sent, because Gitea would store it and never serve
it (shown with the real go against the stand-in); a lost reply is recognised on retry as
"it landed"; 401/403/409 get Gitea's meanings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import stamina
from gotool import GoError, GoOracle
from standins.run import Standin, start_standin

from gopush.cli.main import main
from gopush.errors import ExitCode
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

WRITE = "tok_write_package_only_5e3f0a9b"  # scope write:package, nothing else
READ = "tok_read_package_only_7c1d2e3f"  # scope read:package
OWNER = "acme"


@pytest.fixture
def gitea(tmp_path: Path) -> Iterator[Standin]:
    """A Gitea stand-in: public owner acme, user ci may write its packages."""
    served = start_standin("gitea", {
        "owners": {OWNER: {"public": True, "writers": ["ci"]},
                   "tight": {"public": True, "writers": ["ci"], "max_versions": 0}},
        "tokens": {WRITE: {"user": "ci", "scopes": ["write:package"]},
                   READ: {"user": "ci", "scopes": ["read:package"]}}}, tmp_path)
    yield served
    served.stop()


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """CI mode, the least-privilege token from the environment, retries without sleeping."""
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("GOPUSH_API_KEY", WRITE)
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


def module_zip(tmp_path: Path, module: str, version: str, body: bytes = b"package m\n") -> Path:
    """Write a valid module zip (the go.mod names ``module``)."""
    out = tmp_path / f"{abs(hash((module, version, body)))}" / f"{version}.zip"
    out.parent.mkdir(parents=True)
    create_zip(out, module, version, [DataFile("go.mod", f"module {module}\n".encode()),
                                      DataFile("m.go", body)])
    return out


def push(capsys: pytest.CaptureFixture[str], gitea: Standin, *args: str,
         owner: str = OWNER) -> tuple[int, str, str]:
    """Run ``gopush push --to gitea:URL/OWNER --username ci ARGS``; the key never shows."""
    code = main(["push", "--to", f"gitea:{gitea.url}/{owner}", "--username", "ci", *args])
    out, err = capsys.readouterr()
    assert WRITE not in out + err
    return code, out, err


def printed_goproxy(out: str) -> str:
    """Return the GOPROXY value gopush printed for consumers."""
    found = re.search(r"^export GOPROXY=(\S+)", out, re.MULTILINE)
    assert found, out
    return found.group(1)


def sum_of(out: str, ref: str) -> str:
    """Return the h1: gopush reported for ``ref`` (module@version)."""
    found = re.search(re.escape(ref) + r".*?(h1:[A-Za-z0-9+/=]+)", out)
    assert found, out
    return found.group(1)


def test_least_privilege_token_pushes_and_go_downloads(gitea: Standin, go: GoOracle,
                                                       tmp_path: Path, capsys) -> None:
    """A write:package token uploads (no GET /api/v1/user, which needs read:user); the real
    go downloads the module through the GOPROXY gopush prints; a re-push is 'identical'."""
    zipped = module_zip(tmp_path, "example.com/hello", "v1.2.0")
    code, out, err = push(capsys, gitea, str(zipped))
    assert code == ExitCode.OK, err
    assert not [r for r in gitea.requests() if r["path"].startswith("/api/v1/user")]
    assert [r["path"] for r in gitea.requests("PUT")] == [f"/api/packages/{OWNER}/go/upload"]
    goproxy = printed_goproxy(out)
    assert goproxy.startswith(f"{gitea.url}/api/packages/{OWNER}/go/,")
    info = go.download("example.com/hello", "v1.2.0", GOPROXY=goproxy)
    assert info["Sum"] == sum_of(out + err, "example.com/hello@v1.2.0")

    code, out, err = push(capsys, gitea, str(zipped))
    assert code == ExitCode.OK and "identical" in out + err
    assert len(gitea.requests("PUT")) == 1  # nothing uploaded again


def test_mixed_case_module_is_refused_because_gitea_cannot_serve_it(
        gitea: Standin, go: GoOracle, tmp_path: Path, capsys) -> None:
    """example.com/Hello is refused before any request that writes; the same zip uploaded
    straight to the stand-in is stored, and the real go still cannot fetch it (404): Gitea
    never decodes go's !-escapes."""
    zipped = module_zip(tmp_path, "example.com/Hello", "v1.0.0")
    code, _, err = push(capsys, gitea, str(zipped))
    assert code == ExitCode.REJECTED
    assert "Gitea cannot serve example.com/Hello@v1.0.0" in err and "!hello" in err
    assert gitea.requests("PUT") == []

    stored = httpx.put(f"{gitea.url}/api/packages/{OWNER}/go/upload",
                       content=zipped.read_bytes(), auth=("ci", WRITE))
    assert stored.status_code == 201
    goproxy = f"{gitea.url}/api/packages/{OWNER}/go"
    with pytest.raises(GoError, match="404"):
        go.download("example.com/Hello", "v1.0.0", GOPROXY=goproxy)


def test_lost_reply_then_retry_is_recognised_as_landed(gitea: Standin, tmp_path: Path,
                                                       capsys) -> None:
    """The upload is stored but its reply is lost (connection closed): before sending again
    gopush asks the package API, finds this very zip, and reports it published; one PUT."""
    zipped = module_zip(tmp_path, "example.com/lost", "v0.1.0")
    gitea.fault(drop_reply={"method": "PUT", "contains": "/go/upload"})
    code, out, err = push(capsys, gitea, "-v", str(zipped))
    assert code == ExitCode.OK, err
    assert "the earlier try had landed" in out + err
    assert len(gitea.requests("PUT")) == 1


def test_other_content_is_refused_before_upload_and_republish_replaces(
        gitea: Standin, tmp_path: Path, capsys) -> None:
    """Different content for a stored version is refused by the SHA-256 Gitea records,
    before any upload (exit 5); --republish deletes it, then uploads."""
    first = module_zip(tmp_path, "example.com/same", "v1.0.0", b"package m // one\n")
    second = module_zip(tmp_path, "example.com/same", "v1.0.0", b"package m // two\n")
    assert push(capsys, gitea, str(first))[0] == ExitCode.OK
    code, _, err = push(capsys, gitea, str(second))
    assert code == ExitCode.REJECTED and "different content" in err
    assert len(gitea.requests("PUT")) == 1
    code, _, err = push(capsys, gitea, "--republish", str(second))
    assert code == ExitCode.OK, err
    assert [r["method"] for r in gitea.requests() if r["method"] in ("PUT", "DELETE")] == \
        ["PUT", "DELETE", "PUT"]


def test_gitea_meanings_of_401_and_403(gitea: Standin, tmp_path: Path, capsys,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """403 on upload is Gitea's quota (exit 5, not a credentials error); 401 is a token
    without write:package (exit 3, naming the scope)."""
    zipped = module_zip(tmp_path, "example.com/quota", "v1.0.0")
    code, _, err = push(capsys, gitea, str(zipped), owner="tight")
    assert code == ExitCode.REJECTED and "quota" in err

    monkeypatch.setenv("GOPUSH_API_KEY", READ)
    code, _, err = push(capsys, gitea, str(zipped))
    assert code == ExitCode.CONFIG and "write:package" in err


def test_whoami_says_read_user_is_not_needed_to_push(gitea: Standin, capsys) -> None:
    """`gopush whoami` needs read:user on Gitea; with a write:package token it says that
    pushing does not."""
    code = main(["whoami", "--to", f"gitea:{gitea.url}/{OWNER}", "--username", "ci"])
    _, err = capsys.readouterr()
    assert code == ExitCode.CONFIG and "read:user" in err and "write:package" in err
