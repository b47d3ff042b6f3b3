"""The Reporter protocol: how actions tell people what is happening.

Actions import only this module. The CLI picks one implementation once (rich on a terminal,
plain lines in CI or pipes, JSON on request) and hands it down. stdout carries data only
(results, or the one JSON document); everything a person reads goes to stderr.
"""

from __future__ import annotations

from typing import Any, Protocol


class Progress(Protocol):
    """A running progress display for one task; ``advance`` takes units just done."""

    def advance(self, amount: int) -> None: ...

    def close(self) -> None: ...


class Reporter(Protocol):
    """What actions call to report steps, progress, warnings and the final result."""

    def step(self, message: str) -> None:
        """Report that a step started or finished (one line in plain mode)."""

    def detail(self, message: str) -> None:
        """Report something only shown with -v."""

    def retry(self, message: str) -> None:
        """Report a try that failed and will be made again (hidden by -q, like a step, but
        never marked as done: it is not)."""

    def warn(self, message: str) -> None:
        """Report a warning; never suppressed by -q."""

    def progress(self, description: str, total: int | None, *,
                 unit: str = "bytes") -> Progress:
        """Start a progress display for ``total`` units ("bytes", "files" or "percent").

        ``total`` is None when unknown (a spinner instead of a bar).
        """

    def table(self, title: str, headers: list[str], rows: list[list[str]]) -> None:
        """Show a table of results to people (stdout); JSON mode carries it in ``result``."""

    def result(self, data: dict[str, Any], text: str) -> None:
        """Emit the final result: ``data`` for JSON mode, ``text`` for people (stdout)."""


class _NullProgress:
    def advance(self, amount: int) -> None:
        pass

    def close(self) -> None:
        pass


class NullReporter:
    """A Reporter that records nothing visible; collects warnings for tests."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.steps: list[str] = []
        self.results: list[dict[str, Any]] = []

    def step(self, message: str) -> None:
        self.steps.append(message)

    def detail(self, message: str) -> None:
        pass

    def retry(self, message: str) -> None:
        self.steps.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def progress(self, description: str, total: int | None, *,
                 unit: str = "bytes") -> Progress:
        return _NullProgress()

    def table(self, title: str, headers: list[str], rows: list[list[str]]) -> None:
        pass

    def result(self, data: dict[str, Any], text: str) -> None:
        self.results.append(data)
