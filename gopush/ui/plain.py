"""PlainReporter: one line per event on stderr, no ANSI; for CI logs and pipes."""

from __future__ import annotations

import sys
from typing import IO, Any

from gopush.ui.base import Progress


class _PlainProgress:
    """Prints a line at start and at the end; CI logs do not want a redrawn bar."""

    def __init__(self, out: IO[str], description: str, total: int | None, unit: str) -> None:
        self._out, self._description, self._total, self._done = out, description, total, 0
        self._unit = unit

    def advance(self, amount: int) -> None:
        self._done += amount

    def close(self) -> None:
        finished = self._total is None or self._done >= self._total
        state = "done" if finished else "stopped"
        print(f"{self._description}: {state} ({self._done} of {self._total or '?'} {self._unit})",
              file=self._out)


class PlainReporter:
    """Writes steps and warnings to stderr as plain lines and the result text to stdout."""

    def __init__(self, *, quiet: bool = False, verbose: bool = False,
                 out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self.quiet, self.verbose = quiet, verbose
        self._out = out or sys.stdout
        self._err = err or sys.stderr

    def step(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self._err, flush=True)

    def retry(self, message: str) -> None:
        self.step(message)

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            print(message, file=self._err, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=self._err, flush=True)

    def progress(self, description: str, total: int | None, *,
                 unit: str = "bytes") -> Progress:
        if self.quiet:
            from gopush.ui.base import _NullProgress

            return _NullProgress()
        print(f"{description}...", file=self._err, flush=True)
        return _PlainProgress(self._err, description, total, unit)

    def table(self, title: str, headers: list[str], rows: list[list[str]]) -> None:
        """Print one tab-separated line per row (easy to grep and cut)."""
        for row in rows:
            print("\t".join(row), file=self._out)

    def result(self, data: dict[str, Any], text: str) -> None:
        if text:
            print(text, file=self._out, flush=True)

    def error(self, message: str, hint: str | None, data: dict[str, Any]) -> None:
        """Report a failure (never silenced by -q)."""
        print(f"error: {message}", file=self._err, flush=True)
        if hint:
            print(f"hint: {hint}", file=self._err, flush=True)
