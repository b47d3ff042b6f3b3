"""config: API host, target and key precedence; Cloudsmith INI profiles; Secret redaction."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gopush.config.credentials import Secret, redact, redact_url
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


@pytest.mark.parametrize(("text", "shown"), [
    ("https://u:hunter2@h.test/x", "https://***@h.test/x"),
    ("see http://user:hunter2@127.0.0.1:99/a?page=2&api_key=hunter2 now",
     "see http://***@127.0.0.1:99/a?page=2&api_key=*** now"),
    ("https://s3.test/b?X-Amz-Signature=abc&X-Amz-Credential=k%2Fday&acl=private",
     "https://s3.test/b?X-Amz-Signature=***&X-Amz-Credential=***&acl=private"),
    ("https://h.test/go/?token=t0k&session_id=s", "https://h.test/go/?token=***&session_id=***"),
    ("http://[::1/x", "http://[::1/x"),  # not a valid URL: left as it is, never an error
])
def test_one_redaction_for_urls_and_messages(text: str, shown: str) -> None:
    """User information and key-like query values are masked wherever a URL appears."""
    assert redact_url(text) == shown


def test_redact_masks_the_secrets_given() -> None:
    """The key itself goes wherever it appears, URLs or not."""
    assert redact("key K3Y in text and ?q=K3Y", ("K3Y",)) == "key *** in text and ?q=***"


def test_request_timeout_and_part_size_precedence(tmp_path: Path) -> None:
    """flag > environment > config file > default, and each value's source is recorded."""
    write(tmp_path / "home/.config/gopush/config.toml",
          "[default]\nrequest_timeout = 45\npart_size = 20\n")
    from_file = settings(tmp_path)
    assert (from_file.request_timeout, from_file.part_size) == (45.0, 20 * 1024 * 1024)
    assert from_file.sources["request_timeout"] == "config.toml [default]"
    env = settings(tmp_path, {"GOPUSH_REQUEST_TIMEOUT": "7.5", "GOPUSH_PART_SIZE": "5"})
    assert (env.request_timeout, env.part_size) == (7.5, 5 * 1024 * 1024)
    flag = settings(tmp_path, {"GOPUSH_REQUEST_TIMEOUT": "7.5"}, request_timeout=2.0)
    assert flag.request_timeout == 2.0 and flag.sources["request_timeout"] == "--request-timeout"


def test_request_timeout_and_part_size_defaults(tmp_path: Path) -> None:
    """300 s per request; the part size is left to the registry client (100 MiB)."""
    resolved = settings(tmp_path)
    assert (resolved.request_timeout, resolved.part_size) == (300.0, None)


@pytest.mark.parametrize(("environ", "message"), [
    ({"GOPUSH_REQUEST_TIMEOUT": "soon"}, "request_timeout from GOPUSH_REQUEST_TIMEOUT"),
    ({"GOPUSH_REQUEST_TIMEOUT": "0"}, "must be a number from 0.1 to 86400"),
    ({"GOPUSH_PART_SIZE": "1"}, "part_size from GOPUSH_PART_SIZE must be a number from 5"),
    ({"GOPUSH_PART_SIZE": "5.5"}, "whole number of MiB"),
])
def test_bad_request_timeout_or_part_size(tmp_path: Path, environ: dict[str, str],
                                          message: str) -> None:
    """Out of range or not a number: a ConfigError naming the setting and its source."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        settings(tmp_path, environ)


def test_number_settings_in_config_must_be_numbers(tmp_path: Path) -> None:
    """A quoted number in config.toml is refused with the key named."""
    write(tmp_path / "home/.config/gopush/config.toml", '[default]\nrequest_timeout = "45"\n')
    with pytest.raises(ConfigError, match="request_timeout must be a number, not a str"):
        settings(tmp_path)

def test_short_key_is_masked_as_a_whole_token_only() -> None:
    """A one-letter key is masked where it stands alone, never inside other words or sums;
    a long key is masked wherever it appears."""
    assert redact("package k: h1:t0JvwB3mhQkqh8M=", ["k"]) == "package ***: h1:t0JvwB3mhQkqh8M="
    assert redact("key=k", ["k"]) == "key=***"
    assert redact("xx-s3cr3tkey99-yy", ["s3cr3tkey99"]) == "xx-***-yy"


@pytest.mark.parametrize("to", ["dir:proxy", "file:///srv/proxy", "gitea:https://git.test/acme",
                                "artifactory:https://af.test/artifactory/go",
                                "cloudsmith:acme/gomods", None])
def test_goproxy_precedence_for_every_target_kind(tmp_path: Path, to: str | None) -> None:
    """--goproxy > GOPUSH_GOPROXY > the registry's goproxy, whatever the target (the env
    variable used to count for `push go OWNER/REPO` only)."""
    env = {"GOPUSH_GOPROXY": "https://env.test/go/"}
    flags: dict[str, object] = {"to": to, "repository": None} if to else {}
    assert settings(tmp_path, env, goproxy="https://flag.test/go/", **flags).target.goproxy \
        == "https://flag.test/go/"
    got = settings(tmp_path, env, **flags)
    assert got.target.goproxy == "https://env.test/go/"
    assert got.sources["goproxy"] == "GOPUSH_GOPROXY"


def test_goproxy_env_beats_the_registry_table(tmp_path: Path) -> None:
    """A [registries.NAME] table of type gitea: its goproxy counts only when neither the
    flag nor GOPUSH_GOPROXY is set."""
    write(tmp_path / "home/.config/gopush/config.toml",
          '[registries.forge]\ntype = "gitea"\nurl = "https://git.test"\nowner = "acme"\n'
          'goproxy = "https://table.test/go/"\n')
    got = settings(tmp_path, {"GOPUSH_GOPROXY": "https://env.test/go/"}, registry="forge",
                   repository=None)
    assert got.target.goproxy == "https://env.test/go/"
    assert settings(tmp_path, registry="forge", repository=None).target.goproxy \
        == "https://table.test/go/"


def test_read_token_precedence(tmp_path: Path) -> None:
    """read_token (gopush goauth): GOPUSH_READ_TOKEN > the registry's read_token >
    [default] read_token; none for a dir: target; a bad one is refused naming the source."""
    write(tmp_path / "home/.config/gopush/config.toml",
          '[default]\nread_token = "default-tok"\n'
          '[registries.r]\nrepository = "acme/private"\nread_token = "registry-tok"\n')
    assert settings(tmp_path).read_token.key == Secret("default-tok")
    got = settings(tmp_path, registry="r", repository=None)
    assert (got.read_token.key, got.sources["read_token"]) == (
        Secret("registry-tok"), "config.toml [registries.r]")
    got = settings(tmp_path, {"GOPUSH_READ_TOKEN": "env-tok"}, registry="r", repository=None)
    assert (got.read_token.key, got.sources["read_token"]) == (Secret("env-tok"),
                                                               "GOPUSH_READ_TOKEN")
    assert settings(tmp_path, to="dir:/tmp/x", repository=None).read_token is None
    with pytest.raises(ConfigError) as err:
        settings(tmp_path, {"GOPUSH_READ_TOKEN": "bad tok\n"})
    assert "read token from GOPUSH_READ_TOKEN" in err.value.message
    assert "bad tok" not in err.value.message


def keyless_settings(tmp_path: Path, environ: dict[str, str], **flags: object):
    """Resolve settings as a command that may push keyless does."""
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "home/.config"),
           **environ}
    return load_settings(SettingsInput(environ=env, cwd=tmp_path / "cwd", **flags),
                         keyless=True)


def test_keyless_precedence(tmp_path: Path) -> None:
    """OIDC org and service: flag > GOPUSH_OIDC_* > the official CLI's names > config.toml
    (registry, then [default]); the audience defaults to the official CLI's "cloudsmith";
    a configured key leaves keyless unresolved (it comes first)."""
    write(tmp_path / "home/.config/gopush/config.toml",
          '[default]\noidc_org = "d-org"\noidc_service = "d-svc"\nregistry = "r"\n'
          '[registries.r]\nrepository = "acme/gomods"\noidc_org = "r-org"\n'
          'oidc_audience = "r-aud"\n')
    env = {"GOPUSH_OIDC_ORG": "g-org", "CLOUDSMITH_WORKSPACE": "w-org",
           "CLOUDSMITH_ORG": "c-org", "GOPUSH_OIDC_SERVICE": "g-svc",
           "CLOUDSMITH_SERVICE_SLUG": "c-svc", "GOPUSH_OIDC_TOKEN": "id.token.x"}
    got = keyless_settings(tmp_path, env, repository=None, oidc_org="f-org", oidc_service="f-svc")
    assert got.keyless is not None
    assert (got.keyless.org, got.keyless.service) == ("f-org", "f-svc")
    assert got.keyless.audience == "r-aud" and got.sources["oidc_audience"] == "config.toml [registries.r]"
    assert got.keyless.id_token is not None and got.keyless.id_token.provider == "GOPUSH_OIDC_TOKEN"
    order = [("GOPUSH_OIDC_ORG", "g-org"), ("CLOUDSMITH_WORKSPACE", "w-org"),
             ("CLOUDSMITH_ORG", "c-org")]
    for name, value in order:
        keyless = keyless_settings(tmp_path, env, repository=None).keyless
        assert keyless is not None and keyless.org == value
        del env[name]
    keyless = keyless_settings(tmp_path, env, repository=None).keyless
    assert keyless is not None and (keyless.org, keyless.service) == ("r-org", "g-svc")
    del env["GOPUSH_OIDC_SERVICE"], env["CLOUDSMITH_SERVICE_SLUG"]
    keyless = keyless_settings(tmp_path, env, repository=None).keyless
    assert keyless is not None and keyless.service == "d-svc"
    keyless = keyless_settings(tmp_path, env, repository="acme/gomods").keyless  # no registry chosen
    assert keyless is not None and keyless.org == "d-org" and keyless.audience == "cloudsmith"
    assert keyless_settings(tmp_path, {**env, "GOPUSH_API_KEY": "k" * 20},
                            repository="acme/gomods").keyless is None
    assert settings(tmp_path, env).keyless is None  # a command that only reads: never resolved
    assert keyless_settings(tmp_path, env, to="gitea:https://git.test/acme").keyless is None
