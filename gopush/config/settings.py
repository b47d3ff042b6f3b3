"""Settings for talking to a registry, resolved once from flags, environment and files.

**Precedence is flag > environment > config file > built-in default**, for every value:

- API host: ``--api-host`` > ``GOPUSH_API_HOST`` > ``CLOUDSMITH_API_HOST`` > the chosen
  registry's ``api_host`` in gopush's ``config.toml`` > ``[default] api_host`` there > the
  official CLI's ``config.ini`` (``[profile:NAME]`` over ``[default]``) >
  ``https://api.cloudsmith.io``. A host may end in ``/v1`` or not; a host without a scheme
  gets ``https://``.
- Profile: ``--profile`` > ``GOPUSH_PROFILE`` > ``CLOUDSMITH_PROFILE`` > ``default``.
- Target: ``gopush push go OWNER/REPO`` (Cloudsmith API) or ``--to KIND:LOCATION`` or
  ``--registry NAME`` (a ``[registries.NAME]`` table) > ``[default] registry``.
- API key, read token: see ``gopush.config.credentials``.
- GOPROXY URL consumers use, for every kind of target (``goproxy_url``): ``--goproxy`` >
  ``GOPUSH_GOPROXY`` > the chosen registry's ``goproxy`` > derived from the target.
- Request deadline (seconds): ``--request-timeout`` > ``GOPUSH_REQUEST_TIMEOUT`` > the chosen
  registry's ``request_timeout`` in ``config.toml`` > ``[default] request_timeout`` > 300.
  Each HTTP request must end (sent, answered, reply read) within it, plus one second per
  ``MIN_RATE`` bytes moved (``gopush.registry.http``).
- Upload part size (MiB, ``MIN_PART_MIB`` to ``MAX_PART_MIB``): ``--part-size`` >
  ``GOPUSH_PART_SIZE`` > ``part_size`` of the registry, then of ``[default]`` > 100 (the
  official CLI's). Zips of at least that size go up in parts of that size.
- Keyless push (OIDC), read only when no API key is set, for a Cloudsmith-style target, by
  the commands that may exchange (``load_settings(keyless=True)``; ``config.credentials``):
  org: ``--oidc-org`` > ``GOPUSH_OIDC_ORG`` > ``CLOUDSMITH_WORKSPACE`` > ``CLOUDSMITH_ORG``
  > ``oidc_org`` of the registry, then of ``[default]``; service: ``--oidc-service`` >
  ``GOPUSH_OIDC_SERVICE`` > ``CLOUDSMITH_SERVICE_SLUG`` > ``oidc_service``; audience of the
  GitHub Actions ID token: ``GOPUSH_OIDC_AUDIENCE`` > ``CLOUDSMITH_OIDC_AUDIENCE`` >
  ``oidc_audience`` > ``cloudsmith`` (the official CLI's).

Each setting's places are one row of ``gopush.config.precedence.ROWS``, read through
``Places.pick``: the order above holds by construction, and a new setting is a new row.
Nothing outside ``gopush.config`` reads environment variables or configuration files; the
CLI passes the environment in, so tests never touch the real one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from gopush.config import paths
from gopush.config.credentials import (
    Credential,
    Keyless,
    keyring_lookup,
    redact_url,
    resolve_api_key,
    resolve_id_token,
    resolve_read_token,
)
from gopush.config.precedence import DEFAULT_API_HOST, DEFAULT_REQUEST_TIMEOUT, Places
from gopush.errors import ConfigError

__all__ = ["DEFAULT_API_HOST", "DEFAULT_REQUEST_TIMEOUT", "Settings", "SettingsInput", "Target",
           "load_settings"]

KINDS = ("cloudsmith", "dir", "gitea", "artifactory")
TRUSTED_CWD_SUFFIXES = (".cloudsmith.io", ".cloudsmith.com")
MIN_PART_MIB, MAX_PART_MIB = 5, 100  # S3-style part stores refuse parts below 5 MiB
MIB = 1024 * 1024
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # an OIDC org or service slug


class Target(NamedTuple):
    """Where modules go: the kind of registry and its location."""

    kind: str  # one of KINDS
    location: str  # API host URL, directory, or base URL
    repository: str = ""  # OWNER/REPO (cloudsmith), OWNER (gitea)
    goproxy: str | None = None  # the GOPROXY URL consumers use (None: derived)
    username: str | None = None
    name: str = ""  # registry name in config.toml, if chosen by name

    def describe(self) -> str:
        """Return a short human name such as ``acme/gomods at http://127.0.0.1:8080``."""
        where = f"{self.repository} at " if self.repository else ""
        return f"{where}{redact_url(self.location)}"


class Settings(NamedTuple):
    """Everything a command needs to reach the registry."""

    target: Target
    credential: Credential | None
    sources: Mapping[str, str] = MappingProxyType({})  # setting -> where it came from
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT  # seconds per request (see above)
    part_size: int | None = None  # bytes per uploaded part; None: the client's own (100 MiB)
    read_token: Credential | None = None  # an entitlement token for GOPROXY reads (goauth)
    keyless: Keyless | None = None  # no API key set, an OIDC org and service are: exchange


@dataclass(frozen=True, kw_only=True, slots=True)
class SettingsInput:
    """The raw inputs: flag values (None when not given), environment and working directory."""

    environ: Mapping[str, str]
    cwd: Path
    api_host: str | None = None
    api_key: str | None = None
    profile: str | None = None
    registry: str | None = None
    to: str | None = None
    repository: str | None = None  # OWNER/REPO from `push go OWNER/REPO`
    goproxy: str | None = None
    username: str | None = None
    config_file: Path | None = None
    request_timeout: float | None = None  # seconds
    part_size: int | None = None  # MiB
    oidc_org: str | None = None
    oidc_service: str | None = None
    require_repository: bool = True  # False for commands that need only the host (whoami)

    def flags(self) -> dict[str, Any]:
        """Return the command-line values by setting name (``precedence.ROWS``' keys)."""
        return {"profile": self.profile, "api_host": self.api_host, "api_key": self.api_key,
                "goproxy": self.goproxy, "username": self.username,
                "request_timeout": self.request_timeout, "part_size": self.part_size,
                "oidc_org": self.oidc_org, "oidc_service": self.oidc_service}


def load_settings(given: SettingsInput, *, need_key: bool = True,
                  keyless: bool = False) -> Settings:
    """Resolve the target and credentials for ``given`` by the documented precedence.

    The key may be None (the CLI then prompts on a terminal, or fails naming the variable).
    With ``keyless`` (a command that may exchange the CI's identity for a key: push and the
    commands that write, whoami), a missing key on a Cloudsmith-style target also resolves
    ``Settings.keyless``; goauth never looks at it, verify only once an anonymous read
    was refused (``cli.push.read_as_consumer``).

    Raises:
        ConfigError: a config file is unreadable, a registry name is unknown, or a value is
            invalid.
    """
    named = given.config_file or given.environ.get("GOPUSH_CONFIG")
    config_path = paths.gopush_config_file(given.environ, given.config_file)
    if named and not config_path.exists():  # a file asked for by name must be there
        raise ConfigError(f"config file {config_path} does not exist",
                          hint="check the path given to --config (or GOPUSH_CONFIG)")
    config = read_gopush_config(config_path)
    profile, profile_from = Places(given.flags(), given.environ).pick("profile")
    ini = read_cloudsmith_ini(given.environ, given.cwd, profile)
    entry, name = _registry_entry(config, given)
    places = Places(given.flags(), given.environ, config, entry, name, ini)
    sources: dict[str, str] = {"profile": profile_from}
    target = _target(given, places, sources)
    if target.goproxy:
        _no_credentials_in(target.goproxy, "the GOPROXY URL")
    credential = None
    if need_key and target.kind != "dir":
        credential = resolve_api_key(places.candidates("api_key"), given.environ,
                                     keyring_lookup("gopush", target.location))
    if credential is not None:
        sources["api_key"] = credential.source
    read_token = None
    if target.kind != "dir":
        read_token = resolve_read_token(places.candidates("read_token"))
    if read_token is not None:
        sources["read_token"] = read_token.source
    timeout = _number("request_timeout", places, sources, 0.1, 86400)
    part_mib = _number("part_size", places, sources, MIN_PART_MIB, MAX_PART_MIB)
    if part_mib != int(part_mib):
        raise ConfigError(f"part_size from {sources['part_size']} must be a whole number "
                          "of MiB")
    exchange = None
    if keyless and need_key and credential is None and target.kind == "cloudsmith":
        exchange = _keyless(places, sources, given.environ)
    return Settings(target=target, credential=credential, sources=sources,
                    request_timeout=float(timeout), part_size=int(part_mib) * MIB or None,
                    read_token=read_token, keyless=exchange)


def _keyless(places: Places, sources: dict[str, str],
             environ: Mapping[str, str]) -> Keyless | None:
    """Return the keyless (OIDC) settings when an org or a service is set, else None.

    Raises:
        ConfigError: only one of org and service is set (a keyless push needs both), or
            one is not a slug.
    """
    picked = {}
    for name in ("oidc_org", "oidc_service", "oidc_audience"):
        value, sources[name] = places.pick(name)
        picked[name] = str(value).strip() if value is not None else ""
    org, service = picked["oidc_org"], picked["oidc_service"]
    if not org and not service:
        return None
    if not org or not service:
        missing, have = ("org", "oidc_service") if not org else ("service", "oidc_org")
        raise ConfigError(
            f"keyless push needs an OIDC org and a service; the {missing} is not set (the "
            f"{have.removeprefix('oidc_')} comes from {sources[have]})",
            hint="set both: --oidc-org and --oidc-service (GOPUSH_OIDC_ORG and "
                 "GOPUSH_OIDC_SERVICE, or CLOUDSMITH_ORG and CLOUDSMITH_SERVICE_SLUG)")
    for what, slug in (("org", org), ("service", service)):
        if not SLUG.fullmatch(slug):  # each goes into the exchange: a URL path, a JSON field
            raise ConfigError(f"invalid OIDC {what} {slug[:60]!r} (from "
                              f"{sources['oidc_' + what]}): expected a slug such as acme "
                              "(letters, digits, '.', '_', '-')")
    return Keyless(org=org, service=service, audience=picked["oidc_audience"],
                   id_token=resolve_id_token(places.candidates("oidc_token"), environ))


def _number(name: str, places: Places, sources: dict[str, str], low: float,
            high: float) -> float:
    """Return setting ``name`` from the precedence table, checked to lie in [low, high] (the
    row's default excepted: part_size's 0 means "the client's own").

    Raises:
        ConfigError: the value is not a number in range (naming where it came from).
    """
    value, source = places.pick(name)
    sources[name] = source
    if source == "default":
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not low <= number <= high:  # also refuses nan
        raise ConfigError(f"{name} from {source} must be a number from {low:g} to "
                          f"{high:g}, not {str(value)[:40]!r}")
    return number


def normalize_host(host: str) -> str:
    """Return ``host`` trimmed, without a trailing slash, with ``https://`` if no scheme.

    Raises:
        ConfigError: the result is not an http(s) URL with a host.
    """
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"https://{host}"
    try:
        parts = urlsplit(host)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as err:  # e.g. "http://[::1" (an unclosed IPv6 address)
        raise ConfigError(f"invalid API host {redact_url(host)!r}: {err}",
                          hint="expected http(s)://HOST[:PORT][/v1]") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"invalid API host {redact_url(host)!r}: expected "
                          "http(s)://HOST[:PORT][/v1]")
    _no_credentials_in(host, "the API host")
    return host


def _no_credentials_in(url: str, what: str) -> None:
    """Refuse a URL that carries a user or password: gopush prints its URLs (``-v``, the
    consumer setup, JSON), and a key belongs in GOPUSH_API_KEY, never in a URL.

    Raises:
        ConfigError: naming ``what``, never the URL itself (it holds the secret).
    """
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{what} carries credentials (USER:PASSWORD@); gopush prints its "
                          "URLs, so it refuses to hold a secret in one",
                          hint="drop them from the URL; pass the key as GOPUSH_API_KEY (or "
                               "--api-key), and give consumers a ~/.netrc line instead")


def read_gopush_config(path: Path) -> dict[str, Any]:
    """Return gopush's config.toml as a dict ({} when the file does not exist).

    Raises:
        ConfigError: the file is not valid TOML (the message gives the line, not the text).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    import tomllib  # only when a config file exists

    try:
        config = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        # the decoder's message names a position only, never the values (no key leaks)
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    _check_shape(config, path)
    return config


# the keys gopush reads from [default] and [registries.NAME]; all hold strings
CONFIG_KEYS = frozenset({"registry", "type", "url", "path", "owner", "repository", "api_host",
                         "api_key", "goproxy", "username", "read_token",
                         "oidc_org", "oidc_service", "oidc_audience",
                         "vuln_db"})  # vuln_db: gopush.config.vulndb
NUMBER_KEYS = frozenset({"request_timeout", "part_size"})  # these hold numbers


def _check_shape(config: dict[str, Any], path: Path) -> None:
    """Check that config.toml has the documented shape: ``[default]`` and each
    ``[registries.NAME]`` are tables of strings. Keys gopush does not know are left alone.

    Raises:
        ConfigError: naming the key and the type found, never the value (it may be a key).
    """
    tables = [("[default]", config.get("default", {}))]
    registries = config.get("registries", {})
    if not isinstance(registries, dict):
        raise ConfigError(f"{path}: 'registries' must be a table of [registries.NAME] tables, "
                          f"not a {type(registries).__name__}")
    tables += [(f"[registries.{name}]", entry) for name, entry in registries.items()]
    for where, table in tables:
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {where} must be a table, not a {type(table).__name__}",
                              hint="see the README's config.toml example")
        for key, value in table.items():
            if key in NUMBER_KEYS and (isinstance(value, bool)
                                       or not isinstance(value, int | float)):
                raise ConfigError(f"{path}: {where} {key} must be a number, not a "
                                  f"{type(value).__name__}")
            if key in CONFIG_KEYS and not isinstance(value, str):
                raise ConfigError(f"{path}: {where} {key} must be a string, not a "
                                  f"{type(value).__name__}", hint="quote the value (see the "
                                                                  "README's config.toml example)")


def read_cloudsmith_ini(environ: Mapping[str, str], cwd: Path,
                        profile: str) -> dict[str, tuple[str, str, bool]]:
    """Return ``{key: (value, source, trusted)}`` from the official CLI's INI files.

    Files found in several places are merged, best place first; a ``[profile:NAME]`` section
    beats ``[default]`` within one file.
    """
    found: dict[str, tuple[str, str, bool]] = {}
    places = paths.cloudsmith_dirs(environ, cwd)
    for env_name in ("CLOUDSMITH_CONFIG_FILE", "CLOUDSMITH_CREDENTIALS_FILE"):
        if environ.get(env_name):
            explicit = Path(environ[env_name])
            places.insert(0, (explicit if explicit.is_dir() else explicit.parent, True))
    for directory, trusted in places:
        for filename in ("credentials.ini", "config.ini"):
            for key, value in _ini_values(directory / filename, profile).items():
                found.setdefault(key, (value, str(directory / filename), trusted))
    return found


def _ini_values(path: Path, profile: str) -> dict[str, str]:
    if not path.is_file():
        return {}
    import configparser  # only where the official CLI's files exist: a push starts faster

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        # configparser errors can quote a line of the file, which may hold a key
        raise ConfigError(f"{path}: not a valid INI file") from None
    values: dict[str, str] = {}
    for section in (f"profile:{profile}", "default"):
        if parser.has_section(section):
            for key, value in parser.items(section):
                value = value.strip().strip("'\"")
                if value:
                    values.setdefault(key, value)
    return values


def _registry_entry(config: dict[str, Any], given: SettingsInput) -> tuple[dict[str, Any], str]:
    name = given.registry or (None if given.to or given.repository else
                              config.get("default", {}).get("registry"))
    if not name:
        return {}, ""
    registries = config.get("registries", {})
    if name not in registries:
        known = ", ".join(sorted(registries)) or "none"
        raise ConfigError(f"no registry named {name!r} in the config file (known: {known})",
                          hint="add a [registries.NAME] table to config.toml")
    entry = registries[name]
    if entry.get("type", "cloudsmith") not in KINDS:
        raise ConfigError(f"registry {name!r} has unknown type {entry.get('type')!r}",
                          hint=f"use one of: {', '.join(KINDS)}")
    return entry, name


def _target(given: SettingsInput, places: Places, sources: dict[str, str]) -> Target:
    if given.to:
        return parse_to(given.to, given, places, sources)
    entry, name = places.entry, places.registry_name
    kind = entry.get("type", "cloudsmith") if entry else "cloudsmith"
    if kind != "cloudsmith":
        location = entry.get("path") or entry.get("url") or ""
        if not location:
            raise ConfigError(f"registry {name!r} needs a 'url' (or 'path' for type dir)")
        if kind != "dir":  # as for --to: an http(s) URL, with no credentials in it
            location = normalize_host(location)
        username, _ = places.pick("username")
        return Target(kind=kind, location=location, repository=entry.get("owner", ""),
                      goproxy=goproxy_url(places, sources), name=name, username=username)
    repository = given.repository or entry.get("repository", "")
    if not repository and given.require_repository:
        raise ConfigError("no target: name OWNER/REPO (`gopush push go OWNER/REPO`), "
                          "--to KIND:LOCATION or --registry NAME",
                          hint="or set [default] registry in config.toml")
    if repository:
        check_repository(repository)
    host = api_host(places, sources)
    return Target(kind="cloudsmith", location=host, repository=repository, name=name,
                  goproxy=goproxy_url(places, sources))


def api_host(places: Places, sources: dict[str, str]) -> str:
    """Return the normalized API host from the precedence table.

    Raises:
        ConfigError: the host is invalid, or comes from an untrusted config.ini in the
            current directory and lies outside cloudsmith.io / cloudsmith.com.
    """
    value, source = places.pick("api_host")
    host = normalize_host(str(value))
    if (not places.trusted(source)
            and not (urlsplit(host).hostname or "").endswith(TRUSTED_CWD_SUFFIXES)):
        raise ConfigError(f"{source} in the current directory points the API host at "
                          f"{host}; refusing (a checkout must not redirect your key)",
                          hint="pass --api-host or set GOPUSH_API_HOST instead")
    sources["api_host"] = source
    return host


def check_repository(repository: str) -> None:
    """Check that ``repository`` reads OWNER/REPO.

    Raises:
        ConfigError: it does not.
    """
    owner, _, repo = repository.partition("/")
    if not owner or not repo or "/" in repo or any(c.isspace() for c in repository):
        raise ConfigError(f"invalid repository {repository!r}: expected OWNER/REPO",
                          hint="e.g. `gopush push go acme/gomods dist/...zip`")


def goproxy_url(places: Places, sources: dict[str, str]) -> str | None:
    """Return the GOPROXY URL consumers use, for every kind of target, from the precedence
    table (--goproxy > GOPUSH_GOPROXY > the registry's ``goproxy`` in config.toml), or None
    (derived from the target); record where it came from in ``sources``."""
    value, source = places.pick("goproxy")
    if value is None:
        return None
    sources["goproxy"] = source
    return str(value)


def parse_to(to: str, given: SettingsInput, places: Places, sources: dict[str, str]) -> Target:
    """Return the target named by ``--to``: ``cloudsmith:OWNER/REPO``, ``dir:PATH`` (or a
    ``file://`` URL), ``gitea:https://HOST/OWNER`` or ``artifactory:https://HOST/artifactory/REPO``.

    Raises:
        ConfigError: the value has none of these forms.
    """
    places = Places(places.flags, places.environ, places.config, {}, "", places.ini)
    goproxy = goproxy_url(places, sources)  # --to names no registry table: none applies
    if to.startswith("file://"):
        return Target(kind="dir", location=urlsplit(to).path, goproxy=goproxy)
    kind, sep, location = to.partition(":")
    if not sep or kind not in KINDS or not location:
        raise ConfigError(f"invalid --to {to!r}",
                          hint="use cloudsmith:OWNER/REPO, dir:PATH, file:///PATH, "
                               "gitea:https://HOST/OWNER or artifactory:https://HOST/artifactory/REPO")
    if kind == "cloudsmith":
        check_repository(location)
        host = api_host(places, sources)
        return Target(kind=kind, location=host, repository=location, goproxy=goproxy)
    if kind == "gitea":
        base, _, owner = normalize_host(location).rpartition("/")
        if "://" not in base or not owner:
            raise ConfigError(f"invalid --to {to!r}: expected gitea:https://HOST/OWNER")
        return Target(kind=kind, location=base, repository=owner, goproxy=goproxy,
                      username=places.pick("username")[0])
    if kind == "artifactory":
        return Target(kind=kind, location=normalize_host(location), goproxy=goproxy,
                      username=places.pick("username")[0])
    return Target(kind="dir", location=location, goproxy=goproxy)
