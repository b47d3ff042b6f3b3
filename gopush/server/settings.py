"""What a running server is told at start: API keys and behaviour knobs (no I/O here)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field


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

    def key_ok(self, key: str | None) -> bool:
        """Tell whether ``key`` is one of the API keys (constant-time per key)."""
        if not key:
            return False
        return any(hmac.compare_digest(key.encode(), k.encode()) for k in self.api_keys)
