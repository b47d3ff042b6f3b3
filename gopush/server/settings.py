"""What a running server is told at start: API keys and behaviour knobs (no I/O here)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path

from gopush.server.publishers import Publishers


@dataclass(frozen=True)
class VulnSettings:
    """Vulnerability scanning (``server.vulnscan``); off while ``db_url`` is "".

    ``quarantine``: "" (off), "imported" (a finding in a package the module imports) or
    "any" (any finding) keeps a version out of ``list``/``@latest`` and answers 403 for its
    files. ``timeout``: seconds one scan (or one check of the database) may wait for the
    database; the package is processed without a scan after it.
    """

    db_url: str = ""
    refresh_minutes: float = 60.0
    quarantine: str = ""
    timeout: float = 20.0

    @property
    def enabled(self) -> bool:
        """Tell whether packages are scanned."""
        return bool(self.db_url)


@dataclass(frozen=True)
class ServeSettings:
    """Server-wide settings; ``api_keys`` grant full access and are never shown or stored."""

    api_keys: tuple[str, ...] = field(default=(), repr=False)
    user: str = "gopush"  # the account every API key belongs to (``/user/self/``)
    body_timeout: float = 60.0  # seconds without a byte before an upload is given up
    new_repos: bool = False  # may a push create the repository it names (``--new-repos``)?
    new_repos_private: bool = False  # visibility of repositories created by a first push
    upstream_timeout: float = 60.0
    upload_expiry: float = 24 * 3600.0  # seconds an upload slot stays open (server.expiry)
    vuln: VulnSettings = field(default_factory=VulnSettings)
    publishers: Publishers = field(default_factory=Publishers)  # --config (server.publishers)
    queue_lease: float = 30.0  # seconds a processing claim lasts unless renewed (server.sync)
    hold_processing: Path | None = None  # test-only: server.sync's hold (--hold-processing)
    # balancers whose X-Forwarded-For names the client (--trusted-proxy): addresses or
    # networks; none by default, so no client can pick the address its guesses count against
    trusted_proxies: tuple[str, ...] = ()

    def key_ok(self, key: str | None) -> bool:
        """Tell whether ``key`` is one of the API keys (constant-time per key)."""
        if not key:
            return False
        return any(hmac.compare_digest(key.encode(), k.encode()) for k in self.api_keys)


@dataclass(frozen=True)
class ConnectionLimits:
    """How ``gopush serve`` bounds connections and requests (``server.limits`` enforces them).

    ``max_connections`` None means derived from RLIMIT_NOFILE at start.
    """

    head_timeout: float = 10.0  # seconds from connection open (or a head's first byte) to a full head
    keep_alive_timeout: float = 30.0  # seconds a connection may idle between requests
    keep_alive_requests: int = 1000  # requests on one connection before it is closed
    max_connections: int | None = None
    max_header_bytes: int = 16 * 1024  # request line and header fields together
    max_headers: int = 100  # header fields per request
    min_body_rate: float = 1024.0  # bytes/s a body must average after --body-timeout s; 0: off
    min_send_rate: float = 1024.0  # bytes/s a response must average after --body-timeout s; 0: off
