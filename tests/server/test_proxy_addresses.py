"""Whose address a refused credential counts against (``server.guessing``), with and
without a balancer in front: `--trusted-proxy`.

Without it, X-Forwarded-For is ignored: a client cannot name the address its wrong guesses
count against (uvicorn's default trusted any loopback peer, so a client of a balancer on the
same machine, or any local process, guessed tokens without limit by changing the header).
With it, and the README's HAProxy configuration (`option forwardfor`), each client behind
the balancer has its own budget: a stranger guessing tokens through the balancer no longer
locks every reader of a private repository out with 429 (that took 90 requests to three
instances). Real `gopush serve` subprocesses, Debian's HAProxy, clients bound to distinct
loopback addresses (127.0.0.2, 127.0.0.3).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from balancer import Balancer, unavailable

from gopush.server.guessing import BURST

TOKEN = "reader-token-5d0c8e1f"
PRIVATE = ("--repo", "acme/private:private", "--read-token", f"acme/private={TOKEN}")
LIST = "/go/acme/private/example.com/m/@v/list"


def _client(address: str) -> httpx.Client:
    """Return a client whose connections come from ``address`` (any of 127.0.0.0/8)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def _guess(client: httpx.Client, url: str, count: int, *, forged: bool) -> list[int]:
    """Send ``count`` reads with wrong tokens; with ``forged``, each claims another address
    in X-Forwarded-For. Return the statuses."""
    statuses = []
    for n in range(count):
        headers = {"X-Forwarded-For": f"198.51.100.{n % 250 + 1}"} if forged else {}
        statuses.append(client.get(url + LIST, auth=("token", f"wrong-{n}"),
                                   headers=headers).status_code)
    return statuses


def test_a_forged_forwarded_for_does_not_escape_the_guessing_budget(serve: Any) -> None:
    """No --trusted-proxy: a loopback client changing X-Forwarded-For on every guess is
    still one address; past BURST refused tokens it gets 429 (it guessed without limit)."""
    served = serve(*PRIVATE)
    with _client("127.0.0.2") as client:
        statuses = _guess(client, served.url, BURST + 5, forged=True)
    assert statuses[:BURST] == [401] * BURST
    assert statuses[BURST:] == [429] * 5


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted-proxy", "no-trusted-proxy"])
def test_behind_haproxy_each_client_has_its_own_budget(serve: Any, trusted: bool) -> None:
    """HAProxy as the README configures it, in front of one instance. With --trusted-proxy
    127.0.0.1 (HAProxy's address): a stranger at 127.0.0.2 spends its budget (429, forged
    X-Forwarded-For or not) while a reader at 127.0.0.3 still reads with its token. Without
    it, both are the balancer's one address and the reader is locked out too (as before)."""
    if why := unavailable():
        pytest.skip(why)
    served = serve(*PRIVATE, *(("--trusted-proxy", "127.0.0.1") if trusted else ()))
    balancer = Balancer.start([served.url])
    try:
        with _client("127.0.0.2") as stranger, _client("127.0.0.3") as reader:
            statuses = _guess(stranger, balancer.url, BURST + 5, forged=True)
            assert statuses[BURST:] == [429] * 5
            read = reader.get(balancer.url + LIST, auth=("token", TOKEN))
    finally:
        balancer.stop()
    # the repository holds no such module: 404 is the answer a reader with a token gets
    assert read.status_code == (404 if trusted else 429), read.text


def test_a_trusted_proxy_must_be_an_address() -> None:
    """A host name would never match a peer's address: refused at start (exit 2)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "gopush", "serve", "--port", "0",
                           "--trusted-proxy", "balancer.internal"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "'balancer.internal' is not an IP address or network" in done.stderr
    assert "Traceback" not in done.stderr
