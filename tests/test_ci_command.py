"""CI (``.ci/run``) runs exactly the README's test command, and that command lints and
type-checks before the tests: ``ruff check .``, then ``mypy`` (strict over ``gopush/`` by
pyproject.toml's ``[tool.mypy]``), then pytest, each gating the next."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _readme_test_command() -> str:
    """The command line under the README's "run the whole suite" step."""
    lines = (ROOT / "README.md").read_text().splitlines()
    step = next(i for i, line in enumerate(lines) if line.startswith("# 2. "))
    return next(line for line in lines[step:] if line.startswith("python3 -m venv"))


def test_ci_runs_the_readme_test_command() -> None:
    commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.startswith("python3 -m venv")]
    assert commands == [_readme_test_command()]


def test_the_test_command_lints_and_type_checks_first() -> None:
    steps = [step.strip() for step in _readme_test_command().split("&&")]
    assert steps[-3:] == [".venv/bin/ruff check .", ".venv/bin/mypy",
                          ".venv/bin/python -m pytest -q"]
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["strict"] is True and mypy["files"] == ["gopush"]
