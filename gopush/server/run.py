"""Start the server: bind the socket, open the data directory, run uvicorn until stopped.

The socket is bound before uvicorn starts so that ``--port 0`` yields a real port that can be
printed (with every repository's GOPROXY URL) before the first request arrives, and before
the data directory is opened so that a start that fails (port in use, unreadable TLS files)
leaves nothing on disk.

Ctrl-C (SIGINT) and SIGTERM stop the server the same way (uvicorn's graceful shutdown, then
the database is closed); they differ only in how the process ends: ``KeyboardInterrupt``
(exit 130, as for every gopush command) or a normal return (exit 0, what service managers
expect of a server they asked to stop).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from gopush.errors import ConfigError
from gopush.server.app import create_app
from gopush.server.blobs import check_blobs_url, open_blobs
from gopush.server.db import SCHEMA_VERSION, open_database, sqlite_path, sqlite_schema_version
from gopush.server.limits import (
    BodyRate,
    Connections,
    HeaderLimit,
    Listener,
    QuietFloods,
    max_connections_for,
    protocol_for,
)
from gopush.server.redaction import AccessLog, redacted
from gopush.server.settings import ConnectionLimits, ServeSettings
from gopush.server.space import DiskFull, Space
from gopush.server.storage import Storage, default_database, rfc3339
from gopush.server.transfer import Summary, export_registry, import_into, read_export

log = logging.getLogger("gopush.server")


class _Terminated(BaseException):
    """SIGTERM arrived while uvicorn was not handling it (a BaseException, like
    KeyboardInterrupt, so no ``except Exception`` on the way swallows it)."""


@dataclass(frozen=True)
class RepoSetup:
    """A repository to create or update at start (``--repo``, ``--read-token``, ``--upstream``)."""

    owner: str
    name: str
    private: bool | None = None
    upstream: str | None = None
    read_tokens: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Listening:
    """A bound server socket and the URL clients use for it."""

    sock: socket.socket
    url: str


def open_storage(data: Path, repos: list[RepoSetup], *, upload_expiry: float | None = None,
                 database: str | None = None, blobs: str | None = None) -> Storage:
    """Open (or create) the data directory and the metadata database (``database``: a
    ``--database`` URL; by default the SQLite file in ``data``), migrated to this gopush's
    schema; drop unfinished uploads (and, with ``upload_expiry`` seconds, finished ones
    older than that which no package used), apply repository setup.

    On a full disk an existing data directory opens in read-only mode (``server.space``):
    every published module is served, uploads get 507, the log and ``/readyz`` say so, and
    repository setup that needs a write waits for a start with space (the log names it).

    Raises:
        ConfigError: the data directory cannot be created or written (a new one on a full
            disk included), or another server uses it; the database cannot be opened
            (``server.db.open_database``); ``blobs`` names no usable store
            (``server.blobs.open_blobs``).
    """
    url = database or default_database(data)
    file = _sqlite_file(url)
    existed = file is not None and file.is_file()
    check_blobs_url(blobs, database_is_postgresql=file is None)  # before anything is made
    # a database server is reached (and migrated, under its own lock) before anything is
    # made on disk, so a start it refuses leaves no data directory behind
    remote = None if file is not None else open_database(url, Space(data, data / "tmp"))
    lock = None
    fresh = not data.exists()
    try:
        try:
            data.mkdir(parents=True, exist_ok=True)
            if remote is None:  # before Storage: no second server may touch the SQLite file
                lock = _lock_data_dir(data)
            storage = Storage(data, remote or url, blobs)
        except sqlite3.Error as err:
            if lock is not None:
                os.close(lock)
            raise _unusable_sqlite(url, err) from None
        except OSError as err:
            raise ConfigError(f"cannot use data directory {data}: {err.strerror}",
                              hint="pass --data DIR with a writable directory") from None
        except DiskFull:
            if existed:  # it opens read-only on a full disk unless its schema must be upgraded
                raise ConfigError(f"cannot open the registry in {data}: its database needs a "
                                  "schema upgrade for this gopush, and its disk is full",
                                  hint="free a little disk space (the upgrade writes a few kB); "
                                       "nothing was changed") from None
            raise ConfigError(f"cannot create a registry in {data}: its disk is full",
                              hint="free disk space, or pass --data DIR on another disk") from None
    except BaseException:
        if fresh:  # a start that fails leaves nothing on disk: not even the directory
            shutil.rmtree(data, ignore_errors=True)
        raise
    storage.data_lock = lock  # held for the life of the process (SQLite; None: shared)
    storage.recover(unused_before=None if upload_expiry is None else
                    rfc3339(time.time() - upload_expiry))
    for setup in repos:
        _set_up(storage, setup)
    storage.space.check()  # a full disk the start did not write to is noticed (and logged)
    return storage


def migrate_only(data: Path, database: str | None) -> tuple[str, int]:
    """Open the metadata database, apply the migrations it lacks, close it (``--migrate-only``);
    return how it is shown and its schema version now. A SQLite database is migrated under
    the data-directory lock (no server may be using it); PostgreSQL migrations take the
    database's own lock (``server.db``), so instances may keep serving meanwhile.

    Raises:
        ConfigError: as ``open_storage``.
    """
    url = database or default_database(data)
    lock = None
    try:
        if _sqlite_file(url) is not None:
            data.mkdir(parents=True, exist_ok=True)
            lock = _lock_data_dir(data)
        db = open_database(url, Space(data, data / "tmp"))
    except sqlite3.Error as err:
        raise _unusable_sqlite(url, err) from None
    except OSError as err:
        raise ConfigError(f"cannot use data directory {data}: {err.strerror}",
                          hint="pass --data DIR with a writable directory") from None
    except DiskFull:
        raise ConfigError(f"cannot migrate {url}: its disk is full",
                          hint="free a little disk space (a migration writes a few kB)") from None
    finally:
        if lock is not None:
            os.close(lock)
    db.close()
    return db.shown, SCHEMA_VERSION


def export_only(data: Path, database: str | None, out: Path, blobs: str | None = None
                ) -> Summary:
    """Write the registry in ``data`` / ``database`` to the new directory ``out``
    (``--export``; ``server.transfer``), reading it as it is: a SQLite database is opened
    without the data-directory lock (a running server keeps serving) and must be at this
    gopush's schema (it is not migrated under a server that may be older).

    Raises:
        ConfigError: no registry there, another schema (SQLite), as ``open_storage``, or as
            ``transfer.export_registry``.
        Damaged: a blob a row needs is missing or corrupt.
    """
    url = database or default_database(data)
    file = _sqlite_file(url)
    try:
        if file is not None:
            _check_exportable(file)
        if not data.is_dir():
            raise ConfigError(f"no data directory {data} (the registry's blobs)",
                              hint="pass the registry's --data DIR")
        space = Space(data, data / "tmp")
        db = open_database(url, space)
    except sqlite3.Error as err:
        raise _unusable_sqlite(url, err) from None
    try:
        return export_registry(db, open_blobs(blobs, data=data, space=space, database=db), out)
    finally:
        db.close()


def _check_exportable(file: Path) -> None:
    found = sqlite_schema_version(file)
    if found is None:
        raise ConfigError(f"no registry in {file}", hint="pass the registry's --data DIR "
                                                         "or --database URL")
    if found != SCHEMA_VERSION:
        raise ConfigError(f"{file} is at schema {found}; this gopush exports schema "
                          f"{SCHEMA_VERSION}",
                          hint="export with the gopush that serves it" if found > SCHEMA_VERSION
                          else "stop its server and run gopush serve --migrate-only with this "
                               "gopush first, or export with the gopush that serves it")


def import_only(data: Path, database: str | None, source: Path, blobs: str | None = None
                ) -> Summary:
    """Import the export in ``source`` into the empty registry ``data`` / ``database``
    (``--import``; ``server.transfer``): the export is checked whole before the target is
    opened; the target is then opened (created, migrated) as a start opens it, under the
    data-directory lock, and written in one transaction.

    Raises:
        ConfigError: as ``open_storage``; the target holds rows; the export is of another
            format or schema.
        Damaged: the export is not whole (nothing was written).
    """
    export = read_export(source)
    url = database or default_database(data)
    space = Space(data, data / "tmp")
    remote = None if _sqlite_file(url) is not None else open_database(url, space)
    lock = None
    try:
        (data / "tmp").mkdir(parents=True, exist_ok=True)  # the blobs' scratch files
        lock = _lock_data_dir(data)
        db = remote or open_database(url, space)
        try:
            return import_into(db, open_blobs(blobs, data=data, space=space, database=db),
                               export)
        finally:
            db.close()
    except sqlite3.Error as err:
        raise _unusable_sqlite(url, err) from None
    except OSError as err:
        raise ConfigError(f"cannot use data directory {data}: {err.strerror}",
                          hint="pass --data DIR with a writable directory") from None
    except DiskFull:
        raise ConfigError(f"cannot import into {data}: its disk is full (nothing was "
                          "imported)", hint="free disk space, or pass --data DIR on another "
                                            "disk") from None
    finally:
        if lock is not None:
            os.close(lock)


def _sqlite_file(url: str) -> Path | None:
    """Return the file of a ``sqlite:///`` URL, or None for another database."""
    return sqlite_path(url) if url.startswith("sqlite:") else None


def _unusable_sqlite(url: str, err: sqlite3.Error) -> ConfigError:
    return ConfigError(f"cannot open the database {sqlite_path(url)}: {err}",
                       hint="pass --database sqlite:///PATH with a SQLite file in a writable "
                            "directory (or --data DIR)")


def _set_up(storage: Storage, setup: RepoSetup) -> None:
    """Apply one ``--repo``/``--read-token``/``--upstream`` setup; on a full disk, log what
    could not be written and go on (read-only mode)."""
    try:
        storage.ensure_repo(setup.owner, setup.name, private=setup.private,
                            upstream=setup.upstream)
        for token in setup.read_tokens:
            storage.add_read_token(setup.owner, setup.name, token)
    except DiskFull:
        log.warning("repository setup of %s/%s not applied: out of disk space (it is "
                    "applied at the next start with space)", setup.owner, setup.name)


def _lock_data_dir(data: Path) -> int:
    """Take an exclusive lock on ``data`` so two servers never share it (SQLite only).

    A second server would sweep the first one's uploads in progress as leftovers of a crash,
    and SQLite's file is one process's. Instances on one PostgreSQL database may share
    ``data`` (``Storage.recover`` leaves other instances' uploads alone there).

    Raises:
        ConfigError: another process holds the lock.
    """
    import fcntl

    fd = os.open(data / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(f"data directory {data} is in use by another gopush serve",
                          hint="stop the other server, or pass another --data DIR") from None
    return fd


def bind(host: str, port: int, *, tls: bool) -> Listening:
    """Bind a listening TCP socket on host:port (0 picks a free port).

    Raises:
        ConfigError: the address cannot be bound (in use, or not an address of this host).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as err:
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror or err}",
                          hint="choose another --port (0 picks a free one)") from None
    sock.listen(128)
    shown_host = f"[{host}]" if ":" in host else host
    scheme = "https" if tls else "http"
    return Listening(sock, f"{scheme}://{shown_host}:{sock.getsockname()[1]}")


def check_tls(cert: Path, key: Path) -> None:
    """Load the certificate chain and its key as uvicorn will, so that bad files stop the
    start before anything is printed or created.

    Raises:
        ConfigError: a file is not PEM, or the key does not match the certificate.
    """
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except ssl.SSLError as err:
        # OpenSSL's own words ("PEM lib", "key values mismatch") are terse: say what it means.
        detail = err.reason or re.sub(r"^\[\w+\] | \(_ssl\.c:\d+\)$", "", str(err.strerror))
        raise _tls_error(cert, key, f"not a PEM certificate (chain) and its private key "
                                    f"(OpenSSL: {detail})") from None
    except OSError as err:
        raise _tls_error(cert, key, err.strerror or str(err)) from None


def _tls_error(cert: Path, key: Path, reason: str) -> ConfigError:
    return ConfigError(f"cannot use --tls-cert {cert} with --tls-key {key}: {reason}",
                       hint="pass a PEM certificate (chain) and the PEM private key it was "
                            "issued for")


def describe_repos(storage: Storage, url: str) -> list[dict[str, object]]:
    """Return each repository's name, visibility, GOPROXY URL and (redacted) upstream."""
    return [{"repository": r.full_name, "private": bool(r.private),
             "goproxy": f"{url}/go/{r.owner}/{r.name}/",
             "upstream": redacted(r.upstream) if r.upstream else None}
            for r in storage.repos()]


def run(storage: Storage, settings: ServeSettings, listening: Listening, *,
        tls_cert: Path | None = None, tls_key: Path | None = None,
        access_log: bool = False, stop_timeout: float = 30.0,
        limits: ConnectionLimits | None = None) -> None:
    """Serve until stopped; return after SIGTERM, raise KeyboardInterrupt after Ctrl-C.

    Either signal stops it the same way: no new connections, requests in flight finish (a
    stalled body is given up after ``settings.body_timeout``; whatever still runs after
    ``stop_timeout`` seconds is cancelled), the package being processed is finished (queued
    ones wait for the next start), and the database is closed.

    ``limits`` bound connections, heads and bodies (``server.limits``): uvicorn runs its h11
    protocol, on the asyncio loop (uvloop would bypass ``Listener.accept``).
    """
    limits = limits or ConnectionLimits()
    connections = Connections(limits.max_connections or max_connections_for(_nofile()))
    if limits.max_connections is None and connections.limit < 1000:
        logging.getLogger("gopush.server").warning(
            "at most %d connections at once (file descriptor limit %d; raise it with "
            "ulimit -n, or pass --max-connections)", connections.limit, _nofile())
    app = BodyRate(HeaderLimit(create_app(storage, settings), limits.max_headers,
                               limits.max_header_bytes),
                   limits.min_body_rate, settings.body_timeout)
    config = uvicorn.Config(app, log_level="info" if access_log
                            else "warning", access_log=access_log, lifespan="on",
                            ssl_certfile=str(tls_cert) if tls_cert else None,
                            ssl_keyfile=str(tls_key) if tls_key else None,
                            loop="asyncio", http=protocol_for(connections, limits,
                                                             settings.body_timeout),
                            h11_max_incomplete_event_size=limits.max_header_bytes,
                            # uvicorn annotates these two int, yet uses them only as delays
                            # (loop.call_later, asyncio.timeout): a fraction of a second works
                            timeout_keep_alive=limits.keep_alive_timeout,  # type: ignore[arg-type]
                            server_header=False,
                            # the client's address (which server.guessing counts refused
                            # credentials against) comes from X-Forwarded-For only when the
                            # peer is a --trusted-proxy: uvicorn's default trusts loopback
                            # peers, so a client behind a balancer on the same machine chose
                            # its own address and guessed without limit
                            proxy_headers=bool(settings.trusted_proxies),
                            forwarded_allow_ips=list(settings.trusted_proxies),
                            timeout_graceful_shutdown=stop_timeout)  # type: ignore[arg-type]
    logging.getLogger("gopush.server").setLevel(logging.INFO)
    floods = QuietFloods()
    for name in ("asyncio", "uvicorn.error"):
        logging.getLogger(name).addFilter(floods)
    logging.getLogger("uvicorn.access").addFilter(AccessLog())
    listener = Listener.adopt(listening.sock, connections, tls=tls_cert is not None)
    # uvicorn handles SIGTERM while it serves, then re-raises it once it has shut down, into
    # the handler that was in place before it: without this one, the default handler kills
    # the process (status -15) before the database is closed.
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        uvicorn.Server(config).run(sockets=[listener])
    except _Terminated:
        pass  # a requested stop: return normally (exit 0)
    finally:
        storage.db.close()
        signal.signal(signal.SIGTERM, previous)


def _nofile() -> int:
    """Return the soft limit on open file descriptors of this process."""
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return 1 << 30 if soft == resource.RLIM_INFINITY else soft


def _on_sigterm(signum: int, frame: object) -> None:
    """Stop the server once: further SIGTERMs while it stops are ignored (SIGKILL forces)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Terminated
