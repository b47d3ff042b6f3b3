"""config: API host, target and key precedence; Cloudsmith INI profiles; Secret redaction."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gopush.config.credentials import Secret, redact_url
from gopush.config.settings import SettingsInput, load_settings
from gopush.errors import ConfigError


def settings(tmp_path: Path, environ: dict[str, str] | None = None, **flags: object):
    """Resolve settings with HOME in tmp_path and the given environment and flags."""
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "home/.config"),
           **(environ or {})}
    flags.setdefault("repository", "acme/gomods")
    return load_settings(SettingsInput(environ=env, cwd=tmp_path / "cwd", **flags))


def write(path: Path, text: str) -> None:
    """Create a file with its directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_default_host(tmp_path: Path) -> None:
    """With nothing configured the host is https://api.cloudsmith.io and no key is found."""
    got = settings(tmp_path)
    assert got.target.location == "https://api.cloudsmith.io" and got.credential is None


def test_host_precedence(tmp_path: Path) -> None:
    """--api-host > GOPUSH_API_HOST > CLOUDSMITH_API_HOST > config.toml > config.ini."""
    write(tmp_path / "home/.config/gopush/config.toml", '[default]\napi_host = "toml.test"\n')
    write(tmp_path / "home/.config/cloudsmith/config.ini", "[default]\napi_host = ini.test\n")
    env = {"GOPUSH_API_HOST": "http://gopush.test/v1/", "CLOUDSMITH_API_HOST": "cs.test"}
    assert settings(tmp_path, env, api_host="flag.test").target.location == "https://flag.test"
    assert settings(tmp_path, env).target.location == "http://gopush.test/v1"
    del env["GOPUSH_API_HOST"]
    assert settings(tmp_path, env).target.location == "https://cs.test"
    assert settings(tmp_path).target.location == "https://toml.test"
    (tmp_path / "home/.config/gopush/config.toml").unlink()
    assert settings(tmp_path).target.location == "https://ini.test"


def test_untrusted_cwd_host_refused(tmp_path: Path) -> None:
    """A config.ini in the current directory may not send the key outside cloudsmith.io."""
    write(tmp_path / "cwd/config.ini", "[default]\napi_host = https://evil.test\n")
    with pytest.raises(ConfigError, match="refusing"):
        settings(tmp_path)
    write(tmp_path / "cwd/config.ini", "[default]\napi_host = https://api.cloudsmith.io\n")
    assert settings(tmp_path).target.location == "https://api.cloudsmith.io"


def test_key_precedence_and_profiles(tmp_path: Path) -> None:
    """--api-key > GOPUSH_API_KEY > CLOUDSMITH_API_KEY > config.toml > credentials.ini
    ([profile:NAME] over [default])."""
    write(tmp_path / "home/.config/cloudsmith/credentials.ini",
          "[default]\napi_key = ini-default\n[profile:ci]\napi_key = 'ini-ci'\n")
    assert settings(tmp_path).credential.key.reveal() == "ini-default"
    assert settings(tmp_path, profile="ci").credential.key.reveal() == "ini-ci"
    write(tmp_path / "home/.config/gopush/config.toml", '[default]\napi_key = "toml"\n')
    assert settings(tmp_path).credential.key.reveal() == "toml"
    env = {"CLOUDSMITH_API_KEY": "cs", "GOPUSH_API_KEY": "gp"}
    assert settings(tmp_path, env).credential.key.reveal() == "gp"
    assert settings(tmp_path, env, api_key="flag").credential.source == "--api-key"
    del env["GOPUSH_API_KEY"]
    assert settings(tmp_path, env).credential.source == "CLOUDSMITH_API_KEY"


def test_bad_key_error_does_not_echo(tmp_path: Path) -> None:
    """A key with a line break is refused without printing it."""
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, {"GOPUSH_API_KEY": "abc\ndef-secret"})
    assert "def-secret" not in str(caught.value) and "GOPUSH_API_KEY" in str(caught.value)


def test_named_registries(tmp_path: Path) -> None:
    """--registry NAME picks a [registries.NAME] table; [default] registry is the fallback."""
    write(tmp_path / "home/.config/gopush/config.toml",
          '[default]\nregistry = "local"\n'
          '[registries.local]\napi_host = "http://127.0.0.1:8080"\nrepository = "acme/gomods"\n'
          '[registries.static]\ntype = "dir"\npath = "/srv/goproxy"\n')
    got = settings(tmp_path, repository=None)
    assert (got.target.kind, got.target.location) == ("cloudsmith", "http://127.0.0.1:8080")
    static = settings(tmp_path, repository=None, registry="static")
    assert (static.target.kind, static.target.location) == ("dir", "/srv/goproxy")
    with pytest.raises(ConfigError, match="no registry named 'nope'"):
        settings(tmp_path, repository=None, registry="nope")


@pytest.mark.parametrize(("to", "kind", "location", "repository"), [
    ("dir:/srv/p", "dir", "/srv/p", ""), ("file:///srv/p", "dir", "/srv/p", ""),
    ("gitea:https://git.test/acme", "gitea", "https://git.test", "acme"),
    ("artifactory:https://jf.test/artifactory/go-local", "artifactory",
     "https://jf.test/artifactory/go-local", ""),
    ("cloudsmith:acme/gomods", "cloudsmith", "https://api.cloudsmith.io", "acme/gomods")])
def test_to(tmp_path: Path, to: str, kind: str, location: str, repository: str) -> None:
    """--to KIND:LOCATION names each documented target."""
    target = settings(tmp_path, repository=None, to=to).target
    assert (target.kind, target.location, target.repository) == (kind, location, repository)


def test_secret_never_prints() -> None:
    """A Secret is *** in str, repr, f-strings and JSON (via default=str)."""
    secret = Secret("hunter2")
    assert str(secret) == repr(secret) == f"{secret}" == "***"
    assert "hunter2" not in json.dumps({"k": secret}, default=str)
    assert redact_url("https://u:hunter2@h.test/x") == "https://***@h.test/x"


def test_the_readme_config_example_loads(tmp_path: Path) -> None:
    """The config.toml shown in the README is valid, and each table names the target it says."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    config = tmp_path / "config.toml"
    config.write_text(example)
    env = {"GOPUSH_API_KEY": "k"}
    kinds = {name: settings(tmp_path, env, registry=name, config_file=config,
                            repository=None).target.kind
             for name in ("releases", "mirror", "forge", "jfrog")}
    assert kinds == {"releases": "cloudsmith", "mirror": "dir", "forge": "gitea",
                     "jfrog": "artifactory"}
    default = settings(tmp_path, env, config_file=config, repository=None).target
    assert (default.name, default.repository) == ("releases", "acme/gomods")


@pytest.mark.parametrize(("text", "said"), [
    ("[default]\napi_key = 5\n", "[default] api_key must be a string, not a int"),
    ("[default]\napi_host = 5\n", "[default] api_host must be a string"),
    ("registries = 5\n", "'registries' must be a table"),
    ("[registries]\nx = 5\n", "[registries.x] must be a table"),
    ('[registries.d]\ntype = "dir"\npath = ["a"]\n', "[registries.d] path must be a string"),
])
def test_config_values_of_the_wrong_type_are_config_errors(tmp_path: Path, text: str,
                                                           said: str) -> None:
    """A wrong type in config.toml is a configuration error naming the key (exit 3), not an
    unexpected failure; the value itself is not repeated (it may be a key)."""
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(said)):
        settings(tmp_path, {"GOPUSH_API_KEY": "k"}, config_file=config, repository=None,
                 registry="d" if "registries.d" in text else None)
