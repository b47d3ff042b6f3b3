"""`gopush tokens` against a real `gopush serve` (HTTPS, a test CA), the real go observing
each result: in CI mode with --json, and on a terminal (a pty) where delete asks."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY, CertAuthority, Served
from gotool import GoOracle
from test_entitlements import OTHER, SECRET, Downloads, _private
from test_key_prompt import _read_until

from gopush.errors import ExitCode

CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k != "CI" and not k.startswith(("GOPUSH_", "CLOUDSMITH_"))}


class Tokens:
    """Runs `gopush tokens ... --api-host URL` with the key in the environment."""

    def __init__(self, served: Served, ca: CertAuthority) -> None:
        self.env = {**CLEAN_ENV, "GOPUSH_API_KEY": KEY, "SSL_CERT_FILE": str(ca.ca_cert)}
        self.served = served

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "gopush", "tokens", *args, "--api-host", self.served.url]

    def ci(self, *args: str) -> tuple[int, dict[str, Any], str]:
        """Run in CI mode with --json; return the exit code, the document and stderr."""
        proc = subprocess.run([*self.argv(*args), "--json"], env={**self.env, "CI": "1"},
                              capture_output=True, text=True, timeout=120, check=False,
                              stdin=subprocess.DEVNULL)
        assert KEY not in proc.stdout + proc.stderr
        return proc.returncode, json.loads(proc.stdout), proc.stderr

    def ok(self, *args: str) -> dict[str, Any]:
        code, doc, err = self.ci(*args)
        assert code == 0 and doc["ok"], (doc, err)
        return doc

    def terminal(self, *args: str, answer: bytes | None = None) -> tuple[int, str]:
        """Run on a pty (answering ``answer`` to a question); return the code and output."""
        master, slave = pty.openpty()
        proc = subprocess.Popen(self.argv(*args), stdin=slave, stdout=slave, stderr=slave,
                                env=self.env, close_fds=True)
        os.close(slave)
        try:
            seen = b""
            if answer is not None:
                seen = _read_until(master, b"[y/N]")
                os.write(master, answer + b"\n")
            seen += _read_until(master, b"\x00never", timeout=60)
            code = proc.wait(60)
        finally:
            proc.kill()
            os.close(master)
        text = seen.decode(errors="replace")
        assert KEY not in text
        return code, text


@pytest.fixture
def setup(serve: Any, go: GoOracle, tmp_path: Path,
          test_ca: CertAuthority) -> tuple[Tokens, Downloads]:
    served = _private(serve, tmp_path, test_ca)
    return Tokens(served, test_ca), Downloads(go, served, tmp_path, test_ca)


def test_tokens_in_ci_mode(setup: tuple[Tokens, Downloads]) -> None:
    """create → go downloads; list shows no token; refresh needs --yes in CI, then the old
    token is 401; restrict --query hides other modules, --expires refuses; disable/enable;
    delete --yes revokes; an unknown token is exit 5."""
    tokens, download = setup
    made = tokens.ok("create", "acme/private", "--name", "ci")
    token = made["token"]
    good = download(token)
    assert good.startswith("h1:"), good
    listed = tokens.ok("list", "acme/private")
    assert [t["name"] for t in listed["tokens"]] == ["ci"] and token not in json.dumps(listed)

    code, doc, _ = tokens.ci("refresh", "acme/private", "ci")
    assert code == ExitCode.USAGE and "--yes" in doc["error"]["message"]
    assert download(token) == good  # nothing changed
    new = tokens.ok("refresh", "acme/private", "ci", "--yes")["token"]
    assert new != token and "401" in download(token) and download(new) == good

    scoped = tokens.ok("restrict", "acme/private", "ci", "--query", f"name:^{SECRET}$")
    assert scoped["limit_package_query"] == f"name:^{SECRET}$"
    assert download(new) == good and "404" in download(new, OTHER)
    tokens.ok("disable", "acme/private", "ci")
    assert "401" in download(new)
    tokens.ok("enable", "acme/private", "ci")
    assert download(new) == good
    tokens.ok("restrict", "acme/private", "ci", "--expires", "2020-01-01T00:00:00Z")
    assert "401" in download(new)
    tokens.ok("restrict", "acme/private", "ci", "--expires", "")
    assert download(new) == good

    code, doc, _ = tokens.ci("delete", "acme/private", "nope", "--yes")
    assert code == ExitCode.REJECTED and "nope" in doc["error"]["message"]
    assert "ci" in doc["error"]["hint"]
    deleted = tokens.ok("revoke", "acme/private", "ci", "--yes")
    assert deleted["deleted"]["name"] == "ci" and "401" in download(new)
    assert tokens.ok("list", "acme/private")["tokens"] == []


def test_tokens_on_a_terminal(setup: tuple[Tokens, Downloads]) -> None:
    """On a terminal: create prints the token once; delete asks, "n" keeps the token,
    "y" deletes it."""
    tokens, download = setup
    code, text = tokens.terminal("create", "acme/private", "--name", "desk")
    assert code == 0, text
    token = next(line.split()[-1] for line in text.splitlines() if line.startswith("token:"))
    assert download(token).startswith("h1:")
    code, text = tokens.terminal("delete", "acme/private", "desk", answer=b"n")
    assert code == 0 and "nothing changed" in text, text
    assert download(token).startswith("h1:")
    code, text = tokens.terminal("delete", "acme/private", "desk", answer=b"y")
    assert code == 0 and "deleted desk" in text, text
    assert "401" in download(token)
