"""On a terminal with no key configured, push asks for it (hidden); in CI it never asks."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from server.conftest import KEY

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k != "CI" and not k.startswith(("GOPUSH_", "CLOUDSMITH_"))}


def _read_until(fd: int, marker: bytes, timeout: float = 20) -> bytes:
    """Read from a pty master until ``marker`` shows up, EOF, or the timeout."""
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen



def answer_on_terminal(args: list[str], env: dict[str, str], reply: bytes) -> tuple[int, bytes]:
    """Run ``gopush ARGS`` on a pty, type ``reply`` at its ``[y/N]`` question, and return its
    exit code and everything it wrote."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gopush", *args], stdin=slave,
                            stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    try:
        seen = _read_until(master, b"[y/N]")
        os.write(master, reply + b"\n")
        seen += _read_until(master, b"\x00never", timeout=30)
        return proc.wait(30), seen
    finally:
        proc.kill()
        os.close(master)

def test_prompt_on_a_terminal_hides_the_key(serve: Any, tmp_path: Path) -> None:
    """push on a tty without a key prompts, accepts the typed key and never echoes it; the
    settings resolved before the prompt stay (``-v`` names the prompt as the key's source).
    (whoami and verify never prompt: a public repository needs no key to read.)"""
    served = serve()
    zip_path = tmp_path / "v1.0.0.zip"
    create_zip(zip_path, "example.com/m", "v1.0.0",
               [DataFile("go.mod", b"module example.com/m\n"), DataFile("m.go", b"package m\n")])
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gopush", "push", "go", "acme/prompted",
                             str(zip_path), "--dry-run", "-v", "--api-host", served.url],
                            stdin=slave, stdout=slave, stderr=slave, env=CLEAN_ENV,
                            close_fds=True)
    os.close(slave)
    try:
        asked = _read_until(master, b"API key")
        assert b"API key" in asked
        os.write(master, KEY.encode() + b"\n")
        rest = _read_until(master, b"\x00never", timeout=20)
        assert proc.wait(20) == 0, (asked + rest).decode(errors="replace")
    finally:
        proc.kill()
        os.close(master)
    assert KEY.encode() not in asked + rest
    shown = " ".join(re.sub(rb"\x1b\[[0-9;]*m", b"", rest).decode().split())  # unwrapped
    assert "key from the prompt" in shown


def test_no_prompt_in_ci(serve: Any) -> None:
    """With CI set and no key, whoami fails at once (exit 3) naming GOPUSH_API_KEY."""
    served = serve()
    proc = subprocess.run([sys.executable, "-m", "gopush", "whoami", "--api-host", served.url],
                          env={**CLEAN_ENV, "CI": "true"}, capture_output=True, text=True,
                          timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 3
    assert "GOPUSH_API_KEY" in proc.stderr
