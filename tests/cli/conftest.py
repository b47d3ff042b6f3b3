"""Fixtures for CLI tests: run gopush as a user would, in a given directory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gopush.cli.main import main

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
