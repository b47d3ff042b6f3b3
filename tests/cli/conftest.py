"""Fixtures for CLI tests: run gopush as a user would, in a given directory."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gopush.cli.main import main
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def gopush_cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """Return run(cwd, *args) -> (exit code, stdout, stderr) for `gopush args` in ``cwd``."""

    def run(cwd: Path, *args: str) -> tuple[int, str, str]:
        old = os.getcwd()
        os.chdir(cwd)
        try:
            code = main(list(args))
        finally:
            os.chdir(old)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def stop_with(proc: subprocess.Popen[str], sig: signal.Signals,
              timeout: float = 120) -> tuple[str, str]:
    """Send ``sig`` to ``proc`` (started with PYTHONFAULTHANDLER=1 and text pipes) and
    return its stdout and stderr once it exits; if it does not within ``timeout`` (generous:
    a busy disk slows the error path's imports), fail with every thread's stack."""
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints where each thread waits
        _, err = proc.communicate(timeout=30)
        raise AssertionError(f"{proc.args} did not stop after {sig.name}:\n{err}") from None


@pytest.fixture
def module_zip(tmp_path: Path) -> Path:
    """A valid module zip to push (example.com/m@v1.0.0)."""
    files = [DataFile("go.mod", b"module example.com/m\n\ngo 1.21\n"),
             DataFile("m.go", b"package m\n")]
    dest = tmp_path / "v1.0.0.zip"
    create_zip(dest, "example.com/m", "v1.0.0", files)
    return dest
