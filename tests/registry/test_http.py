"""registry.http: retry decisions, Retry-After, rate limits, status mapping, scrubbing."""

from __future__ import annotations

import email.utils

import httpx
import pytest
import stamina

from gopush.config.credentials import Credential, Secret
from gopush.errors import AuthError, RegistryError, RegistryUnavailable, VersionExists
from gopush.registry.http import (
    RetryableStatus,
    Session,
    make_client,
    raise_for_registry_status,
    retry_after_seconds,
    retry_wait,
    user_agent,
)

KEY = "gpk_test_0123456789abcdef"


def reply(status: int, **kwargs: object) -> httpx.Response:
    """A response attached to a request, as httpx gives them."""
    return httpx.Response(status, request=httpx.Request("GET", "https://r.test/x"), **kwargs)


def test_retry_after_seconds_and_date() -> None:
    """Retry-After in seconds or as an HTTP date becomes the wait, capped at 120 s."""
    assert retry_after_seconds(reply(429, headers={"Retry-After": "2"})) == 2.0
    assert retry_after_seconds(reply(429, headers={"Retry-After": "9999"})) == 120.0
    date = email.utils.formatdate(1_000_010, usegmt=True)
    assert retry_after_seconds(reply(503, headers={"Retry-After": date}), now=1_000_000) == 10
    assert retry_after_seconds(reply(503)) is None


def test_retry_wait_hook() -> None:
    """stamina's hook: Retry-After wins, other 429/5xx and network errors retry, rest not."""
    assert retry_wait(RetryableStatus(reply(429, headers={"Retry-After": "3"}))) == 3.0
    assert retry_wait(RetryableStatus(reply(503))) is True
    assert retry_wait(httpx.ConnectError("refused")) is True
    assert retry_wait(ValueError("no")) is False


@pytest.mark.parametrize(("status", "kind"), [
    (401, AuthError), (403, AuthError), (404, RegistryError), (409, VersionExists),
    (413, RegistryError), (422, RegistryError), (429, RegistryUnavailable),
    (500, RegistryUnavailable), (503, RegistryUnavailable), (302, RegistryError)])
def test_status_mapping(status: int, kind: type) -> None:
    """Each status maps to the exception class that carries its documented exit code."""
    with pytest.raises(kind) as caught:
        raise_for_registry_status(reply(status, json={"detail": "nope"}), "do it")
    assert caught.type is kind and caught.value.status == status


def test_a_full_registry_disk_is_reported_at_once(httpx_mock) -> None:
    """507 (the registry is out of disk space) is sent once, never retried, and ends in
    exit 6 with the registry's words and what to do."""
    from gopush.errors import ExitCode

    httpx_mock.add_response(status_code=507,
                            json={"detail": "The registry is out of disk space."})
    session = Session(make_client("https://r.test"))
    with pytest.raises(RegistryUnavailable) as caught:
        session.request("POST", "x/", what="upload m.zip")
    assert len(httpx_mock.get_requests()) == 1
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert str(caught.value) == ("upload m.zip: the registry answered 507 Insufficient "
                                 "Storage: The registry is out of disk space.")
    assert "free disk space" in (caught.value.hint or "")


def test_scrub_removes_key_from_server_messages() -> None:
    """A server echoing the key in its error never gets it printed."""
    session = Session(make_client("https://r.test"), credential=Credential(Secret(KEY), "t"))
    with pytest.raises(AuthError) as caught:
        raise_for_registry_status(reply(401, json={"detail": f"bad key {KEY}"}), "x",
                                  session.scrub)
    assert KEY not in str(caught.value) and "bad key ***" in str(caught.value)


def test_rate_limit_interval_pauses(httpx_mock) -> None:
    """X-RateLimit-Interval makes the session pause as long as asked."""
    httpx_mock.add_response(headers={"X-RateLimit-Interval": "0.5"}, json={})
    pauses: list[float] = []
    session = Session(make_client("https://r.test"), sleep=pauses.append)
    session.request("GET", "x/", what="read")
    assert pauses == [0.5]


def test_retries_are_bounded(httpx_mock) -> None:
    """Connection errors are retried `attempts` times, then reported as unavailable."""
    httpx_mock.add_exception(httpx.ConnectError("refused"), is_reusable=True)
    with stamina.set_testing(True, attempts=3):
        session = Session(make_client("https://r.test"), attempts=3)
        with pytest.raises(RegistryUnavailable, match="cannot reach https://r.test") as err:
            session.request("GET", "x/", what="read")
    assert len(httpx_mock.get_requests()) == 3
    assert err.value.hint.startswith("tried 3 times over ")  # the tries made, said so


def test_the_hint_counts_the_tries_made_when_the_budget_stops_them(httpx_mock,
                                                                   monkeypatch) -> None:
    """When the retry budget ends the retries early (tries that each waited long for an
    answer), the hint says how many tries were made, not how many were allowed."""
    from gopush.registry import http

    monkeypatch.setattr(http, "RETRY_BUDGET", 0.0)  # no try starts once the first failed
    httpx_mock.add_exception(httpx.ReadTimeout("no answer"), is_reusable=True)
    session = Session(make_client("https://r.test"), sleep=lambda s: None)
    with pytest.raises(RegistryUnavailable) as err:
        session.request("GET", "x/", what="read")
    assert len(httpx_mock.get_requests()) == 1
    assert err.value.hint.startswith("tried 1 time over ")


def test_user_agent() -> None:
    """The User-Agent names gopush, Python and httpx versions."""
    assert user_agent().startswith("gopush/") and "httpx/" in user_agent()


def test_first_failure_drives_the_backoff(httpx_mock, monkeypatch) -> None:
    """The first try runs before stamina is involved; its failure still sets the first wait:
    a Retry-After is waited exactly, a network error backs off 1 s plus up to 1 s of jitter."""
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)  # tenacity sleeps through time.sleep
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "7"})
    httpx_mock.add_response(json={"ok": True})
    session = Session(make_client("https://r.test"))
    assert session.request("GET", "x/", what="read").json() == {"ok": True}
    assert waits == [7.0]

    waits.clear()
    httpx_mock.add_exception(httpx.ReadError("reset"))
    httpx_mock.add_response(json={"ok": True})
    assert session.request("GET", "y/", what="read").json() == {"ok": True}
    assert len(waits) == 1 and 1.0 <= waits[0] <= 2.0
    assert len(httpx_mock.get_requests()) == 4


def test_a_call_that_landed_is_not_sent_again(httpx_mock, monkeypatch) -> None:
    """After a lost reply, ``landed()`` is asked before the non-idempotent call is re-sent."""
    monkeypatch.setattr("time.sleep", lambda _: None)
    httpx_mock.add_exception(httpx.ReadError("reply lost"), method="POST")
    session = Session(make_client("https://r.test"))
    done = session.request("POST", "create/", what="create", json_body={},
                           landed=lambda: httpx.Response(201, json={"slug": "p"}))
    assert done.json() == {"slug": "p"} and len(httpx_mock.get_requests()) == 1
