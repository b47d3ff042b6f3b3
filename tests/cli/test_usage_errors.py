"""Command-line mistakes: the documented exit code, a clear line, and with --json exactly one
JSON document on stdout (the promise holds for errors click itself reports)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import click
import pytest

from gopush.cli.main import cli, main
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


@pytest.mark.parametrize("argv", [
    ["push", "go", "acme/gomods", "--api-host", "http://u:urlsecret99@127.0.0.1:9", "x.zip"],
    ["push", "go", "acme/gomods", "--api-host", "http://u:urlsecret99@[::1", "x.zip"],
    ["push", "go", "acme/gomods", "--goproxy", "https://u:urlsecret99@proxy.test/", "x.zip"],
    ["whoami", "acme/gomods", "-v", "--api-host", "https://urlsecret99@127.0.0.1:9"],
])
def test_a_url_carrying_credentials_is_refused_without_showing_them(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """gopush prints its URLs (-v, the consumer setup, JSON): a secret in one is refused
    (exit 3) before anything is printed or sent, and never echoed."""
    for json_flag in ([], ["--json"]):
        assert main([*json_flag, *argv]) == ExitCode.CONFIG
        out, err = capsys.readouterr()
        assert "urlsecret99" not in out + err
        assert "credentials" in err or "invalid API host" in err


@pytest.mark.parametrize("argv", [
    ["push", "go", "acme/two", "--to", "dir:proxy", "x.zip"],
    ["push", "go", "acme/two", "--registry", "local", "x.zip"],
    ["push", "--to", "dir:proxy", "--registry", "local", "x.zip"],
    ["whoami", "acme/two", "--to", "dir:proxy"],
])
def test_two_targets_are_a_usage_error(argv: list[str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Naming the target twice (OWNER/REPO, --to, --registry) is refused: one would
    silently win, and the push would land where the user did not mean."""
    assert main(argv) == ExitCode.USAGE
    assert "each name a target: give one" in capsys.readouterr().err



def _commands(group: click.Group, ctx: click.Context) -> list[click.Command]:
    """Return every command under ``group`` (the lazy group loads each), groups included."""
    found: list[click.Command] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        found.append(command)
        if isinstance(command, click.Group):
            found += _commands(command, ctx)
    return found


def test_no_command_declares_an_option_twice() -> None:
    """Every command's options are unique: click warns on stderr (and -W error crashes) when
    two options share a flag, as `ls` did with `-q` (the query, Cloudsmith's `ls pkgs -q`)
    and the output options' `-q` (quiet). `ls -q QUERY` is the query; `--quiet` stays."""
    ctx = click.Context(cli)
    for command in [cli, *_commands(cli, ctx)]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            command.make_parser(click.Context(command))
    ls = cli.get_command(ctx, "ls")
    assert ls is not None
    flags = {flag: p.name for p in ls.params for flag in getattr(p, "opts", [])}
    assert flags["-q"] == "query" and "--quiet" in flags
