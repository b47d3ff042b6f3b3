"""server.upstream messages: why an upstream failed, never its credentials."""

from __future__ import annotations

import httpx

from gopush.server.upstream import _failed, redacted


def test_failure_names_the_reason_without_credentials() -> None:
    """The reason httpx gives reaches the message; a URL's user and password do not, even
    when the reason quotes the URL."""
    url = "https://mirror:s3cret-token@proxy.example.com/go/"
    err = httpx.ConnectError(f"[SSL: CERTIFICATE_VERIFY_FAILED] for {url} (s3cret-token)")
    message = str(_failed(url, err))
    assert message.startswith("upstream https://proxy.example.com/go/ failed: ConnectError: ")
    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert "s3cret-token" not in message and "mirror:" not in message
    assert redacted(url) == "https://proxy.example.com/go/"


def test_failure_without_a_reason_names_the_error() -> None:
    """An error with no text is named by its type alone."""
    assert str(_failed("https://p.example/", httpx.ReadTimeout(""))) == (
        "upstream https://p.example/ failed: ReadTimeout")


def test_redacted_masks_key_like_query_values_and_cuts_long_urls() -> None:
    """The server's one redaction (upstream messages and the access log) drops user
    information, masks key-like query values, keeps the rest, and cuts to a limit."""
    assert redacted("https://u:p@h.example/go/?token=abc&v=1#frag") == (
        "https://h.example/go/?token=***&v=1")
    assert redacted("/go/a/b?x=" + "y" * 50, limit=20) == "/go/a/b?x=yyyyyyyyyy…(+40 characters)"
