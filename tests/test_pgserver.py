"""The PostgreSQL fixture itself: a real server on loopback, password required, gone after."""

from __future__ import annotations

import socket

import pytest
from pgserver import PostgresServer, find_bin

psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.skipif(find_bin() is None,
                                reason="PostgreSQL server binaries not installed "
                                       "(apt-get install postgresql; .ci/run does)")


def test_cluster_answers_with_its_password_only_and_leaves_nothing() -> None:
    server = PostgresServer.start()
    try:
        with psycopg.connect(server.url, connect_timeout=10) as conn:
            assert conn.execute("SELECT current_database(), 1 + 1").fetchone() == ("gopush", 2)
        wrong = server.url.replace(server.password, "not-the-password")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(wrong, connect_timeout=10)
    finally:
        server.stop()
    assert not server.root.exists()
    with socket.socket() as sock:  # nothing listens on the port any more
        assert sock.connect_ex(("127.0.0.1", server.port)) != 0
