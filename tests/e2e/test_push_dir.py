"""Push to a static GOPROXY directory, then let the real go command download from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gotool import GoOracle

from gopush.cli.main import main
from gopush.errors import ExitCode
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

MODULE, VERSION = "example.com/Hello", "v1.2.3"  # upper case: exercises path escaping


def make_zip(directory: Path, extra: str = "") -> Path:
    """Write a module zip of MODULE@VERSION under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{VERSION}.zip"
    files = [DataFile("go.mod", f"module {MODULE}\n\ngo 1.21\n".encode()),
             DataFile("hello.go", f"package hello\n\nconst Greeting = \"hi\"\n{extra}".encode())]
    create_zip(path, MODULE, VERSION, files)
    return path


def push_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    """Run gopush push --json; return exit code and the one JSON document."""
    code = main(["push", "--json", *args])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def test_dir_push_then_go_download(tmp_path: Path, go: GoOracle, capsys) -> None:
    """go downloads the pushed version from file:// and its Sum equals the pushed h1:;
    a re-push is identical (exit 0); another zip under the version is refused (exit 5)."""
    proxy = tmp_path / "proxy"
    code, doc = push_json(capsys, "--to", f"dir:{proxy}", str(make_zip(tmp_path / "a")))
    assert code == ExitCode.OK and doc["status"] == "published"
    info = go.download(MODULE, VERSION, GOPROXY=proxy.as_uri(), GOSUMDB="off")
    assert info["Sum"] == doc["sum"]
    assert info["GoModSum"].startswith("h1:")

    code, again = push_json(capsys, "--to", f"dir:{proxy}", str(make_zip(tmp_path / "b")))
    assert code == ExitCode.OK and again["status"] == "identical"

    code, refused = push_json(capsys, "--to", f"dir:{proxy}",
                              str(make_zip(tmp_path / "c", "const X = 1\n")))
    assert code == ExitCode.REJECTED and refused["ok"] is False
    assert refused["published_sum"] == doc["sum"] and refused["sum"] != doc["sum"]
    assert "checksum mismatch" in refused["error"]["hint"]
    assert not list(proxy.rglob(".*"))  # no temporary files left behind


def test_dir_push_of_build_layout(tmp_path: Path, go: GoOracle, capsys) -> None:
    """A GOPROXY layout directory as input pushes every zip in it."""
    layout = tmp_path / "dist" / "example.com" / "!hello" / "@v"
    make_zip(layout)
    proxy = tmp_path / "proxy"
    code, doc = push_json(capsys, "--to", f"dir:{proxy}", str(tmp_path / "dist"))
    assert code == ExitCode.OK and doc["module"] == MODULE
    assert go.download(MODULE, VERSION, GOPROXY=proxy.as_uri())["Sum"] == doc["sum"]


def test_glob_pattern_left_by_the_shell(tmp_path: Path, go: GoOracle, capsys,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`dist/**/*.zip` reaches gopush as typed when bash (no globstar) matches nothing:
    gopush expands it itself; a pattern matching nothing is a usage error."""
    make_zip(tmp_path / "dist" / "example.com" / "!hello" / "@v")
    monkeypatch.chdir(tmp_path)
    proxy = tmp_path / "proxy"
    code, doc = push_json(capsys, "--to", f"dir:{proxy}", "dist/**/*.zip")
    assert code == ExitCode.OK and (doc["module"], doc["status"]) == (MODULE, "published")
    assert go.download(MODULE, VERSION, GOPROXY=proxy.as_uri())["Sum"] == doc["sum"]

    code, doc = push_json(capsys, "--to", f"dir:{proxy}", "dist/**/*.zap")
    assert code == ExitCode.USAGE
    assert "dist/**/*.zap: no file matches" in doc["error"]["message"]


def test_zip_whose_go_mod_names_another_module_is_refused_before_sending(
        tmp_path: Path, capsys) -> None:
    """The local check is the registry's: a go.mod naming another module stops the push
    before anything is written (exit 4), instead of a package that fails processing."""
    bad = tmp_path / "bad" / f"{VERSION}.zip"
    bad.parent.mkdir()
    create_zip(bad, MODULE, VERSION, [DataFile("go.mod", b"module example.com/other\n"),
                                      DataFile("a.go", b"package a\n")])
    proxy = tmp_path / "proxy"
    code, doc = push_json(capsys, "--to", f"dir:{proxy}", str(bad))
    assert code == ExitCode.INVALID_MODULE
    assert "go.mod declares module example.com/other" in doc["error"]["message"]
    assert not proxy.exists() or not list(proxy.rglob("*.zip"))
