"""Fresh PostgreSQL databases for the tests: one cluster per test session, one database each.

``Databases`` starts a ``pgserver.PostgresServer`` the first time a database is asked for and
makes each new one with ``CREATE DATABASE ... TEMPLATE template0`` (a few milliseconds), so
every test starts from an empty database as it would from an empty SQLite file. ``close``
stops the cluster and deletes it.
"""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit, urlunsplit

from pgserver import DATABASE, PostgresServer, find_bin


def unavailable() -> str | None:
    """Return why PostgreSQL tests cannot run here, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    if find_bin() is None:
        return "PostgreSQL server binaries not installed (apt-get install postgresql; .ci/run does)"
    return None


class Databases:
    """Hands out URLs of new, empty databases on one throwaway cluster."""

    def __init__(self) -> None:
        self._server: PostgresServer | None = None
        self._numbers = itertools.count(1)

    def new(self) -> str:
        """Create an empty database; return its ``postgresql://`` URL (with the password)."""
        import psycopg

        if self._server is None:
            self._server = PostgresServer.start()
        name = f"test_{next(self._numbers)}"
        with psycopg.connect(self._server.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        parts = urlsplit(self._server.url)
        assert parts.path == f"/{DATABASE}"
        return urlunsplit(parts._replace(path=f"/{name}"))

    def close(self) -> None:
        """Stop the cluster (if one was started) and delete it."""
        if self._server is not None:
            self._server.stop()
            self._server = None
