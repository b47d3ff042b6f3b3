"""The server runs at most MAX_CONCURRENT_CHECKS zip checks at once, whoever asks."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gopush.errors import InvalidModuleZip
from gopush.server import validate


def test_checks_beyond_the_bound_wait_their_turn(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """Eight callers at once (the synchroniser, request threads, upstream fetches): never
    more than two checks run together, and every caller gets its answer."""
    lock, inside, most = threading.Lock(), [0], [0]

    def slow_check(*args: object) -> None:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        with lock:
            inside[0] -= 1
        raise InvalidModuleZip("refused")

    monkeypatch.setattr(validate, "accept_zip", slow_check)

    def call() -> str:
        with pytest.raises(InvalidModuleZip) as refused:
            validate.check_upload(tmp_path / "any.zip")
        return refused.value.message

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: call(), range(8)))
    assert answers == ["refused"] * 8
    assert most[0] == validate.MAX_CONCURRENT_CHECKS == 2
