"""The one precedence table: where each client setting may come from, best place first.

**flag > environment > config file > built-in default**, for every setting, by
construction: ``ROWS`` names each setting's places once, and ``Places.pick`` takes the first
place that holds a value. The settings resolver (``config.settings``), the vulnerability
database's (``config.vulndb``) and the credentials (``config.credentials``: the API key, which
then falls back to the system keyring and a prompt) all read through it; nothing else decides
an order.

Config-file places, in order: the chosen ``[registries.NAME]`` table of gopush's
``config.toml``, its ``[default]`` table, then the official CLI's ``config.ini`` /
``credentials.ini`` (``[profile:NAME]`` over ``[default]``). A row says which of them apply.

The source of each value is named the same way everywhere (``whoami``, ``-v``, errors):
the flag (``--api-host``), the variable (``GOPUSH_API_HOST``), ``config.toml
[registries.NAME]``, ``config.toml [default]``, the INI file's path, or ``default``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_HOST = "https://api.cloudsmith.io"
DEFAULT_REQUEST_TIMEOUT = 300.0  # seconds; as long as the retry budget
DEFAULT_VULN_DB = "https://vuln.go.dev"  # = vuln.db.DEFAULT_URL (config does not import it)
API_KEY_VARIABLES = ("GOPUSH_API_KEY", "CLOUDSMITH_API_KEY")
DEFAULT_OIDC_AUDIENCE = "cloudsmith"  # what the official CLI asks GitHub Actions for


@dataclass(frozen=True)
class Row:
    """Where one setting may come from, best first."""

    flag: str | None  # the command-line option, e.g. "--api-host"
    env: tuple[str, ...] = ()  # environment variables, best first
    in_registry: bool = True  # the chosen [registries.NAME] table of config.toml
    in_default: bool = True  # the [default] table of config.toml
    ini: bool = False  # the official CLI's config.ini / credentials.ini
    default: str | float | None = None  # when no place holds a value


ROWS: Mapping[str, Row] = {
    "profile": Row("--profile", ("GOPUSH_PROFILE", "CLOUDSMITH_PROFILE"), in_registry=False,
                   in_default=False, default="default"),
    "api_host": Row("--api-host", ("GOPUSH_API_HOST", "CLOUDSMITH_API_HOST"), ini=True,
                    default=DEFAULT_API_HOST),
    "api_key": Row("--api-key", API_KEY_VARIABLES, ini=True),  # then keyring, then prompt
    "read_token": Row(None, ("GOPUSH_READ_TOKEN",)),
    "goproxy": Row("--goproxy", ("GOPUSH_GOPROXY",), in_default=False),
    "username": Row("--username", in_default=False),
    "request_timeout": Row("--request-timeout", ("GOPUSH_REQUEST_TIMEOUT",),
                           default=DEFAULT_REQUEST_TIMEOUT),
    "part_size": Row("--part-size", ("GOPUSH_PART_SIZE",), default=0),  # 0: the client's own
    "vuln_db": Row("--db", ("GOVULNDB",), in_registry=False, default=DEFAULT_VULN_DB),
    # keyless push (OIDC), read only when no API key is set; the official CLI's names beside
    # gopush's own
    "oidc_org": Row("--oidc-org", ("GOPUSH_OIDC_ORG", "CLOUDSMITH_WORKSPACE", "CLOUDSMITH_ORG")),
    "oidc_service": Row("--oidc-service", ("GOPUSH_OIDC_SERVICE", "CLOUDSMITH_SERVICE_SLUG")),
    "oidc_audience": Row(None, ("GOPUSH_OIDC_AUDIENCE", "CLOUDSMITH_OIDC_AUDIENCE"),
                         default=DEFAULT_OIDC_AUDIENCE),
    "oidc_token": Row(None, ("GOPUSH_OIDC_TOKEN", "CLOUDSMITH_OIDC_TOKEN"), in_registry=False,
                      in_default=False),  # the CI's ID token: minutes long, never in a file
}


@dataclass(frozen=True)
class Places:
    """Everything one run can read a setting from.

    ``flags`` maps a setting's name to the value given on the command line (None or absent:
    not given); ``ini`` maps an INI key to ``(value, file path, trusted)`` as
    ``settings.read_cloudsmith_ini`` returns it.
    """

    flags: Mapping[str, Any]
    environ: Mapping[str, str]
    config: Mapping[str, Any] = field(default_factory=dict)
    entry: Mapping[str, Any] = field(default_factory=dict)  # the chosen [registries.NAME]
    registry_name: str = ""
    ini: Mapping[str, tuple[str, str, bool]] = field(default_factory=dict)

    def candidates(self, name: str) -> list[tuple[str, Any]]:
        """Return ``(source, value)`` for every place of setting ``name`` that holds a
        value, best first (the row's default not included)."""
        row = ROWS[name]
        found: list[tuple[str, Any]] = []
        if row.flag is not None:
            found.append((row.flag, self.flags.get(name)))
        found += [(variable, self.environ.get(variable)) for variable in row.env]
        if row.in_registry and self.registry_name:
            found.append((f"config.toml [registries.{self.registry_name}]",
                          self.entry.get(name)))
        if row.in_default:
            found.append(("config.toml [default]", self.config.get("default", {}).get(name)))
        if row.ini and name in self.ini:
            value, path, _trusted = self.ini[name]
            found.append((path, value))
        return [(source, value) for source, value in found if value is not None and value != ""]

    def pick(self, name: str) -> tuple[Any, str]:
        """Return ``(value, source)`` of setting ``name``: the best place that holds a value,
        else the row's default with source ``"default"``."""
        found = self.candidates(name)
        if found:
            source, value = found[0]
            return value, source
        return ROWS[name].default, "default"

    def trusted(self, source: str) -> bool:
        """Tell whether ``source`` is a place the user chose: False only for an INI file
        found in the current directory (a checkout may carry one)."""
        return all(trusted for _value, path, trusted in self.ini.values() if path == source)
