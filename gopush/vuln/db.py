"""Reading the Go vulnerability database: https:// or file://, gzip, cached, offline-tolerant.

``open_db(url, cache_dir)`` fetches ``index/db.json``. ``entries_for(modules)`` fetches
``index/modules.json`` only when ``db.json``'s ``modified`` moved since the cache was
written, and then only the ``ID/<id>.json`` of those modules whose ``modified`` is newer than
the cached copy. A second run against an unchanged database makes one small request.
When the database cannot be reached and a cache exists, ``offline`` is set and ``age`` says
how old the cache is; without a cache that is a ``VulnDbError``.

Every response is bounded (bytes read, gzip output, time: one overall deadline per run);
URLs never carry credentials into output.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gopush.vuln.osv import Entry

DEFAULT_URL = "https://vuln.go.dev"


@dataclass
class VulnDb:
    """An opened database: where it is, its ``modified`` time, whether it was reached."""

    url: str
    modified: str
    offline: bool = False
    age_seconds: float = 0.0  # of the cache, when offline

    def entries_for(self, modules: Iterable[str]) -> list[Entry]:
        """Return every entry that names one of ``modules`` (stdlib/toolchain included)."""
        raise NotImplementedError


def open_db(url: str, cache_dir: Path, *, timeout: float = 60.0) -> VulnDb:
    """Open the database at ``url`` (``https://``, ``http://`` for loopback only, ``file://``)."""
    raise NotImplementedError
