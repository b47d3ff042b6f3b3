"""Where gopush reads the Go vulnerability database from, for ``gopush audit`` and ``push --audit``.

**Precedence is flag > environment > config file > built-in default**, as for every setting:
``--db URL`` > ``GOVULNDB`` (the variable govulncheck reads) > ``vuln_db`` in ``[default]``
of gopush's ``config.toml`` > ``https://vuln.go.dev``. A URL is ``https://``, ``http://``
(the reader allows it for loopback only) or ``file:///ABSOLUTE/DIR`` (a directory in the
vuln.go.dev layout). Entries are cached on disk where ``paths.vulndb_cache_dir`` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from gopush.config import paths
from gopush.config.credentials import redact_url
from gopush.errors import ConfigError

DEFAULT_DB = "https://vuln.go.dev"
FAIL_ON = ("imported", "any", "never")  # which findings refuse a module (--fail-on)
SCHEMES = ("https", "http", "file")


class VulnDbSettings(NamedTuple):
    """The database's URL, where that URL came from, and the on-disk cache directory."""

    url: str
    source: str  # "--db", "GOVULNDB", "config.toml [default]" or "default"
    cache_dir: Path


def vulndb_settings(flag: str | None, environ: Mapping[str, str],
                    config_file: Path | None = None) -> VulnDbSettings:
    """Resolve the database URL by the documented precedence, and the cache directory.

    Raises:
        ConfigError: the config file is unreadable, or the URL chosen is not an
            https://, http:// or file:// URL (naming where it came from).
    """
    choices = [("--db", flag), ("GOVULNDB", environ.get("GOVULNDB"))]
    if not any(value for _, value in choices):
        from gopush.config.settings import read_gopush_config

        config = read_gopush_config(paths.gopush_config_file(environ, config_file))
        choices.append(("config.toml [default]", config.get("default", {}).get("vuln_db")))
    source, url = next(((s, v) for s, v in choices if v), ("default", DEFAULT_DB))
    return VulnDbSettings(_checked(url.strip(), source), source,
                          paths.vulndb_cache_dir(environ))


def _checked(url: str, source: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or (parts.scheme == "file" and not parts.path.startswith("/")) \
            or (parts.scheme != "file" and not parts.hostname):
        raise ConfigError(f"the vulnerability database URL from {source} is not usable: "
                          f"{redact_url(url)!r}",
                          hint="give https://HOST[/PATH] or file:///ABSOLUTE/DIR (a directory "
                               "in the vuln.go.dev layout: index/db.json, index/modules.json, "
                               "ID/GO-*.json)")
    return url.rstrip("/")
