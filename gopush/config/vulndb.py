"""Where gopush reads the Go vulnerability database from, for ``gopush audit`` and ``push --audit``.

**Precedence is flag > environment > config file > built-in default**, as for every setting
(the ``vuln_db`` row of ``gopush.config.precedence``):
``--db URL`` > ``GOVULNDB`` (the variable govulncheck reads) > ``vuln_db`` in ``[default]``
of gopush's ``config.toml`` > ``https://vuln.go.dev``. A URL is ``https://``, ``http://``
to a loopback address, or ``file:///ABSOLUTE/DIR`` (a directory in the vuln.go.dev layout),
as ``vuln.db.source_for`` checks. Entries are cached on disk where ``paths.vulndb_cache_dir`` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from gopush.config import paths
from gopush.config.precedence import Places
from gopush.errors import ConfigError

FAIL_ON = ("imported", "any", "never")  # which findings refuse a module (--fail-on)


class VulnDbSettings(NamedTuple):
    """The database's URL, where that URL came from, and the on-disk cache directory."""

    url: str
    source: str  # "--db", "GOVULNDB", "config.toml [default]" or "default"
    cache_dir: Path


def vulndb_settings(flag: str | None, environ: Mapping[str, str],
                    config_file: Path | None = None) -> VulnDbSettings:
    """Resolve the database URL by the documented precedence, and the cache directory.

    The URL itself is checked where it is used (``vuln.db.source_for``).

    Raises:
        ConfigError: the config file is unreadable, or named (--config, GOPUSH_CONFIG) and
            missing.
    """
    places = Places({"vuln_db": flag}, environ)
    if not places.candidates("vuln_db"):  # read config.toml only when flag and variable are unset
        from gopush.config.settings import read_gopush_config

        path = paths.gopush_config_file(environ, config_file)
        if (config_file or environ.get("GOPUSH_CONFIG")) and not path.exists():
            raise ConfigError(f"config file {path} does not exist",
                              hint="check the path given to --config (or GOPUSH_CONFIG)")
        places = Places({"vuln_db": flag}, environ, read_gopush_config(path))
    url, source = places.pick("vuln_db")
    return VulnDbSettings(str(url).strip(), source, paths.vulndb_cache_dir(environ))
