"""Command-line mistakes: the documented exit code, a clear line, and with --json exactly one
JSON document on stdout (the promise holds for errors click itself reports)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gopush.cli.main import main
from gopush.errors import ExitCode


@pytest.fixture(autouse=True)
def ci_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """CI mode, a key, and no user config files."""
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("GOPUSH_API_KEY", "usage-test-key")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)


CASES = [
    (["push", "go", "acmegomods", "x.zip"], ExitCode.USAGE,
     "invalid repository 'acmegomods': expected OWNER/REPO"),
    (["push", "go", "acme/gomods/x", "x.zip"], ExitCode.USAGE, "invalid repository"),
    (["push", "npm", "acme/gomods", "x.zip"], ExitCode.USAGE, "unknown package format 'npm'"),
    (["push", "go", "acme/gomods", "missing.zip"], ExitCode.USAGE,
     "missing.zip: no such file or directory"),
    (["push", "go", "acme/gomods", "/dev/null"], ExitCode.USAGE,
     "/dev/null: not a regular file or directory"),
    (["push", "go", "acme/gomods", "--config", "nowhere.toml", "x.zip"], ExitCode.CONFIG,
     "config file nowhere.toml does not exist"),
    (["push", "go", "acme/gomods", "--api-host", "http://[::1", "x.zip"], ExitCode.CONFIG,
     "invalid API host 'http://[::1'"),
    (["push", "--timeout", "0", "go", "acme/gomods", "x.zip"], ExitCode.USAGE, "--timeout"),
    (["push", "--bogus"], ExitCode.USAGE, "No such option '--bogus'"),
    (["push", "go"], ExitCode.USAGE, "missing OWNER/REPO"),
]


@pytest.mark.parametrize(("argv", "code", "said"), CASES)
def test_mistake_gets_its_exit_code_and_message(argv: list[str], code: int, said: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert said in err and out == ""
    assert "unexpected" not in err and "Traceback" not in err


@pytest.mark.parametrize(("argv", "code", "said"), CASES)
def test_mistake_with_json_prints_one_document(argv: list[str], code: int, said: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", *argv]) == code
    out, _ = capsys.readouterr()
    doc = json.loads(out)  # exactly one document: json.loads refuses trailing data
    assert doc["ok"] is False and said in doc["error"]["message"]
