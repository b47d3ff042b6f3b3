"""Slowing down credential guessing on GOPROXY reads.

Every refused read that presented credentials (a wrong or unusable token, a wrong key) takes
one unit from its client address's bucket; a bucket holds ``BURST`` units and refills one
every ``REFILL_SECONDS``. An address whose bucket is empty gets 429 with Retry-After for every
GOPROXY read, before any credential is looked at (a right guess then gets no 200 either), so
one address guesses at most ``BURST`` tokens and then one per ``REFILL_SECONDS``. Reads
without credentials, and allowed reads, cost nothing. At most ``MAX_ADDRESSES`` buckets are
kept (the least recently refused go first), so the memory is bounded whoever calls.

The entitlements API (``server.api_entitlements``) spends the same buckets on refused API
keys, since a guessed key would make tokens. Used on the event loop only (no lock).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import Request

BURST = 30  # refused attempts an address may make at once (a misconfigured client: a few)
REFILL_SECONDS = 2.0  # then one more attempt per this many seconds
MAX_ADDRESSES = 4096


def client_address(request: Request) -> str:
    """Return the address a request came from ("" when the server does not know it)."""
    return request.client.host if request.client else ""


class GuessLimiter:
    """Per-address buckets of refused credentials (see the module docstring)."""

    def __init__(self, burst: int = BURST, refill: float = REFILL_SECONDS,
                 max_addresses: int = MAX_ADDRESSES) -> None:
        self.burst, self.refill, self.max_addresses = burst, refill, max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # units, when

    def _units(self, address: str, now: float) -> float:
        units, when = self._buckets.get(address, (float(self.burst), now))
        return min(float(self.burst), units + (now - when) / self.refill)

    def wait(self, address: str) -> int:
        """Return the whole seconds ``address`` must wait before its next read (0: none)."""
        if address not in self._buckets:
            return 0
        units = self._units(address, time.monotonic())
        return 0 if units >= 1 else math.ceil((1 - units) * self.refill)

    def refused(self, address: str) -> None:
        """Take one unit from ``address``'s bucket (a read with wrong credentials)."""
        now = time.monotonic()
        units = self._units(address, now)
        self._buckets[address] = (max(0.0, units - 1), now)
        self._buckets.move_to_end(address)
        while len(self._buckets) > self.max_addresses:
            self._buckets.popitem(last=False)
