"""Reading the Go vulnerability database: https:// or file://, gzip, cached, offline-tolerant.

``open_db(url, cache_dir)`` fetches ``index/db.json``. ``entries_for(modules)`` fetches
``index/modules.json`` only when ``db.json``'s ``modified`` moved since the cache was
written, and then only the ``ID/<id>.json`` of those modules whose ``modified`` is newer than
the cached copy. A second run against an unchanged database makes one small request.
When the database cannot be reached and a cache exists, ``offline`` is set and ``age`` says
how old the cache is; without a cache that is a ``VulnDbError``.

Every response is bounded (bytes read, gzip output, time: one overall deadline per run);
URLs never carry credentials into output.

Where the database is:

- ``https://HOST[/PATH]``, or ``http://`` to a loopback address (a test server, a local
  mirror): ``GET BASE/index/db.json`` etc., ``Accept-Encoding: gzip`` (as vuln.go.dev
  serves it), no redirects followed;
- ``file:///DIR``: the same layout in a directory (as ``govulncheck -db file:///DIR``).

"Cannot be reached" is: no connection, a timeout or the deadline, a 5xx or 429 answer, a
``file://`` directory that is not there. Any other answer (a 404, a document that does not
parse, one over its size cap) is an error even with a cache: the URL or the server is wrong.

The cache (one directory per database URL under ``cache_dir``, named after the URL without
its credentials): ``state.json`` (the db's ``modified`` and when it was last reached, the
``modified`` of the newest index kept), ``modules-<modified>.json`` (the index, named after
the ``modified`` it was fetched under), and ``ID/<id>.json`` as fetched (uncompressed). A cached file that does not parse is fetched again. Files are
replaced by rename, so a reader sees the old or the new, never half.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit

from gopush.config.credentials import redact_url
from gopush.errors import ConfigError
from gopush.vuln import osv
from gopush.vuln.osv import Entry, IndexedVuln, VulnDbError

if TYPE_CHECKING:
    import httpx

# httpx (and the registry's HTTP layer) is imported by the first request, not here: a
# file:// database never needs it, and importing it is a third of a warm audit's start-up.

DEFAULT_URL = "https://vuln.go.dev"
# Modules whose entries every scan needs (matched against the go line, not a requirement).
ALWAYS = ("stdlib", "toolchain")
FETCHERS = 8  # entries fetched at once on a cold cache (vuln.go.dev is a CDN)
_STATE_BYTES = 64 * 1024

T = TypeVar("T")


class Unreachable(Exception):
    """The database could not be reached (the cause, for a message); a cache may stand in."""


@dataclass
class VulnDb:
    """An opened database: where it is, its ``modified`` time, whether it was reached."""

    url: str  # without credentials
    modified: str
    offline: bool = False
    age_seconds: float = 0.0  # of the cache, when offline
    went_back_from: str = ""  # a newer modified this cache saw before (a stale mirror?)
    _source: _Source | None = field(default=None, repr=False, compare=False)
    _cache: _Cache | None = field(default=None, repr=False, compare=False)
    _ends: float = field(default=0.0, repr=False, compare=False)  # time.monotonic() deadline

    def entries_for(self, modules: Iterable[str]) -> list[Entry]:
        """Return every entry that names one of ``modules`` (stdlib/toolchain included),
        sorted by id, withdrawn ones too (``scan`` ignores them).

        Raises:
            VulnDbError: the index or an entry cannot be fetched or read; offline, the cache
                lacks the index or an entry a module needs.
        """
        assert self._source is not None and self._cache is not None
        try:
            return self._entries(set(modules) | set(ALWAYS))
        finally:
            self._source.close()

    def _entries(self, wanted: set[str]) -> list[Entry]:
        assert self._cache is not None
        index = self._modules_index()
        needed = {v.id: v for m in sorted(wanted) for v in index.get(m, ())}
        cached = {i: self._cache.entry(v) for i, v in needed.items()}
        missing = sorted(i for i, e in cached.items() if e is None)
        if missing and self.offline:
            raise self._error(f"ID/{missing[0]}.json", "not in the cache, and the database "
                              f"cannot be reached ({len(missing)} entries missing)")
        fetched = self._fetch_entries([needed[i] for i in missing])
        entries = [e for e in cached.values() if e is not None] + fetched
        return sorted(entries, key=lambda e: e.id)

    def _modules_index(self) -> dict[str, tuple[IndexedVuln, ...]]:
        assert self._source is not None and self._cache is not None
        cached = self._cache.modules_index(None if self.offline else self.modified)
        if cached is not None:
            return cached
        if self.offline:
            raise self._error("index/modules.json", "not in the cache, and the database "
                              "cannot be reached")
        data = self._get("index/modules.json", osv.MAX_MODULES_INDEX_BYTES)
        index = self._parsed(osv.parse_modules_index, data, "index/modules.json")
        self._cache.keep_modules_index(data, self.modified)
        return index

    def _fetch_entries(self, vulns: list[IndexedVuln]) -> list[Entry]:
        if not vulns:
            return []
        pool = ThreadPoolExecutor(min(FETCHERS, len(vulns)))
        try:
            return list(pool.map(self._fetch_entry, vulns))
        finally:  # on the first failure, fetch no more (those under way end by the deadline)
            pool.shutdown(cancel_futures=True)

    def _fetch_entry(self, vuln: IndexedVuln) -> Entry:
        assert self._cache is not None
        path = f"ID/{vuln.id}.json"
        data = self._get(path, osv.MAX_ENTRY_BYTES)
        entry = self._parsed(osv.parse_entry, data, path)
        if entry.id != vuln.id:
            raise self._error(path, f"holds {entry.id!r}, not {vuln.id!r}")
        self._cache.keep_entry(entry.id, data)
        return entry

    def _get(self, path: str, limit: int) -> bytes:
        assert self._source is not None
        try:
            return self._source.get(path, limit, self._ends)
        except Unreachable as exc:
            raise self._error(path, f"cannot be reached: {exc}") from None
        except VulnDbError as exc:
            raise VulnDbError(f"vulnerability database {self.url}: {exc.message}") from None

    def _parsed(self, parse: Callable[[bytes], T], data: bytes, path: str) -> T:
        try:
            return parse(data)
        except VulnDbError as exc:
            raise self._error(path, exc.message) from None

    def _error(self, path: str, cause: str) -> VulnDbError:
        return VulnDbError(f"vulnerability database {self.url}: {path}: {cause}")


def open_db(url: str, cache_dir: Path, *, timeout: float = 60.0) -> VulnDb:
    """Open the database at ``url`` (``https://``, ``http://`` for loopback only, ``file://``).

    ``timeout`` bounds the whole run, this call and ``entries_for`` together.

    Raises:
        ConfigError: ``url`` is not one of those.
        VulnDbError: it cannot be reached and nothing is cached for it (naming the URL and
            the cause), or ``index/db.json`` cannot be read.
    """
    source = source_for(url)
    shown = redact_url(url.rstrip("/"))
    cache = _Cache(cache_dir / cache_name(url))
    ends = time.monotonic() + timeout
    db = VulnDb(shown, "", _source=source, _cache=cache, _ends=ends)
    try:
        data = source.get("index/db.json", osv.MAX_DB_INDEX_BYTES, ends)
    except Unreachable as exc:
        source.close()
        state = cache.state()
        if not state:
            raise VulnDbError(f"vulnerability database {shown} cannot be reached: {exc}",
                              hint="check the URL and the network; once it has been read, "
                                   "gopush goes on from its cache when offline") from None
        # The modified time of what will be read: the cached index's, when there is one.
        db.modified, db.offline = state.get("modules_for") or state["modified"], True
        db.age_seconds = max(0.0, time.time() - state["reached"])
        return db
    except VulnDbError as exc:
        source.close()
        raise VulnDbError(f"vulnerability database {shown}: {exc.message}") from None
    db.modified = db._parsed(osv.parse_db_index, data, "index/db.json")
    db.went_back_from = cache.reached(db.modified)
    return db


def source_for(url: str) -> _Source:
    """Return where ``url``'s documents come from.

    Raises:
        ConfigError: not ``https://HOST``, ``http://`` to a loopback host, or ``file:///DIR``.
    """
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ConfigError(f"vulnerability database URL {redact_url(url)!r}: gopush reads "
                          "https://HOST[/PATH] without a query or fragment")
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path:
        return _Directory(Path(unquote(parts.path)))
    if parts.scheme == "https" and parts.hostname:
        return _Http(url.rstrip("/"))
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return _Http(url.rstrip("/"))
    raise ConfigError(
        f"vulnerability database URL {redact_url(url)!r}: gopush reads https://HOST, "
        "http:// to a loopback address (127.0.0.1, ::1, localhost) or file:///DIR",
        hint="plain http would let anyone on the path hide a vulnerability: use https")


def cache_name(url: str) -> str:
    """Return the cache directory name for ``url``: readable, and unique per URL (the URL
    without credentials, so a changed password keeps the cache)."""
    parts = urlsplit(url.rstrip("/"))
    bare = f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}" \
           f"{parts.path}"
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{parts.hostname or ''}{parts.path}")
    return f"{readable.strip('_')[:60] or parts.scheme}-{hashlib.sha256(bare.encode()).hexdigest()[:12]}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Source:
    """Where the documents come from; ``get`` returns one, uncompressed, at most ``limit``
    bytes, by the monotonic time ``ends``."""

    def get(self, path: str, limit: int, ends: float) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        """Let go of connections (a later ``get`` opens new ones)."""


class _Directory(_Source):
    def __init__(self, root: Path) -> None:
        self.root = root

    def get(self, path: str, limit: int, ends: float) -> bytes:
        if not self.root.is_dir():
            raise Unreachable(f"{self.root} is not a directory")
        try:
            data = _read_file(self.root / path, limit)
        except FileNotFoundError:
            raise VulnDbError(f"{path}: no such file in {self.root}") from None
        except OSError as exc:
            raise VulnDbError(f"{path}: {exc.strerror or exc}") from None
        if len(data) > limit:
            raise VulnDbError(f"{path}: more than the {limit:,} bytes gopush reads")
        return data


class _Http(_Source):
    """GET over one httpx client (shared by the fetching threads), each request bounded by
    the run's deadline at the socket (``registry.deadline``)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()  # the fetching threads make the client once

    def get(self, path: str, limit: int, ends: float) -> bytes:
        import httpx

        from gopush.registry import deadline

        left = ends - time.monotonic()
        if left <= 0:
            raise Unreachable("the deadline passed")
        try:
            with deadline.running(left), self._stream(path) as response:
                return self._body(response, path, limit)
        except httpx.TransportError as exc:
            raise Unreachable(_transport_cause(exc, left)) from None

    def _stream(self, path: str) -> AbstractContextManager[httpx.Response]:
        with self._lock:
            if self._client is None:
                from gopush.registry.http import LazyTlsTransport, make_client

                self._client = make_client(self.base, transport=LazyTlsTransport(retries=1))
        return self._client.stream("GET", f"{self.base}/{path}",
                                   headers={"Accept-Encoding": "gzip"})

    def _body(self, response: httpx.Response, path: str, limit: int) -> bytes:
        status = response.status_code
        if status >= 500 or status == 429:
            raise Unreachable(f"the server answered {status}")
        if status != 200:
            raise VulnDbError(f"{path}: the server answered {status}"
                              + (" (not found)" if status == 404 else ""))
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("gzip", "identity", ""):
            raise VulnDbError(f"{path}: sent in {encoding!r} encoding (gopush reads gzip)")
        raw = _read_capped(response, path, limit)
        return _gunzip(raw, path, limit) if encoding == "gzip" else raw

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _read_capped(response: httpx.Response, path: str, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise VulnDbError(f"{path}: {int(declared):,} bytes declared, more than the "
                          f"{limit:,} gopush reads")
    kept, size = [], 0
    for chunk in response.iter_raw(1 << 16):
        size += len(chunk)
        if size > limit:
            raise VulnDbError(f"{path}: more than the {limit:,} bytes gopush reads")
        kept.append(chunk)
    return b"".join(kept)


def _gunzip(raw: bytes, path: str, limit: int) -> bytes:
    """Inflate one gzip member, producing at most ``limit`` bytes (a few kB of gzip can
    inflate to gigabytes: the output is capped, not the input trusted)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise VulnDbError(f"{path}: not valid gzip ({exc})") from None
    if len(data) > limit:
        raise VulnDbError(f"{path}: inflates to more than the {limit:,} bytes gopush reads")
    if not inflater.eof:
        raise VulnDbError(f"{path}: the gzip stream ends early")
    return data


def _read_file(path: Path, limit: int) -> bytes:
    """Return the file's bytes, at most ``limit`` + 1 (more than ``limit``: too large).

    Sized by ``fstat`` first: ``read(limit + 1)`` would allocate the whole megabyte for
    every 1 kB entry, a fifth of a warm run's reading time."""
    with path.open("rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        return f.read(min(size, limit) + 1)


def _transport_cause(exc: httpx.TransportError, seconds: float) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return f"no complete answer within the {seconds:.0f} s left of the deadline"
    return redact_url(str(exc) or type(exc).__name__)


class _Cache:
    """One database's cache directory (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def state(self) -> dict[str, Any]:
        """Return ``{"modified", "reached", "modules_for"?}``, or {} when there is none."""
        data = self._read(self.root / "state.json", _STATE_BYTES)
        try:
            state = json.loads(data) if data else {}
            osv.timestamp(state["modified"], "modified")
            float(state["reached"])
            return state
        except (ValueError, KeyError, TypeError, VulnDbError):
            return {}

    def reached(self, modified: str) -> str:
        """Record that the database was reached now, at ``modified``; return the newest
        ``modified`` seen before when it is newer than this one ("" otherwise): a database
        does not go back in time, a stale mirror or a rollback does (and hides what was
        added since)."""
        state = self.state()
        newest = state.get("newest") or state.get("modified") or modified
        try:
            went_back = osv.moment(modified) < osv.moment(newest)
        except (ValueError, TypeError):
            went_back, newest = False, modified
        state.update(modified=modified, reached=time.time(),
                     newest=newest if went_back else modified)
        self._write(self.root / "state.json", json.dumps(state).encode())
        return newest if went_back else ""

    def modules_index(self, modified: str | None) -> dict[str, tuple[IndexedVuln, ...]] | None:
        """Return the cached modules index of ``modified`` (None: of the newest kept, as
        ``state.json`` says, for offline use), or None when it is not cached."""
        if modified is None:
            modified = self.state().get("modules_for")
            if not modified:
                return None
        data = self._read(self._modules_path(modified), osv.MAX_MODULES_INDEX_BYTES)
        try:
            return osv.parse_modules_index(data) if data else None
        except VulnDbError:
            return None

    def keep_modules_index(self, data: bytes, modified: str) -> None:
        """Keep the index fetched after ``db.json`` said ``modified``, in a file named after
        it: runs sharing the cache while the database moves never pass one index off as
        another's (a name in ``state.json`` beside one ``modules.json`` could be written by
        one run and the file by another). Older indexes are removed."""
        kept = self._modules_path(modified)
        self._write(kept, data)
        state = self.state()
        state["modules_for"] = modified
        self._write(self.root / "state.json", json.dumps(state).encode())
        for old in [*self.root.glob("modules-*.json"), self.root / "modules.json"]:
            if old != kept:
                with contextlib.suppress(OSError):  # a read-only cache costs disk, no more
                    old.unlink(missing_ok=True)

    def _modules_path(self, modified: str) -> Path:
        return self.root / f"modules-{re.sub(r'[^0-9A-Za-z]', '', modified)}.json"

    def entry(self, vuln: IndexedVuln) -> Entry | None:
        """Return the cached entry if it is as new as the index says ``vuln`` is."""
        data = self._read(self.root / "ID" / f"{vuln.id}.json", osv.MAX_ENTRY_BYTES)
        try:
            entry = osv.parse_entry(data) if data else None
        except VulnDbError:
            return None
        if entry is None or entry.id != vuln.id \
                or osv.moment(entry.modified) < osv.moment(vuln.modified):
            return None
        return entry

    def keep_entry(self, vuln_id: str, data: bytes) -> None:
        self._write(self.root / "ID" / f"{vuln_id}.json", data)

    @staticmethod
    def _read(path: Path, limit: int) -> bytes:
        try:
            data = _read_file(path, limit)
        except OSError:
            return b""
        return data if len(data) <= limit else b""

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        """Keep ``data``; a cache that cannot be written costs a fetch next time, no more."""
        from gopush.proxydir import write_atomic

        try:
            write_atomic(path, data)
        except OSError:
            pass
