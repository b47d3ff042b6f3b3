"""The guessing budget per client address (``server.guessing``), on a fake clock."""

from __future__ import annotations

import pytest

from gopush.server import guessing
from gopush.server.guessing import GuessLimiter


def test_budget_spends_refills_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """30 refusals, then a wait of 2 s per further attempt; one unit back every 2 s; the
    least recently refused addresses are forgotten past the cap."""
    now = [1000.0]
    monkeypatch.setattr(guessing.time, "monotonic", lambda: now[0])
    limiter = GuessLimiter(burst=30, refill=2.0, max_addresses=3)
    assert limiter.wait("a") == 0
    for _ in range(30):
        assert limiter.wait("a") == 0
        limiter.refused("a")
    assert limiter.wait("a") == 2 and limiter.wait("b") == 0
    now[0] += 1.0
    assert limiter.wait("a") == 1
    now[0] += 1.0
    assert limiter.wait("a") == 0
    limiter.refused("a")
    assert limiter.wait("a") == 2
    for address in ("b", "c", "d"):
        limiter.refused(address)
    assert limiter.wait("a") == 0  # forgotten: at most 3 addresses are kept
    assert len(limiter._buckets) == 3
