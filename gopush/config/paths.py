"""Where configuration files live; the only code that knows the search order.

gopush's own file is ``config.toml`` in the first of: ``$GOPUSH_CONFIG_DIR``,
``$XDG_CONFIG_HOME/gopush``, ``~/.config/gopush`` (``--config FILE`` / ``GOPUSH_CONFIG`` names a
file directly). The official Cloudsmith CLI's ``config.ini`` and ``credentials.ini`` are read
from the places that CLI reads them, best first: the current directory, the per-user app
directory (``$XDG_CONFIG_HOME/cloudsmith`` or ``~/.config/cloudsmith``), then ``~/.cloudsmith``.

The vulnerability database's cache (``gopush audit``, ``push --audit``) is the first of
``$GOPUSH_CACHE_DIR``, ``$XDG_CACHE_HOME/gopush/vulndb``, ``~/.cache/gopush/vulndb``; the
server keeps its own under its data directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def home(environ: Mapping[str, str]) -> Path:
    """Return the user's home directory as the environment names it."""
    return Path(environ.get("HOME") or Path.home())


def gopush_config_file(environ: Mapping[str, str], explicit: Path | None = None) -> Path:
    """Return the path of gopush's config.toml (it may not exist)."""
    if explicit is not None:
        return explicit
    if environ.get("GOPUSH_CONFIG"):
        return Path(environ["GOPUSH_CONFIG"])
    if environ.get("GOPUSH_CONFIG_DIR"):
        return Path(environ["GOPUSH_CONFIG_DIR"]) / "config.toml"
    xdg = environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else home(environ) / ".config"
    return base / "gopush" / "config.toml"


def vulndb_cache_dir(environ: Mapping[str, str]) -> Path:
    """Return the directory of the vulnerability database cache (it may not exist)."""
    if environ.get("GOPUSH_CACHE_DIR"):
        return Path(environ["GOPUSH_CACHE_DIR"])
    xdg = environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else home(environ) / ".cache") / "gopush" / "vulndb"


def cloudsmith_dirs(environ: Mapping[str, str], cwd: Path) -> list[tuple[Path, bool]]:
    """Return the official CLI's config directories, best first, each with ``trusted``.

    A file in the current directory is not trusted to choose the API host (the official CLI
    refuses hosts outside cloudsmith.io from there, so a cloned repository cannot redirect
    a key to a stranger).
    """
    xdg = environ.get("XDG_CONFIG_HOME")
    app_dir = (Path(xdg) if xdg else home(environ) / ".config") / "cloudsmith"
    return [(cwd, False), (app_dir, True), (home(environ) / ".cloudsmith", True)]
